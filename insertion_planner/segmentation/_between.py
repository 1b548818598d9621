"""The lumen between the two detected edges of a wide vessel.

A vessel much wider than the coarsest line scale shows to a Hessian detector as two
step edges: each side is found, the uniformly dark lumen between them gives no second
derivative and is not detected. When that lumen is also longer than the largest hole
the segmentation fills, it was left as tissue, and a vein some 500 um wide could be
planned in beyond its edges' clearance. Here the gaps of the mask narrower than the
widest vessel are closed (a morphological closing, Serra 1982, *Image Analysis and
Mathematical Morphology*) and the pixels of the closed gaps that are as dark as a lumen
edge of the vessels around them are lumen, or doubtful where they do not stand out from
the image's texture; lighter ones (tissue between two vessels running side by side) stay
tissue."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from ._lines import ALPHA_GROW, ALPHA_SEED
from ._morph import dilate_square
from ._raster import chamfer_distance, nearest_value
from ._select import median

__all__ = ["lumen_between_edges"]

F32 = NDArray[np.float32]

_K_SEED = float(ndtri(1.0 - ALPHA_SEED))
"""Robust standard deviations of the image's block darkness above its median that a
closed gap must exceed: the one-sided Gaussian quantile of the detector's seed
false-alarm rate (at the grow rate, dark texture between faint detections is filled)."""

_K_GROW = float(ndtri(1.0 - ALPHA_GROW))
"""The same at the rate at which hysteresis lets a pixel extend a detection: a gap pixel
between the two is doubtful, one below it is tissue."""


def _block_factor(width_px: float) -> int:
    """Block size (px) on which gaps of ``width_px`` are closed: at least 8 blocks across
    the widest gap, and blocks of at most 8 px."""
    f = 1
    while f < 8 and width_px / (2 * f) >= 8:
        f *= 2
    return f


def _above(t: F32, k: float) -> np.float32:
    """Median + ``k`` robust standard deviations (1.4826 MAD) of ``t``; 0 when ``t`` has
    fewer than 16 values."""
    if t.size < 16:
        return np.float32(0)
    med = float(median(t))  # numpy.median's result, by radix selection
    return np.float32(med + k * 1.4826 * float(median(np.abs(t - med))))


def lumen_between_edges(
    mask: NDArray[np.bool_],
    dark_s: F32,
    searchable: NDArray[np.bool_],
    *,
    width_px: float,
    edge_fraction: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Pixels between the edges of a detected vessel that are its lumen, and those that
    may be.

    The gaps of ``mask`` narrower than ``width_px`` are closed on blocks of up to 8 px
    (square structuring element, so a diagonal gap up to 1.4 times wider is closed, and
    the blocks mirrored about the image's edges). A pixel of a closed gap (or of a vessel
    block beside one) is as dark as a lumen when its darkness reaches ``edge_fraction``
    of the mean darkness of the vessel pixels of the nearest block holding any: the
    edge found on its side, by the fraction the segmentation found that edge with.

    Such a pixel is lumen when it is also darker than the image's block darkness
    reaches at the seed false-alarm rate (median + k MAD over the searchable blocks,
    ``_K_SEED``) and than ``edge_fraction`` of the median darkness of the vessel blocks
    (the lumen edge of the image's typical vessel). Otherwise it is doubtful (lumen, or dark texture between two faint
    detections), for the avoidance map to keep clear of, when it or its vessel's edge
    is darker than the blocks without a vessel pixel reach at the grow rate
    (``_K_GROW``): on strong texture a vein's middle is no darker than the texture, its
    edges are. Below both, it is tissue between faint detections.

    Parameters
    ----------
    mask : (H, W) bool
        The vessel lumen found so far.
    dark_s : (H, W) float32
        Smoothed relative darkness (vessels positive, background about 0).
    searchable : (H, W) bool
        Pixels that may be lumen (lit, not bone).
    width_px : float
        Diameter of the widest vessel (px).
    edge_fraction : float
        Fraction of its vessel's darkness a gap pixel must reach.

    Returns
    -------
    lumen, doubtful : (H, W) bool
        The lumen added, and the pixels that may be lumen; disjoint from each other and
        from ``mask``.

    Examples
    --------
    >>> import numpy as np
    >>> dark = np.zeros((96, 96), np.float32); dark[:, 10:50] = 0.6
    >>> dark[:, 10:14] = dark[:, 46:50] = 0.8         # darker edges, a lighter interior
    >>> edges = dark >= 0.8
    >>> add, maybe = lumen_between_edges(edges, dark, np.ones_like(edges), width_px=48,
    ...                                  edge_fraction=0.5)
    >>> bool(add[30, 14:46].all()), bool(add[30, :10].any() or add[30, 50:].any())
    (True, False)
    >>> light = dark.copy(); light[:, 14:46] = 0.1     # tissue between two vessels
    >>> add, maybe = lumen_between_edges(edges, light, np.ones_like(edges), width_px=48,
    ...                                  edge_fraction=0.5)
    >>> bool(add.any() or maybe.any())
    False
    """
    out = np.zeros(mask.shape, bool)
    if not mask.any():
        return out, out.copy()
    f = _block_factor(width_px)
    h, w = mask.shape
    from ._resample import block_stats  # numba: compiled on first use

    block_dark, count, vessel_dark, top, whole = block_stats(dark_s, mask, searchable, f)
    m = count > 0
    reach = max(1, int(np.ceil(width_px / 2.0 / f)))
    # closing: grown by ``reach`` blocks, then shrunk by as much, on the blocks mirrored
    # about the image's edges (a vessel leaving the frame goes on past it, and keeps its
    # lumen at the border; a vessel along the edge closes onto its mirror image, so the
    # strip between them is judged by its darkness like any gap)
    reach = min(reach, max(m.shape))
    mp = np.pad(m, reach, mode="symmetric")
    grown = chamfer_distance(~mp, metric="chessboard") <= reach
    shrunk = chamfer_distance(grown, metric="chessboard")
    closed = ((shrunk > reach) | (shrunk < 0))[reach:-reach, reach:-reach]
    gap = closed & ~m
    if not gap.any():
        return out, out.copy()
    # the darkness of the vessel each gap block lies in: the mean darkness of the
    # vessel pixels of the nearest block holding any (the edge found on this side; the
    # largest nearby would let a darker vessel crossing a vein forbid its lumen)
    edge_dark = nearest_value(m, vessel_dark)
    bar = np.float32(edge_fraction) * edge_dark
    # the lumen added stands out from all of the image's blocks, vessels and texture, at
    # the seed false-alarm rate (cautious in what it draws); a pixel as dark as its
    # vessel's lumen edge but not that dark is doubtful when it, or that vessel's edge,
    # stands out from the blocks without a vessel at the grow rate (cautious in what
    # the map allows: on strong texture a vein's middle can be no darker than the
    # texture, its edges are); below both it is tissue between faint detections
    lit = whole > 0
    floor = _above(block_dark[lit], _K_SEED)
    maybe_floor = _above(block_dark[lit & ~m], _K_GROW)
    # the gap blocks and the vessel blocks beside them (whose pixels off the mask lie
    # between the found edge and the gap), not the outer shoulders of other vessel blocks
    near = dilate_square(gap) & closed  # ndi.binary_dilation, 3 x 3 square
    near &= bar > np.float32(0)
    near &= top >= bar  # only blocks holding a pixel that dark: most closed tissue holds none
    br, bc = np.nonzero(near)
    dr, dc = np.divmod(np.arange(f * f), f)
    rows = (br[:, None] * f + dr).ravel()
    cols = (bc[:, None] * f + dc).ravel()
    ok = (rows < h) & (cols < w)
    rows, cols = rows[ok], cols[ok]
    need = np.repeat(bar[br, bc], f * f)[ok]
    strong = np.repeat(edge_dark[br, bc] >= maybe_floor, f * f)[ok]
    d = dark_s[rows, cols]
    dark = ~mask[rows, cols] & searchable[rows, cols] & (d >= need)
    # drawn as lumen only when also as dark as the lumen edge of the image's typical
    # vessel (half the median darkness of the vessel blocks): a false detection on a
    # patch of dark texture is an edge as faint as the patch around it
    typical = np.float32(edge_fraction) * np.float32(median(vessel_dark[m]))
    sure = dark & (d >= floor) & (d >= typical)
    maybe = dark & ~sure & ((d >= maybe_floor) | strong)
    out[rows[sure], cols[sure]] = True
    doubtful = np.zeros(mask.shape, bool)
    doubtful[rows[maybe], cols[maybe]] = True
    return out, doubtful
