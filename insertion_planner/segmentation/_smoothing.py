"""Smoothing and Hessian measures compiled with numba, row by row.

Separable Gaussian and Hessian measures: each smoothed row made from the input rows around
it (float32, down the columns: the centre tap, then the pairs of taps from the centre out,
rows beyond the image repeating the edge row), then along the row with the arithmetic of
``scipy.ndimage.correlate1d(a, k, axis=-1, mode="nearest")`` for a symmetric kernel (the
samples in double, each output the centre tap plus the pairs of taps from the outermost
in, rounded to float32 at the end), each tap applied along a whole row at once, so the
compiler vectorises it (scipy runs the taps of one output after the other). The Hessian of
a row is taken as soon as the smoothed rows on either side exist, three smoothed rows
kept: one pass over the image instead of a dozen numpy passes, with the same float32
operations in the same order as the numpy code it replaced (bit for bit).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "correlate_rows",
    "gauss_every",
    "gauss_marked",
    "smoothed_hessian",
    "separable_gauss",
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
def _gauss_marked(  # pragma: no cover - compiled; checked against separable_gauss in the tests
    a: NDArray[np.float32], k: NDArray[np.float32], kd: NDArray[np.float64],
    need: NDArray[np.bool_], out: NDArray[np.float32],
) -> None:  # fmt: skip
    """``out[need]`` = ``separable_gauss(a, k)[need]``: of each row holding a ``need``
    pixel, the column pass (:func:`_smooth_row`'s, the whole row, float32), then the row
    pass at the ``need`` pixels only, each the centre tap plus the pairs of taps from the
    outermost in, in double (the arithmetic of :func:`_smooth_row` at that pixel)."""
    h, w = a.shape
    rad = k.size // 2
    col = np.empty(w, np.float32)
    kc = k[rad]
    centre = kd[rad]
    for r in range(h):
        nr = need[r]
        any_need = False
        for c in range(w):
            if nr[c]:
                any_need = True
                break
        if not any_need:
            continue
        if rad == 0:
            for c in range(w):
                if nr[c]:
                    out[r, c] = a[r, c]
            continue
        src = a[r]
        for c in range(w):
            col[c] = src[c] * kc
        for i in range(1, rad + 1):
            up = a[max(r - i, 0)]
            dn = a[min(r + i, h - 1)]
            ki = k[rad + i]
            for c in range(w):
                col[c] += (up[c] + dn[c]) * ki
        for c in range(w):
            if not nr[c]:
                continue
            acc = np.float64(col[c]) * centre
            for j in range(rad, 0, -1):
                lo = np.float64(col[max(c - j, 0)])
                hi = np.float64(col[min(c + j, w - 1)])
                acc += (lo + hi) * kd[rad - j]
            out[r, c] = np.float32(acc)


def gauss_marked(
    a: NDArray[np.float32], k: NDArray[np.float32], need: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """``separable_gauss(a, k)`` at the ``need`` pixels, bit for bit, (H, W) float32 whose
    other pixels are left unset: only the rows holding a ``need`` pixel are smoothed down
    the columns, and only the ``need`` pixels along the rows (finite ``a``: a NaN made
    on the way may take the other sign than the vectorised whole-image pass gives it).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(20, dtype=np.float32).reshape(5, 4)
    >>> k = np.array([0.25, 0.5, 0.25], np.float32)
    >>> need = np.zeros((5, 4), bool); need[2, 1] = need[4, 3] = True
    >>> bool(np.array_equal(gauss_marked(a, k, need)[need], separable_gauss(a, k)[need]))
    True
    """
    a, kd = _checked(a, k)
    need = np.ascontiguousarray(need, bool)
    if need.shape != a.shape:
        raise ValueError(f"need must have the shape of a {a.shape}, got {need.shape}")
    out = np.empty(a.shape, np.float32)
    if a.size:
        _gauss_marked(a, np.asarray(k, np.float32), kd, need, out)
    return out


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
