"""3-D clearance of straight needle paths from vessels modelled as capsules.

A vessel is a capsule: a centreline segment with a radius. Surface (and dural) vessels
come from ``PlanGeometry.vessel_segments_um``; a penetrating vessel is a vertical capsule
from its surface point down to its depth. The clearance of a needle path is the exact
smallest distance between the path segment and any capsule axis, minus that capsule's
radius: the distance from the needle axis to the nearest vessel edge (no sampling error).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["vessel_capsules", "segment_distance", "path_clearance", "nearest_capsules"]

_EPS = 1e-12


def vessel_capsules(
    vessel_segments_um: ArrayLike, penetrating_um: ArrayLike
) -> NDArray[np.float64]:
    """All vessels as capsules (c, 7): x0, y0, z0, x1, y1, z1, radius_um.

    Parameters
    ----------
    vessel_segments_um : (n, 7) float
        Centreline segments with radius.
    penetrating_um : (m, 5) float
        x, y, z at the surface, radius_um, depth_um (vertical, going down).

    Examples
    --------
    >>> vessel_capsules(np.zeros((0, 7)), [[0.0, 0.0, 0.0, 10.0, 500.0]]).tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0, -500.0, 10.0]]
    """
    seg = np.asarray(vessel_segments_um, dtype=np.float64).reshape(-1, 7)
    pen = np.asarray(penetrating_um, dtype=np.float64).reshape(-1, 5)
    caps = np.empty((len(pen), 7))
    caps[:, 0:3] = pen[:, 0:3]
    caps[:, 3:6] = pen[:, 0:3]
    caps[:, 5] -= pen[:, 4]
    caps[:, 6] = pen[:, 3]
    return np.concatenate([seg, caps], axis=0)


def segment_distance(
    p0: NDArray[np.float64],
    p1: NDArray[np.float64],
    q0: NDArray[np.float64],
    q1: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Smallest distance between segments p0-p1 and q0-q1, broadcast over leading axes.

    Parameters
    ----------
    p0, p1, q0, q1 : (..., 3) float
        Segment end points (broadcastable).

    Returns
    -------
    (...) float

    Examples
    --------
    >>> z = np.zeros(3)
    >>> float(segment_distance(z, np.array([0, 0, -1.0]), np.array([2.0, -1, -0.5]),
    ...                        np.array([2.0, 1, -0.5])))
    2.0
    """
    d1 = p1 - p0
    d2 = q1 - q0
    r = p0 - q0
    a = np.einsum("...i,...i->...", d1, d1)
    e = np.einsum("...i,...i->...", d2, d2)
    f = np.einsum("...i,...i->...", d2, r)
    c = np.einsum("...i,...i->...", d1, r)
    b = np.einsum("...i,...i->...", d1, d2)
    a_safe = np.where(a > _EPS, a, 1.0)
    e_safe = np.where(e > _EPS, e, 1.0)
    denom = a * e - b * b
    general = denom > _EPS * np.maximum(a * e, 1.0)
    s = np.where(general, np.clip((b * f - c * e) / np.where(general, denom, 1.0), 0, 1), 0.0)
    s = np.where(a > _EPS, s, 0.0)
    t = np.where(e > _EPS, (b * s + f) / e_safe, 0.0)
    low, high = t < 0, t > 1
    t = np.clip(t, 0.0, 1.0)
    s = np.where(low | (e <= _EPS), np.clip(-c / a_safe, 0, 1), s)
    s = np.where(high, np.clip((b - c) / a_safe, 0, 1), s)
    s = np.where(a > _EPS, s, 0.0)
    diff = (p0 + s[..., None] * d1) - (q0 + t[..., None] * d2)
    return np.sqrt(np.einsum("...i,...i->...", diff, diff))


def _paths(
    entries_um: ArrayLike, directions: ArrayLike, depths_um: ArrayLike, dura_thickness_um: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    e = np.atleast_2d(np.asarray(entries_um, dtype=np.float64))
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    depth = np.broadcast_to(np.asarray(depths_um, dtype=np.float64), (len(e),))
    above = np.broadcast_to(np.asarray(dura_thickness_um, dtype=np.float64), (len(e),))
    return e - above[:, None] * d, e + depth[:, None] * d


def path_clearance(
    entries_um: ArrayLike,
    directions: ArrayLike,
    depths_um: ArrayLike,
    capsules: ArrayLike,
    *,
    dura_thickness_um: ArrayLike = 0.0,
    chunk: int = 65536,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Clearance (um) of each needle path from the nearest vessel edge, and which vessel.

    The path runs from the top of the dura (``entry - dura * direction``) to the tip at
    ``entry + depth * direction``; pass a larger ``dura_thickness_um`` to check more of the
    approach above the entry.

    Parameters
    ----------
    entries_um : (n, 3) float
    directions : (n, 3) float
        Unit needle axes into tissue.
    depths_um : (n,) float
    capsules : (c, 7) float
        From :func:`vessel_capsules`.
    dura_thickness_um : float or (n,) float
        Length of the path checked above the entry, along the needle axis.

    Returns
    -------
    clearance_um : (n,) float
        Distance from the needle axis to the nearest vessel edge (inf without vessels;
        negative when the axis passes through a vessel).
    nearest : (n,) int
        Index of the nearest capsule (-1 without vessels).

    Examples
    --------
    >>> caps = vessel_capsules([[100.0, -500, 0, 100, 500, 0, 20]], np.zeros((0, 5)))
    >>> c, k = path_clearance([[0.0, 0, 0]], [[0.0, 0, -1]], [3500.0], caps)
    >>> c.tolist(), k.tolist()
    ([80.0], [0])
    """
    p0, p1 = _paths(entries_um, directions, depths_um, dura_thickness_um)
    caps = np.asarray(capsules, dtype=np.float64).reshape(-1, 7)
    n = len(p0)
    if len(caps) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.intp)
    best = np.full(n, np.inf)
    arg = np.zeros(n, dtype=np.intp)
    step = max(1, chunk // max(n, 1))
    for lo in range(0, len(caps), step):
        c = caps[lo : lo + step]
        dist = (
            segment_distance(p0[:, None], p1[:, None], c[None, :, 0:3], c[None, :, 3:6])
            - c[None, :, 6]
        )
        k = np.argmin(dist, axis=1)
        val = dist[np.arange(n), k]
        better = val < best
        best[better] = val[better]
        arg[better] = k[better] + lo
    return best, arg


def nearest_capsules(
    entries_um: ArrayLike,
    directions: ArrayLike,
    depths_um: ArrayLike,
    capsules: ArrayLike,
    *,
    k: int = 8,
    dura_thickness_um: ArrayLike = 0.0,
) -> NDArray[np.intp]:
    """Indices (n, k') of the k capsules nearest each path (k' = min(k, c)), nearest first."""
    p0, p1 = _paths(entries_um, directions, depths_um, dura_thickness_um)
    caps = np.asarray(capsules, dtype=np.float64).reshape(-1, 7)
    kk = min(k, len(caps))
    if kk == 0:
        return np.zeros((len(p0), 0), dtype=np.intp)
    dist = (
        segment_distance(p0[:, None], p1[:, None], caps[None, :, 0:3], caps[None, :, 3:6])
        - caps[None, :, 6]
    )
    idx = np.argpartition(dist, kk - 1, axis=1)[:, :kk]
    order = np.argsort(np.take_along_axis(dist, idx, axis=1), axis=1)
    return np.take_along_axis(idx, order, axis=1)
