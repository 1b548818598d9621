"""Image-level filters for vessel segmentation: fast separable smoothing, image pyramids,
background estimation and a multi-scale Hessian vesselness computed on a pyramid.

All arrays are float32, (row, col) axis order. Vessels are dark on a brighter background;
``darkness`` images are *relative darkness*: vessels positive, background close to zero.
Every filter works on contiguous row slices (shift-and-add), which stays fast on image
widths that are powers of two, where strided column filters thrash the cache.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

__all__ = [
    "gauss",
    "downsample2",
    "downmax2",
    "block_mean",
    "upsample2",
    "upsample_linear",
    "max5",
    "background",
    "hessian_response",
    "disc_response",
    "vesselness_pyramid",
    "scales_for",
]

F32 = NDArray[np.float32]


def _kernel(sigma: float) -> NDArray[np.float32]:
    rad = max(1, int(3.0 * sigma + 0.5))
    x = np.arange(-rad, rad + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _sym_filter(a: F32, k: NDArray[np.float32], axis: int) -> F32:
    """Symmetric 1-D correlation with edge padding, by shifted adds of whole slices."""
    rad = k.size // 2
    n = a.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (rad, rad)
    p = np.pad(a, pad, mode="edge")

    def sl(i: int) -> F32:
        return p[rad + i : rad + i + n] if axis == 0 else p[:, rad + i : rad + i + n]

    out = sl(0) * k[rad]
    tmp = np.empty_like(out)
    for i in range(1, rad + 1):
        np.add(sl(-i), sl(i), out=tmp)
        tmp *= k[rad + i]
        out += tmp
    return out


def gauss(a: F32, sigma: float) -> F32:
    """Gaussian smoothing (edge mode, truncated at 3 sigma); ``sigma <= 0`` returns ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((9, 9), np.float32); a[4, 4] = 1
    >>> round(float(gauss(a, 1.0).sum()), 4)
    1.0
    """
    if sigma <= 0.05:
        return a
    if sigma > 4.0:
        return ndi.gaussian_filter(a, sigma, mode="nearest", truncate=3.0)
    k = _kernel(sigma)
    return _sym_filter(_sym_filter(np.asarray(a, np.float32), k, 0), k, 1)


def block_mean(a: NDArray[np.generic], f: int) -> F32:
    """Means of f x f blocks (edges that do not fill a block are dropped)."""
    h, w = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    if f & (f - 1) == 0:  # a power of two: repeated 2 x 2 means (contiguous slices)
        out = np.asarray(a[:h, :w], np.float32)
        while f > 1:
            out = downsample2(out)
            f //= 2
        return out
    b = a[:h, :w].reshape(h // f, f, w // f, f)
    return b.mean(axis=(1, 3), dtype=np.float32)


def downsample2(a: F32) -> F32:
    """Halve each axis by 2x2 block means (odd edges are dropped): (H, W) -> (H//2, W//2)."""
    h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
    out = a[0:h:2, 0:w:2] + a[1:h:2, 0:w:2]
    out += a[0:h:2, 1:w:2]
    out += a[1:h:2, 1:w:2]
    out *= np.float32(0.25)
    return out


def downmax2(a: NDArray[np.generic]) -> NDArray[np.generic]:
    """2x2 block maxima (logical OR for bool), padded so no pixel is dropped: -> ceil halves."""
    if a.shape[0] % 2 or a.shape[1] % 2:
        a = np.pad(a, ((0, a.shape[0] % 2), (0, a.shape[1] % 2)), mode="edge")
    out = np.maximum(a[0::2, 0::2], a[1::2, 0::2])
    np.maximum(out, a[0::2, 1::2], out=out)
    np.maximum(out, a[1::2, 1::2], out=out)
    return out


def upsample2(a: F32, shape: tuple[int, int]) -> F32:
    """Bilinear 2x upsampling to ``shape`` (the inverse geometry of :func:`downsample2`).

    Examples
    --------
    >>> import numpy as np
    >>> upsample2(np.ones((2, 3), np.float32), (5, 6)).shape
    (5, 6)
    """
    return upsample_linear(a, shape, 2)


def _up_axis(a: F32, n_out: int, f: int, axis: int) -> F32:
    """Linear upsampling by ``f`` along ``axis`` (0 or 1) of a level of f-blocks, to
    ``n_out`` samples; each phase ``m`` of the output blends two shifted slices."""
    n = a.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (1, 1)
    ap = np.pad(a, pad, mode="edge")
    shape = list(a.shape)
    shape[axis] = max(n_out, n * f)
    out = np.empty(shape, np.float32)

    def sl(arr: F32, start: int, stop: int, step: int = 1) -> F32:
        return arr[start:stop:step] if axis == 0 else arr[:, start:stop:step]

    for m in range(f):
        x = (m + 0.5) / f - 0.5
        lo = 0 if x < 0 else 1
        t = np.float32(x + 1 if x < 0 else x)
        dst = sl(out, m, n * f, f)
        np.multiply(sl(ap, lo, lo + n), np.float32(1) - t, out=dst)
        dst += sl(ap, lo + 1, lo + 1 + n) * t
    if n_out > n * f:  # beyond the last block: the last value
        if axis == 0:
            out[n * f :] = a[-1:]
        else:
            out[:, n * f :] = a[:, -1:]
    return out[:n_out] if axis == 0 else out[:, :n_out]


def upsample_linear(a: F32, shape: tuple[int, int], f: int) -> F32:
    """Bilinear upsampling of a level built by f x f block means back to ``shape``.

    Columns are interpolated first on the short level, then rows; each output phase is
    a blend of two shifted slices (no gathers).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(4, dtype=np.float32).reshape(2, 2)
    >>> upsample_linear(a, (4, 4), 2)[0].tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    return np.ascontiguousarray(_up_axis(_up_axis(a, shape[1], f, 1), shape[0], f, 0))


def max5(a: F32) -> F32:
    """5 x 5 maximum filter (edge mode) by separable shifted maxima."""
    out = a
    for axis in (0, 1):
        p = np.pad(out, [(2, 2), (0, 0)] if axis == 0 else [(0, 0), (2, 2)], mode="edge")
        n = a.shape[axis]
        s = [p[i : i + n] if axis == 0 else p[:, i : i + n] for i in range(5)]
        out = np.maximum(s[0], s[1])
        for x in s[2:]:
            np.maximum(out, x, out=out)
    return out


def background(small: F32, *, size_px: float) -> F32:
    """Smooth upper envelope of a (downsampled) channel over windows of ``size_px`` (px of
    ``small``): the background brightness with dark vessels narrower than the window closed
    over, never above the closing (a blur alone would spill bright bone across a material
    edge and make the tissue beside it look dark)."""
    k = max(3, int(round(size_px)) | 1)
    closed = ndi.grey_closing(small, size=(k, k), mode="nearest")
    return np.minimum(gauss(closed, k / 4.0), closed)


def hessian_response(sm: F32, *, blob_weight: float = 1.0) -> tuple[F32, F32]:
    """Dark-ridge and dark-disc responses of a smoothed darkness image (not normalised).

    With ``e1 >= e2`` the eigenvalues of minus the finite-difference Hessian, returns
    ``max(e1 - blob_weight * max(-e2, 0), 0)`` (a line: one strong negative curvature)
    and ``max(e2, 0)`` (a disc: both curvatures negative).

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[-3:4, -3:4].astype(np.float32)
    >>> ridge, disc = hessian_response(-(xx**2))   # a dark line along the rows
    >>> float(ridge[3, 3]), float(disc[3, 3])
    (2.0, 0.0)
    """
    half_tr, disc = _neg_hessian_eigen_parts(sm)
    e1 = half_tr + disc
    e2 = half_tr
    e2 -= disc
    ridge = np.minimum(e2, 0)
    ridge *= np.float32(blob_weight)
    ridge += e1
    np.maximum(ridge, 0, out=ridge)
    np.maximum(e2, 0, out=e2)
    return ridge, e2


def disc_response(sm: F32) -> F32:
    """Dark-disc response ``max(e2, 0)`` of a smoothed darkness image: the smaller
    eigenvalue of minus the finite-difference Hessian (both curvatures negative).

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[-3:4, -3:4].astype(np.float32)
    >>> float(disc_response(-(xx**2 + yy**2))[3, 3])
    2.0
    """
    out, disc = _neg_hessian_eigen_parts(sm)
    out -= disc
    return np.maximum(out, 0, out=out)


def _neg_hessian_eigen_parts(sm: F32) -> tuple[F32, F32]:
    """(mean, half-difference) of the eigenvalues of minus the finite-difference Hessian:
    the eigenvalues are ``mean + half_diff`` and ``mean - half_diff``."""
    p = np.pad(sm, 1, mode="edge")
    c2 = sm * np.float32(2)
    dyy = p[2:, 1:-1] + p[:-2, 1:-1]
    dyy -= c2
    dxx = p[1:-1, 2:] + p[1:-1, :-2]
    dxx -= c2
    dxy = p[2:, 2:] - p[2:, :-2]
    dxy -= p[:-2, 2:]
    dxy += p[:-2, :-2]
    dxy *= np.float32(0.25)
    mean = dxx + dyy
    mean *= np.float32(-0.5)
    dxx -= dyy
    dxx *= np.float32(0.5)
    dxx *= dxx
    dxy *= dxy
    dxx += dxy
    return mean, np.sqrt(dxx, out=dxx)


def scales_for(
    pixel_size_um: float, *, min_diameter_um: float = 20.0, max_diameter_um: float = 700.0
) -> list[float]:
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


def vesselness_pyramid(
    levels: list[F32], scales: list[float], *, base_level: int = 1, blob_weight: float = 1.0
) -> tuple[F32, F32, F32]:
    """Multi-scale Hessian response of dark vessels, max over ``scales`` (full-res px).

    ``levels[L]`` is the darkness image reduced by 2^L block means. Each scale is computed
    on the coarsest level where it spans at least 0.7 level pixels (never finer than
    ``base_level``), as ``s^2 * ridge`` of the level smoothed to the remaining blur (the
    block means already blur by about 0.5 level px); coarse maxima are bilinearly
    upsampled and merged level by level down to ``base_level``. A dark line or disc
    responds with about half its depth, whatever its width; bright structures are
    suppressed (``blob_weight``).

    Returns
    -------
    response : float32 >= 0 at ``base_level``, in units of relative darkness
    best_scale : float32 at ``base_level``, the full-resolution scale (px) of the response
    disc : float32 at ``base_level``, the dark-disc response over the finest scales
        (up to 2 full-res px: penetrating stumps)
    """
    by_level: dict[int, list[float]] = {}
    top = len(levels) - 1
    for s in scales:
        level = base_level
        while level < top and s / 2 ** (level + 1) >= 0.7 - 1e-6:
            level += 1
        by_level.setdefault(level, []).append(s)
    resp: F32 | None = None
    best: F32 | None = None
    disc = np.zeros(levels[base_level].shape, np.float32)
    for level in range(max(by_level), base_level - 1, -1):
        img = levels[level]
        if resp is not None and best is not None:
            resp = upsample2(resp, img.shape)
            best = upsample2(best, img.shape)
        here = by_level.get(level, [])
        eff = [math.sqrt(max((s / 2**level) ** 2 - (0.25 if level else 0.0), 0.25)) for s in here]
        for i, s in enumerate(here):
            s_level = s / 2**level
            s_eff = eff[i]
            if i + 1 < len(here) and abs(eff[i + 1] - s_eff) < 1e-6:
                continue  # the next scale smooths the same and normalises higher
            ridge, blob = hessian_response(gauss(img, s_eff), blob_weight=blob_weight)
            norm = np.float32(s_level**2)
            ridge *= norm
            if level == base_level and s <= 2.0 * 2 ** max(base_level - 1, 0):
                blob *= norm
                np.maximum(disc, blob, out=disc)
            if resp is None or best is None:
                resp, best = ridge, np.full(img.shape, s, np.float32)
            else:
                better = ridge > resp
                np.maximum(resp, ridge, out=resp)
                best[better] = np.float32(s)
    assert resp is not None and best is not None
    return resp, best, disc
