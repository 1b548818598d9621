"""Image-level filters for vessel segmentation: fast separable smoothing, image pyramids,
background estimation and a multi-scale Hessian vesselness computed on a pyramid.

All arrays are float32, (row, col) axis order. Vessels are dark on a brighter background;
``darkness`` images are *relative darkness*: vessels positive, background close to zero.
Every filter works on contiguous row slices (shift-and-add), which stays fast on image
widths that are powers of two, where strided column filters thrash the cache; the
Gaussian and the Hessian measures (:func:`gauss`, :func:`hessian_measure`) run row by row
in compiled loops (``_smoothing``), the rows they need in cache, and the block means strip
by strip (``_STRIP_ROWS`` rows).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from ._indexing import group_percentiles, nonzero2d, repeat_times
from ._morph import dilate_cross, max5

__all__ = [
    "gauss",
    "downsample2",
    "downmax2",
    "block_mean",
    "upsample2",
    "upsample_linear",
    "max5",
    "linear_block_max",
    "background",
    "hessian_response",
    "hessian_measure",
    "disc_response",
    "vesselness_pyramid",
    "scales_for",
    "nonzero2d",
    "repeat_times",
    "group_percentiles",
    "kept_block_mean",
    "dilate_cross",
    "taps_on_grid",
]

F32 = NDArray[np.float32]


def _kernel(sigma: float) -> NDArray[np.float32]:
    rad = max(1, int(3.0 * sigma + 0.5))
    x = np.arange(-rad, rad + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


_STRIP_ROWS = 32
"""Rows per strip of the strip-mined block means: a strip of a 2048-wide image and its
temporaries stay inside a 1 MiB L2 cache, where whole-image passes go to memory."""


def taps_on_grid(a: F32, k: NDArray[np.float32], step: int, *, axis: int) -> F32:
    """The symmetric kernel ``k`` applied along ``axis`` at every ``step``-th index
    (edges repeated), from shifted strided views of ``a``; the few samples whose shifted
    index leaves the image are done one by one, with the index clipped."""
    rad = k.size // 2
    n = a.shape[axis]
    idx = np.arange(0, n, step)

    def along(x: F32, sl: slice | int) -> F32:
        return x[sl] if axis == 0 else x[:, sl]

    out = along(a, slice(0, n, step)) * k[rad]
    for i in range(1, rad + 1):
        lo = int(np.searchsorted(idx, i))  # first sample with both shifts inside
        hi = int(np.searchsorted(idx, n - 1 - i, side="right"))
        if hi > lo:
            both = along(a, slice(int(idx[lo]) - i, int(idx[hi - 1]) - i + 1, step))
            both = both + along(a, slice(int(idx[lo]) + i, int(idx[hi - 1]) + i + 1, step))
            both *= k[rad + i]
            part = along(out, slice(lo, hi))
            part += both
        for e in [*range(min(lo, idx.size)), *range(max(hi, lo), idx.size)]:
            j0, j1 = max(int(idx[e]) - i, 0), min(int(idx[e]) + i, n - 1)
            edge = along(out, e)
            edge += (along(a, j0) + along(a, j1)) * k[rad + i]
    return out


def gauss(a: F32, sigma: float) -> F32:
    """Gaussian smoothing (edge mode, truncated at 3 sigma); ``sigma <= 0.05`` returns ``a``.

    Row by row (``_smoothing.separable_gauss``): each smoothed row down the columns by
    float32 sums of the rows around it, then along the row with the double-precision
    arithmetic of ``scipy.ndimage.correlate1d``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((9, 9), np.float32); a[4, 4] = 1
    >>> round(float(gauss(a, 1.0).sum()), 4)
    1.0
    """
    if sigma <= 0.05:
        return a
    a = np.asarray(a, np.float32)
    if sigma > 4.0:
        return ndi.gaussian_filter(a, sigma, mode="nearest", truncate=3.0)
    from ._smoothing import separable_gauss  # numba: compiled on first use

    return separable_gauss(a, _kernel(sigma))


def hessian_measure(
    a: F32, sigma: float, *, kind: str = "ridge", smoothed: F32 | None = None
) -> F32:
    """``_detect.signed_ridge`` (``kind="ridge"``: ``e1 + min(e2, 0)``) or
    ``_detect.signed_disc`` (``"disc"``: ``e2``) of ``gauss(a, sigma)``, with ``e1 >= e2``
    the eigenvalues of minus its finite-difference Hessian (edges repeated), computed row
    by row as the smoothed rows are made (``_smoothing.smoothed_hessian``: the arithmetic of
    :func:`gauss` and :func:`_eigen_parts_padded`, in one pass).
    ``smoothed``: an (H, W) float32 array that receives ``gauss(a, sigma)`` on the way.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[-3:4, -3:4].astype(np.float32)
    >>> float(hessian_measure(-(xx**2), 0.0)[3, 3]), float(hessian_measure(xx**2, 0.0)[3, 3])
    (2.0, -2.0)
    """
    a = np.asarray(a, np.float32)
    if sigma > 4.0 or min(a.shape) < 3:
        sm = gauss(a, sigma)
        if smoothed is not None:
            smoothed[...] = sm
        mean, half_diff = _neg_hessian_eigen_parts(sm)
        return _combine(mean, half_diff, kind)
    from ._smoothing import smoothed_hessian  # numba: compiled on first use

    k = _kernel(sigma) if sigma > 0.05 else np.ones(1, np.float32)
    return smoothed_hessian(a, k, kind=kind, smoothed=smoothed)


def _combine(mean: F32, half_diff: F32, kind: str, out: F32 | None = None) -> F32:
    """The ridge (``e1 + min(e2, 0)``) or disc (``e2``) measure from the eigenvalues'
    mean and half-difference, into ``out`` (default: into ``mean``)."""
    dst = mean if out is None else out
    if kind == "disc":
        return np.subtract(mean, half_diff, out=dst)
    e2 = np.subtract(mean, half_diff)
    np.add(mean, half_diff, out=dst)
    dst += np.minimum(e2, 0, out=e2)
    return dst


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
    """Halve each axis by 2x2 block means (odd edges are dropped): (H, W) -> (H//2, W//2),
    float32: ``((top-left + bottom-left) + top-right) + bottom-right``, times 0.25, in one
    compiled pass (``_resample.block_means``)."""
    from ._resample import block_means  # numba: compiled on first use

    return block_means(a)


def kept_block_mean(peak: F32, level: NDArray[np.integer], min_level: int) -> F32:
    """Mean of the kept pixels of each 2 x 2 block of ``peak`` (0 where none is kept):
    the pixels with ``level >= min_level`` and ``peak > 0``; blocks as
    :func:`downsample2` (odd edges dropped). The same arithmetic as
    ``downsample2(peak * keep) / downsample2(keep)``, strip by strip in cache.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[1, 3], [0, 5]], np.float32)
    >>> kept_block_mean(p, np.array([[1, 1], [1, 0]], np.int8), 1).tolist()
    [[2.0]]
    """
    h, w = (peak.shape[0] // 2) * 2, (peak.shape[1] // 2) * 2
    out = np.empty((h // 2, w // 2), np.float32)
    rows = 2 * _STRIP_ROWS
    for r0 in range(0, h, rows):
        r1 = min(r0 + rows, h)
        p = peak[r0:r1, :w]
        keep = (level[r0:r1, :w] >= min_level) & (p > 0)
        keep_f = keep.astype(np.float32)
        num = downsample2(p * keep_f)
        den = downsample2(keep_f)
        out[r0 // 2 : r1 // 2] = np.where(
            den > 0, num / np.maximum(den, np.float32(1e-6)), np.float32(0)
        )
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


def upsample_linear(a: F32, shape: tuple[int, int], f: int, *, times: F32 | None = None) -> F32:
    """Bilinear upsampling of a level built by f x f block means back to ``shape``
    (``times``: an array of ``shape`` the result is multiplied by on the way).

    Columns are interpolated first on the short level (sample ``i`` of phase ``m``:
    ``(1 - t) a[i - 1 + lo] + t a[i + lo]``, ``t`` the phase's float32 weight, edges
    repeated; beyond the last block the last value), then rows the same way; in one
    compiled pass, row by row (``_resample.upsample_linear``).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(4, dtype=np.float32).reshape(2, 2)
    >>> upsample_linear(a, (4, 4), 2)[0].tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    from ._resample import upsample_linear as compiled  # numba: compiled on first use

    return compiled(a, shape, f, times=times)


def _linear_taps(
    n: int, f: int, idx: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    """Level indices and weight of the second of the two level samples that
    :func:`upsample_linear` blends at full-resolution indices ``idx`` (edges clamped)."""
    y = (idx + 0.5) / f - 0.5
    i0 = np.floor(y)
    t = (y - i0).astype(np.float32)
    i0 = i0.astype(np.intp)
    return np.clip(i0, 0, n - 1), np.clip(i0 + 1, 0, n - 1), t


def linear_block_max(a: F32, f: int, shape: tuple[int, int], block: int = 8) -> F32:
    """Maxima over ``block`` x ``block`` pixel blocks of ``upsample_linear(a, shape, f)``,
    ceil(H / block) x ceil(W / block), without building the upsampled image.

    When ``f`` is a multiple of ``2 * block`` every block lies inside one cell of the
    bilinear interpolation, where the maximum over its pixels is at one of its four
    corner pixels: those are evaluated; otherwise the image is built.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(12, dtype=np.float32).reshape(3, 4)
    >>> full = np.pad(upsample_linear(a, (40, 60), 16), ((0, 0), (0, 4)), mode="edge")
    >>> ref = full.reshape(5, 8, 8, 8).max(axis=(1, 3))
    >>> bool(np.allclose(linear_block_max(a, 16, (40, 60)), ref))
    True
    """
    h, w = shape
    if a.size == 1:
        return np.full((-(-h // block), -(-w // block)), a.flat[0], np.float32)
    if f % (2 * block):
        full = upsample_linear(a, shape, f)
        hp, wp = -(-h // block) * block, -(-w // block) * block
        full = np.pad(full, ((0, hp - h), (0, wp - w)), mode="edge")
        out: F32 = full.reshape(hp // block, block, wp // block, block).max(axis=(1, 3))
        return out
    first_r, first_c = np.arange(0, h, block), np.arange(0, w, block)
    rows = np.concatenate([first_r, np.minimum(first_r + block - 1, h - 1)])
    cols = np.concatenate([first_c, np.minimum(first_c + block - 1, w - 1)])
    r0, r1, tr = _linear_taps(a.shape[0], f, rows)
    c0, c1, tc = _linear_taps(a.shape[1], f, cols)
    one = np.float32(1)
    by_row = a[r0] * (one - tr)[:, None] + a[r1] * tr[:, None]
    v = by_row[:, c0] * (one - tc) + by_row[:, c1] * tc
    nr, nc = first_r.size, first_c.size
    out = np.maximum(np.maximum(v[:nr, :nc], v[nr:, :nc]), np.maximum(v[:nr, nc:], v[nr:, nc:]))
    return out.astype(np.float32, copy=False)


def corner_block_max(a: F32, f: int, shape: tuple[int, int], block: int = 8) -> F32:
    """Maxima over ``block`` x ``block`` pixel blocks of the largest of the level samples
    :func:`upsample_linear` blends at each pixel (the corners of its cell),
    ceil(H / block) x ceil(W / block).

    Where a value changes sharply between two level samples (a defocused half, a thick
    patch of veil) the blend under-states the larger one beside it by up to half the
    step; a pixel's own sample is always among the corners of its cell, so this never
    does.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 4.0]], np.float32)
    >>> corner_block_max(a, 64, (64, 128), 8)[0].tolist() == [1.0] * 4 + [4.0] * 12
    True
    >>> bool((corner_block_max(a, 64, (64, 128)) >= linear_block_max(a, 64, (64, 128))).all())
    True
    """
    h, w = shape

    def ranges(n_src: int, n: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        idx = np.arange(n)
        t0, t1, t = _linear_taps(n_src, f, idx)
        lo, hi = t0, np.where(t > 0, t1, t0)  # a sample blended with weight 0 is not one
        nb = -(-n // block)
        pad = nb * block - n
        lo = np.pad(lo, (0, pad), mode="edge").reshape(nb, block).min(axis=1)
        hi = np.pad(hi, (0, pad), mode="edge").reshape(nb, block).max(axis=1)
        return lo, hi

    rlo, rhi = ranges(a.shape[0], h)
    clo, chi = ranges(a.shape[1], w)
    span_r, span_c = int((rhi - rlo).max(initial=0)), int((chi - clo).max(initial=0))
    by_row = a[rlo]
    for k in range(1, span_r + 1):
        by_row = np.maximum(by_row, a[np.minimum(rlo + k, rhi)])
    out = by_row[:, clo]
    for k in range(1, span_c + 1):
        out = np.maximum(out, by_row[:, np.minimum(clo + k, chi)])
    return np.asarray(out, np.float32)


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
    return _eigen_parts_padded(np.pad(sm, 1, mode="edge"))


def _eigen_parts_padded(p: F32) -> tuple[F32, F32]:
    """:func:`_neg_hessian_eigen_parts` of ``p[1:-1, 1:-1]``, ``p`` its 1-pixel border."""
    sm = p[1:-1, 1:-1]
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
