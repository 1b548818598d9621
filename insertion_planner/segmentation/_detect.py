"""The detectability of a vessel: the local spread of the line measure, the optical blur
and the vessel contrast measured on the image, and a forward model of the detector.

The calibration of the line evidence (``_lines``: each scale's threshold from the
image's own noise at a stated false-alarm rate) predicts, pixel by pixel, the thinnest
vessel the detector would have seen there.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from scipy.special import erf

from . import _filters as flt
from ._attenuation import kept_contrast
from ._lines import (
    ALPHA_GROW,
    ALPHA_SEED,
    LOWER_HALF,
    ScaleCalibration,
    disc_evidence,
    line_evidence,
    signed_disc,
    signed_ridge,
)

F32 = NDArray[np.float32]

__all__ = [
    "ALPHA_SEED",
    "ALPHA_GROW",
    "ScaleCalibration",
    "signed_ridge",
    "signed_disc",
    "disc_evidence",
    "vessel_contrast",
    "BLUR_STEPS_PX",
    "LAYER_PERCENTILES",
    "ASHMAN_D",
    "two_gaussians",
    "fainter_layer",
    "sample_unit_depth",
    "judged_unit_depth",
    "transdural_samples",
    "BARE_PERCENTILES",
    "ABSORPTION_LENGTH_UM",
    "line_evidence",
    "local_spread_ratio",
    "detectable_diameter_px",
]


def local_spread_ratio(
    response: F32,
    valid: NDArray[np.bool_],
    *,
    block_px: int = 32,
    spread: float,
    brightness: F32 | None = None,
    floor: float = 0.0,
) -> tuple[F32, int, F32]:
    """Local over global spread of a response, per block of ``b`` px (about
    ``block_px``), ``b`` and the share of contrast kept per block: the ratio at a pixel is ``upsample_linear(ratio, shape, b)``
    (bilinear between blocks). Where noise or texture is stronger than on average (a
    darker corner, glare, a thick veil) a vessel must be more contrasted to be seen.
    Blocks with too few valid pixels take the largest ratio of the image.

    With ``brightness`` (the (H, W) channel the response was measured on, before it was
    made relative), a block calmer than its brightness allows was attenuated after the
    light was caught, and its ratio is divided by the share of contrast it kept
    (:func:`kept_contrast`); without, every block keeps all (ones). ``floor``: the spread
    quantisation alone gives (no block is calmer than its steps: a noise-free drawing is
    not an attenuated one)."""
    h, w = response.shape
    b = max(8, min(block_px, h // 2, w // 2)) // 2 * 2  # even: sampled every other pixel
    hb, wb = h // b, w // b
    if hb < 1 or wb < 1:
        return np.ones((1, 1), np.float32), max(h, w), np.ones((1, 1), np.float32)
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
        local = np.maximum((med - q25) / LOWER_HALF, np.float32(floor))
        ratio = (local / max(spread, 1e-12)).astype(np.float32)
    top = float(ratio[enough].max()) if enough.any() else 1.0
    ratio = np.where(enough & np.isfinite(ratio), ratio, np.float32(top)).astype(np.float32)
    kept = np.ones(ratio.shape, np.float32)
    if brightness is not None:
        level = brightness[: hb * b : 2, : wb * b : 2].reshape(hb, b // 2, wb, b // 2)
        total = np.where(ok, level, np.float32(0)).sum(axis=(1, 3), dtype=np.float64)
        mean = np.where(enough, total / np.maximum(count, 1), np.nan)
        kept = kept_contrast(ratio, mean)
    # never below the global spread: calm blocks do not buy a finer guarantee
    np.maximum(ratio, np.float32(1.0), out=ratio)
    ratio /= kept
    return ratio, b, kept


def _line_profiles(
    diameters_px: NDArray[np.float64], blur_px: float, phase: float, length: int = 128
) -> F32:
    """(n, 128) darkness profiles across vertical lines of unit lumen darkness, one per
    diameter, blurred by a Gaussian of ``blur_px`` and integrated over pixels (a line
    along the rows is the same in every row: its Hessian is the second derivative across
    it, so the 2-D filters reduce to these profiles). Read-only: the same few are asked
    for on every image, and are computed once."""
    key = tuple(np.asarray(diameters_px, np.float64).ravel().tolist())
    return _line_profiles_of(key, float(blur_px), float(phase), int(length))


@functools.lru_cache(maxsize=256)
def _line_profiles_of(diameters_px: tuple[float, ...], blur_px: float, phase: float,
                      length: int) -> F32:  # fmt: skip
    x = np.arange(length, dtype=np.float64)[:, None] + (np.arange(8)[None, :] + 0.5) / 8 - 0.5
    c = length // 2 + phase
    b = max(blur_px, 0.2) * math.sqrt(2.0)
    half = np.asarray(diameters_px, np.float64)[:, None, None] / 2
    prof = 0.5 * (erf((x - c + half) / b) - erf((x - c - half) / b))
    out: F32 = prof.mean(axis=2).astype(np.float32)
    out.flags.writeable = False
    return out


def _filtered(profiles: F32, level: int, sigma_level: float) -> F32:
    """Profiles filtered as the image was on pyramid ``level`` (2 x 2 block means, then a
    Gaussian of ``sigma_level`` truncated at 3 sigma, edge mode)."""
    p = profiles
    for _ in range(level):
        p = 0.5 * (p[:, 0::2] + p[:, 1::2])
    if sigma_level > 0.05:
        p = ndi.gaussian_filter1d(p, sigma_level, axis=1, mode="nearest", truncate=3.0)
    return p


def sample_unit_depth(
    sample_depth: NDArray[np.floating],
    sample_diameter_px: NDArray[np.floating],
    sample_blur_px: NDArray[np.floating],
    *,
    absorption_length_px: float,
) -> NDArray[np.float64]:
    """Lumen darkness per unit of Beer-Lambert absorbance of each sampled vessel pixel:
    what makes a line of its diameter, blurred by its blur and smoothed at 0.7 px as the
    samples were read, as dark at its centre as it is (``u`` of
    :func:`detectable_diameter_px`)."""
    l_abs = max(absorption_length_px, 1e-6)
    steps = np.asarray(BLUR_STEPS_PX)
    grid = np.arange(1.0, 21.0, 0.5)
    d_s = np.clip(np.asarray(sample_diameter_px, np.float64), grid[0], grid[-1])
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
    out: NDArray[np.float64] = np.asarray(sample_depth, np.float64) / np.maximum(factor, 1e-9)
    return out


def judged_unit_depth(
    sample_depth: NDArray[np.floating],
    sample_diameter_px: NDArray[np.floating],
    sample_blur_px: NDArray[np.floating],
    *,
    absorption_length_px: float,
    percentile: float,
    vessel: NDArray[np.intp] | None = None,
) -> float:
    """The ``percentile`` of the samples' lumen darkness per unit absorbance
    (:func:`sample_unit_depth`): over the pixels, or, with ``vessel`` (a label per
    sample), over the vessels, each by its median (a long or wide vessel does not outvote
    the faint ones, and pixel noise is averaged out along each)."""
    unit = sample_unit_depth(
        sample_depth, sample_diameter_px, sample_blur_px, absorption_length_px=absorption_length_px
    )
    if vessel is not None and vessel.size == unit.size:
        order = np.argsort(vessel, kind="stable")
        _, start = np.unique(vessel[order], return_index=True)
        medians = np.array([np.median(g) for g in np.split(unit[order], start[1:])])
        if medians.size >= 3:
            unit = medians
    return float(np.percentile(unit, percentile))


def transdural_samples(
    sample_depth: NDArray[np.floating],
    sample_diameter_px: NDArray[np.floating],
    sample_index: NDArray[np.intp],
    blur_px: F32,
    *,
    absorption_length_px: float,
    min_vessel_px: int = 10,
) -> tuple[NDArray[np.bool_], NDArray[np.intp], bool]:
    """The samples that judge a transdural image, their vessels, and whether two layers
    were found.

    The samples' contrast per unit absorbance (at the blur ``blur_px`` (H, W) shows) is
    split into two layers where it forms two (:func:`fainter_layer`: sharp, dark dural
    vessels over veiled pial ones): the fainter is kept. The samples are grouped into
    vessels (8-connected runs of sampled pixels); runs of fewer than ``min_vessel_px``
    kept samples are dropped (a speck's contrast is mostly noise) unless fewer than 30
    samples would be left. Returns the samples kept (bool, per sample), the vessel label
    of every sample and True where two layers were found.
    """
    shape = blur_px.shape
    unit = sample_unit_depth(
        sample_depth, sample_diameter_px, blur_px.ravel()[sample_index],
        absorption_length_px=absorption_length_px,
    )  # fmt: skip
    keep = fainter_layer(unit)
    two = not bool(keep.all())
    sampled = np.zeros(shape[0] * shape[1], bool)
    sampled[sample_index] = True
    labels, _ = ndi.label(sampled.reshape(shape), structure=np.ones((3, 3), bool))
    vessel = labels.ravel()[sample_index].astype(np.intp)
    count = np.bincount(vessel[keep], minlength=int(vessel.max()) + 1)
    long_enough = keep & (count[vessel] >= min_vessel_px)
    if int(long_enough.sum()) >= 30:
        keep = long_enough
    return keep, vessel, two


def detectable_diameter_px(
    cal: list[ScaleCalibration],
    *,
    unit_depth: float,
    reference_depth: float,
    absorption_length_px: float,
    max_depth: float,
    blur_px: F32,
    ratio: F32,
    max_diameter_px: float,
) -> F32:
    """Smallest vessel diameter (px) the detector would have seeded at each pixel.

    A forward model of the detector: a line of diameter D, of lumen darkness
    ``u * (1 - exp(-D / l))`` (Beer-Lambert, ``l = absorption_length_px``; ``u`` =
    ``unit_depth``, from the sampled vessel pixels by :func:`judged_unit_depth`; capped
    near the larger of ``max_depth`` and ``reference_depth``, the samples' median
    darkness), blurred by ``blur_px``, is filtered exactly as the image was (block means,
    smoothing, signed ridge) at every scale, at the worse of two sub-pixel phases; it is
    seen where some scale's response reaches that scale's seed threshold times the local
    spread ``ratio``. Returns ``inf`` where no diameter up to ``max_diameter_px`` would be
    seen.
    """
    l_abs = max(absorption_length_px, 1e-6)
    steps = np.asarray(BLUR_STEPS_PX)
    level = np.searchsorted(steps, np.asarray(blur_px, np.float64) - 1e-6).clip(0, steps.size - 1)
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


ASHMAN_D = 2.0
"""Ashman's D above which two Gaussian components are taken as two populations (Ashman,
Bird & Zepf 1994, doi:10.1086/117248: D > 2 is needed for a clean separation)."""


def two_gaussians(
    x: NDArray[np.floating], *, iterations: int = 100
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Maximum-likelihood mixture of two Gaussians on 1-D data by expectation-maximisation
    (Dempster, Laird & Rubin 1977, doi:10.1111/j.2517-6161.1977.tb01600.x), started from
    the lower and upper quartiles. Returns (weights, means, standard deviations), the
    lower mean first.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, 2000), rng.normal(6, 1, 1000)])
    >>> w, m, s = two_gaussians(x)
    >>> np.round(w, 2).tolist(), np.round(m, 1).tolist(), np.round(s, 1).tolist()
    ([0.67, 0.33], [0.0, 6.0], [1.0, 1.0])
    """
    x = np.asarray(x, np.float64).ravel()
    q25, q75 = np.percentile(x, [25, 75])
    sd0 = max(float(np.std(x)) / 2, 1e-6)
    w, m, s = np.array([0.5, 0.5]), np.array([q25, q75]), np.array([sd0, sd0])
    for _ in range(iterations):
        z = (x[:, None] - m) / s
        p = w * np.exp(-0.5 * z * z) / s
        resp = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
        n = resp.sum(axis=0)
        if (n < 1e-9).any():
            break
        w_new = n / x.size
        m_new = (resp * x[:, None]).sum(axis=0) / n
        s_new = np.sqrt(np.maximum((resp * (x[:, None] - m_new) ** 2).sum(axis=0) / n, 1e-12))
        done = np.allclose(m_new, m, atol=1e-4) and np.allclose(s_new, s, atol=1e-4)
        w, m, s = w_new, m_new, s_new
        if done:
            break
    order = np.argsort(m)
    return w[order], m[order], s[order]


def fainter_layer(unit_depth: NDArray[np.floating], *, min_count: int = 30) -> NDArray[np.bool_]:
    """The samples of the fainter of two layers of vessels, where their contrast per unit
    absorbance forms two: a mixture of two Gaussians on its logarithm
    (:func:`two_gaussians`) whose components are separated by Ashman's D > ``ASHMAN_D``
    and whose fainter one holds at least ``min_count`` samples; the samples below the
    point where the two components are equally likely. Otherwise all samples (one layer).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> one = np.exp(rng.normal(0.0, 0.3, 3000))
    >>> int(fainter_layer(one).sum())
    3000
    >>> two = np.concatenate([one, np.exp(rng.normal(2.0, 0.3, 1000))])
    >>> f = fainter_layer(two)
    >>> int(f[:3000].sum()), int(f[3000:].sum())
    (2999, 0)
    """
    u = np.log(np.maximum(np.asarray(unit_depth, np.float64), 1e-9))
    everything = np.ones(u.shape, bool)
    if u.size < 2 * min_count:
        return everything
    # fitted on at most 5,000 evenly taken samples (the fit needs no more), applied to all
    w, m, s = two_gaussians(u[:: max(1, u.size // 5_000)])
    d = math.sqrt(2.0) * abs(m[1] - m[0]) / math.sqrt(s[0] ** 2 + s[1] ** 2)
    if d <= ASHMAN_D:
        return everything

    def dens(k: int) -> NDArray[np.float64]:
        z = (u - m[k]) / s[k]
        out: NDArray[np.float64] = w[k] * np.exp(-0.5 * z * z) / s[k]
        return out

    faint = (dens(0) >= dens(1)) & (u <= m[1])
    return faint if int(faint.sum()) >= min_count else everything


BARE_PERCENTILES: tuple[float, float] = (50.0, 50.0)
"""(contrast, blur) percentiles over the vessel pixels found, the pia seen bare
(durectomy): the median vessel."""

LAYER_PERCENTILES: dict[bool, tuple[float, float]] = {False: (25.0, 50.0), True: (25.0, 75.0)}
"""(contrast, blur) percentiles through the dura (transdural mode), for one layer of
vessels found (False) and for two (True, :func:`fainter_layer`: the fainter layer only).
The contrast is the lower quartile over the vessels (each by its median,
:func:`judged_unit_depth`): a veiled pial vessel may be fainter than the typical one
found, and any 30 um vessel missed is a hazard. The blur is the median of each block's
edge estimates for one layer, its blurrier quarter for two (the veiled layer is the
blurrier; its edges are a minority of the wide ones measured). The detector's
completeness at that contrast is then measured by injection (``_inject``)."""

BLUR_STEPS_PX = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
"""Blur levels (Gaussian sigma, px) the detectability model is evaluated at; each pixel
takes the next level up from its local estimate (the estimate errs toward "not seen")."""

def _erode(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``scipy.ndimage.binary_erosion(mask)`` (4-neighbour cross, outside the image
    false), by shifted ANDs of whole slices.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> m = np.random.default_rng(0).random((9, 11)) > 0.3
    >>> bool((_erode(m) == ndi.binary_erosion(m)).all())
    True
    """
    out = np.zeros(mask.shape, bool)
    if min(mask.shape) < 3:
        return out
    # on the flat image (contiguous operations): a pixel and its four neighbours; the
    # first and last columns, whose row neighbours wrap, are cleared after
    h, w = mask.shape
    m = np.ascontiguousarray(mask, dtype=bool).ravel()
    core = out.ravel()[w : (h - 1) * w]
    n = core.size
    np.logical_and(m[w : w + n], m[:n], out=core)
    core &= m[2 * w : 2 * w + n]
    core &= m[w - 1 : w - 1 + n]
    core &= m[w + 1 : w + 1 + n]
    out[:, 0] = False
    out[:, -1] = False
    return out


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
    # flat indices once, then gathers (raster order, as boolean indexing reads them)
    flat = np.flatnonzero(_erode(mask) & (radius_px >= 1.0))
    if flat.size < 30:
        return None
    a = np.take(dark_s, flat)
    r_in = np.take(radius_px, flat)
    thin = r_in < 3.0
    if int(thin.sum()) < 30:
        thin = r_in < 5.0
    if int(thin.sum()) < 30:
        thin = np.ones(r_in.shape, bool)
    # thin vessels are judged by the thinnest found
    samples = (a[thin], 2.0 * r_in[thin], flat[thin])
    max_depth = float(np.percentile(a, 95))
    return samples[0], samples[1], samples[2], max_depth
