"""``avoidance_from_arrays``: a small :class:`AvoidanceMap` from arrays (examples and tests)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import readonly
from ..config import DuraMode, SafetyMargins
from .avoidance_map import AvoidanceMap

__all__ = ["avoidance_from_arrays"]


def avoidance_from_arrays(
    *,
    clearance_um: ArrayLike,
    required_um: ArrayLike | float = 86.5,
    allowed: ArrayLike | None = None,
    pixel_size_um: float = 12.0,
    dura_mode: DuraMode | str = "durectomy",
    margins: SafetyMargins | None = None,
    penetrating: ArrayLike | None = None,
) -> AvoidanceMap:
    """An :class:`AvoidanceMap` given its clearance (and requirement) directly.

    The one public way to build a map without an image: for examples, tests and maps
    computed elsewhere. Every pixel counts as seen (``detectable_diameter_um`` 0).

    Parameters
    ----------
    clearance_um : (H, W) float
        Distance to the nearest vessel edge, um (``inf``: no vessel at all).
    required_um : (H, W) float or float
        Required clearance, um (86.5: the durectomy default of :class:`SafetyMargins`).
    allowed : (H, W) bool, optional
        Default: ``clearance_um >= required_um``; given, it is combined with that rule.
    pixel_size_um : float
    dura_mode : DuraMode or str
    margins : SafetyMargins, optional
    penetrating : (m, 3) float, optional
        Penetrating vessels (row, col, radius_um).

    Raises
    ------
    ValueError
        An array that is not 2-D, arrays of different shapes, a negative or NaN
        clearance, or a negative or non-finite requirement.

    Examples
    --------
    >>> amap = avoidance_from_arrays(clearance_um=[[0.0, 60.0, 120.0]])
    >>> amap.allowed.tolist(), amap.required_um.tolist()
    ([[False, False, True]], [[86.5, 86.5, 86.5]])
    """
    clear = np.asarray(clearance_um, dtype=np.float32)
    if clear.ndim != 2 or not clear.size:
        raise ValueError(f"clearance_um must be a non-empty 2-D array, got shape {clear.shape}")
    if np.isnan(clear).any() or (clear < 0).any():
        raise ValueError("clearance_um must be at least 0 everywhere (inf: no vessel)")
    req = np.broadcast_to(np.asarray(required_um, dtype=np.float32), clear.shape).copy()
    if not np.isfinite(req).all() or (req < 0).any():
        raise ValueError("required_um must be finite and at least 0 everywhere")
    ok = clear >= req
    if allowed is not None:
        a = np.asarray(allowed)
        if a.shape != clear.shape:
            raise ValueError(
                f"allowed must have the shape of clearance_um {clear.shape}, got {a.shape}"
            )
        ok &= a.astype(bool)
    pen = np.zeros((0, 3)) if penetrating is None else np.asarray(penetrating, float).reshape(-1, 3)
    return AvoidanceMap(
        clearance_um=readonly(clear), required_um=readonly(req), allowed=readonly(ok),
        nearest_radius_um=readonly(np.zeros(clear.shape, np.float32)), penetrating=readonly(pen.copy()),
        margins=margins or SafetyMargins(), dura_mode=DuraMode.parse(dura_mode),
        pixel_size_um=float(pixel_size_um),
        detectable_diameter_um=readonly(np.zeros(clear.shape, np.float32)),
        undetectable=readonly(np.zeros(clear.shape, bool)),
    )  # fmt: skip
