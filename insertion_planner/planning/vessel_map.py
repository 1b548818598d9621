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

__all__ = ["map_clearance", "surface_clearance_um", "hidden_vessel_clearance_um"]


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


def hidden_vessel_clearance_um(avoidance: AvoidanceLike) -> NDArray[np.float32] | None:
    """Distance (H, W) from each pixel to the edge of a vessel that could hide unseen, um.

    Wherever the map could not have shown a vessel of the hazard diameter
    (``detectable_diameter_um`` above ``margins.hazard_diameter_um``, and everywhere
    beyond the frame), one is assumed to lie: the distance to the nearest such pixel, less
    the hazard radius and half a pixel (an :class:`~insertion_planner.AvoidanceMap` keeps
    its own, :attr:`~insertion_planner.AvoidanceMap.hidden_clearance_um`, never
    overstated). None when the map carries no detectability.

    Examples
    --------
    >>> import numpy as np
    >>> from dataclasses import replace
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.config import SafetyMargins
    >>> amap = avoidance_from_arrays(clearance_um=np.full((60, 60), 500.0), pixel_size_um=10.0)
    >>> det = np.full((60, 60), 10.0, np.float32); det[:, 40:] = np.inf   # blind from col 40
    >>> amap = replace(amap, detectable_diameter_um=det, margins=SafetyMargins())
    >>> [round(float(v), 1) for v in hidden_vessel_clearance_um(amap)[30, [0, 20, 30, 39]]]
    [0.0, 165.9, 65.9, 0.0]

    (exactly 180 and 80 um less the lower bound's 1.4 px.)
    """
    own = getattr(avoidance, "hidden_clearance_um", None)  # an AvoidanceMap keeps its own
    if own is not None:
        return np.asarray(own, np.float32)
    det = getattr(avoidance, "detectable_diameter_um", None)
    margins = getattr(avoidance, "margins", None)
    px = getattr(avoidance, "pixel_size_um", None)
    if det is None or margins is None or px is None:
        return None
    hazard = float(margins.hazard_diameter_um)
    blind = np.pad(~(np.asarray(det) <= hazard), 1, constant_values=True)  # beyond the frame
    dist = ndimage.distance_transform_edt(~blind)[1:-1, 1:-1] * float(px)
    out: NDArray[np.float32] = np.maximum(dist - 0.5 * hazard - 0.5 * float(px), 0.0).astype(
        np.float32
    )
    return out


def surface_clearance_um(
    avoidance: AvoidanceLike,
    xy_um: ArrayLike,
    pixel_size_um: float,
    *,
    hidden_um: NDArray[np.float32] | None = None,
) -> NDArray[np.float64]:
    """The map's clearance (n,) where points (n, 2) of the surface (x, y, um) land, um.

    The clearance to the nearest detected vessel edge, or to a vessel that could hide
    unseen nearby (``hidden_um``, :func:`hidden_vessel_clearance_um` of the map, computed
    when not given), whichever is less, interpolated between pixel centres (bilinear; a
    distance field is close to linear there); 0 outside the image. For a map without
    detectability, a pixel it marks ``undetectable`` counts as 0.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> cols = np.arange(40.0)[None, :].repeat(40, axis=0)
    >>> amap = avoidance_from_arrays(clearance_um=np.abs(cols - 5) * 12.0, pixel_size_um=12.0)
    >>> xy = [[240.0, 240.0], [246.0, 240.0], [600.0, 240.0]]   # col 20, col 20.5, off the image
    >>> surface_clearance_um(amap, xy, 12.0).tolist()
    [180.0, 186.0, 0.0]
    """
    xy = np.atleast_2d(np.asarray(xy_um, dtype=np.float64)).reshape(-1, 2)
    pts = xy[:, ::-1] / float(pixel_size_um)
    h, w = np.asarray(avoidance.allowed).shape
    finite: NDArray[np.bool_] = np.all(np.isfinite(pts), axis=1)
    pts = np.where(finite[:, None], pts, -1.0)
    inside = (
        finite
        & (pts[:, 0] > -0.5)
        & (pts[:, 0] < h - 0.5)
        & (pts[:, 1] > -0.5)
        & (pts[:, 1] < w - 0.5)
    )

    def at(field: ArrayLike) -> NDArray[np.float64]:
        # bilinear between pixel centres: a distance field is close to linear there
        out: NDArray[np.float64] = ndimage.map_coordinates(
            np.asarray(field, np.float64), pts.T, order=1, mode="nearest"
        )
        return out

    clear = at(avoidance.clearance_um)
    if hidden_um is None:
        hidden_um = hidden_vessel_clearance_um(avoidance)
    if hidden_um is not None:
        clear = np.minimum(clear, at(hidden_um))
    else:
        unseen = getattr(avoidance, "undetectable", None)
        if unseen is not None:
            ij = np.clip(np.rint(pts).astype(np.int64), 0, [h - 1, w - 1])
            mask: NDArray[np.bool_] = np.asarray(unseen, dtype=np.bool_)
            hit = mask[ij[:, 0], ij[:, 1]]
            clear = np.where(hit, 0.0, clear)
    result: NDArray[np.float64] = np.where(inside, clear, 0.0)
    return result
