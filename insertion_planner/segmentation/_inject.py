"""Completeness of the line detector measured by injecting artificial vessels.

The forward model of ``_detect`` predicts from the calibration whether a vessel would
have been seeded; the detector also follows a vessel where it is fainter than a seed
(hysteresis), and the image's own texture is not white noise. Here the question is put to
the detector itself, as the completeness of a photometric survey is measured with
artificial stars (Stetson 1987, doi:10.1086/131977; Harris 1990,
doi:10.1086/132632): straight vessels of a few known diameters, at the contrast and blur
the image's own vessels show, are added to the darkness image, the same calibrated line
evidence with hysteresis is run on it, and the share of their centreline that is found is
counted per block.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf

from . import _filters as flt
from ._lines import ScaleCalibration, _measure

__all__ = [
    "INJECT_DIAMETERS_UM",
    "INJECT_COMPLETENESS",
    "injected_detectable_px",
    "with_injected",
]

F32 = NDArray[np.float32]

INJECT_DIAMETERS_UM = (24.0, 30.0, 36.0, 48.0)
"""Diameters (um) of the injected vessels: about the hazard diameter (30 um, the size
below which a surface vessel is taken as safe to pass near) and a step either side."""

INJECT_COMPLETENESS = 0.95
"""Share of an injected vessel's centreline that must be found in a block for its
diameter to count as seen there: a vessel the detector follows along 19 of 20 of its
pixels, the rest short gaps that the margins of the found parts cover."""

_SPACING_PX = 16
"""Distance between injected lines (px): beyond the support (3 sigma) of the finest
scales that find thin vessels, so that neighbouring lines do not merge."""

_MAX_SCALE_PX = 2.0
"""Only the line scales up to this (px) run on the injected image: they are the ones that
find vessels a few pixels wide (wider scales would only find more)."""


def _unique_steps(q: NDArray[np.floating]) -> tuple[NDArray[np.floating], NDArray[np.intp]]:
    """``numpy.unique(q, return_inverse=True)`` for whole numbers ``q`` (1-D, at least
    0, below 2**24), by marking them in a table instead of sorting; other values (NaN,
    larger, fractional) are left to ``numpy.unique``."""
    if q.size == 0 or not bool(np.all(q >= 0)) or float(q.max()) >= 2**24:
        return np.unique(q, return_inverse=True)
    qi = q.astype(np.intp)
    if not np.array_equal(qi, q):
        return np.unique(q, return_inverse=True)
    present = np.zeros(int(qi.max()) + 1, bool)
    present[qi] = True
    rank = np.cumsum(present, dtype=np.intp) - 1
    return np.flatnonzero(present).astype(q.dtype), rank[qi]


def _plant(
    shape: tuple[int, int],
    axis: int,
    diameters_px: NDArray[np.float64],
    depth: NDArray[np.float64],
    blur_px: F32,
) -> tuple[F32, NDArray[np.float64], NDArray[np.intp]]:
    """Darkness of straight lines along ``axis`` (0: lines along rows, i.e. vertical
    lines at fixed columns; 1: horizontal lines at fixed rows) every ``_SPACING_PX``, the
    k-th of diameter ``diameters_px[k % n]`` and lumen darkness ``depth[k % n]``, at
    sub-pixel positions that cycle through phases, blurred by ``blur_px`` at the line's
    centre (Gaussian, in steps of 0.05 px, pixel-integrated). Returns the (H, W) darkness, the line centres and the
    index of each line's diameter."""
    from ._fused import add_rows  # numba: compiled on first use

    h, w = shape
    across = w if axis == 0 else h
    n = diameters_px.size
    out = np.zeros(shape, np.float32)
    centres, kinds = [], []
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    blur_max = float(np.max(blur_px)) if blur_px.size else 0.2
    reach = int(math.ceil(float(diameters_px.max()) / 2 + 4.0 * max(blur_max, 0.2) + 2))
    for k, c0 in enumerate(range(_SPACING_PX // 2, across - _SPACING_PX // 2, _SPACING_PX)):
        c = c0 + (k * 0.3819660) % 1.0 - 0.5  # sub-pixel phases in golden-ratio steps
        kind = k % n
        half = diameters_px[kind] / 2.0
        lo, hi = max(0, int(c) - reach), min(across, int(c) + reach + 2)
        # the blur at the line's centre for its whole cross-section (the blur map varies
        # over tens of pixels), in steps of 0.05 px: one profile per step
        j = min(max(int(round(c)), 0), across - 1)
        along = blur_px[:, j] if axis == 0 else blur_px[j, :]
        q = np.round(np.maximum(along, 0.2) / 0.05)
        steps, which = _unique_steps(q)
        s = steps[:, None, None] * (0.05 * math.sqrt(2.0))
        x = np.arange(lo, hi, dtype=np.float64)[None, :, None] + sub[None, None, :]
        table = depth[kind] * 0.5 * (erf((x - c + half) / s) - erf((x - c - half) / s))
        table = table.mean(axis=2).astype(np.float32)  # (steps, m): pixel-integrated
        add_rows(out, table, which.ravel(), lo, axis=axis)  # out[:, lo:hi] += table[which]
        centres.append(c)
        kinds.append(kind)
    return out, np.asarray(centres), np.asarray(kinds, np.intp)


def _detected(img: F32, fine: list[ScaleCalibration], top: int) -> NDArray[np.bool_]:
    """Hysteresis detections of the line scales ``fine`` on ``img``, each against the
    threshold calibrated on the image itself (not re-calibrated on the injected copy,
    whose regular grid of lines would change the spread), at full resolution."""
    from ._raster import hysteresis  # numba: compiled on first use

    h, w = img.shape
    levels = [img]
    for _ in range(top):
        levels.append(flt.downsample2(levels[-1]))
    out = np.zeros((h, w), bool)
    for c in fine:
        r = _measure(levels[c.level], c.sigma_level, "ridge")
        z = (r - np.float32(c.median)) * np.float32(1.0 / (c.k_seed * c.spread))
        # the 8-connected components of z >= grow holding a seed, from their row runs
        # in one compiled scan (``_raster.hysteresis``: ``_runs.seeded_components``' set)
        found = hysteresis(z, high=1.0, low=np.float32(c.k_grow / c.k_seed))
        if c.level:
            f = 2**c.level
            up = np.repeat(np.repeat(found, f, axis=0), f, axis=1)[:h, :w]
            out[: up.shape[0], : up.shape[1]] |= up
        else:
            out |= found
    return out


def injected_detectable_px(
    dark: F32,
    valid: NDArray[np.bool_],
    mask: NDArray[np.bool_],
    *,
    calibration: list[ScaleCalibration],
    blur_px: F32,
    unit_depth: float,
    absorption_length_px: float,
    max_depth: float,
    pixel_size_um: float,
    block_px: int = 128,
    min_count: int = 64,
    kept: F32 | None = None,
) -> tuple[F32, int]:
    """Smallest injected diameter (px) found along at least ``INJECT_COMPLETENESS`` of its
    centreline, with every larger injected diameter found as well, per block of
    ``block_px``; ``inf`` where even the widest injected one was not, ``nan`` where too
    few injected pixels could be counted (fewer than ``min_count`` for some diameter).

    Lines of each diameter ``D`` of ``INJECT_DIAMETERS_UM`` and lumen darkness
    ``unit_depth * (1 - exp(-D / absorption_length_px))`` (capped at ``max_depth / 0.9``,
    as in the forward model), blurred by ``blur_px``, are added to ``dark`` along the rows
    and, in a second run, along the columns; the line evidence of the scales up to
    ``_MAX_SCALE_PX`` is computed on each as on the image (calibrated on it, hysteresis)
    and a centreline pixel counts as found when a detection lies within one pixel across
    it. Pixels within 4 px of ``mask`` (the vessels found, which the injected line
    crosses) or of an invalid pixel are not counted. ``kept`` ((H, W), in (0, 1]): the
    share of contrast the image keeps at each pixel (``_attenuation.kept_contrast``); the
    lines are planted that much fainter there. Returns the (hb, wb) block values and
    the block size.
    """
    from ._fused import add_where  # numba: compiled on first use

    h, w = dark.shape
    diam = np.asarray(INJECT_DIAMETERS_UM) / pixel_size_um
    depth = np.minimum(
        unit_depth * -np.expm1(-diam / max(absorption_length_px, 1e-6)), max_depth / 0.9
    )
    fine = [c for c in calibration if c.scale_px <= _MAX_SCALE_PX + 1e-6] or calibration[:1]
    top = max(c.level for c in fine)
    b = max(16, min(block_px, h, w))
    hb, wb = max(1, h // b), max(1, w // b)
    hits = np.zeros((diam.size, hb, wb))
    count = np.zeros((diam.size, hb, wb))
    counted = valid & ~flt.dilate_cross(mask | ~valid, 4)
    counted[:8] = counted[-8:] = False
    counted[:, :8] = counted[:, -8:] = False
    for axis in (0, 1):
        planted, centres, kinds = _plant((h, w), axis, diam, depth, blur_px)
        if kept is not None:
            planted *= kept
        img = add_where(dark, planted, valid)  # np.where(valid, dark + planted, dark)
        detected = _detected(img, fine, top)
        along = h if axis == 0 else w
        blk_along = np.minimum(np.arange(along) // b, (hb if axis == 0 else wb) - 1)
        for c, kind in zip(centres, kinds, strict=True):
            j = int(round(c))
            # found: a detection within one pixel across the line (the 3-wide maximum
            # filter across it, read on the centre line only; the lines lie at least 8
            # px inside the image, so the filter's reflected border is never read)
            if axis == 0:
                ok = counted[:, j]
                found = detected[:, j - 1] | detected[:, j] | detected[:, j + 1]
                blk = blk_along * wb + min(j // b, wb - 1)
            else:
                ok = counted[j, :]
                found = detected[j - 1, :] | detected[j, :] | detected[j + 1, :]
                blk = min(j // b, hb - 1) * wb + blk_along
            # per-block counts (integers, exact in float64 whatever the order)
            count[kind] += np.bincount(blk[ok], minlength=hb * wb).reshape(hb, wb)
            hits[kind] += np.bincount(blk[ok & found], minlength=hb * wb).reshape(hb, wb)
    complete = hits >= INJECT_COMPLETENESS * count
    enough = (count >= min_count).all(axis=0)
    # the smallest diameter from which every larger one is found too
    from_here = np.flip(np.logical_and.accumulate(np.flip(complete, axis=0), axis=0), axis=0)
    out = np.full((hb, wb), np.inf, np.float32)
    for k in range(diam.size - 1, -1, -1):
        out[from_here[k]] = np.float32(diam[k])
    out[~enough] = np.nan
    return out, b


def with_injected(detectable_um: F32, blocks_px: F32, block: int, *, pixel_size_um: float) -> F32:
    """The forward model's ``detectable_um`` (H, W) where the injection test could not
    count (``nan`` blocks); elsewhere the injection's answer: its smallest complete
    diameter, or, where even the widest injected vessel was not found completely, the
    model's value but at least just above that widest diameter (never below what was
    shown to be missed)."""
    h, w = detectable_um.shape
    hb, wb = blocks_px.shape
    inj = blocks_px * np.float32(pixel_size_um)
    floor = np.float32(max(INJECT_DIAMETERS_UM) * 1.01)
    out = np.empty((h, w), np.float32)
    # block by block (the last row and column of blocks reach the image's edge)
    for i in range(hb):
        r0, r1 = i * block, (h if i == hb - 1 else (i + 1) * block)
        for j in range(wb):
            c0, c1 = j * block, (w if j == wb - 1 else (j + 1) * block)
            v = inj[i, j]
            if np.isnan(v):  # not counted: the model's value
                out[r0:r1, c0:c1] = detectable_um[r0:r1, c0:c1]
            elif np.isinf(v):  # even the widest missed: at least just above it
                np.maximum(detectable_um[r0:r1, c0:c1], floor, out=out[r0:r1, c0:c1])
            else:
                out[r0:r1, c0:c1] = v
    return out
