"""Block means, bilinear upsampling, pyramid merges and bilinear sampling, compiled with
numba.

Each is bit for bit the numpy or scipy computation it replaced (the same float32 or double
operations in the same order), in one pass over the output instead of several numpy
passes: 2 x 2 block means (``_filters.downsample2``); bilinear upsampling of a level of
block means (``_filters.upsample_linear``: along the columns, then between two level
rows); the merge of a pyramid level into the full-resolution evidence
(``_lines._merge_level``); and bilinear sampling at points
(``scipy.ndimage.map_coordinates``, order 1, mode nearest). :func:`block_stats` gathers
the statistics of f x f blocks that the lumen between a vessel's edges is judged by, and
:func:`profile_widths` reads the half-height crossings of sampled profiles
(``_width.deblurred_lumen``'s numpy arithmetic, bit for bit);
:func:`block_means_without_glints` gives the block means a background is estimated
from, without the glints in each block.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "block_means",
    "upsample_linear",
    "merge_level",
    "bilinear_at",
    "block_stats",
    "profile_widths",
    "block_means_without_glints",
]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_means(  # pragma: no cover - compiled; checked against the numpy filters
    a: NDArray[np.float32], out: NDArray[np.float32]
) -> None:
    """``out`` = means of the 2 x 2 blocks of ``a``, summed in ``_filters.downsample2``'s
    order (top-left, bottom-left, top-right, bottom-right, then a quarter), float32."""
    quarter = np.float32(0.25)
    h2, w2 = out.shape
    for r in range(h2):
        top = a[2 * r]
        bot = a[2 * r + 1]
        dst = out[r]
        for c in range(w2):
            dst[c] = (((top[2 * c] + bot[2 * c]) + top[2 * c + 1]) + bot[2 * c + 1]) * quarter


def block_means(a: NDArray[np.float32]) -> NDArray[np.float32]:
    """``_filters.downsample2(a)`` for float32 ``a``, bit for bit: (H, W) -> (H // 2, W // 2)
    means of 2 x 2 blocks (odd edges dropped).

    Examples
    --------
    >>> import numpy as np
    >>> block_means(np.arange(8, dtype=np.float32).reshape(2, 4)).tolist()
    [[2.5, 4.5]]
    """
    if a.ndim != 2:
        raise ValueError(f"a must be 2-D, got shape {a.shape}")
    out = np.empty((a.shape[0] // 2, a.shape[1] // 2), np.float32)
    if out.size:
        _block_means(np.asarray(a, np.float32), out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _column_taps(  # pragma: no cover - compiled; checked against the numpy filters
    f: int, w: int
) -> tuple[NDArray[np.intp], NDArray[np.float32], NDArray[np.float32]]:
    """Level index of the first tap and the two float32 weights of each of ``w`` output
    columns of a linear upsampling by ``f`` (``_filters._up_axis``, phase by phase)."""
    lo_col = np.empty(w, np.intp)
    w0 = np.empty(w, np.float32)
    w1 = np.empty(w, np.float32)
    for q in range(w):
        x = (q % f + 0.5) / f - 0.5
        t = np.float32(x + 1 if x < 0 else x)
        lo_col[q] = q // f - 1 + (0 if x < 0 else 1)
        w0[q] = np.float32(1) - t
        w1[q] = t
    return lo_col, w0, w1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _up_row(  # pragma: no cover - compiled; checked against the numpy merge in the tests
    a: NDArray[np.float32], f: int, lo_col: NDArray[np.intp], w0: NDArray[np.float32],
    w1: NDArray[np.float32], dst: NDArray[np.float32],
) -> None:  # fmt: skip
    """Level row ``a`` linearly upsampled along the columns into ``dst`` (``_filters.
    _up_axis``): ``a[lo] * w0 + a[lo + 1] * w1`` (level indices clamped) within the
    blocks, the last value beyond them."""
    m = a.size
    n_in = min(m * f, dst.size)
    for q in range(n_in):
        i0 = lo_col[q]
        x0 = a[min(max(i0, 0), m - 1)] * w0[q]
        x1 = a[min(max(i0 + 1, 0), m - 1)] * w1[q]
        dst[q] = x0 + x1
    for q in range(n_in, dst.size):
        dst[q] = a[m - 1]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _upsample(  # pragma: no cover - compiled; checked against the numpy filters
    a: NDArray[np.float32], f: int, times: NDArray[np.float32], use_times: bool,
    out: NDArray[np.float32],
) -> None:  # fmt: skip
    """``out`` = ``_filters.upsample_linear(a, out.shape, f)`` (times ``times`` when
    ``use_times``), row by row: each output row blended from the two column-upsampled
    level rows it lies between (float32, the operations of ``_up_axis``)."""
    n = a.shape[0]
    h, w = out.shape
    lo_col, w0, w1 = _column_taps(f, w)
    rows = np.empty((2, w), np.float32)
    held = np.full(2, -1, np.intp)
    up = np.empty(w, np.float32)
    slots = np.empty(2, np.intp)
    for r in range(h):
        blend = r < n * f
        if blend:
            c = r // f
            x = (r % f + 0.5) / f - 0.5
            t = np.float32(x + 1 if x < 0 else x)
            omt = np.float32(1) - t
            j0 = min(max(c - 1 + (0 if x < 0 else 1), 0), n - 1)
            j1 = min(max(c + (0 if x < 0 else 1), 0), n - 1)
        else:
            j0 = j1 = n - 1
            t = omt = np.float32(0)
        for k in range(2):
            lv = j0 if k == 0 else j1
            if held[0] == lv:
                slots[k] = 0
            elif held[1] == lv:
                slots[k] = 1
            else:
                slot = 0 if (held[0] != j0 and held[0] != j1) else 1
                _up_row(a[lv], f, lo_col, w0, w1, rows[slot])
                held[slot] = lv
                slots[k] = slot
        ra, rb = rows[slots[0]], rows[slots[1]]
        if blend:
            for q in range(w):
                up[q] = ra[q] * omt + rb[q] * t
        else:
            up[:] = ra
        dst = out[r]
        if use_times:
            tr = times[r]
            for q in range(w):
                dst[q] = up[q] * tr[q]
        else:
            dst[:] = up


def upsample_linear(
    a: NDArray[np.float32],
    shape: tuple[int, int],
    f: int,
    *,
    times: NDArray[np.float32] | None = None,
) -> NDArray[np.float32]:
    """``_filters.upsample_linear(a, shape, f)`` (bilinear upsampling of a level of f x f
    block means), bit for bit, in one pass; ``times``: an (H, W) float32 array the result
    is multiplied by on the way (as ``up *= times``).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(4, dtype=np.float32).reshape(2, 2)
    >>> upsample_linear(a, (4, 4), 2)[0].tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    a = np.ascontiguousarray(a, np.float32)
    if a.ndim != 2 or a.size == 0 or f < 1:
        raise ValueError(f"a must be a non-empty 2-D level and f >= 1, got {a.shape}, {f}")
    out = np.empty(shape, np.float32)
    use = times is not None
    tm = np.asarray(times, np.float32) if times is not None else np.empty((1, 1), np.float32)
    if use and tm.shape != out.shape:
        raise ValueError(f"times must have shape {shape}, got {tm.shape}")
    if out.size:
        _upsample(a, int(f), tm, use, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _row_weights(r: int, n: int, f: int) -> tuple[bool, int, int, int, np.float32, np.float32]:
    """Output row ``r`` of a level of ``n`` rows (blocks of ``f`` px) as ``_up_axis`` forms
    it: (blended, its level row, the two level rows blended, ``t``, ``1 - t``); past the
    last block the last level row, not blended. Compiled; checked through merge_level."""
    if r < n * f:
        c = r // f
        mm = r % f
        x = (mm + 0.5) / f - 0.5
        t = np.float32(x + 1 if x < 0 else x)
        omt = np.float32(1) - t
        j0 = min(max(c - 1 + (0 if x < 0 else 1), 0), n - 1)
        j1 = min(max(c + (0 if x < 0 else 1), 0), n - 1)
        return True, c, j0, j1, t, omt
    return False, n - 1, n - 1, n - 1, np.float32(0), np.float32(1)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _hold_rows(  # pragma: no cover - compiled; checked through merge_level in the tests
    zs_l: NDArray[np.float32], zg_l: NDArray[np.float32], f: int, lo_col: NDArray[np.intp],
    w0: NDArray[np.float32], w1: NDArray[np.float32], rows_s: NDArray[np.float32],
    rows_g: NDArray[np.float32], held: NDArray[np.intp], j0: int, j1: int, slots: NDArray[np.intp],
) -> None:  # fmt: skip
    """Level rows ``j0``, ``j1`` of ``zs_l``, ``zg_l`` column-upsampled into the two slots
    of ``rows_s``, ``rows_g`` unless held; ``slots[k]`` the slot of each."""
    for k in range(2):
        lv = j0 if k == 0 else j1
        if held[0] == lv:
            slots[k] = 0
        elif held[1] == lv:
            slots[k] = 1
        else:
            slot = 0 if (held[0] != j0 and held[0] != j1) else 1
            _up_row(zs_l[lv], f, lo_col, w0, w1, rows_s[slot])
            _up_row(zg_l[lv], f, lo_col, w0, w1, rows_g[slot])
            held[slot] = lv
            slots[k] = slot


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _merge(  # pragma: no cover - compiled; checked against the numpy merge in the tests
    zs_l: NDArray[np.float32], zg_l: NDArray[np.float32], best_l: NDArray[np.int8],
    found_l: NDArray[np.bool_], f: int, first: bool, z_seed: NDArray[np.float32],
    z_grow: NDArray[np.float32], best: NDArray[np.int8], detected: NDArray[np.bool_],
) -> None:  # fmt: skip
    """The level (blocks of ``f`` px) merged into the full-resolution arrays in place; see
    :func:`merge_level`."""
    n, m = zs_l.shape
    h, w = z_seed.shape
    # column taps of each output column: level indices lo, lo + 1 and their weights,
    # as _up_axis forms them phase by phase (float32)
    lo_col, w0, w1 = _column_taps(f, w)
    near = np.empty(w, np.intp)
    for q in range(w):
        near[q] = min(q // f, m - 1)
    rows_s = np.empty((2, w), np.float32)
    rows_g = np.empty((2, w), np.float32)
    held = np.full(2, -1, np.intp)  # level rows held in rows_s/rows_g
    best_up = np.empty(w, np.int8)
    found_up = np.empty(w, np.bool_)
    near_row = -1
    slots = np.empty(2, np.intp)
    up_s = np.empty(w, np.float32)
    up_g = np.empty(w, np.float32)
    for r in range(h):
        blend, c, j0, j1, t, omt = _row_weights(r, n, f)
        _hold_rows(zs_l, zg_l, f, lo_col, w0, w1, rows_s, rows_g, held, j0, j1, slots)
        a_s, b_s = rows_s[slots[0]], rows_s[slots[1]]
        a_g, b_g = rows_g[slots[0]], rows_g[slots[1]]
        if c != near_row:  # the level row's best scale and detections, nearest-upsampled
            bl = best_l[c]
            fl = found_l[c]
            for q in range(w):
                best_up[q] = bl[near[q]]
                found_up[q] = fl[near[q]]
            near_row = c
        if blend:  # the two level rows blended (float32, as _up_axis along the rows)
            for q in range(w):
                up_s[q] = a_s[q] * omt + b_s[q] * t
                up_g[q] = a_g[q] * omt + b_g[q] * t
        else:
            up_s[:] = a_s
            up_g[:] = a_g
        zs = z_seed[r]
        zg = z_grow[r]
        br = best[r]
        dr = detected[r]
        if first:
            zs[:] = up_s
            zg[:] = up_g
            br[:] = best_up
            dr[:] = found_up
        else:
            for q in range(w):
                u = up_s[q]
                v = zs[q]
                better = u > v
                br[q] = best_up[q] if better else br[q]
                zs[q] = u if (better or u != u) else v  # numpy.maximum: NaN wins
                g = up_g[q]
                gv = zg[q]
                zg[q] = g if (g > gv or g != g) else gv
                dr[q] = dr[q] | found_up[q]


def merge_level(
    z_seed: NDArray[np.float32],
    z_grow: NDArray[np.float32],
    best: NDArray[np.int8],
    detected: NDArray[np.bool_],
    level: tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int8], NDArray[np.bool_]],
    f: int,
    *,
    first: bool = False,
) -> None:
    """``_lines._merge_level``: one pyramid level's (seed evidence, grow evidence, best
    scale, detections), blocks of ``f`` px, merged into the full-resolution arrays in
    place, row by row: the evidence upsampled bilinearly (the float32 operations of
    ``_filters.upsample_linear``: along the columns, then between two level rows), the
    rest by nearest; the best scale taken where the level's seed evidence is higher, the
    evidence by ``numpy.maximum``; ``first``: written, not merged."""
    zs_l = np.ascontiguousarray(level[0], np.float32)
    zg_l = np.ascontiguousarray(level[1], np.float32)
    best_l = np.ascontiguousarray(level[2], np.int8)
    found_l = np.ascontiguousarray(level[3], bool)
    if z_seed.size and zs_l.size:
        _merge(zs_l, zg_l, best_l, found_l, int(f), first, z_seed, z_grow, best, detected)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _bilinear(  # pragma: no cover - compiled; checked against scipy in the tests
    img: NDArray[np.float32], rows: NDArray[np.float32], cols: NDArray[np.float32],
    out: NDArray[np.float32],
) -> None:  # fmt: skip
    """See :func:`bilinear_at`."""
    h, w = img.shape
    for i in range(rows.size):
        x = np.float64(rows[i])
        y = np.float64(cols[i])
        # beyond half a pixel outside the image: moved onto its edge
        if x < -0.5:
            x = np.float64(0.0)
        elif x > h - 0.5:
            x = np.float64(h - 1)
        if y < -0.5:
            y = np.float64(0.0)
        elif y > w - 0.5:
            y = np.float64(w - 1)
        r0 = math.floor(x)
        c0 = math.floor(y)
        wx0 = 1.0 - (x - r0)
        wx1 = 1.0 - wx0
        wy0 = 1.0 - (y - c0)
        wy1 = 1.0 - wy0
        ra = min(max(int(r0), 0), h - 1)
        rb = min(max(int(r0) + 1, 0), h - 1)
        ca = min(max(int(c0), 0), w - 1)
        cb = min(max(int(c0) + 1, 0), w - 1)
        t = np.float64(img[ra, ca]) * wx0 * wy0
        t += np.float64(img[ra, cb]) * wx0 * wy1
        t += np.float64(img[rb, ca]) * wx1 * wy0
        t += np.float64(img[rb, cb]) * wx1 * wy1
        out[i] = np.float32(t)


def bilinear_at(
    img: NDArray[np.float32], rows: NDArray[np.float32], cols: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``scipy.ndimage.map_coordinates(img, [rows, cols], order=1, mode="nearest")`` for a
    float32 image, bit for bit: the weights ``1 - f`` and ``1 - (1 - f)`` in double, the
    four taps summed row by row, indices beyond the edge clamped. About three times
    faster (no generic spline machinery).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[0, 1], [2, 3]], np.float32)
    >>> bilinear_at(img, np.array([0.5, -2], np.float32), np.array([0.5, 1], np.float32)).tolist()
    [1.5, 1.0]
    """
    img = np.ascontiguousarray(img, np.float32)
    r = np.ascontiguousarray(rows, np.float32).ravel()
    c = np.ascontiguousarray(cols, np.float32).ravel()
    if img.ndim != 2 or img.size == 0 or r.shape != c.shape:
        raise ValueError(f"img must be a non-empty 2-D image and rows, cols alike, got {img.shape}")
    out = np.empty(r.size, np.float32)
    _bilinear(img, r, c, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_stats(  # pragma: no cover - compiled; checked against numpy in the tests
    dark: NDArray[np.float32],
    mask: NDArray[np.bool_],
    searchable: NDArray[np.bool_],
    f: int,
    out: NDArray[np.float32],
) -> None:
    h, w = dark.shape
    for br in range(out.shape[1]):
        for bc in range(out.shape[2]):
            total = 0.0
            vessel = 0.0
            count = 0
            top = -np.inf
            whole = True
            n = 0
            for r in range(br * f, min(br * f + f, h)):
                for c in range(bc * f, min(bc * f + f, w)):
                    d = dark[r, c]
                    v = mask[r, c]
                    total += d
                    n += 1
                    top = max(top, d)
                    vessel += d * v  # no branch: the loop vectorises
                    count += v
                    whole &= searchable[r, c]
            out[0, br, bc] = total / n
            out[1, br, bc] = count
            out[2, br, bc] = vessel / count if count else 0.0
            out[3, br, bc] = top
            # a block cut by the image's edge is not wholly searchable
            out[4, br, bc] = 1.0 if whole and n == f * f else 0.0


def block_stats(
    dark: NDArray[np.float32], mask: NDArray[np.bool_], searchable: NDArray[np.bool_], f: int
) -> NDArray[np.float32]:
    """Statistics of the f x f blocks of ``dark`` (blocks cut by the lower and right edges
    keep the pixels they hold), in one pass: (5, ceil(H / f), ceil(W / f)) float32 of the
    mean darkness, the number of ``mask`` pixels, the mean darkness of those (0 where
    none), the largest darkness, and 1 where every pixel of a whole block is
    ``searchable`` (else 0).

    Examples
    --------
    >>> import numpy as np
    >>> d = np.arange(16, dtype=np.float32).reshape(4, 4)
    >>> m = np.zeros((4, 4), bool); m[0, 0] = m[1, 1] = True
    >>> block_stats(d, m, np.ones((4, 4), bool), 2)[:, 0, 0].tolist()
    [2.5, 2.0, 2.5, 5.0, 1.0]
    """
    if dark.ndim != 2 or mask.shape != dark.shape or searchable.shape != dark.shape:
        raise ValueError(f"dark, mask and searchable must share one 2-D shape, got {dark.shape}")
    h, w = dark.shape
    out = np.empty((5, -(-h // f), -(-w // f)), np.float32)
    if out.size:
        _block_stats(
            np.ascontiguousarray(dark, np.float32),
            np.ascontiguousarray(mask, np.bool_),
            np.ascontiguousarray(searchable, np.bool_),
            int(f),
            out,
        )
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _profile_widths(  # pragma: no cover - compiled; checked against the numpy arithmetic
    prof: NDArray[np.float32],
    t: NDArray[np.float32],
    start: int,
    climb_steps: int,
    reach: int,
    step_px: np.float32,
    flat_fraction: np.float32,
    max_fwhm_px: np.float32,
    fwhm: NDArray[np.float64],
    offset: NDArray[np.float64],
) -> None:
    m, k = prof.shape
    half = np.float32(0.5)
    zero = np.float32(0.0)
    tiny = np.float32(1e-12)
    for j in range(m):
        p = prof[j]
        # climb toward the higher neighbour (the right one on a tie, none on a plateau)
        i = start
        for _ in range(climb_steps):
            here = p[i]
            left = p[i - 1] if i > 0 else p[i]
            right = p[i + 1] if i < k - 1 else p[i]
            if right > here and right >= left:
                i += 1
            elif left > here:
                i -= 1
            else:
                break
        peak = p[i]
        base_l = np.float32(np.inf)
        base_r = np.float32(np.inf)
        for q in range(max(i - reach, 0), i + 1):
            base_l = min(base_l, p[q])
        for q in range(i, min(i + reach, k - 1) + 1):
            base_r = min(base_r, p[q])
        half_l = half * (peak + max(base_l, zero))
        half_r = half * (peak + max(base_r, zero))
        left_i = -1
        for q in range(i - 1, -1, -1):
            if p[q] < half_l:
                left_i = q
                break
        right_i = k
        for q in range(i + 1, k):
            if p[q] < half_r:
                right_i = q
                break
        low = min(base_l, base_r)
        ok = left_i >= 0 and right_i < k and peak > zero
        ok = ok and low < flat_fraction * peak
        ok = ok and max(base_l, base_r) <= half * (peak + low)
        li = min(max(left_i, 0), k - 2)
        ri = min(max(right_i, 1), k - 1)
        a0, a1 = p[li], p[li + 1]
        xa = t[li] + step_px * (half_l - a0) / max(a1 - a0, tiny)
        b0, b1 = p[ri - 1], p[ri]
        xb = t[ri - 1] + step_px * (b0 - half_r) / max(b0 - b1, tiny)
        fw = xb - xa
        ok = ok and fw <= max_fwhm_px
        fwhm[j] = fw if ok else np.nan
        offset[j] = half * (xa + xb)


def profile_widths(
    prof: NDArray[np.float32],
    t: NDArray[np.float32],
    *,
    start: int,
    climb_steps: int,
    reach: int,
    step_px: float,
    flat_fraction: float,
    max_fwhm_px: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Full width at half maximum and the middle of the two half-height crossings (in
    the units of ``t``) of each profile, a row of ``prof`` (m, k) sampled at ``t`` (k,),
    ``step_px`` apart: from sample ``start``, climbed to the local peak (at most
    ``climb_steps`` samples toward the higher neighbour); the lowest sample within
    ``reach`` samples on each side as that side's background; the nearest sample below
    the half height on each side, interpolated linearly. The width is NaN for a profile
    without a crossing on each side, a flat one (its lower background at least
    ``flat_fraction`` of the peak, or the higher one above half way from the lower to the
    peak) and one wider than ``max_fwhm_px``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(-7, 7.01, 0.5, dtype=np.float32)
    >>> prof = np.exp(-0.5 * (t - 1) ** 2 / 1.5**2).astype(np.float32)[None]
    >>> fw, mid = profile_widths(prof, t, start=14, climb_steps=12, reach=10,
    ...                          step_px=0.5, flat_fraction=0.8, max_fwhm_px=8.0)
    >>> round(float(fw[0]), 1), round(float(mid[0]), 2)
    (3.5, 1.0)
    """
    prof = np.ascontiguousarray(prof, np.float32)
    t = np.ascontiguousarray(t, np.float32)
    if prof.ndim != 2 or prof.shape[1] != t.size or t.size < 2:
        raise ValueError(f"prof must be (m, k) with k = t.size >= 2, got {prof.shape}")
    fwhm = np.empty(prof.shape[0])
    offset = np.empty(prof.shape[0])
    _profile_widths(
        prof, t, int(start), int(climb_steps), int(reach), np.float32(step_px),
        np.float32(flat_fraction), np.float32(max_fwhm_px), fwhm, offset,
    )  # fmt: skip
    return fwhm, offset


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_means_without_glints(  # pragma: no cover - compiled; checked against numpy
    a: NDArray[np.float32], f: int, above: np.float32, out: NDArray[np.float32]
) -> None:
    for br in range(out.shape[0]):
        for bc in range(out.shape[1]):
            total = 0.0
            for r in range(br * f, br * f + f):
                for c in range(bc * f, bc * f + f):
                    total += a[r, c]
            mean = np.float32(total / (f * f))
            top = mean * above
            kept = 0.0
            for r in range(br * f, br * f + f):
                for c in range(bc * f, bc * f + f):
                    v = a[r, c]
                    kept += v if v <= top else mean
            out[br, bc] = np.float32(kept / (f * f))


def block_means_without_glints(a: NDArray[np.float32], f: int, above: float) -> NDArray[np.float32]:
    """Means of the f x f blocks of ``a`` (edges that do not fill a block are dropped)
    with each pixel more than ``above`` times its block's mean counted as that mean:
    (H // f, W // f) float32. A specular glint raises the mean of its block; the
    background's closing joins such raised blocks into bright rectangles between
    glints, which the darkness then reads as dark plateaus.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.ones((4, 4), np.float32); a[0, 0] = 9.0     # a glint in the first block
    >>> block_means_without_glints(a, 2, 1.15).tolist()
    [[1.5, 1.0], [1.0, 1.0]]
    """
    if a.ndim != 2 or f < 1:
        raise ValueError(f"a must be 2-D and f >= 1, got shape {a.shape} and f={f}")
    out = np.empty((a.shape[0] // f, a.shape[1] // f), np.float32)
    if out.size:
        _block_means_without_glints(
            np.ascontiguousarray(a, np.float32), int(f), np.float32(above), out
        )
    return out
