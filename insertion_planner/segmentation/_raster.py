"""Raster-scan kernels compiled with numba: smoothing and Hessian, row correlation,
chamfer distances, hysteresis.

Separable Gaussian and Hessian measures: row by row, each smoothed row made from the
input rows around it (float32, down the columns) and then along the row (below), the
Hessian of a row taken as soon as the smoothed rows on either side exist, three smoothed
rows kept: one pass over the image instead of a dozen numpy passes over each strip, with
the same float32 operations in the same order as the numpy code it replaced.

Row correlation: ``scipy.ndimage.correlate1d(a, k, axis=-1, mode="nearest")`` for a
symmetric kernel, with scipy's arithmetic (the samples in double, each output the centre
tap plus the pairs of taps from the outermost in, rounded to float32 at the end), each
tap applied along a whole row at once, so the compiler vectorises it (scipy runs the taps
of one output after the other), about three times faster.


Chamfer distance transforms of 2-D masks:
The two raster passes of ``scipy.ndimage.distance_transform_cdt`` (Rosenfeld & Pfaltz
1966, doi:10.1145/321356.321357; Borgefors 1986, doi:10.1016/S0734-189X(86)80047-0) for
the chessboard and city-block metrics, specialised to 2-D: the same neighbours visited in
the same order, the same strict comparisons, so the distances and the pixel each one was
propagated from are bit for bit scipy's, about five times faster (scipy's passes are
written for any rank and walk every pixel through a generic neighbourhood iterator).
Pixels outside the image are neither background nor distance (scipy's constant border).

Instead of the index of the nearest background pixel (``return_indices``), whose gathers
cost as much again, :func:`nearest_value` carries a value along the same propagation:
``values[indices]`` without the indices.

Hysteresis (Canny 1986, doi:10.1109/TPAMI.1986.4767851): the 8-connected components of
the pixels above the low threshold that reach the high one, by a flood fill from each
seed (a depth-first stack, each pixel pushed once) that visits only the pixels it fills and their neighbours,
instead of thresholding the evidence twice and joining the row runs of the whole grow
mask (the former ``_runs.seeded_components``: the same set).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "separable_gauss",
    "bilinear_at",
    "relative_darkness",
    "gauss_every",
    "merge_level",
    "block_means",
    "upsample_linear",
    "smoothed_hessian",
    "correlate_rows",
    "chamfer_distance",
    "nearest_value",
    "hysteresis",
]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _correlate_rows(  # pragma: no cover - compiled; checked against scipy in the tests
    a: NDArray[np.float32], k: NDArray[np.float64], out: NDArray[np.float32]
) -> None:
    """Each row of ``a`` correlated with the symmetric odd kernel ``k``, edges repeated,
    into ``out`` (see the module docstring)."""
    n, w = a.shape
    rad = k.size // 2
    buf = np.empty(w + 2 * rad, np.float64)
    acc = np.empty(w, np.float64)
    centre = k[rad]
    for r in range(n):
        row = a[r]
        mid = buf[rad : rad + w]
        for c in range(w):
            v = np.float64(row[c])
            mid[c] = v
            acc[c] = v * centre
        for c in range(rad):
            buf[c] = row[0]
            buf[rad + w + c] = row[w - 1]
        for j in range(rad, 0, -1):
            wj = k[rad - j]
            lo = buf[rad - j : rad - j + w]
            hi = buf[rad + j : rad + j + w]
            for c in range(w):
                acc[c] += (lo[c] + hi[c]) * wj
        dst = out[r]
        for c in range(w):
            dst[c] = np.float32(acc[c])


def correlate_rows(
    a: NDArray[np.float32], k: NDArray[np.float32], out: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """``scipy.ndimage.correlate1d(a, k, axis=1, mode="nearest", output=out)`` for a 2-D
    float32 ``a`` and a symmetric kernel ``k`` of odd length, bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0, 0, 4, 0]], np.float32)
    >>> correlate_rows(a, np.array([0.25, 0.5, 0.25], np.float32)).tolist()
    [[0.0, 1.0, 2.0, 1.0]]
    """
    a, kd = _checked(a, k)
    if out is None:
        out = np.empty(a.shape, np.float32)
    if a.size:
        _correlate_rows(a, kd, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _smooth_row(  # pragma: no cover - compiled; checked against the numpy filters
    a: NDArray[np.float32], k: NDArray[np.float32], kd: NDArray[np.float64], r: int,
    col: NDArray[np.float32], buf: NDArray[np.float64], acc: NDArray[np.float64],
    dst: NDArray[np.float32],
) -> None:  # fmt: skip
    """Row ``r`` of ``a`` smoothed by ``k`` (``kd``: the same in double): down the
    columns in float32 (the centre tap, then the pairs of taps from the centre out; rows
    beyond the image repeat the edge row), then along the row with ``correlate1d``'s
    arithmetic (double, pairs from the outermost in, edges repeated) into ``dst``;
    ``col``, ``buf``, ``acc``: work rows."""
    h, w = a.shape
    rad = k.size // 2
    if rad == 0:
        src = a[r]
        for c in range(w):
            dst[c] = src[c]
        return
    kc = k[rad]
    src = a[r]
    for c in range(w):
        col[c] = src[c] * kc
    for i in range(1, rad + 1):
        up = a[max(r - i, 0)]
        dn = a[min(r + i, h - 1)]
        ki = k[rad + i]
        for c in range(w):
            col[c] += (up[c] + dn[c]) * ki
    mid = buf[rad : rad + w]
    centre = kd[rad]
    for c in range(w):
        v = np.float64(col[c])
        mid[c] = v
        acc[c] = v * centre
    for c in range(rad):
        buf[c] = col[0]
        buf[rad + w + c] = col[w - 1]
    for j in range(rad, 0, -1):
        wj = kd[rad - j]
        lo = buf[rad - j : rad - j + w]
        hi = buf[rad + j : rad + j + w]
        for c in range(w):
            acc[c] += (lo[c] + hi[c]) * wj
    for c in range(w):
        dst[c] = np.float32(acc[c])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gauss_all(  # pragma: no cover - compiled; checked against the numpy filters
    a: NDArray[np.float32], k: NDArray[np.float32], kd: NDArray[np.float64],
    out: NDArray[np.float32],
) -> None:  # fmt: skip
    """``out`` = ``a`` smoothed by ``k`` along both axes, row by row."""
    h, w = a.shape
    rad = k.size // 2
    col = np.empty(w, np.float32)
    buf = np.empty(w + 2 * rad, np.float64)
    acc = np.empty(w, np.float64)
    for r in range(h):
        _smooth_row(a, k, kd, r, col, buf, acc, out[r])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _hessian_all(  # pragma: no cover - compiled; checked against the numpy filters
    a: NDArray[np.float32], k: NDArray[np.float32], kd: NDArray[np.float64], disc: bool,
    out: NDArray[np.float32], smoothed: NDArray[np.float32], keep: bool,
) -> None:  # fmt: skip
    """``out`` = the signed ridge (``e1 + min(e2, 0)``) or, ``disc``, the disc (``e2``)
    measure of ``a`` smoothed by ``k``, with ``e1 >= e2`` the eigenvalues of minus its
    finite-difference Hessian (edges repeated), in float32 with the operations of
    ``_filters._eigen_parts_padded`` in their order; the smoothed rows are made as they
    are needed and kept three at a time (``keep``: also written to ``smoothed``)."""
    h, w = a.shape
    rad = k.size // 2
    col = np.empty(w, np.float32)
    buf = np.empty(w + 2 * rad, np.float64)
    acc = np.empty(w, np.float64)
    ring = np.empty((3, w + 2), np.float32)
    two = np.float32(2.0)
    quarter = np.float32(0.25)
    mhalf = np.float32(-0.5)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    # ring slots: row r - 1, r, r + 1 (with a column of edge padding on each side)
    _smooth_row(a, k, kd, 0, col, buf, acc, ring[1, 1 : w + 1])
    ring[1, 0] = ring[1, 1]
    ring[1, w + 1] = ring[1, w]
    ring[0, :] = ring[1, :]
    cur, prev = 1, 0
    for r in range(h):
        nxt = 3 - cur - prev
        if r + 1 < h:
            _smooth_row(a, k, kd, r + 1, col, buf, acc, ring[nxt, 1 : w + 1])
            ring[nxt, 0] = ring[nxt, 1]
            ring[nxt, w + 1] = ring[nxt, w]
        else:
            ring[nxt, :] = ring[cur, :]
        up = ring[prev]
        mid = ring[cur]
        dn = ring[nxt]
        o = out[r]
        if keep:
            sm = smoothed[r]
            for c in range(w):
                sm[c] = mid[c + 1]
        for c in range(w):
            s = mid[c + 1]
            c2 = s * two
            dyy = (dn[c + 1] + up[c + 1]) - c2
            dxx = (mid[c + 2] + mid[c]) - c2
            dxy = (((dn[c + 2] - dn[c]) - up[c + 2]) + up[c]) * quarter
            mean = (dxx + dyy) * mhalf
            d = (dxx - dyy) * half
            hd = np.sqrt(d * d + dxy * dxy)
            if disc:
                o[c] = mean - hd
            else:
                e2 = mean - hd
                o[c] = (mean + hd) + (e2 if e2 < zero else zero)
        prev, cur = cur, nxt


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
        blend = r < n * f
        if r < n * f:
            c = r // f
            mm = r % f
            x = (mm + 0.5) / f - 0.5
            t = np.float32(x + 1 if x < 0 else x)
            omt = np.float32(1) - t
            j0 = min(max(c - 1 + (0 if x < 0 else 1), 0), n - 1)
            j1 = min(max(c + (0 if x < 0 else 1), 0), n - 1)
        else:  # beyond the last block: the last level row, not blended
            c = n - 1
            j0 = j1 = n - 1
            t = np.float32(0)
            omt = np.float32(1)
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


def smoothed_hessian(
    a: NDArray[np.float32],
    k: NDArray[np.float32],
    *,
    kind: str = "ridge",
    smoothed: NDArray[np.float32] | None = None,
) -> NDArray[np.float32]:
    """The ``kind`` (``"ridge"`` or ``"disc"``) Hessian measure of ``a`` smoothed by the
    symmetric kernel ``k`` (odd length; one tap: no smoothing), bit for bit the strip
    arithmetic of ``_filters.hessian_measure``; ``smoothed`` receives the smoothed image.

    Examples
    --------
    >>> import numpy as np
    >>> xx = np.mgrid[-3:4, -3:4][1].astype(np.float32)
    >>> float(smoothed_hessian(-(xx**2), np.ones(1, np.float32))[3, 3])
    2.0
    """
    a, kd = _checked(a, k)
    out = np.empty(a.shape, np.float32)
    keep = smoothed is not None
    sm = smoothed if smoothed is not None else np.empty((1, 1), np.float32)
    if a.size:
        _hessian_all(a, np.asarray(k, np.float32), kd, kind == "disc", out, sm, keep)
    return out


def separable_gauss(a: NDArray[np.float32], k: NDArray[np.float32]) -> NDArray[np.float32]:
    """``a`` smoothed by the symmetric kernel ``k`` along both axes, edges repeated: bit for
    bit the strip arithmetic of ``_filters.gauss`` (float32 down the columns,
    ``correlate1d``'s along the rows).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((3, 3), np.float32); a[1, 1] = 1
    >>> separable_gauss(a, np.array([0.25, 0.5, 0.25], np.float32))[1].tolist()
    [0.125, 0.25, 0.125]
    """
    a, kd = _checked(a, k)
    out = np.empty(a.shape, np.float32)
    if a.size:
        _gauss_all(a, np.asarray(k, np.float32), kd, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gauss_rows_at(  # pragma: no cover - compiled; checked against the numpy filters
    a: NDArray[np.float32], k: NDArray[np.float32], kd: NDArray[np.float64],
    step: int, out: NDArray[np.float32],
) -> None:  # fmt: skip
    """``out`` = rows 0, step, 2 step, ... of ``a`` smoothed by ``k`` (:func:`_smooth_row`)."""
    w = a.shape[1]
    rad = k.size // 2
    col = np.empty(w, np.float32)
    buf = np.empty(w + 2 * rad, np.float64)
    acc = np.empty(w, np.float64)
    for i in range(out.shape[0]):
        _smooth_row(a, k, kd, i * step, col, buf, acc, out[i])


def gauss_every(a: NDArray[np.float32], k: NDArray[np.float32], step: int) -> NDArray[np.float32]:
    """``separable_gauss(a, k)[::step]``, bit for bit, smoothing only those rows.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(20, dtype=np.float32).reshape(5, 4)
    >>> k = np.array([0.25, 0.5, 0.25], np.float32)
    >>> bool(np.array_equal(gauss_every(a, k, 2), separable_gauss(a, k)[::2]))
    True
    """
    a, kd = _checked(a, k)
    out = np.empty((-(-a.shape[0] // step), a.shape[1]), np.float32)
    if out.size:
        _gauss_rows_at(a, np.asarray(k, np.float32), kd, int(step), out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _darkness(  # pragma: no cover - compiled; checked against the numpy arithmetic
    q: NDArray[np.float32], qr: NDArray[np.float32], has_red: bool, red_weight: np.float32,
    glint_level: np.float32, noise_level: np.float32, want_low: bool,
    glint: NDArray[np.bool_], low: NDArray[np.bool_],
) -> None:  # fmt: skip
    """See :func:`relative_darkness` (flat arrays)."""
    one = np.float32(1.0)
    dim = np.float32(0.3)
    for i in range(q.size):
        v = q[i]
        glint[i] = (v > glint_level) & (v > noise_level)
        if want_low:
            low[i] = (qr[i] if has_red else v) < dim
        d = one - v
        if has_red:
            d = d + (qr[i] - one) * red_weight
        q[i] = d


def relative_darkness(
    q: NDArray[np.float32],
    qr: NDArray[np.float32] | None,
    *,
    red_weight: float,
    glint_level: float,
    noise_level: float,
    want_low: bool,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_] | None]:
    """``_darkness.darkness``'s arithmetic on the relative brightness ``q`` (green or grey)
    and ``qr`` (red, or None), in one pass: ``q`` becomes the darkness ``1 - q`` (plus
    ``(qr - 1) * red_weight``, float32 in that order); returns the glints
    (``q > glint_level`` and ``q > noise_level``) and, when ``want_low``, the pixels
    whose ``qr`` (or ``q``) is below 0.3, both read before ``q`` changes.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[1.0, 0.5, 1.3]], np.float32)
    >>> glint, low = relative_darkness(q, None, red_weight=0.5, glint_level=1.15,
    ...                                noise_level=1.1, want_low=False)
    >>> q.tolist(), glint.tolist(), low
    ([[0.0, 0.5, -0.2999999523162842]], [[False, False, True]], None)
    """
    if q.dtype != np.float32 or not q.flags.c_contiguous:
        raise ValueError("q must be a C-contiguous float32 array (it is changed in place)")
    red = np.ascontiguousarray(qr, np.float32) if qr is not None else np.empty(1, np.float32)
    if qr is not None and red.shape != q.shape:
        raise ValueError(f"qr must have the shape of q {q.shape}, got {red.shape}")
    glint = np.empty(q.shape, bool)
    low = np.empty(q.shape if want_low else (1,), bool)
    _darkness(q.ravel(), red.ravel(), qr is not None, np.float32(red_weight),
              np.float32(glint_level), np.float32(noise_level), want_low,
              glint.ravel(), low.ravel())  # fmt: skip
    return glint, (low if want_low else None)


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


def _checked(
    a: NDArray[np.float32], k: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """``a`` as C-contiguous float32 and ``k`` in double, both checked."""
    a = np.ascontiguousarray(a, np.float32)
    kd = np.asarray(k, np.float64)
    if a.ndim != 2 or kd.ndim != 1 or kd.size % 2 == 0 or not np.array_equal(kd, kd[::-1]):
        raise ValueError(
            f"a must be 2-D and k symmetric of odd length, got {a.shape} and {kd.shape}"
        )
    return a, kd


@numba.njit(cache=True, nogil=True)
def _two_passes(  # pragma: no cover - compiled; checked against scipy in the tests
    dt: NDArray[np.int32], val: NDArray[np.float32], diagonal: bool, carry: bool
) -> None:
    """scipy's ``distance_transform_op`` twice, forward then on the reversed image, in
    place on ``dt`` (0: background, -1: not reached yet); ``carry``: ``val`` of each
    pixel is replaced by that of the neighbour its distance came from."""
    h, w = dt.shape
    for r in range(h):
        for c in range(w):
            mn = dt[r, c]
            if mn == 0:
                continue
            sr = -1
            sc = -1
            if r > 0:
                if diagonal and c > 0:
                    t = dt[r - 1, c - 1]
                    if t >= 0 and (mn < 0 or t + 1 < mn):
                        mn, sr, sc = t + 1, r - 1, c - 1
                t = dt[r - 1, c]
                if t >= 0 and (mn < 0 or t + 1 < mn):
                    mn, sr, sc = t + 1, r - 1, c
                if diagonal and c < w - 1:
                    t = dt[r - 1, c + 1]
                    if t >= 0 and (mn < 0 or t + 1 < mn):
                        mn, sr, sc = t + 1, r - 1, c + 1
            if c > 0:
                t = dt[r, c - 1]
                if t >= 0 and (mn < 0 or t + 1 < mn):
                    mn, sr, sc = t + 1, r, c - 1
            dt[r, c] = mn
            if carry and sr >= 0:
                val[r, c] = val[sr, sc]
    for r in range(h - 1, -1, -1):
        for c in range(w - 1, -1, -1):
            mn = dt[r, c]
            if mn == 0:
                continue
            sr = -1
            sc = -1
            if r < h - 1:
                if diagonal and c < w - 1:
                    t = dt[r + 1, c + 1]
                    if t >= 0 and (mn < 0 or t + 1 < mn):
                        mn, sr, sc = t + 1, r + 1, c + 1
                t = dt[r + 1, c]
                if t >= 0 and (mn < 0 or t + 1 < mn):
                    mn, sr, sc = t + 1, r + 1, c
                if diagonal and c > 0:
                    t = dt[r + 1, c - 1]
                    if t >= 0 and (mn < 0 or t + 1 < mn):
                        mn, sr, sc = t + 1, r + 1, c - 1
            if c < w - 1:
                t = dt[r, c + 1]
                if t >= 0 and (mn < 0 or t + 1 < mn):
                    mn, sr, sc = t + 1, r, c + 1
            dt[r, c] = mn
            if carry and sr >= 0:
                val[r, c] = val[sr, sc]


def _start(mask: NDArray[np.bool_]) -> NDArray[np.int32]:
    """-1 on ``mask`` (to be reached), 0 off it (background), as scipy starts."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    return np.negative(np.asarray(mask, bool), dtype=np.int32)


def chamfer_distance(mask: NDArray[np.bool_], *, metric: str) -> NDArray[np.int32]:
    """``scipy.ndimage.distance_transform_cdt(mask, metric=metric)`` for a 2-D mask,
    ``metric`` ``"chessboard"`` or ``"taxicab"``: (H, W) int32, the distance of each mask
    pixel to the nearest background pixel (-1 where there is none), 0 off the mask.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 7), bool); m[1:4, 1:6] = True
    >>> chamfer_distance(m, metric="chessboard")[2].tolist()
    [0, 1, 2, 2, 2, 1, 0]
    """
    if metric not in ("chessboard", "taxicab"):
        raise ValueError(f"metric must be 'chessboard' or 'taxicab', got {metric!r}")
    dt = _start(mask)
    _two_passes(dt, np.zeros((1, 1), np.float32), metric == "chessboard", False)
    return dt


def nearest_value(seeds: NDArray[np.bool_], values: NDArray[np.float32]) -> NDArray[np.float32]:
    """``values`` at the seed pixel nearest each pixel in the chessboard metric, the
    nearest as ``scipy.ndimage.distance_transform_cdt(~seeds, metric="chessboard",
    return_indices=True)`` picks it (ties included): (H, W) float32; every pixel keeps
    its own value when there is no seed.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.zeros((3, 6), bool); s[1, 0] = s[1, 5] = True
    >>> v = np.zeros((3, 6), np.float32); v[1, 0], v[1, 5] = 1, 2
    >>> nearest_value(s, v)[1].tolist()
    [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    """
    dt = _start(~np.asarray(seeds, bool))
    val = np.array(values, np.float32, order="C")
    if val.shape != dt.shape:
        raise ValueError(f"values must have the shape of seeds {dt.shape}, got {val.shape}")
    _two_passes(dt, val, True, True)
    return val


@numba.njit(cache=True, nogil=True)
def _flood(  # pragma: no cover - compiled; checked against scipy in the tests
    z: NDArray[np.float32], w: int, seeds: NDArray[np.intp], low: np.float32,
    out: NDArray[np.bool_], rows: NDArray[np.int32], cols: NDArray[np.int32],
) -> None:  # fmt: skip
    """``out`` (flat, rows of ``w``) set on the 8-connected components of ``z >= low``
    (flat) holding one of the flat indices ``seeds`` (each at or above ``low``);
    ``rows``, ``cols``: the stack, as long as ``z >= low`` has pixels."""
    h = z.size // w
    for s in seeds:
        if out[s]:
            continue
        out[s] = True
        rows[0] = s // w
        cols[0] = s - rows[0] * w
        n = 1
        while n:
            n -= 1
            pr = rows[n]
            pc = cols[n]
            c0 = max(pc - 1, 0)
            c1 = min(pc + 2, w)
            for rr in range(max(pr - 1, 0), min(pr + 2, h)):
                base = rr * w
                for cc in range(c0, c1):
                    q = base + cc
                    if not out[q] and z[q] >= low:
                        out[q] = True
                        rows[n] = rr
                        cols[n] = cc
                        n += 1


def hysteresis(
    z: NDArray[np.float32], *, high: float | np.floating, low: float | np.floating
) -> NDArray[np.bool_]:
    """The 8-connected components of ``z >= low`` that hold a pixel of ``z >= high``,
    (H, W) bool: ``_runs.seeded_components(z >= high, z >= low)``, thresholds compared
    in float32.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[2, 0.5, 0, 0], [0, 0, 0.6, 0], [0.7, 0, 0, 0]], np.float32)
    >>> hysteresis(z, high=1.0, low=0.4).astype(int).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    """
    z = np.ascontiguousarray(z, np.float32)
    if z.ndim != 2:
        raise ValueError(f"z must be 2-D, got shape {z.shape}")
    high32, low32 = np.float32(high), np.float32(low)
    flat = z.ravel()
    seeds = np.flatnonzero(flat >= high32)  # the seeds found by a vectorised pass
    seeds = seeds[flat[seeds] >= low32]
    out = np.zeros(z.size, bool)
    if seeds.size:
        # each pixel is pushed once, when it is set: the stack never holds more than
        # the pixels at or above the low threshold
        n_grow = int(np.count_nonzero(flat >= low32))
        stack_r, stack_c = np.empty(n_grow, np.int32), np.empty(n_grow, np.int32)
        _flood(flat, z.shape[1], seeds, low32, out, stack_r, stack_c)
    return out.reshape(z.shape)
