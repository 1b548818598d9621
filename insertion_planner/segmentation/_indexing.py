"""Index arithmetic on images: nonzero pixels from flat indices, a level spread back to
the pixels of a mask, percentiles of many groups at once. Each computes exactly what
the plain numpy expression it stands for computes, faster on large images."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["nonzero2d", "repeat_times", "group_percentiles"]

F32 = NDArray[np.float32]


def nonzero2d(mask: NDArray[np.generic]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """``numpy.nonzero`` of a 2-D array (the same indices, in the same order), from the
    flat indices: several times faster than the 2-D ``nonzero`` on large images.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.eye(3, dtype=bool)[::-1]
    >>> [r.tolist() for r in nonzero2d(m)]
    [[0, 1, 2], [2, 1, 0]]
    """
    a = np.asarray(mask)
    flat = np.flatnonzero(a)
    if a.shape[1] == 0:
        return flat, flat
    rows, cols = np.divmod(flat, a.shape[1])
    return rows, cols


def repeat_times(a: F32, f: int, mask: NDArray[np.bool_]) -> F32:
    """``numpy.where(mask, up, 0)`` with ``up`` the nearest upsampling of ``a`` (a level of
    f x f blocks, at least ``ceil(H / f)`` x ``ceil(W / f)``) to ``mask``'s shape (H, W),
    for ``a >= 0``: one broadcast product, rows of blocks at a time.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0]], np.float32)
    >>> repeat_times(a, 2, np.array([[True, False, True], [False, True, True]])).tolist()
    [[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]]
    """
    h, w = mask.shape
    cols = np.repeat(np.asarray(a, np.float32), f, axis=1)[:, :w]
    out = np.empty((h, w), np.float32)
    hb = h // f
    if hb:
        np.multiply(
            cols[:hb, None, :],
            mask[: hb * f].reshape(hb, f, w),
            out=out[: hb * f].reshape(hb, f, w),
        )
    if h > hb * f:
        np.multiply(cols[hb], mask[hb * f :], out=out[hb * f :])
    return out


def group_percentiles(
    key: NDArray[np.integer], values: NDArray[np.floating], percentile: float, *, min_count: int = 1
) -> tuple[NDArray[np.integer], NDArray[np.floating]]:
    """``numpy.percentile`` (linear method) of the ``values`` of each ``key`` holding at
    least ``min_count`` of them, all groups at once: (keys, percentiles), keys sorted.
    The same order statistics and the same interpolation arithmetic as numpy's, so the
    same numbers, bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> k, v = np.array([3, 1, 3, 3, 1]), np.array([5.0, 2.0, 1.0, 4.0, 3.0])
    >>> [a.tolist() for a in group_percentiles(k, v, 50.0)]
    [[1, 3], [2.5, 4.0]]
    """
    order = np.lexsort((values, key))
    k, v = key[order], np.asarray(values)[order]
    if k.size == 0:
        return k, v
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    counts = np.diff(np.r_[starts, k.size])
    sel = counts >= min_count
    starts, counts = starts[sel], counts[sel]
    virtual = (counts - 1) * np.true_divide(percentile, 100)
    prev = np.floor(virtual)
    above = virtual >= counts - 1  # numpy takes the largest value, and -1 as previous
    lo = np.where(above, counts - 1, prev.astype(np.intp))
    hi = np.where(above, counts - 1, lo + 1)
    gamma = virtual - np.where(above, -1.0, prev)
    a, b = v[starts + lo], v[starts + hi]
    diff = b - a
    # a Python number as percentile makes numpy weigh in the values' own precision
    weak = type(percentile) in (int, float)
    t, t1 = (gamma.astype(v.dtype), (1 - gamma).astype(v.dtype)) if weak else (gamma, 1 - gamma)
    out = a + diff * t
    upper = gamma >= 0.5
    out[upper] = (b - diff * t1)[upper]
    return k[starts], out
