"""Typed seams between the stages: what each stage reads of the objects it is handed."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["AvoidanceLike", "ThreadSite"]


class AvoidanceLike(Protocol):
    """What the checks read of an avoidance map: three (H, W) arrays."""

    @property
    def clearance_um(self) -> Any: ...

    @property
    def required_um(self) -> Any: ...

    @property
    def allowed(self) -> Any: ...


class ThreadSite(Protocol):
    """What the checks read of a thread (:class:`~insertion_planner.Thread` has it all)."""

    @property
    def id(self) -> int: ...

    @property
    def label(self) -> str: ...

    @property
    def order(self) -> int: ...

    @property
    def pixel(self) -> tuple[float, float]: ...

    @property
    def entry_um(self) -> tuple[float, float, float]: ...

    @property
    def depth_um(self) -> float: ...

    @property
    def clearance_um(self) -> float: ...

    @property
    def required_clearance_um(self) -> float: ...

    @property
    def tether_um(self) -> Any: ...
