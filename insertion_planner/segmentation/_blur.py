"""The optical blur of one image, read on the edges of its wide vessels by re-blurring
(Zhuo & Sim 2011, doi:10.1016/j.patcog.2011.03.009), with the background's gradient power
(the sensor's noise, the tissue's texture) taken off: the blur the detectability floor
assumes (``_floor``), and a lower bound on it for the thin-vessel width step
(``_width``)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from . import _filters as flt
from ._detect import BLUR_STEPS_PX, _erode

__all__ = ["BlurEstimates", "blur_estimates", "blur_map_px", "UNMEASURED_BLUR_PX"]

F32 = NDArray[np.float32]

_REBLUR_PX = 1.0



def _gradient_power(img: F32, r: NDArray[np.intp], c: NDArray[np.intp]) -> NDArray[np.float64]:
    """Squared gradient magnitude of ``img`` at pixels (``r``, ``c``): central differences
    (halved), the image's edge repeated."""
    h, w = img.shape
    up, dn = np.maximum(r - 1, 0), np.minimum(r + 1, h - 1)
    lf, rt = np.maximum(c - 1, 0), np.minimum(c + 1, w - 1)
    gy = 0.5 * (img[dn, c].astype(np.float64) - img[up, c])
    gx = 0.5 * (img[r, rt].astype(np.float64) - img[r, lf])
    out: NDArray[np.float64] = gy * gy + gx * gx
    return out


_BACKGROUND_BLOCK_PX = 64
"""Blocks (px) over which the background's gradient power is read (as the blur's)."""

_BACKGROUND_STEP = 8
"""The background is read on every so many rows and columns (64 pixels of a 64 px block,
at least 32 of them tissue for the block's own reading)."""

INFORMATIVE_BLUR_PX = 4.0
"""An edge is read for the blur only if its step, blurred by this much (px), would still
stand above twice the background's gradient power: beyond it a 30 um vessel is not seen
at any contrast a cortex shows, so an edge that could not tell a blur this large tells
nothing the floor needs."""

UNMEASURED_BLUR_PX = BLUR_STEPS_PX[-1]
"""Blur (px) an edge stands for when its gradient, less the background's, did not fall
when blurred again or does not stand above the background: the largest blur modelled."""


def _background_power(
    dark_s: F32, blurred: F32, background: NDArray[np.bool_] | None, block: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gradient power of the background (noise and texture) per block of ``block`` px,
    before and after the re-blur: the mean, from the median of the squared magnitudes
    (exponential for Gaussian noise: mean = median / ln 2), of the larger of the block's
    and the whole image's (an edge must stand above both). Zeros without a background."""
    h, w = dark_s.shape
    hb, wb = max(1, -(-h // block)), max(1, -(-w // block))
    if background is None:
        return np.zeros((hb, wb)), np.zeros((hb, wb))
    # a regular grid of every ``_BACKGROUND_STEP``-th row and column (64 per full block)
    gr = np.arange(_BACKGROUND_STEP // 2, h, _BACKGROUND_STEP)
    gc = np.arange(_BACKGROUND_STEP // 2, w, _BACKGROUND_STEP)
    on = background[np.ix_(gr, gc)]
    r = np.repeat(gr, gc.size).reshape(gr.size, gc.size)[on]
    c = np.tile(gc, gr.size).reshape(gr.size, gc.size)[on]
    if r.size < 64:
        return np.zeros((hb, wb)), np.zeros((hb, wb))
    key = np.minimum(r // block, hb - 1) * wb + np.minimum(c // block, wb - 1)
    out = []
    for img in (dark_s, blurred):
        g = _gradient_power(img, r, c)
        whole = float(np.median(g)) / math.log(2.0)
        per = np.full(hb * wb, whole)
        keys, values = flt.group_percentiles(key, g, 50.0, min_count=32)
        per[keys] = np.maximum(values / math.log(2.0), whole)
        out.append(per.reshape(hb, wb))
    return out[0], out[1]


def _reblur_powers(
    dark_s: F32,
    er: NDArray[np.intp],
    ec: NDArray[np.intp],
    s0: float,
    background: NDArray[np.bool_] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Squared gradient magnitudes at the edge pixels (``er``, ``ec``) before and after a
    re-blur by ``s0``, each less the background's (:func:`_background_power`: noise and
    texture add to a gradient, more before the re-blur than after, and left in make a
    blurred edge look sharp), the background's before, and whether each edge is
    informative: its step, blurred by ``INFORMATIVE_BLUR_PX``, would still stand above
    twice the background (the step's height is twice the darkness at its half-maximum
    edge; a step of height C blurred by s has the gradient C / (sqrt(2 pi) s) at its
    middle). An edge of a faint boundary (a glint's fill, a patch of texture) tells no
    blur the floor needs."""
    blurred = flt.gauss(dark_s, s0)
    g1 = _gradient_power(dark_s, er, ec)
    g2 = _gradient_power(blurred, er, ec)
    b = _BACKGROUND_BLOCK_PX
    n1, n2 = _background_power(dark_s, blurred, background, b)
    hb, wb = n1.shape
    k = np.minimum(er // b, hb - 1) * wb + np.minimum(ec // b, wb - 1)
    n1e, n2e = n1.ravel()[k], n2.ravel()[k]
    step = 2.0 * dark_s[er, ec].astype(np.float64)
    told = step**2 / (2.0 * math.pi * INFORMATIVE_BLUR_PX**2) > 2.0 * n1e
    return g1 - n1e, g2 - n2e, n1e, told


def _blur_from_ratio(g1: NDArray[np.float64], g2: NDArray[np.float64], s0: float,
                     smoothing_px: float) -> NDArray[np.float64]:  # fmt: skip
    """Blur (px) of steps whose gradient power fell from ``g1`` to ``g2`` when blurred by
    ``s0``: ``R^2 = g1 / g2 = (s^2 + s0^2) / s^2``, less the smoothing; ``inf`` where it
    did not fall."""
    ok = (g2 > 0) & (g1 > g2)
    rr = np.where(ok, g1 / np.where(ok, g2, 1.0), 1.0)
    s_tot = np.where(ok, s0 / np.sqrt(np.maximum(rr - 1.0, 1e-12)), np.inf)
    out: NDArray[np.float64] = np.sqrt(np.maximum(s_tot**2 - smoothing_px**2, 0.0))
    return out


def _pooled_blocks(
    g1: NDArray[np.float64],
    g2: NDArray[np.float64],
    n1: NDArray[np.float64],
    er: NDArray[np.intp],
    ec: NDArray[np.intp],
    s0: float,
    smoothing_px: float,
    shape: tuple[int, int],
    block: int,
) -> NDArray[np.float64]:
    """The blur of each block from the gradient powers of its edges summed (at least 8
    edges, else nan): each edge weighs as its signal, so a junction or a saddle, whose
    gradient is small, barely counts, and the noise of many faint edges averages out. A
    block whose edges together do not stand above twice the background, or whose summed
    power did not fall, reads ``UNMEASURED_BLUR_PX``."""
    h, w = shape
    hb, wb = max(1, -(-h // block)), max(1, -(-w // block))
    k = np.minimum(er // block, hb - 1) * wb + np.minimum(ec // block, wb - 1)
    n = np.bincount(k, minlength=hb * wb)
    s1 = np.bincount(k, weights=g1, minlength=hb * wb)
    s2 = np.bincount(k, weights=g2, minlength=hb * wb)
    sn = np.bincount(k, weights=n1, minlength=hb * wb)
    out = np.minimum(_blur_from_ratio(s1, s2, s0, smoothing_px), UNMEASURED_BLUR_PX)
    out = np.where(s1 > sn, out, UNMEASURED_BLUR_PX)
    out = np.where(n >= 8, out, np.nan)
    return out.reshape(hb, wb)


class BlurEstimates(NamedTuple):
    """What :func:`blur_estimates` measured on the vessel edges of one image."""

    s0: float
    """The final re-blur (px)."""
    est: NDArray[np.float64]
    """Each informative edge's own estimate (px), where its gradient fell."""
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    """The pixels of ``est``."""
    powers: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                  NDArray[np.intp], NDArray[np.intp]]  # fmt: skip
    """(g1, g2, background, rows, cols) of every informative edge at ``s0``
    (:func:`_reblur_powers`), for the summed block estimates."""


def blur_estimates(
    dark_s: F32,
    mask: NDArray[np.bool_],
    radius_px: F32,
    *,
    smoothing_px: float = 0.7,
    background: NDArray[np.bool_] | None = None,
    observed: NDArray[np.bool_] | None = None,
) -> BlurEstimates:
    """The blur estimates of :func:`blur_map_px` on the edges of the wide vessels of
    ``mask``, before they are taken per block.

    ``background`` (H, W) bool: the pixels whose gradient power (noise, texture) is taken
    off the edges' (lit tissue away from the vessels; None: nothing taken off).
    ``observed`` (H, W) bool: the pixels that show the picture (edges within 2 px of
    others, a filled glint, a saturated or excluded pixel, are the mask's, not the
    picture's).
    """
    # the edge pixels once, in raster order; each pass keeps those wide enough (the
    # same pixels in the same order as thresholding the whole image again)
    edges = mask & ~_erode(mask)
    if observed is not None:
        edges &= _erode(_erode(observed))
    br, bc = flt.nonzero2d(edges)
    radius_b = radius_px[br, bc]
    none = np.zeros(0, np.intp)
    s0, est, er, ec = _REBLUR_PX, np.zeros(0), none, none
    powers: tuple[Any, ...] = (np.zeros(0), np.zeros(0), np.zeros(0), none, none)
    for _ in range(4):
        # a step is measured on vessels wider than four of its blurs, with a re-blur of
        # about the blur itself (the ratio is ill-conditioned when s0 << s: a first small
        # estimate is refined until it settles)
        min_radius = max(3.0, 2.0 * s0)
        wide = radius_b >= min_radius
        r, c = br[wide], bc[wide]
        if r.size < 30:
            # too few edges wide enough for the refined re-blur: the blur is at least the
            # refined estimate, everywhere (the estimates before it were ill-conditioned)
            est, powers = np.zeros(0), (np.zeros(0), np.zeros(0), np.zeros(0), none, none)
            break
        g1, g2, n1, told = _reblur_powers(dark_s, r, c, s0, background)
        r, c, g1, g2, n1 = r[told], c[told], g1[told], g2[told], n1[told]
        if r.size < 30:
            est, powers = np.zeros(0), (np.zeros(0), np.zeros(0), np.zeros(0), none, none)
            break
        powers = (g1, g2, n1, r, c)
        e = _blur_from_ratio(g1, g2, s0, smoothing_px)
        fell = np.isfinite(e) & (g1 > n1)
        er, ec, est = r[fell], c[fell], e[fell]
        # the typical blur: of the blocks' summed powers (robust to noise and to the
        # edges that are not steps), or of the edges that fell where too few blocks count
        blocks = _pooled_blocks(g1, g2, n1, r, c, s0, smoothing_px, dark_s.shape,
                                _BACKGROUND_BLOCK_PX)  # fmt: skip
        counted = blocks[np.isfinite(blocks)]
        if counted.size:
            typical = float(np.median(counted))
        elif est.size:
            typical = float(np.median(est))
        else:
            break
        if typical < 1.5 * s0:
            break
        # at most four times the re-blur per pass: an estimate far above it is
        # ill-conditioned, not a measurement
        s0 = min(typical, 4.0 * s0, BLUR_STEPS_PX[-1])
    return BlurEstimates(s0, est, er, ec, powers)


def blur_map_px(
    dark_s: F32,
    mask: NDArray[np.bool_],
    radius_px: F32,
    *,
    smoothing_px: float = 0.7,
    block_px: int = 64,
    percentile: float = 50.0,
    estimates: BlurEstimates | None = None,
    summed: bool = True,
) -> tuple[F32, F32, int, bool]:
    """Local optical blur (Gaussian sigma, px) at each pixel, from the sharpness of the
    edges of vessels at least 6 px wide, by re-blurring (Zhuo & Sim 2011,
    doi:10.1016/j.patcog.2011.03.009): at a step blurred by s, the gradient falls by
    ``R = sqrt(s^2 + s0^2) / s`` when blurred again by ``s0``, so ``s = s0 / sqrt(R^2 - 1)``.
    ``dark_s`` was smoothed by ``smoothing_px``, which is taken off. The ``percentile``
    of the estimates in each block of ``block_px`` (of the edges whose gradient fell, the
    background's power taken off); with ``summed``, never less than the blur of the
    block's edges summed (:func:`_pooled_blocks`), which counts the edges lost in noise
    and those that did not fall. Blocks without such edges take the nearest measured
    block's value, at least the median of the measured ones (defocus varies smoothly with
    depth) and, with ``summed``, the blurriest measured within two blocks; 2 px
    everywhere when no wide vessel edge exists at all, and the refined estimate
    everywhere when too few edges are wide enough to measure it again. Returns the (H, W)
    map, the block values and block size ``b`` it is bilinearly interpolated from, and
    whether any block was measured (False: a stated value everywhere). ``estimates``:
    those :func:`blur_estimates` gave for the same ``dark_s``, ``mask``, ``radius_px``
    and ``smoothing_px`` (measured once for maps at several percentiles). ``summed``:
    False for a lower bound (the thin-vessel width step, which must not narrow a lumen
    by more blur than the sharpest edges show)."""
    h, w = dark_s.shape
    if estimates is None:
        estimates = blur_estimates(dark_s, mask, radius_px, smoothing_px=smoothing_px)
    s0, est, er, ec, powers = estimates
    b = max(8, min(block_px, h, w))
    if powers[0].size < 30:
        value = np.float32(2.0 if s0 <= _REBLUR_PX else s0)
        return np.full((h, w), value), np.full((1, 1), value), max(h, w, b), False
    hb, wb = max(1, -(-h // b)), max(1, -(-w // b))
    key = np.minimum(er // b, hb - 1) * wb + np.minimum(ec // b, wb - 1)
    blocks = np.full(hb * wb, np.nan)
    if est.size:
        keys, values = flt.group_percentiles(key, est, percentile, min_count=8)
        blocks[keys] = values  # np.percentile of each block's estimates, all at once
    # never sharper than the block's edges read together (``_pooled_blocks``): an edge
    # lost in noise or whose gradient did not fall is left out of the percentile, which
    # then speaks for the sharp part of the block only
    if summed:
        g1, g2, n1, pr, pc = powers
        pooled = _pooled_blocks(g1, g2, n1, pr, pc, s0, smoothing_px, (h, w), b).ravel()
        blocks = np.fmax(blocks, pooled)
    blocks = blocks.reshape(hb, wb)
    known = np.isfinite(blocks)
    if not known.any():
        blocks[:] = float(np.median(est[np.isfinite(est)])) if np.isfinite(est).any() else 2.0
    elif not known.all():
        # defocus varies smoothly with depth: the nearest measured block, but never less
        # than the median of the measured ones (a patch with no wide vessel is not
        # taken for the sharpest) nor than the blurriest measured within two blocks (a
        # patch beside a defocused one may be as defocused: a disc defocused by 10 px
        # took its sharp neighbour's value where it held no wide vessel)
        _, (ri, ci) = ndi.distance_transform_edt(~known, return_indices=True)
        fill = np.maximum(blocks[ri, ci], np.median(blocks[known]))
        if summed:
            near = ndi.maximum_filter(np.where(known, blocks, -np.inf), size=5, mode="nearest")
            fill = np.maximum(fill, near)
        blocks = np.where(known, blocks, fill)
    blocks = np.minimum(blocks, BLUR_STEPS_PX[-1]).astype(np.float32)
    out = flt.upsample_linear(blocks, (hb * b, wb * b), b)[:h, :w]
    return np.ascontiguousarray(out), blocks, b, True
