"""The 2-D vessel-clearance rule of an avoidance map, asked by the one validity checker.

A site passes when the map allows its pixel and the clearance there meets the requirement
(:func:`map_clearance`). The positioning-error Monte Carlo asks the same map where a moved
needle lands (:func:`surface_clearance_um`), so it cannot count as safe a landing the
checker would refuse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from ..protocols import AvoidanceLike

__all__ = ["map_clearance", "surface_clearance_um"]


def _map_allows(allowed: Any, clear: Any, req: Any) -> NDArray[np.bool_]:
    """The 2-D vessel-clearance rule: the map allows the pixel and its clearance meets the
    requirement there (elementwise)."""
    out: NDArray[np.bool_] = np.asarray(allowed, bool) & (np.asarray(clear) >= np.asarray(req))
    return out


def map_clearance(
    avoidance: AvoidanceLike, rc: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """What an avoidance map says of (n, 2) pixel sites (row, col), judged at the nearest pixel.

    Returns
    -------
    clearance_um, required_um : (n,) float
        The map's clearance and required clearance there (at the nearest pixel inside
        the image for a site outside it).
    ok : (n,) bool
        The site is inside the image and passes the 2-D vessel-clearance rule (the map
        allows it and its clearance meets the requirement).

    Examples
    --------
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> amap = avoidance_from_arrays(clearance_um=[[0.0, 60.0, 120.0]], required_um=86.5,
    ...                              allowed=[[False, False, True]])
    >>> clear, req, ok = map_clearance(amap, [[0, 1.2], [0, 2], [0, 7]])
    >>> clear.tolist(), ok.tolist()
    ([60.0, 120.0, 120.0], [False, True, False])
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float)).reshape(-1, 2)
    allowed = np.asarray(avoidance.allowed)
    h, w = allowed.shape
    finite = np.isfinite(pts).all(axis=1)
    ij = np.rint(np.where(finite[:, None], pts, -1.0)).astype(np.int64)
    inside = finite & (ij[:, 0] >= 0) & (ij[:, 0] < h) & (ij[:, 1] >= 0) & (ij[:, 1] < w)
    ij = np.clip(ij, 0, [h - 1, w - 1])
    r, c = ij[:, 0], ij[:, 1]
    clear = np.asarray(avoidance.clearance_um)[r, c].astype(np.float64)
    req = np.asarray(avoidance.required_um)[r, c].astype(np.float64)
    return clear, req, inside & _map_allows(allowed[r, c], clear, req)


def _distance_to_mask_um(
    mask: NDArray[np.bool_], rc: NDArray[np.int64], px: float
) -> NDArray[np.float64]:
    """Distance (n,) from pixels to the nearest True pixel of ``mask``, um (inf without one).

    Only pixels outside the mask are asked, so it is computed only when a site fails.
    """
    out = np.zeros(len(rc))
    if not len(rc):
        return out
    if not mask.any():
        return np.full(len(rc), np.inf)
    dist = ndimage.distance_transform_edt(~mask, sampling=px)
    out[:] = dist[rc[:, 0], rc[:, 1]]
    return out


def surface_clearance_um(
    avoidance: AvoidanceLike, xy_um: ArrayLike, pixel_size_um: float
) -> NDArray[np.float64]:
    """The map's clearance (n,) where points (n, 2) of the surface (x, y, um) land, um.

    0 where the map cannot vouch for the point: outside the image, within the clearance
    of pixels where a hazard-sized vessel could hide unseen (``undetectable``), or where
    it forbids the pixel for anything but the clearance; elsewhere the clearance to the
    nearest detected vessel edge.

    Examples
    --------
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> amap = avoidance_from_arrays(clearance_um=[[0.0, 60.0, 120.0]], required_um=86.5,
    ...                              allowed=[[False, False, True]])
    >>> surface_clearance_um(amap, [[12.0, 0.0], [24.0, 0.0], [60.0, 0.0]], 12.0).tolist()
    [60.0, 120.0, 0.0]
    """
    xy = np.atleast_2d(np.asarray(xy_um, dtype=np.float64)).reshape(-1, 2)
    pts = xy[:, ::-1] / float(pixel_size_um)
    clear, req, ok = map_clearance(avoidance, pts)
    # a pixel forbidden although its clearance meets the requirement: the map cannot vouch
    vouched = ok | (clear < req)
    h, w = np.asarray(avoidance.allowed).shape
    ij = np.rint(np.where(np.isfinite(pts), pts, -1.0)).astype(np.int64)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < h) & (ij[:, 1] >= 0) & (ij[:, 1] < w)
    unseen = getattr(avoidance, "undetectable", None)
    if unseen is not None:  # within the clearance a vessel hidden nearby would need
        ij = np.clip(ij, 0, [h - 1, w - 1])
        vouched &= ~np.asarray(unseen, bool)[ij[:, 0], ij[:, 1]]
    out: NDArray[np.float64] = np.where(vouched & inside, clear, 0.0)
    return out
