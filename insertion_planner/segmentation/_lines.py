"""Line evidence calibrated on the image's own noise.

Thresholds are not constants fitted to a renderer: each filter's response is compared
with its own spread over the image (a robust estimate from the lower half of its
distribution, which vessels do not reach), times the factor that gives a stated
per-pixel false-alarm rate on white noise through the same filter: the signed Hessian
line measure (Frangi et al. 1998, doi:10.1007/BFb0056195), thin scales at full
resolution, wide ones on a block-mean pyramid (continued past its border by point
reflection), hysteresis within each scale (Canny 1986,
doi:10.1109/TPAMI.1986.4767851).
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from . import _filters as flt

__all__ = [
    "ALPHA_SEED",
    "ALPHA_GROW",
    "ScaleCalibration",
    "signed_ridge",
    "signed_disc",
    "disc_evidence",
    "line_evidence",
    "robust_centre_spread",
    "take_where",
    "LOWER_HALF",
]

F32 = NDArray[np.float32]
_T = TypeVar("_T", bound=np.generic)

ALPHA_SEED = 1e-5
"""Per-pixel false-alarm rate of a seed on noise alone (about 40 pixels of a 2048 x 2048
image; they form specks that the speck test removes)."""

ALPHA_GROW = 1e-2
"""Per-pixel false-alarm rate of a pixel that extends a detection (hysteresis, Canny
1986: a vessel is followed where it is faint, noise alone rarely connects to a seed)."""

_CALIBRATION_SIDE = 768
LOWER_HALF = 0.6745
"""Standard-normal 75th percentile: (median - q25) / it = sigma."""


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


def robust_centre_spread(values: F32) -> tuple[float, float]:
    """Median and the spread of the lower half, ``(median - q25) / 0.6745``."""
    from ._select import percentile  # numba: compiled on first use

    med, q25 = percentile(values, [50, 25])  # numpy.percentile's, by radix selection
    return float(med), float(max(med - q25, 1e-12) / LOWER_HALF)


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


def _measure(image: F32, s_eff: float, kind: str) -> F32:
    """The signed ``kind`` measure (``"ridge"`` or ``"disc"``) of ``image`` smoothed at
    ``s_eff`` (:func:`signed_ridge`, :func:`signed_disc`)."""
    return flt.hessian_measure(image, s_eff, kind=kind)


def _extend_linear(a: F32, pad: int, band: int) -> F32:
    """``a`` continued ``pad`` px past each side by point reflection about the mean of its
    ``band`` outermost rows (columns), placed at their centre: ``2 * mean - mirror``.
    A linear trend stays linear, and the mean, not one edge pixel, carries the noise."""
    for axis in (0, 1):
        b = np.moveaxis(a, axis, 0)
        n = b.shape[0]
        m0 = b[:band].mean(axis=0, dtype=np.float32)
        m1 = b[n - band :].mean(axis=0, dtype=np.float32)
        top = 2 * m0 - b[band - 1 + pad : band - 1 : -1]
        bottom = 2 * m1 - b[n - band - pad : n - band][::-1]
        a = np.moveaxis(np.concatenate([top, b, bottom]), 0, axis)
    return np.ascontiguousarray(a, dtype=np.float32)


def _measure_extrapolated(image: F32, s_eff: float, kind: str) -> F32:
    """:func:`_measure` with the image continued past its border by point reflection
    (:func:`_extend_linear`, about the mean of a band of ``2 * s_eff`` px), which keeps a
    linear trend linear: repeated edges bend a trend at the border, and a filter that
    reaches past it sees a dark line there. Images too small for it keep repeated edges."""
    pad = int(math.ceil(3 * s_eff)) + 2
    band = max(1, int(round(2 * s_eff)))
    if min(image.shape) < band + pad + 1:
        return _measure(image, s_eff, kind)
    ext = _extend_linear(image, pad, band)
    return np.ascontiguousarray(_measure(ext, s_eff, kind)[pad:-pad, pad:-pad])


_SIMULATED_MAX_SCALE_PX = 8.0
"""Largest smoothing (px) the noise simulations run at: beyond it their fields (256 and
768 px, less 3 sigma either side) hold too few independent samples (the spread read at
16-32 px fell as ``s**-0.8`` to ``s**-2.5``). A wider one, only on a pyramid too short to
bring it down (a small image at a fine pixel size), takes this scale's values: the
measure of smoothed white noise keeps its shape and its spread falls as ``s**-3`` (every
second derivative does; measured 2.8-3.0 from 1 to 8 px)."""


@functools.lru_cache(maxsize=64)
def _unit_spread(s_eff: float, measure: str = "ridge") -> float:
    """Spread (lower-half estimate) of the measure for white noise of unit sigma."""
    if s_eff > _SIMULATED_MAX_SCALE_PX:
        return (
            _unit_spread(_SIMULATED_MAX_SCALE_PX, measure) * (_SIMULATED_MAX_SCALE_PX / s_eff) ** 3
        )
    rng = np.random.default_rng(20261130)
    noise = rng.standard_normal((256, 256)).astype(np.float32)
    r = _measure(noise, s_eff, measure)
    cut = int(3 * s_eff) + 2
    return robust_centre_spread(r[cut:-cut, cut:-cut].ravel())[1]


@functools.lru_cache(maxsize=64)
def _noise_factor(s_eff: float, alpha: float, measure: str = "ridge") -> float:
    """Factor k with P(R > median + k * spread) = alpha for R the signed ridge (or disc)
    measure of white Gaussian noise smoothed at ``s_eff`` px (a fixed-seed simulation,
    the same for every image: the filter is linear in the noise, so k does not depend on
    its level)."""
    if s_eff > _SIMULATED_MAX_SCALE_PX:  # the same shape at any wider scale
        return _noise_factor(_SIMULATED_MAX_SCALE_PX, alpha, measure)
    rng = np.random.default_rng(20261130)
    noise = rng.standard_normal((_CALIBRATION_SIDE, _CALIBRATION_SIDE)).astype(np.float32)
    r = _measure(noise, s_eff, measure)
    cut = int(3 * s_eff) + 2
    v = r[cut:-cut, cut:-cut].ravel()
    med, spread = robust_centre_spread(v)
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


def take_where(
    dst: NDArray[Any], value: NDArray[Any] | np.generic, where: NDArray[np.bool_]
) -> None:
    """``dst[where] = value`` (broadcast) in place, as exact arithmetic
    (``dst * (not where) + value * where``, finite values): a masked copy branches on
    every pixel and is ten times slower on large images."""
    dst *= ~where
    dst += np.multiply(value, where, dtype=dst.dtype)


def _merge_level(
    z_seed: F32,
    z_grow: F32,
    best: NDArray[np.int8],
    detected: NDArray[np.bool_],
    level: tuple[F32, F32, NDArray[np.int8], NDArray[np.bool_]],
    f: int,
    *,
    first: bool = False,
) -> None:
    """Merge one pyramid level's (seed evidence, grow evidence, best scale, detections),
    blocks of ``f`` px, into the full-resolution ones in place: the evidence upsampled
    bilinearly (exactly as :func:`~._filters.upsample_linear`), the rest by nearest; the
    best scale taken where the level's seed evidence is higher. ``first``: the outputs
    hold nothing yet and are written (as a merge into -inf, zeros and False would).

    Row by row in one compiled pass (``_resample.merge_level``), each output row blended
    from the two column-upsampled level rows it lies between, without building the
    upsampled images."""
    from ._resample import merge_level  # numba: compiled on first use

    merge_level(z_seed, z_grow, best, detected, level, f, first=first)


_Evidence = tuple[F32, F32, NDArray[np.int8], NDArray[np.bool_]]


def _level_evidence(
    image: F32,
    valid: NDArray[np.bool_],
    placed: list[tuple[int, float, int, float, str]],
    level: int,
    quantisation: float,
    cal_by_scale: dict[float, ScaleCalibration],
    responses: dict[float, F32],
) -> _Evidence:
    """The filters ``placed`` on pyramid ``level`` (``image``): (index of the scale, scale,
    level, smoothing on the level, measure), merged there: seed and grow evidence, best
    scale, hysteresis detections. The Hessian measures' calibrations are stored in
    ``cal_by_scale``, the raw response of the finest scale in ``responses``."""
    from ._fused import merge_scale, standardise  # numba: compiled on first use
    from ._raster import hysteresis

    zs_l = zg_l = best_l = found_l = None
    for index, s, lv, s_eff, kind in placed:
        if lv != level:
            continue
        r = (
            _measure(image, s_eff, kind)
            if level == 0
            else _measure_extrapolated(image, s_eff, kind)
        )
        if index == 0 and kind == "ridge":
            responses[s] = r
        step = max(1, int(math.sqrt(r.size / 250_000)))
        sample = r[::step, ::step][valid[::step, ::step]]
        if sample.size < 256:
            sample = r.ravel()
        med, spread = robust_centre_spread(sample)
        floor = quantisation / 2**level * _unit_spread(round(s_eff, 4), kind)
        spread = max(spread, floor)
        k_seed = _noise_factor(round(s_eff, 4), ALPHA_SEED, kind)
        k_grow = _noise_factor(round(s_eff, 4), ALPHA_GROW, kind)
        if kind == "ridge":
            cal_by_scale[s] = ScaleCalibration(s, level, s_eff, med, spread, k_seed, k_grow)
        # in place unless the raw response is kept
        zs = standardise(
            r, np.float32(med), np.float32(1.0 / (k_seed * spread)),
            inplace=responses.get(s) is not r,
        )  # fmt: skip
        # hysteresis within the scale: noise crossing the grow threshold at one scale
        # forms small clusters; merged over scales first they would join into large ones
        found = hysteresis(zs, high=1.0, low=np.float32(k_grow / k_seed))
        if zs_l is None or zg_l is None or best_l is None or found_l is None:
            zs_l, best_l, found_l = zs, np.full(image.shape, index, np.int8), found
            zg_l = zs * np.float32(k_seed / k_grow)
            continue
        # best scale, seed and grow evidence, detections merged in one compiled pass
        merge_scale(zs_l, zg_l, best_l, found_l, zs, found, index, np.float32(k_seed / k_grow))
    assert zs_l is not None and zg_l is not None and best_l is not None
    assert found_l is not None
    return zs_l, zg_l, best_l, found_l


def line_evidence(
    levels: list[F32],
    valid: list[NDArray[np.bool_]],
    scales: list[float],
    *,
    quantisation: float = 0.0,
    pool: Executor | None = None,
) -> tuple[F32, F32, NDArray[np.int8], list[ScaleCalibration], F32, NDArray[np.bool_]]:
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
    pool : concurrent.futures.Executor, optional
        Where the coarse levels run (and are merged at full resolution) while this
        thread runs the full-resolution scales; None: all here.

    Returns
    -------
    z_seed : (H, W) float32
        Max over scales of (response - median) / (k_seed * spread): >= 1 is a seed.
    z_grow : (H, W) float32
        The same against the grow threshold: >= 1 extends a detection.
    best : (H, W) int8
        Index in ``scales`` of the scale of the largest ``z_seed`` (the finest on ties).
    calibration : list of ScaleCalibration
    finest : (H, W) float32
        The finest scale's response (for the local spread of the detectability map).
    detected : (H, W) bool
        Union over scales of the hysteresis detections made within each scale (seeds at
        ``ALPHA_SEED``, extended at ``ALPHA_GROW``; Canny 1986).
    """
    shape = levels[0].shape
    placed = [(i, s, *_placement(s, len(levels)), "ridge") for i, s in enumerate(scales)]
    used = sorted({p[2] for p in placed})
    cal_fine: dict[float, ScaleCalibration] = {}
    cal_coarse: dict[float, ScaleCalibration] = {}
    resp_fine: dict[float, F32] = {}
    resp_coarse: dict[float, F32] = {}

    def coarse() -> _Evidence | None:
        # each coarse level's scales are merged on their level, then the level is
        # brought to full resolution (bilinear) and merged there, coarser levels last
        # (all levels in one pass over the full-resolution arrays,
        # ``_merge_levels.merge_levels``: the level-by-level merges, bit for bit)
        from ._merge_levels import merge_levels  # numba: compiled on first use

        evs = []
        for level in used:
            if level != 0:
                ev = _level_evidence(levels[level], valid[level], placed, level, quantisation,
                                     cal_coarse, resp_coarse)  # fmt: skip
                evs.append((ev, 2**level))
        if not evs:
            return None
        acc = (np.empty(shape, np.float32), np.empty(shape, np.float32),
               np.empty(shape, np.int8), np.empty(shape, bool))  # fmt: skip
        merge_levels(*acc, evs)  # the first level written, the others merged
        return acc

    fut = pool.submit(coarse) if pool is not None and len(used) > 1 else None
    fine = (
        _level_evidence(levels[0], valid[0], placed, 0, quantisation, cal_fine, resp_fine)
        if used[0] == 0
        else None
    )
    far = fut.result() if fut is not None else coarse()
    if fine is None or far is None:
        out = fine if fine is not None else far
        assert out is not None
        z_seed, z_grow, best, detected = out
    else:
        from ._fused import merge_evidence  # numba: compiled on first use

        z_seed, z_grow, best, detected = fine
        # a coarser scale wins only if higher; in one compiled pass
        merge_evidence(z_seed, z_grow, best, detected, far)
    cal_by_scale = {**cal_fine, **cal_coarse}
    cal = [cal_by_scale[s] for s in scales]
    finest = {**resp_fine, **resp_coarse}[scales[0]]
    if finest.shape != shape:  # the finest scale ran on a coarser level (large pixels)
        finest = flt.upsample_linear(finest, shape, 2 ** cal[0].level)
    return z_seed, z_grow, best, cal, finest, detected


def disc_evidence(
    dark: F32,
    valid: NDArray[np.bool_],
    *,
    sigma_px: float = 0.7,
    quantisation: float = 0.0,
    smoothed: F32 | None = None,
    smoothed_out: F32 | None = None,
) -> F32:
    """Dark-disc evidence at full resolution, (H, W) float32: (signed disc measure -
    median) / (seed threshold - median), calibrated like :func:`line_evidence`; >= 1 is a
    compact dark speck unlikely to be noise (a penetrating stump). ``smoothed``: ``dark``
    already smoothed at ``sigma_px`` (not smoothed again); ``smoothed_out``: an (H, W)
    float32 array that receives ``dark`` smoothed at ``sigma_px`` on the way (when
    ``smoothed`` is None)."""
    r = (
        flt.hessian_measure(dark, sigma_px, kind="disc", smoothed=smoothed_out)
        if smoothed is None
        else (flt.hessian_measure(smoothed, 0.0, kind="disc"))
    )
    step = max(1, int(math.sqrt(r.size / 250_000)))
    sample = r[::step, ::step][valid[::step, ::step]]
    med, spread = robust_centre_spread(sample if sample.size >= 256 else r.ravel())
    spread = max(spread, quantisation * _unit_spread(round(sigma_px, 4), "disc"))
    k = _noise_factor(round(sigma_px, 4), ALPHA_SEED, "disc")
    r -= np.float32(med)
    r *= np.float32(1.0 / (k * spread))
    return r
