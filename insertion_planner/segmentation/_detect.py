"""Line evidence calibrated on the image's own noise, and the detectability of a vessel.

Thresholds are not constants fitted to a renderer: each filter scale's response is
compared with its own spread over the image (a robust estimate from the lower half of
its distribution, which vessels do not reach), times the factor that gives a stated
per-pixel false-alarm rate on white noise through the same filter. The same calibration
predicts, pixel by pixel, the thinnest vessel the detector would have seen there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from scipy.special import erf

from . import _filters as flt

__all__ = [
    "ALPHA_SEED",
    "ALPHA_GROW",
    "ScaleCalibration",
    "signed_ridge",
    "signed_disc",
    "disc_evidence",
    "vessel_contrast",
    "blur_map_px",
    "BLUR_STEPS_PX",
    "LAYER_PERCENTILES",
    "ABSORPTION_LENGTH_UM",
    "line_evidence",
    "local_spread_ratio",
    "detectable_diameter_px",
]

F32 = NDArray[np.float32]

ALPHA_SEED = 1e-5
"""Per-pixel false-alarm rate of a seed on noise alone (about 40 pixels of a 2048 x 2048
image; they form specks that the speck test removes)."""

ALPHA_GROW = 1e-2
"""Per-pixel false-alarm rate of a pixel that extends a detection (hysteresis, Canny
1986: a vessel is followed where it is faint, noise alone rarely connects to a seed)."""

_CALIBRATION_SIDE = 768
_LOWER_HALF = 0.6745  # standard-normal 75th percentile: (median - q25) / it = sigma


def signed_ridge(sm: F32) -> F32:
    """Signed dark-ridge measure of a smoothed image: ``e1 + min(e2, 0)`` with
    ``e1 >= e2`` the eigenvalues of minus the finite-difference Hessian. Positive across
    a dark line (one strong negative curvature), negative on bright lines; unlike a
    clipped vesselness its distribution on background has two sides, so its spread can
    be measured where no vessel is (Frangi et al. 1998, doi:10.1007/BFb0056195).

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[-3:4, -3:4].astype(np.float32)
    >>> float(signed_ridge(-(xx**2))[3, 3]), float(signed_ridge(xx**2)[3, 3])
    (2.0, -2.0)
    """
    mean, half_diff = flt._neg_hessian_eigen_parts(sm)
    e2 = mean - half_diff
    out = mean + half_diff
    out += np.minimum(e2, 0)
    return out


def _robust_centre_spread(values: F32) -> tuple[float, float]:
    """Median and the spread of the lower half, ``(median - q25) / 0.6745``."""
    med, q25 = np.percentile(values, [50, 25])
    return float(med), float(max(med - q25, 1e-12) / _LOWER_HALF)


def signed_disc(sm: F32) -> F32:
    """Signed dark-disc measure: the smaller eigenvalue of minus the Hessian (positive
    where both curvatures are those of a dark disc: a penetrating vessel's stump).

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[-3:4, -3:4].astype(np.float32)
    >>> float(signed_disc(-(xx**2 + yy**2))[3, 3])
    2.0
    """
    mean, half_diff = flt._neg_hessian_eigen_parts(sm)
    mean -= half_diff
    return mean


@functools.lru_cache(maxsize=64)
def _unit_spread(s_eff: float, measure: str = "ridge") -> float:
    """Spread (lower-half estimate) of the measure for white noise of unit sigma."""
    rng = np.random.default_rng(20261130)
    noise = rng.standard_normal((256, 256)).astype(np.float32)
    fn = signed_ridge if measure == "ridge" else signed_disc
    r = fn(flt.gauss(noise, s_eff))
    cut = int(3 * s_eff) + 2
    return _robust_centre_spread(r[cut:-cut, cut:-cut].ravel())[1]


@functools.lru_cache(maxsize=64)
def _noise_factor(s_eff: float, alpha: float, measure: str = "ridge") -> float:
    """Factor k with P(R > median + k * spread) = alpha for R the signed ridge (or disc)
    measure of white Gaussian noise smoothed at ``s_eff`` px (a fixed-seed simulation,
    the same for every image: the filter is linear in the noise, so k does not depend on
    its level)."""
    rng = np.random.default_rng(20261130)
    noise = rng.standard_normal((_CALIBRATION_SIDE, _CALIBRATION_SIDE)).astype(np.float32)
    fn = signed_ridge if measure == "ridge" else signed_disc
    r = fn(flt.gauss(noise, s_eff))
    cut = int(3 * s_eff) + 2
    v = r[cut:-cut, cut:-cut].ravel()
    med, spread = _robust_centre_spread(v)
    return float((np.quantile(v, 1.0 - alpha) - med) / spread)


@dataclass(frozen=True)
class ScaleCalibration:
    """One filter scale: where it runs and the threshold the image gave it.

    Attributes
    ----------
    scale_px : float
        Gaussian scale in full-resolution pixels.
    level : int
        Pyramid level it runs on (0: full resolution).
    sigma_level : float
        Smoothing applied on that level (px of the level).
    median, spread : float
        Robust centre and spread of its response over the valid pixels.
    k_seed, k_grow : float
        Noise factors of ``ALPHA_SEED`` and ``ALPHA_GROW``.
    """

    scale_px: float
    level: int
    sigma_level: float
    median: float
    spread: float
    k_seed: float
    k_grow: float


def _placement(s: float, n_levels: int) -> tuple[int, float]:
    """Pyramid level and smoothing of a scale: thin scales (< 2 px) at full resolution,
    wider ones on the coarsest level where they span at least 0.7 level pixels (the
    block means already blur by about 0.5 level px)."""
    level = 0
    while s >= 2 and level + 1 < n_levels and s / 2 ** (level + 1) >= 0.7 - 1e-6:
        level += 1
    s_level = s / 2**level
    return level, math.sqrt(max(s_level**2 - (0.25 if level else 0.0), 0.25))


def _repeat(a: NDArray[np.generic], f: int, shape: tuple[int, int]) -> NDArray[np.generic]:
    """Nearest upsampling of a level of f x f blocks to ``shape`` (edge blocks repeated)."""
    out = np.repeat(np.repeat(a, f, axis=0), f, axis=1)
    if out.shape[0] < shape[0] or out.shape[1] < shape[1]:
        out = np.pad(
            out,
            ((0, max(0, shape[0] - out.shape[0])), (0, max(0, shape[1] - out.shape[1]))),
            mode="edge",
        )
    return np.ascontiguousarray(out[: shape[0], : shape[1]])


def _seeded_components(seed: NDArray[np.bool_], grow: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Connected components of ``grow`` (8-connected) holding a ``seed`` pixel."""
    lab, n = ndi.label(grow, structure=np.ones((3, 3), bool))
    keep = np.zeros(n + 1, bool)
    keep[lab[seed & grow]] = True
    keep[0] = False
    out: NDArray[np.bool_] = keep[lab]
    return out


def line_evidence(
    levels: list[F32],
    valid: list[NDArray[np.bool_]],
    scales: list[float],
    *,
    quantisation: float = 0.0,
) -> tuple[F32, F32, F32, list[ScaleCalibration], F32, NDArray[np.bool_]]:
    """Multi-scale line evidence, each scale against its own calibrated threshold.

    Parameters
    ----------
    levels : list of (H_L, W_L) float32
        Darkness image reduced by 2^L block means (``levels[0]`` full resolution).
    valid : list of (H_L, W_L) bool
        Pixels with data on each level (statistics are taken there only).
    scales : list of float
        Gaussian scales, full-resolution px.
    quantisation : float
        Sigma of the quantisation noise of ``levels[0]`` (a step over sqrt(12)): no
        image is quieter than that, so no spread is taken below what it gives (a
        noise-free drawing would otherwise make every rounding error a vessel).

    Returns
    -------
    z_seed : (H, W) float32
        Max over scales of (response - median) / (k_seed * spread): >= 1 is a seed.
    z_grow : (H, W) float32
        The same against the grow threshold: >= 1 extends a detection.
    best : (H, W) float32
        Scale (full-resolution px) of the largest ``z_seed``.
    calibration : list of ScaleCalibration
    finest : (H, W) float32
        The finest scale's response (for the local spread of the detectability map).
    detected : (H, W) bool
        Union over scales of the hysteresis detections made within each scale (seeds at
        ``ALPHA_SEED``, extended at ``ALPHA_GROW``; Canny 1986).
    """
    shape = levels[0].shape
    z_seed = np.full(shape, -np.inf, np.float32)
    z_grow = np.full(shape, -np.inf, np.float32)
    best = np.zeros(shape, np.float32)
    detected = np.zeros(shape, bool)
    cal_by_scale: dict[float, ScaleCalibration] = {}
    finest: F32 | None = None
    placed = [(s, *_placement(s, len(levels))) for s in scales]
    for level in sorted({p[1] for p in placed}):
        # the scales of one level are merged there, then brought to full resolution once
        lv_shape = levels[level].shape
        zs_l = np.full(lv_shape, -np.inf, np.float32)
        zg_l = np.full(lv_shape, -np.inf, np.float32)
        best_l = np.zeros(lv_shape, np.float32)
        found_l = np.zeros(lv_shape, bool)
        for s, lv, s_eff in placed:
            if lv != level:
                continue
            r = signed_ridge(flt.gauss(levels[level], s_eff))
            if finest is None:
                finest = r
            v = valid[level]
            step = max(1, int(math.sqrt(r.size / 250_000)))
            sample = r[::step, ::step][v[::step, ::step]]
            if sample.size < 256:
                sample = r.ravel()
            med, spread = _robust_centre_spread(sample)
            floor = quantisation / 2**level * _unit_spread(round(s_eff, 4))
            spread = max(spread, floor)
            k_seed = _noise_factor(round(s_eff, 4), ALPHA_SEED)
            k_grow = _noise_factor(round(s_eff, 4), ALPHA_GROW)
            cal_by_scale[s] = ScaleCalibration(s, level, s_eff, med, spread, k_seed, k_grow)
            zs = r - np.float32(med)
            zs *= np.float32(1.0 / (k_seed * spread))
            # hysteresis within the scale: noise crossing the grow threshold at one scale
            # forms small clusters; merged over scales first they would join into large ones
            found_l |= _seeded_components(zs >= 1, zs >= np.float32(k_grow / k_seed))
            best_l[zs > zs_l] = np.float32(s)
            np.maximum(zs_l, zs, out=zs_l)
            zs *= np.float32(k_seed / k_grow)
            np.maximum(zg_l, zs, out=zg_l)
        if level:
            f = 2**level
            zs_l = flt.upsample_linear(zs_l, shape, f)
            zg_l = flt.upsample_linear(zg_l, shape, f)
            best_l = _repeat(best_l, f, shape)
            found_l = _repeat(found_l.view(np.uint8), f, shape).view(bool)
        better = zs_l > z_seed
        np.copyto(best, best_l, where=better)
        np.maximum(z_seed, zs_l, out=z_seed)
        np.maximum(z_grow, zg_l, out=z_grow)
        detected |= found_l
    assert finest is not None
    cal = [cal_by_scale[s] for s in scales]
    if finest.shape != shape:  # the finest scale ran on a coarser level (large pixels)
        finest = flt.upsample_linear(finest, shape, 2 ** cal[0].level)
    return z_seed, z_grow, best, cal, finest, detected


def disc_evidence(
    dark: F32, valid: NDArray[np.bool_], *, sigma_px: float = 0.7, quantisation: float = 0.0
) -> F32:
    """Dark-disc evidence at full resolution, (H, W) float32: (signed disc measure -
    median) / (seed threshold - median), calibrated like :func:`line_evidence`; >= 1 is a
    compact dark speck unlikely to be noise (a penetrating stump)."""
    r = signed_disc(flt.gauss(dark, sigma_px))
    step = max(1, int(math.sqrt(r.size / 250_000)))
    sample = r[::step, ::step][valid[::step, ::step]]
    med, spread = _robust_centre_spread(sample if sample.size >= 256 else r.ravel())
    spread = max(spread, quantisation * _unit_spread(round(sigma_px, 4), "disc"))
    k = _noise_factor(round(sigma_px, 4), ALPHA_SEED, "disc")
    r -= np.float32(med)
    r *= np.float32(1.0 / (k * spread))
    return r


def local_spread_ratio(
    response: F32, valid: NDArray[np.bool_], *, block_px: int = 32, spread: float
) -> F32:
    """Local over global spread of a response, per pixel (bilinear between blocks of
    ``block_px``): where noise or texture is stronger than on average (a darker corner,
    glare, a thick veil) a vessel must be more contrasted to be seen. Blocks with too
    few valid pixels take the largest ratio of the image."""
    h, w = response.shape
    b = max(8, min(block_px, h // 2, w // 2))
    hb, wb = h // b, w // b
    if hb < 1 or wb < 1:
        return np.ones((h, w), np.float32)
    blk = response[: hb * b : 2, : wb * b : 2].reshape(hb, b // 2, wb, b // 2)
    ok = valid[: hb * b : 2, : wb * b : 2].reshape(hb, b // 2, wb, b // 2)
    vals = np.where(ok, blk, np.float32(np.inf)).transpose(0, 2, 1, 3).reshape(hb, wb, -1)
    count = ok.transpose(0, 2, 1, 3).reshape(hb, wb, -1).sum(axis=2)
    enough = count >= vals.shape[2] // 4
    vals.sort(axis=2)  # invalid (inf) last: the order statistics of the valid ones
    n = np.maximum(count, 1)

    def order_stat(p: float) -> NDArray[np.float32]:
        k = np.minimum((p * (n - 1)).astype(np.intp), vals.shape[2] - 1)
        return np.take_along_axis(vals, k[..., None], axis=2)[..., 0]

    med, q25 = order_stat(0.5), order_stat(0.25)
    with np.errstate(invalid="ignore"):
        ratio = ((med - q25) / _LOWER_HALF / max(spread, 1e-12)).astype(np.float32)
    top = float(ratio[enough].max()) if enough.any() else 1.0
    ratio = np.where(enough & np.isfinite(ratio), ratio, np.float32(top)).astype(np.float32)
    # never below the global spread: calm blocks do not buy a finer guarantee
    np.maximum(ratio, np.float32(1.0), out=ratio)
    return flt.upsample_linear(ratio, (h, w), b)


def _line_profiles(
    diameters_px: NDArray[np.float64], blur_px: float, phase: float, length: int = 128
) -> F32:
    """(n, 128) darkness profiles across vertical lines of unit lumen darkness, one per
    diameter, blurred by a Gaussian of ``blur_px`` and integrated over pixels (a line
    along the rows is the same in every row: its Hessian is the second derivative across
    it, so the 2-D filters reduce to these profiles)."""
    x = np.arange(length, dtype=np.float64)[:, None] + (np.arange(8)[None, :] + 0.5) / 8 - 0.5
    c = length // 2 + phase
    b = max(blur_px, 0.2) * math.sqrt(2.0)
    half = np.asarray(diameters_px, np.float64)[:, None, None] / 2
    prof = 0.5 * (erf((x - c + half) / b) - erf((x - c - half) / b))
    return prof.mean(axis=2).astype(np.float32)


def _filtered(profiles: F32, level: int, sigma_level: float) -> F32:
    """Profiles filtered as the image was on pyramid ``level`` (2 x 2 block means, then a
    Gaussian of ``sigma_level`` truncated at 3 sigma, edge mode)."""
    p = profiles
    for _ in range(level):
        p = 0.5 * (p[:, 0::2] + p[:, 1::2])
    if sigma_level > 0.05:
        p = ndi.gaussian_filter1d(p, sigma_level, axis=1, mode="nearest", truncate=3.0)
    return p


def detectable_diameter_px(
    cal: list[ScaleCalibration],
    *,
    sample_depth: F32,
    sample_diameter_px: F32,
    sample_blur_px: NDArray[np.floating],
    absorption_length_px: float,
    max_depth: float,
    blur_px: F32,
    ratio: F32,
    max_diameter_px: float,
    contrast_percentile: float = 50.0,
) -> F32:
    """Smallest vessel diameter (px) the detector would have seeded at each pixel.

    A forward model of the detector: a line of diameter D, of lumen darkness
    ``u * (1 - exp(-D / l))`` (Beer-Lambert, ``l = absorption_length_px``; ``u`` fitted to
    the sampled vessel pixels; capped near ``max_depth``), blurred by ``blur_px``, is filtered exactly as the image was
    (block means, smoothing, signed ridge) at every scale, at the worse of two sub-pixel
    phases; it is seen where some scale's response reaches that scale's seed threshold
    times the local spread ``ratio``. Returns ``inf`` where no diameter up to
    ``max_diameter_px`` would be seen.
    """
    # the samples' darkness was read on the image smoothed at 0.7 px: the model's lumen
    # darkness per unit of Beer-Lambert absorbance is the median over the samples of what
    # makes their blurred, smoothed centres as dark as they are
    l_abs = max(absorption_length_px, 1e-6)
    steps = np.asarray(BLUR_STEPS_PX)
    level = np.searchsorted(steps, np.asarray(blur_px, np.float64) - 1e-6).clip(0, steps.size - 1)
    grid = np.arange(1.0, 21.0, 0.5)
    d_s = np.clip(sample_diameter_px, grid[0], grid[-1])
    lv_s = np.searchsorted(steps, np.asarray(sample_blur_px, np.float64) - 1e-6).clip(
        0, steps.size - 1
    )
    factor = np.empty(d_s.size)
    for k, b in enumerate(steps):
        sel = lv_s == k
        if sel.any():
            seen = _filtered(_line_profiles(grid, float(b), 0.0), 0, 0.7)[:, 64]
            factor[sel] = np.interp(d_s[sel], grid, seen.astype(np.float64))
    factor *= -np.expm1(-d_s / l_abs)
    # the fainter third of the vessels found: vessels at two depths (a sharp, dark dural
    # vessel over fainter pial ones) or of two kinds (veins and lighter arteries) are
    # judged by the fainter
    unit_depth = float(np.percentile(sample_depth / np.maximum(factor, 1e-9), contrast_percentile))
    reference_depth = float(np.median(sample_depth))
    diameters = np.unique(np.concatenate([np.arange(0.5, 8.0, 0.25), np.geomspace(8, 64, 12)]))
    diameters = diameters[diameters <= max(max_diameter_px, 1.0)]
    depth = np.minimum(
        unit_depth * -np.expm1(-diameters / l_abs), max(max_depth, reference_depth) / 0.9
    )
    out = np.full(ratio.size, np.inf, np.float32)
    flat_ratio = ratio.ravel()
    flat_level = level.ravel()
    # long enough for the coarsest level to keep 8 samples either side of the line
    length = max(128, 16 * 2 ** max(c.level for c in cal))
    for k in np.unique(flat_level):
        margin = np.full(diameters.size, np.inf)
        for phase in (0.0, 0.5):
            prof = _line_profiles(diameters, float(steps[k]), phase, length) * depth[
                :, None
            ].astype(np.float32)
            best = np.zeros(diameters.size)
            for c in cal:
                p = _filtered(prof, c.level, c.sigma_level)
                x = (length // 2 + int(phase)) // 2**c.level
                ridge = -(p[:, x + 1] + p[:, x - 1] - 2 * p[:, x])  # minus the 2nd difference
                best = np.maximum(best, ridge / (c.k_seed * c.spread))
            margin = np.minimum(margin, best)
        margin = np.maximum.accumulate(margin)
        sel = np.flatnonzero(flat_level == k)
        idx = np.searchsorted(margin, flat_ratio[sel], side="left")
        ok = idx < diameters.size
        out[sel[ok]] = diameters[idx[ok]].astype(np.float32)
    return out.reshape(ratio.shape)


LAYER_PERCENTILES: dict[bool, tuple[float, float]] = {False: (50.0, 50.0), True: (35.0, 75.0)}
"""(contrast, blur) percentiles over the vessels found, for one layer of vessels (False:
the pia seen bare) and for two (True: dural vessels over pial ones seen through the
dura). One layer: the median vessel. Two layers: a sharp, dark dural vessel must not
stand for the veiled pial ones below it, so the fainter third sets the contrast and the
blurrier quarter the blur. Through a thick veil (transmission 0.25, blur 4 px, in the
independent test renderer) the medians allowed 30 um pial vessels; these percentiles are
the least that kept every one of them forbidden there."""

BLUR_STEPS_PX = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
"""Blur levels (Gaussian sigma, px) the detectability model is evaluated at; each pixel
takes the next level up from its local estimate (the estimate errs toward "not seen")."""

_REBLUR_PX = 1.0


def _reblur_estimates(
    dark_s: F32, er: NDArray[np.intp], ec: NDArray[np.intp], s0: float, smoothing_px: float
) -> NDArray[np.float64]:
    """Blur (px) at edge pixels (``er``, ``ec``) by re-blurring with ``s0``; inf where the
    gradient did not fall."""
    h, w = dark_s.shape

    def grad_at(img: F32) -> NDArray[np.float64]:
        up, dn = np.maximum(er - 1, 0), np.minimum(er + 1, h - 1)
        lf, rt = np.maximum(ec - 1, 0), np.minimum(ec + 1, w - 1)
        return 0.5 * np.hypot(img[dn, ec] - img[up, ec], img[er, rt] - img[er, lf])

    g1 = grad_at(dark_s)
    g2 = grad_at(flt.gauss(dark_s, s0))
    ok = (g2 > 0) & (g1 > g2)
    rr = np.where(ok, g1 / np.maximum(g2, 1e-12), 1.0)
    s_tot = np.where(ok, s0 / np.sqrt(np.maximum(rr**2 - 1.0, 1e-6)), np.inf)
    out: NDArray[np.float64] = np.sqrt(np.maximum(s_tot**2 - smoothing_px**2, 0.0))
    return out


def blur_map_px(
    dark_s: F32,
    mask: NDArray[np.bool_],
    radius_px: F32,
    *,
    smoothing_px: float = 0.7,
    block_px: int = 64,
    percentile: float = 50.0,
) -> F32:
    """Local optical blur (Gaussian sigma, px) at each pixel, from the sharpness of the
    edges of vessels at least 6 px wide, by re-blurring (Zhuo & Sim 2011,
    doi:10.1016/j.patcog.2011.03.009): at a step blurred by s, the gradient falls by
    ``R = sqrt(s^2 + s0^2) / s`` when blurred again by ``s0``, so ``s = s0 / sqrt(R^2 - 1)``.
    ``dark_s`` was smoothed by ``smoothing_px``, which is taken off. The ``percentile``
    of the estimates in each block of ``block_px``; blocks without such edges take the nearest measured block's value, at
    least the median of the measured ones (defocus varies smoothly with depth); 2 px everywhere when
    no wide vessel edge exists at all."""
    h, w = dark_s.shape
    boundary = mask & ~ndi.binary_erosion(mask)
    s0, est, er, ec = _REBLUR_PX, np.zeros(0), np.zeros(0, np.intp), np.zeros(0, np.intp)
    for _ in range(4):
        # a step is measured on vessels wider than four of its blurs, with a re-blur of
        # about the blur itself (the ratio is ill-conditioned when s0 << s: a first small
        # estimate is refined until it settles)
        min_radius = max(3.0, 2.0 * s0)
        er, ec = np.nonzero(boundary & (radius_px >= min_radius))
        if er.size < 30:
            break
        est = _reblur_estimates(dark_s, er, ec, s0, smoothing_px)
        fin = np.isfinite(est)
        er, ec, est = er[fin], ec[fin], est[fin]
        if est.size < 30:
            break
        typical = float(np.median(est))
        if typical < 1.5 * s0:
            break
        s0 = min(typical, BLUR_STEPS_PX[-1])
    if est.size < 30:
        return np.full((h, w), np.float32(2.0 if s0 <= _REBLUR_PX else s0))
    b = max(8, min(block_px, h, w))
    hb, wb = max(1, -(-h // b)), max(1, -(-w // b))
    key = np.minimum(er // b, hb - 1) * wb + np.minimum(ec // b, wb - 1)
    order = np.argsort(key, kind="stable")
    key_s, est_s = key[order], est[order]
    starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
    counts = np.diff(np.r_[starts, key_s.size])
    blocks = np.full(hb * wb, np.nan)
    for st, n in zip(starts, counts, strict=True):
        if n >= 8:
            blocks[key_s[st]] = np.percentile(est_s[st : st + n], percentile)
    blocks = blocks.reshape(hb, wb)
    known = np.isfinite(blocks)
    if not known.any():
        blocks[:] = float(np.median(est[np.isfinite(est)])) if np.isfinite(est).any() else 2.0
    elif not known.all():
        # defocus varies smoothly with depth: the nearest measured block, but never less
        # than the median of the measured ones (a patch with no wide vessel is not
        # taken for the sharpest)
        _, (ri, ci) = ndi.distance_transform_edt(~known, return_indices=True)
        fill = np.maximum(blocks[ri, ci], np.median(blocks[known]))
        blocks = np.where(known, blocks, fill)
    blocks = np.minimum(blocks, BLUR_STEPS_PX[-1]).astype(np.float32)
    out = flt.upsample_linear(blocks, (hb * b, wb * b), b)[:h, :w]
    return np.ascontiguousarray(out)


ABSORPTION_LENGTH_UM = 100.0
"""Depth of blood over which green light falls by 1/e, taken long on purpose: whole blood
absorbs 100-300 /cm at 540-580 nm (Bosschaart et al. 2014, doi:10.1007/s10103-013-1446-7),
i.e. 30-100 um; the longest makes thin vessels look faintest (the detector errs toward
"not seen")."""


def vessel_contrast(
    dark_s: F32, mask: NDArray[np.bool_], radius_px: F32
) -> tuple[F32, F32, NDArray[np.intp], float] | None:
    """Contrast measured on the vessels found: the darkness and diameter (px) of the inner
    pixels of vessels under 6 px wide (else under 10 px, else all vessels, whichever
    first has 30 such pixels: thin vessels are judged by the thinnest found), their flat
    indices, and the largest darkness (95th percentile). None when fewer than 30 inner
    vessel pixels were found: the image gives no contrast to judge by."""
    inner = ndi.binary_erosion(mask, iterations=1) & (radius_px >= 1.0)
    if int(inner.sum()) < 30:
        return None
    a = dark_s[inner]
    r_in = radius_px[inner]
    flat = np.flatnonzero(inner)
    thin = r_in < 3.0
    if int(thin.sum()) < 30:
        thin = r_in < 5.0
    if int(thin.sum()) < 30:
        thin = np.ones(r_in.shape, bool)
    # thin vessels are judged by the thinnest found
    samples = (a[thin], 2.0 * r_in[thin], flat[thin])
    max_depth = float(np.percentile(a, 95))
    return samples[0], samples[1], samples[2], max_depth
