"""One electrode thread of a plan: its site, needle, depth, electrodes and tether.

:class:`Thread` is part of the plan model (:mod:`insertion_planner.plan`, which re-exports
it). Every length is rounded to 1e-6 um on construction, so a thread survives a JSON
round trip exactly. ``target_um`` and ``electrode_depths_um`` are derived from the entry,
the needle axis and the depth (never stored apart from them, so they cannot go stale
after an edit); plan files carry them for other tools, and loading checks that the
stored values are the derived ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from .electrodes import electrode_depths_um

__all__ = ["THREAD_STATUSES", "ThreadStatus", "Thread", "thread_label"]


class ThreadStatus(StrEnum):
    """State of a thread. A ``str`` enum: it compares equal to, and is written to JSON
    as, its value.

    Examples
    --------
    >>> ThreadStatus("locked") == "locked", ThreadStatus.VALIDATED.is_active
    (True, True)
    """

    PLANNED = "planned"
    """Placed by the planner."""
    LOCKED = "locked"
    """Kept by the surgeon through replanning."""
    INSERTED = "inserted"
    """In the brain."""
    FAILED = "failed"
    """The insertion failed and no site was left to retry."""
    REMOVED = "removed"
    """Taken out of the plan by the surgeon."""
    VALIDATED = "validated"
    """Passed every check of the robot simulation."""
    REJECTED = "rejected"
    """Failed a check of the robot simulation (not attempted)."""

    @property
    def is_active(self) -> bool:
        """Counted in the plan (every status but failed and removed)."""
        return self not in (ThreadStatus.FAILED, ThreadStatus.REMOVED)


THREAD_STATUSES = tuple(s.value for s in ThreadStatus)
"""States of a thread (:class:`ThreadStatus` values): planned, locked by the surgeon,
inserted, failed, removed, or validated/rejected by simulation."""

_DECIMALS = 6


def _r(value: Any) -> float:
    """Round a float to 1e-6 (idempotent), mapping -0.0 to 0.0."""
    out = round(float(value), _DECIMALS)
    if not math.isfinite(out):
        raise ValueError(f"plan values must be finite, got {value!r}")
    return out + 0.0


def _rt(values: Any, n: int, *, name: str) -> tuple[float, ...]:
    out = tuple(_r(v) for v in values)
    if len(out) != n:
        raise ValueError(f"{name} must hold {n} numbers, got {len(out)}")
    return out


def thread_label(order: int) -> str:
    """The label of the thread inserted at 0-based ``order``: ``T01``, ``T02``, ...

    Examples
    --------
    >>> thread_label(0), thread_label(63)
    ('T01', 'T64')
    """
    return f"T{int(order) + 1:02d}"


@dataclass(frozen=True)
class Thread:
    """One electrode thread: where and how deep it goes, and how safe the site is.

    Parameters
    ----------
    id : int
        Identifier, 0..n-1, stable across replans for kept threads.
    order : int
        0-based insertion order.
    pixel : (float, float)
        Site (row, col) in image pixels.
    entry_um : (float, float, float)
        Entry point on the pia (x, y, z), micrometres, Grid frame.
    direction : (float, float, float)
        Unit needle axis pointing into tissue; (0, 0, -1) is vertical.
    depth_um : float
        Insertion depth of the tip along the needle, counted from the pia.
    clearance_um : float
        Achieved 2-D clearance to the nearest vessel edge (avoidance map).
    required_clearance_um : float
        Clearance the margin model requires there.
    status : ThreadStatus
        Given as a ``ThreadStatus`` or its value (one of ``THREAD_STATUSES``).
    tether_um : tuple of (x, y, z)
        Surface polyline from the implant's thread exit to the site.
    weight : float
        Functional weight at the site, in [0, 1].
    slack_um : float or None
        Slack the planner laid in the tether on purpose (laid length less the taut
        route, :mod:`insertion_planner.tether`), um, >= 0; None (the default, and every
        plan made without ``max_retraction_risk``): the route's own slack.

    Examples
    --------
    >>> t = Thread(0, 0, (10.0, 20.0), (240.0, 120.0, 0.0), (0.0, 0.0, -1.0), 3500.0,
    ...            150.0, 86.5, "planned", ((0.0, 0.0, 0.0), (240.0, 120.0, 0.0)), 1.0)
    >>> t.clearance_um >= t.required_clearance_um
    True
    >>> t.label, t.target_um, t.electrode_depths_um[-1]
    ('T01', (240.0, 120.0, -3500.0), 500.0)
    """

    id: int
    order: int
    pixel: tuple[float, float]
    entry_um: tuple[float, float, float]
    direction: tuple[float, float, float]
    depth_um: float
    clearance_um: float
    required_clearance_um: float
    status: ThreadStatus
    tether_um: tuple[tuple[float, float, float], ...]
    weight: float
    slack_um: float | None = None

    def __post_init__(self) -> None:
        for name in ("id", "order"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
            object.__setattr__(self, name, int(v))
        if self.status not in THREAD_STATUSES:
            raise ValueError(f"status must be one of {THREAD_STATUSES}, got {self.status!r}")
        object.__setattr__(self, "status", ThreadStatus(self.status))
        object.__setattr__(self, "pixel", _rt(self.pixel, 2, name="pixel"))
        object.__setattr__(self, "entry_um", _rt(self.entry_um, 3, name="entry_um"))
        object.__setattr__(self, "direction", _rt(self.direction, 3, name="direction"))
        for name in ("depth_um", "clearance_um", "required_clearance_um", "weight"):
            object.__setattr__(self, name, _r(getattr(self, name)))
        tether = tuple(_rt(p, 3, name="tether_um") for p in self.tether_um)
        object.__setattr__(self, "tether_um", tether)
        if self.slack_um is not None:
            slack = _r(self.slack_um)
            if slack < 0:
                raise ValueError(f"slack_um must be at least 0, got {slack}")
            object.__setattr__(self, "slack_um", slack)

    @property
    def label(self) -> str:
        """The thread's name in every view: ``T01`` is inserted first (``order`` 0).

        JSON, figures, reports, timelines, exports and the CLI all name threads this way.
        """
        return thread_label(self.order)

    @property
    def target_um(self) -> tuple[float, float, float]:
        """The needle tip (x, y, z), um: ``entry_um + depth_um * direction``, rounded to 1e-6."""
        return tuple(_r(e + self.depth_um * d) for e, d in zip(self.entry_um, self.direction,
                                                                 strict=True))  # type: ignore[return-value]  # fmt: skip

    @property
    def electrode_depths_um(self) -> tuple[float, ...]:
        """Depth of each of the 16 electrodes below the pia along the needle, tip first, um.

        ``depth_um - 200 k`` for ``k = 0..15`` (:func:`insertion_planner.electrodes.electrode_depths_um`).
        """
        return tuple(_r(v) for v in electrode_depths_um(self.depth_um).tolist())

    def to_dict(self) -> dict[str, Any]:
        """The thread as a JSON-ready dict (``slack_um`` only when laid on purpose)."""
        out: dict[str, Any] = {
            "id": self.id,
            "order": self.order,
            "label": self.label,
            "pixel": list(self.pixel),
            "entry_um": list(self.entry_um),
            "direction": list(self.direction),
            "depth_um": self.depth_um,
            "target_um": list(self.target_um),
            "electrode_depths_um": list(self.electrode_depths_um),
            "clearance_um": self.clearance_um,
            "required_clearance_um": self.required_clearance_um,
            "status": self.status.value,
            "tether_um": [list(p) for p in self.tether_um],
            "weight": self.weight,
        }
        if self.slack_um is not None:
            out["slack_um"] = self.slack_um
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Thread:
        """A thread from :meth:`to_dict` output.

        ``target_um`` and ``electrode_depths_um`` are derived, not read (plan files of
        schema 1.0 and 1.1 hold neither); :func:`~insertion_planner.load_plan` checks that
        stored ones equal the derived (:func:`~insertion_planner.plan_checks.derived_problems`).
        ``slack_um`` is optional (None when absent).
        """
        return cls(
            d["id"], d["order"], tuple(d["pixel"]), tuple(d["entry_um"]), tuple(d["direction"]),
            d["depth_um"], d["clearance_um"], d["required_clearance_um"], d["status"],
            tuple(tuple(p) for p in d["tether_um"]), d["weight"], d.get("slack_um"),
        )  # fmt: skip
