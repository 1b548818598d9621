"""Exact medians and percentiles of large float32 samples by radix selection.

``numpy.median`` and ``numpy.percentile`` partition the sample with an introselect for
every order statistic they read (the two middle ones, and the last for the NaN check):
on the ~200 000-value samples the detector calibrates on, several passes each. The
order statistics are found here in two compiled passes instead: the float32 bit
patterns mapped to unsigned keys that sort as the values do, counted by their high 16
bits, then the low 16 bits counted within the buckets holding the wanted ranks. The
statistic is then formed from those values by numpy's own arithmetic (the mean of the
middle values; the interpolation of ``method="linear"``), so the result is bit for bit
numpy's. Samples with a NaN, or a -0.0 where a zero is selected (whose sign numpy's
partition leaves to chance), small samples and other dtypes go to numpy itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["median", "percentile"]

_MIN_SIZE = 4096
"""Samples smaller than this go to numpy (its partition is as fast there)."""


@numba.njit(cache=True, nogil=True, inline="always")
def _key(b: np.uint32) -> np.uint32:  # pragma: no cover - compiled
    """Unsigned key of a float32 bit pattern that sorts as the values do (negative
    values reversed below the positive ones)."""
    # all bits flipped when the sign is set, else the sign bit (branch-free)
    flip = np.uint32(np.int32(b) >> np.int32(31)) | np.uint32(0x80000000)
    return b ^ flip


@numba.njit(cache=True, nogil=True)
def _select(  # pragma: no cover - compiled; checked against numpy in the tests
    bits: NDArray[np.uint32], ranks: NDArray[np.int64], out: NDArray[np.uint32]
) -> int:
    """The float32 bit patterns of the values of ranks ``ranks`` (ascending, distinct; 0
    is the smallest) of the float32 values whose bit patterns are ``bits``, into ``out``.
    Returns 0, or 1 when a NaN is present, 2 when a -0.0 is present (the caller decides)."""
    n = bits.size
    hist = np.zeros(65536, np.int32)
    top = np.uint32(0)  # the largest magnitude pattern: a NaN's is above inf's
    neg_zero = 0
    for i in range(n):  # no branch (not an early return at a NaN): keeps it fast
        b = bits[i]
        top = max(top, b & np.uint32(0x7FFFFFFF))
        neg_zero += b == np.uint32(0x80000000)
        hist[_key(b) >> np.uint32(16)] += 1
    if top > np.uint32(0x7F800000):
        return 1
    m = ranks.size
    bucket = np.empty(m, np.int64)
    within = np.empty(m, np.int64)
    j = 0
    below = 0
    for hb in range(65536):
        cnt = hist[hb]
        while j < m and ranks[j] < below + cnt:
            bucket[j] = hb
            within[j] = ranks[j] - below
            j += 1
        below += cnt
    # the keys of the few values in the buckets holding a wanted rank, sorted
    total = 0
    for r in range(m):
        if r == 0 or bucket[r] != bucket[r - 1]:
            total += hist[bucket[r]]
    held = np.empty(total, np.uint32)
    wanted = np.zeros(65536, np.bool_)
    for r in range(m):
        wanted[bucket[r]] = True
    k = 0
    for i in range(n):
        key = _key(bits[i])
        if wanted[key >> np.uint32(16)]:
            held[k] = key
            k += 1
    held.sort()
    for r in range(m):
        start = 0  # the bucket's first key in ``held``: buckets ascend with the keys
        for q in range(r):
            if q == 0 or bucket[q] != bucket[q - 1]:
                if bucket[q] != bucket[r]:
                    start += hist[bucket[q]]
        key = held[start + within[r]]
        out[r] = (
            key ^ np.uint32(0x80000000)
            if key & np.uint32(0x80000000)
            else key ^ np.uint32(0xFFFFFFFF)
        )
    return 2 if neg_zero > 0 else 0


def _order_stats(a: NDArray[np.float32], ranks: NDArray[np.int64]) -> NDArray[np.float32] | None:
    """The values of the given ranks (sorted, distinct) of ``a`` (1-D float32), or None
    when numpy must decide (a NaN; a -0.0 with a zero selected)."""
    out = np.empty(ranks.size, np.uint32)
    status = _select(np.ascontiguousarray(a).view(np.uint32), ranks, out)
    vals = out.view(np.float32)
    if status == 1 or (status == 2 and bool((vals == 0).any())):
        return None
    return vals


def _eligible(a: NDArray[np.generic]) -> bool:
    return a.dtype == np.float32 and a.size >= _MIN_SIZE


def median(a: NDArray[np.float32]) -> np.floating:
    """``numpy.median(a)`` (over all values), bit for bit, of the same type."""
    a = np.asarray(a)
    if not _eligible(a):
        return np.median(a)
    flat = a.reshape(-1)
    n = flat.size
    ranks = np.array([(n - 1) // 2] if n % 2 else [n // 2 - 1, n // 2], np.int64)
    vals = _order_stats(flat, ranks)
    if vals is None:
        return np.median(a)
    return np.mean(vals)  # numpy.median's mean of the middle value(s)


def percentile(a: NDArray[np.float32], q: Sequence[float]) -> NDArray[np.float64]:
    """``numpy.percentile(a, q)`` (over all values, ``method="linear"``) for a sequence
    of percentiles ``q`` (not a scalar, whose result numpy types otherwise), bit for bit:
    (len(q),) float64."""
    a = np.asarray(a)
    if not _eligible(a):
        return np.percentile(a, q)
    flat = a.reshape(-1)
    n = flat.size
    # numpy's virtual indexes and weights (``_quantile``): (n - 1) q, its floor and the
    # next rank, the fraction between
    virtual = (n - 1) * np.true_divide(np.asarray(q, np.float64), 100)
    if virtual.ndim != 1 or not ((virtual >= 0) & (virtual < n - 1)).all():
        return np.percentile(a, q)  # the ends: numpy's own index rules
    prev = np.floor(virtual)
    prev_i = prev.astype(np.intp)
    nxt_i = prev_i + 1
    ranks = np.unique(np.concatenate([prev_i, nxt_i])).astype(np.int64)
    vals = _order_stats(flat, ranks)
    if vals is None:
        return np.percentile(a, q)
    lo = vals[np.searchsorted(ranks, prev_i)]
    hi = vals[np.searchsorted(ranks, nxt_i)]
    gamma = np.asanyarray(virtual - prev, dtype=virtual.dtype)
    # numpy's ``_lerp``: from the lower value below a weight of 0.5, from the upper above
    diff = hi - lo
    out = np.add(lo, diff * gamma)
    np.subtract(hi, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe")
    return out
