"""Depth per thread: every electrode inside the cortex, the threads spread over its depth.

With ``plan_insertions(..., depth_um=(min_um, max_um))`` the planner chooses each
thread's tip depth. The rule of which depths keep all 16 electrodes in cortex is
:func:`insertion_planner.electrodes.depth_window_um` (the one rule, shared with plan files
and the retraction model); this module applies it at sites:

- :func:`site_depth_window_um`: the shallowest and deepest allowed depth at each site,
  on the ``DEPTH_STEP_UM`` grid, from the local thickness along the needle. A site with
  none is not a candidate (the per-site constraint ``depth``);
- :func:`choose_depths`: the threads spread over their windows in insertion order (the
  first at its deepest, then halfway, a quarter, three quarters...: van der Corput
  fractions, so any run of consecutive, neighbouring threads spans the cortex);
- :func:`depth_coverage`: how much of the cortical depth the electrodes reach.

Cortical thickness: a number or an (H, W) map (``SyntheticCase.cortex_thickness_um``);
with a range and none given, the planner takes the retraction model's default
(``RetractionSettings.cortex_thickness_um``, 4 mm, motor cortex: Fischl & Dale 2000,
doi:10.1073/pnas.200033797).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import readonly
from ..electrodes import (
    ELECTRODE_PITCH_UM,
    N_ELECTRODES,
    cortex_thickness_at_um,
    depth_window_um,
    electrode_depths_um,
)
from .scene import Scene, needle_directions

__all__ = [
    "DEPTH_STEP_UM",
    "check_cortex_thickness",
    "site_depth_window_um",
    "choose_depths",
    "fit_depths",
    "depth_coverage",
]

DEPTH_STEP_UM = 50.0
"""Depths chosen within a range are multiples of this, a quarter of the electrode pitch
(the stage's 10 um accuracy resolves it many times over; JMIR 2019)."""
_MAX_THICKNESS_UM = 10000.0
_BINS = 200


def check_cortex_thickness(
    value: Any, shape: tuple[int, int]
) -> float | NDArray[np.float32] | None:
    """``cortex_thickness_um`` checked at the door: None, a number or an (H, W) map, um.

    Raises
    ------
    TypeError
        Not None, a number or an array.
    ValueError
        A value outside [1, 10000] um or not finite, or a map not of ``shape``.

    Examples
    --------
    >>> check_cortex_thickness(3500, (4, 4))
    3500.0
    >>> check_cortex_thickness(np.full((2, 3), 3000.0), (2, 3)).dtype
    dtype('float32')
    >>> check_cortex_thickness(np.zeros((2, 2)), (2, 2))
    Traceback (most recent call last):
    ...
    ValueError: cortex_thickness_um must hold finite values in [1, 10000] um, got 0.0 at pixel (0, 0)
    """
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if not (np.isfinite(v) and 1.0 <= v <= _MAX_THICKNESS_UM):
            raise ValueError(f"cortex_thickness_um must be in [1, 10000] um, got {v}")
        return v
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"cortex_thickness_um must be None, a number or an (H, W) array, got {type(value).__name__}"
        )
    if value.shape != tuple(shape):
        raise ValueError(
            f"cortex_thickness_um must be a number or a map of the image's shape {tuple(shape)}, "
            f"got shape {value.shape}"
        )
    if not np.issubdtype(value.dtype, np.number) or value.dtype == bool:
        raise TypeError(f"cortex_thickness_um must hold numbers, got dtype {value.dtype}")
    m = np.asarray(value, dtype=np.float64)
    bad = ~(np.isfinite(m) & (m >= 1.0) & (m <= _MAX_THICKNESS_UM))
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"cortex_thickness_um must hold finite values in [1, 10000] um, got {m[r, c]} at pixel ({r}, {c})"
        )
    out: NDArray[np.float32] = readonly(m.astype(np.float32))
    return out


def site_depth_window_um(
    scene: Scene, rc: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The tip depths allowed at (n, 2) sites (row, col): ``(low, high)``, (n,) um each.

    With a depth range (``scene.depth_range_um``): the depths of the range, on the
    ``DEPTH_STEP_UM`` grid, that keep all 16 electrodes inside the local cortical
    thickness taken along the needle (:func:`~insertion_planner.electrodes.depth_window_um`,
    :func:`~insertion_planner.electrodes.cortex_thickness_at_um`). With a single depth and a
    known thickness: that depth, when it keeps them inside. With a range and no thickness
    (a plan loaded from a file): the range's depths that keep the top electrode below the
    pia. Without either: the single depth everywhere (no depth constraint, as before).
    ``low > high`` where no depth is allowed (the site breaks the ``depth`` constraint).

    Examples
    --------
    >>> from insertion_planner import Grid
    >>> from insertion_planner.planning.scene import make_scene
    >>> thick = np.full((10, 10), 4000.0); thick[:, 5:] = 2800.0
    >>> s = make_scene(Grid((10, 10), 100.0), depth_range_um=(2500.0, 4500.0), cortex_thickness_um=thick)
    >>> lo, hi = site_depth_window_um(s, [[5, 2], [5, 7]])
    >>> lo.tolist(), hi.tolist()
    ([3050.0, 3050.0], [4000.0, 2800.0])
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float)).reshape(-1, 2)
    thickness = scene.cortex_thickness_um
    if scene.depth_range_um is None and thickness is None:
        d = np.full(len(pts), scene.depth_um)
        return d, d.copy()
    if thickness is None:
        thickness = np.inf
    along = cortex_thickness_at_um(thickness, pts, needle_directions(scene, pts)[:, 2])
    if scene.depth_range_um is None:
        return depth_window_um(along, (scene.depth_um, scene.depth_um))
    return depth_window_um(along, scene.depth_range_um, step_um=DEPTH_STEP_UM)


def _van_der_corput(n: int) -> NDArray[np.float64]:
    """The first ``n`` van der Corput fractions in base 2: 0, 1/2, 1/4, 3/4, 1/8, ..."""
    out = np.zeros(n)
    for k in range(n):
        q, denom, i = 0.0, 1.0, k
        while i:
            denom *= 2.0
            q += (i & 1) / denom
            i >>= 1
        out[k] = q
    return out


def choose_depths(
    low_um: ArrayLike, high_um: ArrayLike, *, step_um: float = DEPTH_STEP_UM
) -> NDArray[np.float64]:
    """Tip depths spread over their allowed windows, threads given in insertion order, (n,) um.

    Thread ``k`` (0 inserted first) goes to fraction ``1 - v(k)`` of its window, ``v`` the
    van der Corput sequence (0, 1/2, 1/4, 3/4, ...), rounded down to the ``step_um`` grid
    from the window's shallow end: the first thread at its deepest allowed depth, the
    next halfway, and so on, so consecutive threads (neighbours along the insertion path)
    alternate between deep and shallow and together reach from just below the pia to the
    deepest depth the cortex allows.

    Parameters
    ----------
    low_um, high_um : (n,) float
        Allowed windows (:func:`site_depth_window_um`), ``low <= high``.
    step_um : float
        Grid of the depths (0: continuous).

    Returns
    -------
    (n,) float

    Raises
    ------
    ValueError
        A window with ``low > high`` (a site no depth suits) or arrays of different
        lengths.

    Examples
    --------
    >>> choose_depths([3050.0] * 4, [4500.0] * 4).tolist()
    [4500.0, 3800.0, 4150.0, 3400.0]
    """
    lo = np.atleast_1d(np.asarray(low_um, dtype=np.float64))
    hi = np.atleast_1d(np.asarray(high_um, dtype=np.float64))
    if lo.shape != hi.shape or lo.ndim != 1:
        raise ValueError(
            f"low_um and high_um must be (n,) arrays of one length, got {lo.shape} and {hi.shape}"
        )
    if (lo > hi + 1e-9).any():
        i = int(np.flatnonzero(lo > hi + 1e-9)[0])
        raise ValueError(f"low_um must not exceed high_um, got {lo[i]} > {hi[i]} for thread {i}")
    q = 1.0 - _van_der_corput(len(lo))
    if step_um > 0:
        levels = np.floor((hi - lo) / step_um + 1e-9)
        j = np.minimum(np.floor(q * (levels + 1.0)), levels)
        return lo + j * step_um
    out: NDArray[np.float64] = lo + q * (hi - lo)
    return out


def fit_depths(scene: Scene, rc: ArrayLike, preferred_um: ArrayLike) -> NDArray[np.float64]:
    """Depths at (n, 2) new sites, as near ``preferred_um`` as the sites allow, (n,) um.

    A moved or re-placed thread keeps its depth when its new site allows it, else the
    nearest allowed one (:func:`site_depth_window_um`); with a single depth, or at a site
    that allows none (the ``depth`` constraint then fails), the preferred depth.

    Examples
    --------
    >>> from insertion_planner import Grid
    >>> from insertion_planner.planning.scene import make_scene
    >>> s = make_scene(Grid((10, 10), 100.0), depth_range_um=(2500.0, 4500.0), cortex_thickness_um=3600.0)
    >>> fit_depths(s, [[5, 5], [5, 6]], [4200.0, 3300.0]).tolist()
    [3600.0, 3300.0]
    """
    pref = np.atleast_1d(np.asarray(preferred_um, dtype=np.float64))
    if scene.depth_range_um is None:
        return pref.copy()
    lo, hi = site_depth_window_um(scene, rc)
    return np.where(lo <= hi, np.clip(pref, lo, np.maximum(lo, hi)), pref)


def depth_coverage(
    depth_um: ArrayLike,
    thickness_um: ArrayLike,
    *,
    deepest_um: ArrayLike | None = None,
) -> dict[str, Any]:
    """How much of the cortical depth the threads' electrodes reach.

    Depth is taken relative to each site's cortex (0 at the pia, 1 at the grey-white
    boundary, the local thickness along the needle), so that threads in thin and thick
    cortex are compared layer for layer. A relative depth is covered when an electrode in
    cortex lies within half a pitch (100 um) of it; the share of [0, 1] covered is
    reported (on a grid of 200 steps).

    Parameters
    ----------
    depth_um : (n,) float
        Tip depth of each thread along the needle, um.
    thickness_um : (n,) float
        Cortical thickness along each needle, um.
    deepest_um : (n,) float, optional
        Each thread's deepest allowed depth: the coverage with every thread there is
        reported too (``covered_fraction_all_deepest``), for comparison.

    Returns
    -------
    dict
        ``covered_fraction`` in [0, 1], ``tip_depth_um`` [min, max],
        ``electrode_depth_um`` [min, max] of the electrodes in cortex, ``depth_levels``
        (distinct tip depths) and, with ``deepest_um``, ``covered_fraction_all_deepest``.

    Examples
    --------
    >>> cov = depth_coverage([4000.0, 3500.0, 3100.0], [4000.0] * 3, deepest_um=[4000.0] * 3)
    >>> cov["covered_fraction"], cov["covered_fraction_all_deepest"], cov["depth_levels"]
    (1.0, 0.775, 3)
    """
    d = np.atleast_1d(np.asarray(depth_um, dtype=np.float64))
    t = np.broadcast_to(np.asarray(thickness_um, dtype=np.float64), d.shape)
    out: dict[str, Any] = {
        "covered_fraction": _covered(d, t),
        "tip_depth_um": [round(float(d.min()), 6), round(float(d.max()), 6)] if len(d) else [],
        "depth_levels": len(np.unique(np.round(d, 6))),
    }
    e = electrode_depths_um(d)
    inside = (e > 0) & (e <= t[:, None])
    out["electrode_depth_um"] = (
        [round(float(e[inside].min()), 6), round(float(e[inside].max()), 6)] if inside.any() else []
    )
    if deepest_um is not None:
        deep = np.broadcast_to(np.asarray(deepest_um, dtype=np.float64), d.shape)
        out["covered_fraction_all_deepest"] = _covered(deep, t)
    return out


def _covered(depth: NDArray[np.float64], thickness: NDArray[np.float64]) -> float:
    """Share of the relative depths (0-1) within half a pitch of an electrode in cortex."""
    if not len(depth):
        return 0.0
    e = electrode_depths_um(depth, n_electrodes=N_ELECTRODES, pitch_um=ELECTRODE_PITCH_UM)
    t = thickness[:, None]
    inside = (e > 0) & (e <= t)
    lo = ((e - ELECTRODE_PITCH_UM / 2) / t)[inside]
    hi = ((e + ELECTRODE_PITCH_UM / 2) / t)[inside]
    centres = (np.arange(_BINS) + 0.5) / _BINS
    hit = np.zeros(_BINS, bool)
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        hit[(centres >= a) & (centres <= b)] = True
    return round(float(hit.mean()), 6)
