"""Image-level filters for vessel segmentation: grey conversion, glint suppression,
background flattening and a multi-scale Hessian vesselness computed on an image pyramid.

All arrays are float32, (row, col) axis order. Vessels are dark on a brighter background;
``contrast`` images are *relative darkness*: ``(background - image) / background``, so
vessels are positive and the background is close to zero.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

__all__ = [
    "to_grey",
    "background",
    "smooth",
    "local_peak",
    "find_glints",
    "fill_glints",
    "flatten_background",
    "downsample2",
    "upsample2",
    "hessian_eigenvalues",
    "vesselness_pyramid",
    "scales_for",
]

F32 = NDArray[np.float32]

# Weights of (R, G, B) in the grey image: vessel contrast is strongest in green
# (haemoglobin absorbs green far more than red; blue is dim and noisy).
_RGB_WEIGHTS = np.array([0.10, 0.75, 0.15], dtype=np.float32)


def to_grey(image: F32) -> F32:
    """(H, W) or (H, W, 3) float32 in [0, 1] -> (H, W) float32, green-weighted.

    Examples
    --------
    >>> import numpy as np
    >>> to_grey(np.ones((2, 2, 3), np.float32)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.float32)
    out = image[..., 0] * _RGB_WEIGHTS[0]
    out += image[..., 1] * _RGB_WEIGHTS[1]
    out += image[..., 2] * _RGB_WEIGHTS[2]
    return out.astype(np.float32, copy=False)


def downsample2(a: F32) -> F32:
    """Halve each axis by 2x2 block means (odd edges are dropped): (H, W) -> (H//2, W//2)."""
    h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
    b = a[:h, :w]
    out = b[0::2, 0::2] + b[1::2, 0::2]
    out += b[0::2, 1::2]
    out += b[1::2, 1::2]
    out *= np.float32(0.25)
    return out


def _up_axis(a: F32, n: int, axis: int) -> F32:
    """Linear 2x upsampling along ``axis`` matching :func:`downsample2`'s pixel centres."""
    a = np.moveaxis(a, axis, 0)
    prev = np.concatenate([a[:1], a[:-1]], axis=0)
    nxt = np.concatenate([a[1:], a[-1:]], axis=0)
    out = np.empty((2 * a.shape[0],) + a.shape[1:], dtype=np.float32)
    out[0::2] = 0.75 * a + 0.25 * prev
    out[1::2] = 0.75 * a + 0.25 * nxt
    if out.shape[0] < n:  # odd target size: repeat the last row
        out = np.concatenate([out, out[-1:]], axis=0)
    return np.moveaxis(out[:n], 0, axis)


def upsample2(a: F32, shape: tuple[int, int]) -> F32:
    """Bilinear 2x upsampling to ``shape`` (the inverse geometry of :func:`downsample2`).

    Examples
    --------
    >>> import numpy as np
    >>> upsample2(np.ones((2, 3), np.float32), (5, 6)).shape
    (5, 6)
    """
    return np.ascontiguousarray(_up_axis(_up_axis(a, shape[0], 0), shape[1], 1))


def smooth(a: F32, sigma: float) -> F32:
    return ndi.gaussian_filter(a, sigma, mode="nearest", truncate=3.0)


def background(grey: F32, *, size_px: float) -> F32:
    """Smooth upper envelope of ``grey`` over windows of ``size_px``: the background
    brightness with dark vessels (narrower than ``size_px``) closed over."""
    shapes = [grey.shape]
    small = grey
    while size_px / 2 ** (len(shapes) - 1) > 12 and min(small.shape) >= 32:
        small = downsample2(small)
        shapes.append(small.shape)
    level = len(shapes) - 1
    k = max(3, int(round(size_px / 2**level)) | 1)
    closed = ndi.grey_closing(small, size=(k, k), mode="nearest")
    # smooth, but never above the closing: a blur alone would spill bright tissue (bone)
    # across a material edge and make the tissue beside it look dark
    bg = np.minimum(smooth(closed, k / 4.0), closed)
    for shape in reversed(shapes[:-1]):
        bg = upsample2(bg, shape)
    return bg


def find_glints(image: F32, grey: F32, *, bg: F32) -> NDArray[np.bool_]:
    """Specular glints: brighter than the local background by 15% of it or more and, in
    a colour image, nearly white (low saturation); dilated by one pixel. (H, W) bool."""
    bright = grey > bg * np.float32(1.15) + np.float32(0.02)
    if image.ndim == 3:
        mx = image.max(axis=2)
        mn = image.min(axis=2)
        bright &= (mx - mn) < np.float32(0.35) * np.maximum(mx, np.float32(1e-3))
        bright &= mx > np.float32(0.6)
    if not bright.any():
        return bright
    return ndi.binary_dilation(bright, iterations=1)


def fill_glints(channel: F32, glints: NDArray[np.bool_], *, bg: F32) -> F32:
    """Fill glint pixels of ``channel`` by normalised convolution (sigma 3 px, computed at
    half resolution) from their surroundings, so a glint on a vessel is filled dark.
    (H, W) float32."""
    if not glints.any() or min(channel.shape) < 4:
        return channel
    keep = (~glints).astype(np.float32)
    num = upsample2(smooth(downsample2(channel * keep), 1.5), channel.shape)
    den = upsample2(smooth(downsample2(keep), 1.5), channel.shape)
    fill = np.where(den > 1e-3, num / np.maximum(den, np.float32(1e-3)), bg)
    return np.where(glints, fill, channel).astype(np.float32)


def flatten_background(grey: F32, *, bg: F32) -> F32:
    """Relative darkness ``(bg - grey) / bg``: vessels positive, background near 0."""
    b = np.maximum(bg, np.float32(1e-3))
    return ((b - grey) / b).astype(np.float32)


def hessian_eigenvalues(a: F32) -> tuple[F32, F32]:
    """Closed-form eigenvalues (larger, smaller) of the 2x2 finite-difference Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[-3:4, -3:4].astype(np.float32)
    >>> big, small = hessian_eigenvalues(xx**2)   # curvature 2 across columns only
    >>> float(big[3, 3]), float(small[3, 3])
    (2.0, 0.0)
    """
    p = np.pad(a, 1, mode="edge")
    c = p[1:-1, 1:-1]
    dyy = p[2:, 1:-1] + p[:-2, 1:-1] - 2 * c
    dxx = p[1:-1, 2:] + p[1:-1, :-2] - 2 * c
    dxy = (p[2:, 2:] - p[2:, :-2] - p[:-2, 2:] + p[:-2, :-2]) * np.float32(0.25)
    half_tr = (dxx + dyy) * np.float32(0.5)
    diff = (dxx - dyy) * np.float32(0.5)
    disc = np.sqrt(diff * diff + dxy * dxy)
    return half_tr + disc, half_tr - disc


def scales_for(pixel_size_um: float, *, min_diameter_um: float = 20.0,
               max_diameter_um: float = 700.0) -> list[float]:
    """Gaussian scales (full-resolution pixels) covering vessel diameters in the range.

    A bar of half-width ``r`` gives its strongest scale-normalised response near
    ``sigma = r / sqrt(3)``; scales step by sqrt(2) from max(1, r_min / sqrt(3)).

    Examples
    --------
    >>> [round(s, 2) for s in scales_for(12.0)]
    [1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0, 11.31, 16.0]
    """
    lo = max(1.0, min_diameter_um / 2 / pixel_size_um / math.sqrt(3))
    hi = max(lo, max_diameter_um / 2 / pixel_size_um / math.sqrt(3))
    n = int(math.floor(math.log(hi / lo, math.sqrt(2)) + 1e-6)) + 1
    return [lo * math.sqrt(2) ** i for i in range(n)]


def _level_response(img: F32, s_level: float, *, blob_weight: float) -> tuple[F32, F32]:
    """Scale-normalised dark-ridge and dark-blob responses of one level at ``s_level``
    (level px): ``s^2 (e1 - w max(-e2, 0))`` and ``s^2 max(e2, 0)`` with e1 >= e2 the
    eigenvalues of minus the Hessian (``img`` is darkness: vessels are maxima)."""
    sm = smooth(img, s_level)
    big, small = hessian_eigenvalues(sm)
    s2 = np.float32(s_level * s_level)
    resp = -small - np.float32(blob_weight) * np.maximum(big, 0)
    resp *= s2
    np.maximum(resp, 0, out=resp)
    blob = np.maximum(-big, 0) * s2
    return resp, blob


def vesselness_pyramid(contrast: F32, scales: list[float], *, blob_weight: float = 1.0
                       ) -> tuple[F32, F32, F32]:
    """Multi-scale Hessian response of dark vessels, max over ``scales`` (full-res px).

    Scales of 2 px and more are computed on a 2x-per-level block-mean pyramid, at 1 to 2
    level pixels, and the coarse maxima are bilinearly upsampled and merged level by
    level, so the whole pyramid costs about 1.4x the finest level. The response is
    ``sigma^2 * (lambda_1 + blob_weight * min(lambda_2, 0))`` (``lambda_1 >= lambda_2``),
    clipped at 0: a dark line or a dark disc responds with about half its depth, whatever
    its width; bright structures (negative ``lambda_2``) are suppressed.

    Returns
    -------
    response : (H, W) float32 >= 0, in units of relative darkness
    best_scale : (H, W) float32, the full-resolution scale (px) giving the response
    blob : (H, W) float32, the dark-disc response ``sigma^2 * max(lambda_2, 0)`` over the
        full-resolution scales (small discs: penetrating stumps)
    """
    by_level: dict[int, list[float]] = {}
    for s in scales:
        level = 0
        while s / 2 ** (level + 1) >= 1.0 - 1e-6 and min(contrast.shape) >> (level + 1) >= 8:
            level += 1
        by_level.setdefault(level, []).append(s)
    levels = [contrast]
    for _ in range(max(by_level)):
        levels.append(downsample2(levels[-1]))
    resp: F32 | None = None
    best: F32 | None = None
    blob = np.zeros(contrast.shape, np.float32)
    for level in range(max(by_level), -1, -1):
        img = levels[level]
        if resp is not None and best is not None:
            resp = upsample2(resp, img.shape)
            best = upsample2(best, img.shape)
        for s in by_level.get(level, []):
            # the block-mean pyramid already blurred level L by about 0.5 level px
            s_level = s / 2**level
            s_eff = math.sqrt(max(s_level**2 - (0.25 if level else 0.0), 0.36))
            r, b = _level_response(img, s_eff, blob_weight=blob_weight)
            if not level:
                np.maximum(blob, b, out=blob)
            if level:
                r *= np.float32(s_level**2 / s_eff**2)
            if resp is None or best is None:
                resp, best = r, np.full(img.shape, s, np.float32)
            else:
                better = r > resp
                resp = np.where(better, r, resp)
                best = np.where(better, np.float32(s), best)
    assert resp is not None and best is not None
    return resp, best, blob


def _upnearest(a: F32, shape: tuple[int, int]) -> F32:
    out = np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)
    if out.shape[0] < shape[0]:
        out = np.concatenate([out, out[-1:]], axis=0)
    if out.shape[1] < shape[1]:
        out = np.concatenate([out, out[:, -1:]], axis=1)
    return out[: shape[0], : shape[1]]


def local_peak(values: F32, half_width_px: F32, *, max_levels: int = 7) -> F32:
    """Peak of ``values`` around each pixel, over a half-width (px) that varies per pixel.

    Level L of a block-mean pyramid (blocks of 2^L px) is max-filtered over 5x5 blocks
    (half-width 2.5 * 2^L px) and the level matching each pixel's half-width is used. The
    block means dilute structures much narrower than the block, so the peak seen from a
    wide vessel is its own darkness, not that of a thin dark vessel crossing it.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((16, 16), np.float32); v[8, 8] = 1.0
    >>> p = local_peak(v, np.full((16, 16), 2.0, np.float32))
    >>> float(p[8, 10]), float(p[8, 15])
    (1.0, 0.0)
    """
    out = ndi.maximum_filter(values, size=5, mode="nearest")
    need = np.clip(np.ceil(np.log2(np.maximum(half_width_px, 2.5) / 2.5)), 0, max_levels)
    need = need.astype(np.int8)
    top = int(need.max()) if need.size else 0
    level_img = values
    shapes = [values.shape]
    for level in range(1, top + 1):
        if min(level_img.shape) < 8:
            break
        level_img = downsample2(level_img)
        shapes.append(level_img.shape)
        up = ndi.maximum_filter(level_img, size=5, mode="nearest")
        for shape in reversed(shapes[:level]):
            up = _upnearest(up, shape)
        out = np.where(need >= level, up, out)
    return out
