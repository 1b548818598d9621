"""Where a thread's electrodes sit, and the one rule of which of them lie in cortex.

An N1 thread carries 16 electrodes 200 um apart (Neuralink, Lex Fridman podcast #438,
2024; DESIGN.md section 3). Electrode ``k`` (0 at the tip) of a thread whose tip is
``depth_um`` below the pia along the needle sits ``depth_um - k * pitch_um`` below it. It
lies in cortex while that depth is more than 0 (below the pia) and at most the local
cortical thickness measured along the needle. The planner (which depth to insert to),
plan files (``electrode_depths_um``) and the retraction model (which electrodes stay)
all ask this module, so they cannot disagree about where an electrode is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "N_ELECTRODES",
    "ELECTRODE_PITCH_UM",
    "electrode_depths_um",
    "electrode_counts",
    "sample_map",
    "thickness_along_needle_um",
    "cortex_thickness_at_um",
    "depth_window_um",
]

N_ELECTRODES = 16
"""Electrodes per thread (N1: 64 threads x 16 electrodes; podcast #438, 2024)."""
ELECTRODE_PITCH_UM = 200.0
"""Spacing of the electrodes along a thread, um (same source)."""
_EPS = 1e-6


def electrode_depths_um(
    depth_um: ArrayLike, *, n_electrodes: int = N_ELECTRODES, pitch_um: float = ELECTRODE_PITCH_UM
) -> NDArray[np.float64]:
    """Depth of each electrode below the pia along the needle, tip first, um.

    Parameters
    ----------
    depth_um : float or (n,) float
        Tip depth below the pia along the needle, um.
    n_electrodes : int
    pitch_um : float

    Returns
    -------
    (n_electrodes,) or (n, n_electrodes) float
        ``depth_um - k * pitch_um`` for ``k = 0 .. n_electrodes - 1``; an electrode above
        the pia has a negative depth.

    Examples
    --------
    >>> electrode_depths_um(3500.0)[[0, 1, -1]].tolist()
    [3500.0, 3300.0, 500.0]
    >>> electrode_depths_um([3500.0, 4000.0]).shape
    (2, 16)
    """
    d = np.asarray(depth_um, dtype=np.float64)
    k = np.arange(n_electrodes, dtype=np.float64) * float(pitch_um)
    out: NDArray[np.float64] = d[..., None] - k
    return out


def electrode_counts(
    depth_um: ArrayLike,
    low_um: ArrayLike,
    high_um: ArrayLike,
    *,
    n_electrodes: int = N_ELECTRODES,
    pitch_um: float = ELECTRODE_PITCH_UM,
) -> NDArray[np.int64]:
    """How many electrodes of each thread lie at depths in (low_um, high_um] below the pia.

    Electrode ``k`` of a thread whose tip is ``depth_um`` below the pia (along the
    needle) sits at ``depth_um - k * pitch_um``, ``k = 0 .. n_electrodes - 1``. The
    interval is open at the top: an electrode exactly at the pia (depth 0) is not in
    cortex, so a thread retracted by its whole depth keeps none. All arguments broadcast
    together; no loop over electrodes.

    Examples
    --------
    >>> int(electrode_counts(3500.0, 0.0, 2500.0, n_electrodes=16, pitch_um=200.0))
    11
    >>> electrode_counts([3500.0, 3500.0, 3500.0], [0.0, 600.0, 3500.0], 4000.0,
    ...                  n_electrodes=16, pitch_um=200.0).tolist()
    [16, 15, 0]
    """
    d = np.asarray(depth_um, dtype=np.float64)
    k_lo = np.ceil((d - np.asarray(high_um, dtype=np.float64)) / pitch_um - _EPS)
    k_hi = np.ceil((d - np.asarray(low_um, dtype=np.float64)) / pitch_um - _EPS) - 1.0
    k_lo = np.maximum(k_lo, 0.0)
    k_hi = np.minimum(k_hi, float(n_electrodes - 1))
    return np.maximum(k_hi - k_lo + 1.0, 0.0).astype(np.int64)


def thickness_along_needle_um(
    thickness_um: ArrayLike, direction_z: ArrayLike
) -> NDArray[np.float64]:
    """The cortical thickness measured along the needle, um.

    ``thickness_um`` is the grey matter's vertical extent under the site (the value of a
    thickness map at the site's pixel); a needle tilted from the vertical, with axis
    z component ``direction_z`` (< 0, pointing into tissue), crosses it over
    ``thickness_um / |direction_z|``. A vertical needle sees the thickness itself.

    Parameters
    ----------
    thickness_um : float or (n,) float
    direction_z : float or (n,) float
        z component of the unit needle axis, in [-1, 0).

    Returns
    -------
    float array broadcast from the inputs

    Raises
    ------
    ValueError
        A needle axis that does not point down (``direction_z`` >= 0).

    Examples
    --------
    >>> thickness_along_needle_um([3000.0, 3000.0], [-1.0, -0.5]).tolist()
    [3000.0, 6000.0]
    """
    t = np.asarray(thickness_um, dtype=np.float64)
    dz = np.asarray(direction_z, dtype=np.float64)
    if (dz >= 0).any() or not np.isfinite(dz).all():
        raise ValueError(f"direction_z must be below 0 (pointing into tissue), got {dz.max()}")
    out: NDArray[np.float64] = t / -dz
    return out


def sample_map(values: NDArray[Any], pixels: ArrayLike) -> NDArray[np.float64]:
    """Values of an (H, W) map at (n, 2) (row, col) pixels (nearest pixel, clipped inside).

    Examples
    --------
    >>> sample_map(np.arange(6.0).reshape(2, 3), [(0.4, 1.6), (9.0, -2.0)]).tolist()
    [2.0, 3.0]
    """
    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    h, w = values.shape
    r = np.clip(np.rint(px[:, 0]).astype(np.int64), 0, h - 1)
    c = np.clip(np.rint(px[:, 1]).astype(np.int64), 0, w - 1)
    return np.asarray(values[r, c], dtype=np.float64)


def cortex_thickness_at_um(
    thickness_um: float | NDArray[Any], pixels: ArrayLike, direction_z: ArrayLike
) -> NDArray[np.float64]:
    """The cortical thickness along the needle at (n, 2) sites, (n,) um.

    ``thickness_um`` is a number (the same everywhere) or an (H, W) map sampled at each
    site's nearest pixel (:func:`sample_map`); either is the vertical thickness, taken
    along each needle by :func:`thickness_along_needle_um`.

    Raises
    ------
    ValueError
        A needle axis that does not point down.

    Examples
    --------
    >>> m = np.array([[3000.0, 4000.0]])
    >>> cortex_thickness_at_um(m, [(0, 0), (0, 1)], [-1.0, -1.0]).tolist()
    [3000.0, 4000.0]
    >>> cortex_thickness_at_um(3500.0, [(0, 0)], [-1.0]).tolist()
    [3500.0]
    """
    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    if isinstance(thickness_um, np.ndarray) and thickness_um.ndim == 2:
        vertical = sample_map(thickness_um, px)
    else:
        vertical = np.full(len(px), float(thickness_um))
    dz = np.broadcast_to(np.asarray(direction_z, dtype=np.float64), (len(px),))
    return thickness_along_needle_um(vertical, dz)


def depth_window_um(
    thickness_um: ArrayLike,
    depth_range_um: tuple[float, float],
    *,
    n_electrodes: int = N_ELECTRODES,
    pitch_um: float = ELECTRODE_PITCH_UM,
    step_um: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The tip depths in ``depth_range_um`` that keep every electrode in cortex.

    Every electrode lies in cortex (:func:`electrode_counts` over (0, thickness]) when
    the top one is below the pia, ``depth > (n_electrodes - 1) * pitch_um``, and the tip
    is at most the thickness, ``depth <= thickness_um``. With ``step_um > 0`` the window
    is narrowed to multiples of the step (the planner's depths).

    Parameters
    ----------
    thickness_um : float or (n,) float
        Cortical thickness along the needle (:func:`thickness_along_needle_um`), um.
    depth_range_um : (float, float)
        Shallowest and deepest depth allowed, um.
    n_electrodes, pitch_um, step_um
        See above.

    Returns
    -------
    low, high : (n,) float
        The shallowest and the deepest such depth; ``low > high`` where none exists.

    Examples
    --------
    >>> lo, hi = depth_window_um([4000.0, 3600.0, 2900.0], (2500.0, 4500.0), step_um=50.0)
    >>> lo.tolist(), hi.tolist()
    ([3050.0, 3050.0, 3050.0], [4000.0, 3600.0, 2900.0])
    >>> bool((electrode_counts(hi[:2], 0.0, [4000.0, 3600.0]) == 16).all())
    True
    """
    t = np.atleast_1d(np.asarray(thickness_um, dtype=np.float64))
    span = (n_electrodes - 1) * float(pitch_um)
    lo_d, hi_d = float(depth_range_um[0]), float(depth_range_um[1])
    if step_um > 0:
        low = np.full(
            t.shape, max(np.ceil(lo_d / step_um - _EPS), np.floor(span / step_um) + 1) * step_um
        )
        high = np.floor(np.minimum(t, hi_d) / step_um + _EPS) * step_um
    else:
        low = np.full(t.shape, max(lo_d, np.nextafter(span, np.inf)))
        high = np.minimum(t, hi_d)
    return low, high
