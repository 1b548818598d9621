"""Relative darkness of blood: the image flattened so that vessels are positive and
background close to zero, with bone, the unlit surround and specular glints left out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from scipy.special import ndtri

from . import _filters as flt

__all__ = ["darkness", "bg_factor"]

F32 = NDArray[np.float32]


_BONE_RATIO_GAP = 0.08
"""Bone (and other whitish tissue) reflects green nearly as well as red; cortex, bare or
through the dura, reflects far less green (published cortex 0.6-0.75 against bone ~0.9
under neutral balance). The ratios depend on the camera's white balance, so bone is
told apart within each image: the vessel-free background of the blocks is split by
Otsu's threshold on its green/red ratio, and the whiter group is bone when its mean ratio
exceeds the other's by this much (a cortex without bone splits by under 0.06: shading
and texture; a rim of bone by 0.1-0.3)."""


def _bone_ratio(
    green_s: F32,
    red_s: F32,
    lit: NDArray[np.bool_],
    size_px: float,
    backgrounds: dict[str, F32] | None = None,
) -> float | None:
    """Green/red ratio above which a block (or pixel) is whitish bone in this image, or
    None when the image shows no separate whitish group (Otsu 1979,
    doi:10.1109/TSMC.1979.4310076). ``size_px``: the vessel-closing window, in blocks.
    ``backgrounds`` (if given) receives the two channels' backgrounds it computed
    (``"green"``, ``"red"``: ``flt.background`` of ``green_s``, ``red_s``)."""
    from skimage.filters import threshold_otsu

    if int(lit.sum()) < 16:
        return None
    gb = flt.background(green_s, size_px=size_px)
    rb = flt.background(red_s, size_px=size_px)
    if backgrounds is not None:
        backgrounds["green"], backgrounds["red"] = gb, rb
    ok = lit & (rb > 0)
    if int(ok.sum()) < 16:
        return None
    q = (gb[ok] / rb[ok]).astype(np.float64)
    if float(q.max() - q.min()) < _BONE_RATIO_GAP:
        return None
    t = float(threshold_otsu(q))
    hi, lo = q > t, q <= t
    if not hi.any() or not lo.any() or float(q[hi].mean() - q[lo].mean()) < _BONE_RATIO_GAP:
        return None
    return t


GLINT_LEVEL = 1.15
"""A specular glint is at least this many times its background (the background's block
means leave out pixels this many times their block's mean)."""

GLINT_ALPHA = 1e-5
"""Per-pixel false-alarm rate of a glint on noise alone: a pixel is a glint when it is
15 % above the background and above it by more than the pixel noise reaches at this
rate (one-sided Gaussian), so bright noise stays unfilled and two-sided for the
calibration of the detector (the rate of ``_lines.ALPHA_SEED``). An absolute level (75 %
of full scale, before) missed the glints of under-exposed or vignetted images, whose
bright shoulders the Hessian then took for rings of dark vessels."""


def _relative_noise(q: F32) -> float:
    """Pixel noise of the relative brightness ``q`` (1 on the background): 1.4826 MAD of
    ``q`` minus its 1 px Gaussian smoothing, over a sample of the lit pixels (``q`` above
    one half), corrected for the share of white noise the smoothing leaves (0.873)."""
    from ._smoothing import gauss_every  # numba: compiled on first use

    step = max(1, int(np.sqrt(q.size / 250_000)))
    # flt.gauss(q, 1.0) on the sampled rows only (the same rows, bit for bit)
    resid = (q[::step] - gauss_every(q, flt._kernel(1.0), step))[:, ::step]
    lit = q[::step, ::step] > np.float32(0.5)
    if int(lit.sum()) < 64:
        return 0.0
    r = resid[lit]
    from ._select import median  # numba: compiled on first use (numpy.median's result)

    return float(1.4826 * median(np.abs(r - median(r))) / 0.873)


def bg_factor(size_px: float, shape: tuple[int, int]) -> int:
    f = 1
    while size_px / f > 12 and min(shape) // (2 * f) >= 16:
        f *= 2
    return f


_UNLIT = 0.04
"""A block whose mean brightness (red, or grey) is below this (10 of 255) is outside the
lit field (the black surround of a fundus photograph). Blood under the brightest light
stays above it in red, where haemoglobin absorbs least."""


def _wider_than(mask: NDArray[np.bool_], width: float) -> NDArray[np.bool_]:
    """The part of ``mask`` made of discs of diameter ``width`` (px) lying wholly inside
    it: a morphological opening (Serra 1982, *Image Analysis and Mathematical
    Morphology*), which removes every strip narrower than ``width``."""
    rad = max(int(np.ceil(width / 2.0)), 1)
    yy, xx = np.ogrid[-rad : rad + 1, -rad : rad + 1]
    disc = yy * yy + xx * xx <= rad * rad
    pad = np.pad(mask, rad, mode="edge")  # a region reaching the border goes on past it
    out: NDArray[np.bool_] = ndi.binary_opening(pad, structure=disc)[rad:-rad, rad:-rad]
    return out


def _excluded(
    green_s: F32,
    red_s: F32 | None,
    scale: float,
    size_px: float,
    max_width_px: float,
    backgrounds: dict[str, F32] | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], float | None]:
    """Blocks of a background level that are not cortex, the unlit ones among them, and
    the green/red ratio of bone in this image (None: no bone): whitish bone (colour
    images) or unlit (mean brightness below ``_UNLIT`` over a region wider than the
    widest vessel, ``max_width_px`` blocks: a narrower one is a vessel dark enough to
    look black, in grey images), each grown by one block so mixed blocks at a border are
    included. ``backgrounds``: see :func:`_bone_ratio`."""
    raw_unlit = (red_s if red_s is not None else green_s) < np.float32(_UNLIT / scale)
    wide = _wider_than(raw_unlit, max_width_px + 1.0) if raw_unlit.any() else raw_unlit
    unlit = ndi.binary_dilation(wide, iterations=1) if wide.any() else wide
    if red_s is None:
        return unlit, unlit, None
    ratio = _bone_ratio(green_s, red_s, ~raw_unlit, size_px, backgrounds)
    if ratio is None:
        return unlit, unlit, None
    bone = (green_s > np.float32(ratio) * red_s) & ~raw_unlit
    if bone.any():
        bone = ndi.binary_dilation(bone, iterations=1)
    return unlit | bone, unlit, ratio


def _and_blocks(mask: NDArray[np.bool_], blocks: NDArray[np.bool_], f: int) -> None:
    """``mask &= blocks`` upsampled by ``f`` (nearest; pixels beyond the last whole block
    take the last block), in place, without building the upsampled mask."""
    hb, wb = blocks.shape
    h, w = min(mask.shape[0], hb * f), min(mask.shape[1], wb * f)
    hb, wb = h // f, w // f
    if hb and wb:  # block rows at a time, against the blocks repeated along the row
        view = mask[: hb * f, : wb * f].reshape(hb, f, wb * f)
        view &= np.repeat(blocks[:hb, :wb], f, axis=1)[:, None, :]
    if mask.shape[0] > hb * f:  # leftover rows and columns: nearest block
        r = np.minimum(np.arange(hb * f, mask.shape[0]) // f, blocks.shape[0] - 1)
        c = np.minimum(np.arange(mask.shape[1]) // f, blocks.shape[1] - 1)
        mask[hb * f :] &= blocks[r][:, c]
    if mask.shape[1] > wb * f:
        r = np.minimum(np.arange(hb * f) // f, blocks.shape[0] - 1)
        c = np.minimum(np.arange(wb * f, mask.shape[1]) // f, blocks.shape[1] - 1)
        mask[: hb * f, wb * f :] &= blocks[r][:, c]


def _inverse_background(
    small: F32, *, size_px: float, f: int, shape: tuple[int, int], exclude: NDArray[np.bool_],
    times: F32, background: F32 | None = None,
) -> F32:  # fmt: skip
    """1 / background brightness at full resolution (see :func:`~._filters.background`),
    from the block-mean level ``small`` (blocks of ``f`` px, where the window spans at
    most 12 blocks), bilinearly upsampled, times ``times`` (the channel). ``exclude``d
    blocks (bone, unlit) take the value of the nearest other block first, so bright bone
    does not raise the cortex background at the rim. ``background``: ``flt.background``
    of ``small`` at ``size_px / f`` if already computed (used when no block is
    replaced)."""
    if exclude.any() and not exclude.all():
        _, (ri, ci) = ndi.distance_transform_edt(exclude, return_indices=True)
        small = small[ri, ci]
        background = None  # of other blocks
    bg = flt.background(small, size_px=size_px / f) if background is None else background
    inv: F32 = (np.float32(1.0) / np.maximum(bg, np.float32(1e-3))).astype(np.float32)
    if f > 1:
        return flt.upsample_linear(inv, shape, f, times=times)
    inv *= times
    return inv


def darkness(
    green: F32,
    red: F32 | None,
    *,
    size_px: float,
    max_width_px: float | None = None,
    red_weight: float = 0.5,
    scale: float = 1.0,
    pool: ThreadPoolExecutor,
) -> tuple[F32, F32, NDArray[np.bool_], NDArray[np.bool_]]:
    """Relative darkness of blood, (H, W) float32: vessels positive, background ~0.

    Grey images: ``1 - grey / background``. Colour images: the same in green (where
    haemoglobin absorbs most) minus ``red_weight`` times the same in red (where it absorbs
    least): shading, shadows and vignetting darken all channels by the same factor and
    cancel, blood does not. Whitish bone and unlit surroundings are left out of the
    background estimate and set to 0 (no step at their border for the Hessian to take
    for the side of a dark vessel). Specular glints (15 % above the background and above
    the image's pixel noise at ``GLINT_ALPHA``, white) are filled from their surroundings
    by normalised convolution.

    Returns the darkness, its 2 x 2 block means, the excluded pixels (bone, unlit: 0 in
    the darkness) and the black ones left in (below ``_UNLIT`` in red or grey but in no
    unlit region wider than the widest vessel, ``max_width_px``, default ``size_px /
    1.5``: blood a grey camera shows black, whose darkness is kept; saturated low, so
    it shows nothing of what lies there) together with the filled glints and the pixel
    around each (their darkness is interpolated from the tissue beside them, so they too
    show nothing of what lies there).
    """
    shape = green.shape
    f = bg_factor(size_px, shape)
    from ._resample import block_means_without_glints  # numba: compiled on first use

    def means(ch: F32) -> F32:
        # block means without the pixels 15 % above their block's mean (glints, counted
        # as the mean): a glint raises its block, and the background's closing joins
        # raised blocks into bright rectangles between glints, read as dark plateaus
        return block_means_without_glints(ch, f, GLINT_LEVEL) if f > 1 else ch

    gs = means(green)
    rs = means(red) if red is not None else None
    width = size_px / 1.5 if max_width_px is None else max_width_px
    # the bone test's backgrounds of the block means, reused below when no block is
    # replaced (the same call on the same level: the same arrays)
    backgrounds: dict[str, F32] = {}
    excl, unlit, bone_ratio = _excluded(gs, rs, scale, size_px / f, width / f, backgrounds)
    excluded = np.zeros(shape, bool)

    def relative(channel: F32, small: F32, name: str) -> F32:  # a new array, the channel's shape
        return _inverse_background(
            small, size_px=size_px, f=f, shape=shape, exclude=excl, times=channel,
            background=backgrounds.get(name),
        )  # fmt: skip

    fut = pool.submit(relative, red, rs, "red") if red is not None and rs is not None else None
    q = relative(green, gs, "green")
    qr = fut.result() if fut is not None else None
    # specular glints are 15 % above the background and further above it than the
    # pixel noise reaches (GLINT_ALPHA); bright noise alone is not filled, so the noise
    # stays two-sided for the calibration of the detector
    from ._raster import relative_darkness  # numba: compiled on first use

    k_glint = float(ndtri(1.0 - GLINT_ALPHA))
    any_excluded = bool(excl.any())
    # glints: q > 1.15 and above the noise; low (for the excluded blocks): pixels far
    # darker than the lit background in red (or grey), below 0.3; the darkness
    # 1 - q + red_weight (qr - 1) in place of q (not used after), in one pass
    glint, low = relative_darkness(
        q, qr, red_weight=red_weight, glint_level=GLINT_LEVEL,
        noise_level=float(np.float32(1.0 + k_glint * _relative_noise(q))), want_low=any_excluded,
    )  # fmt: skip
    dark = q
    zero_at = None  # the pixels set to 0 (one masked pass for all, below)
    if any_excluded and low is not None:
        # inside excluded blocks: whitish pixels (bone) are flat background, and so are
        # pixels far darker than the lit background in red (or grey) in and beside unlit
        # blocks (the fall-off at the edge of the lit field); beside bone such a pixel is
        # blood: a thick vein leaving under the bone is dark in red too
        px = low
        _and_blocks(px, unlit, f)
        if red is not None and bone_ratio is not None:
            from ._fused import or_above  # numba: compiled on first use

            or_above(px, green, np.float32(bone_ratio), red)  # px |= green > ratio * red
        _and_blocks(px, excl, f)
        zero_at = excluded = px
        # no glints on bone or in the dark: bright there is not specular
        _and_blocks(glint, ~excl, f)
    # a black pixel (below _UNLIT of full scale) shows nothing, whatever its block: the
    # edge of the lit field crossing a block is not a dark vessel (and what it hides is
    # unseen, so it is excluded, never taken for tissue)
    black = (red if red is not None else green) < np.float32(_UNLIT / scale)
    clipped = np.zeros(shape, bool)
    if black.any():
        # black inside (or beside) an unlit region is unlit; elsewhere it is blood
        # under-exposed: its darkness stays, what it hides is unseen
        unlit_px = black.copy()
        _and_blocks(unlit_px, unlit, f)
        clipped = black & ~unlit_px
        excluded = excluded | unlit_px
        zero_at = excluded
    if zero_at is not None:
        np.putmask(dark, zero_at, np.float32(0))
    rows, cols = flt.nonzero2d(glint) if glint.any() else (np.zeros(0, np.intp),) * 2
    if red is not None and rows.size:
        # glints are white: bright in red as well as in green
        white = red[rows, cols] > np.float32(0.6 / scale)
        rows, cols = rows[white], cols[white]
    level1 = flt.downsample2(dark) if min(dark.shape) >= 2 else dark
    if rows.size and min(dark.shape) >= 16:
        # fill glints (and one pixel around) by normalised convolution on the 2 x 2
        # block-mean level (sigma 1.5 blocks): the level without the glint pixels
        h, w = level1.shape
        rr = np.clip(rows[:, None] + np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1]), 0, 2 * h - 1).ravel()
        cc = np.clip(cols[:, None] + np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1]), 0, 2 * w - 1).ravel()
        flat = np.unique(rr * (2 * w) + cc)
        rr, cc = flat // (2 * w), flat % (2 * w)
        # only the band of level rows holding glints (+ the kernel's reach) is filtered
        r0, r1 = max(int(rr.min()) // 2 - 6, 0), min(int(rr.max()) // 2 + 7, h)
        num = level1[r0:r1].copy()
        den = np.ones_like(num)
        np.subtract.at(num, (rr // 2 - r0, cc // 2), dark[rr, cc] * np.float32(0.25))
        np.subtract.at(den, (rr // 2 - r0, cc // 2), np.float32(0.25))
        num, den = flt.gauss(num, 1.5), flt.gauss(den, 1.5)
        d = np.maximum(den[rr // 2 - r0, cc // 2], np.float32(1e-3))
        dark[rr, cc] = np.where(d > 1e-3, num[rr // 2 - r0, cc // 2] / d, 0)
        # the level's blocks holding filled pixels, again from the filled image
        blocks = np.unique((rr // 2) * w + cc // 2)
        br, bc = blocks // w, blocks % w
        level1[br, bc] = (
            dark[2 * br, 2 * bc]
            + dark[2 * br + 1, 2 * bc]
            + dark[2 * br, 2 * bc + 1]
            + dark[2 * br + 1, 2 * bc + 1]
        ) * 0.25
        # a filled glint is an interpolation, not an observation: a vessel under a
        # specular streak (the reflex along a vessel covers its whole width) is filled
        # from the tissue beside it, so what lies there is unseen, like a clipped pixel
        clipped[rr, cc] = True
    return dark, level1, excluded, clipped
