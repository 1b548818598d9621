"""Raster scans compiled with numba: chamfer distances, hysteresis, relative darkness.

Chamfer distance transforms of 2-D masks: the two raster passes of
``scipy.ndimage.distance_transform_cdt`` (Rosenfeld & Pfaltz 1966,
doi:10.1145/321356.321357; Borgefors 1986, doi:10.1016/S0734-189X(86)80047-0) for the
chessboard and city-block metrics, specialised to 2-D: the same neighbours visited in the
same order, the same strict comparisons, so the distances and the pixel each one was
propagated from are bit for bit scipy's, about five times faster (scipy's passes are
written for any rank and walk every pixel through a generic neighbourhood iterator).
Pixels outside the image are neither background nor distance (scipy's constant border).
Instead of the index of the nearest background pixel (``return_indices``), whose gathers
cost as much again, :func:`nearest_value` carries a value along the same propagation:
``values[indices]`` without the indices.

Hysteresis (Canny 1986, doi:10.1109/TPAMI.1986.4767851): the 8-connected components of
the pixels above the low threshold that reach the high one, from the row runs of the
pixels above the low threshold found in one raster scan and joined to the runs above them
by union-find (Rosenfeld & Pfaltz's two passes on runs; Wu, Otoo & Suzuki 2009,
doi:10.1007/s10044-008-0109-y), the runs of the components holding a seed painted: the
same set as ``_runs.seeded_components``, each pixel compared once (a flood fill from the
seeds looked at each filled pixel's eight neighbours, about three times the cost on the
dense grow masks of the injection test).

Relative darkness: ``_darkness.darkness``'s per-pixel arithmetic (darkness, glints, dim
pixels) in one pass.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "relative_darkness",
    "chamfer_distance",
    "chamfer_distance_at",
    "nearest_value",
    "hysteresis",
]


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


_UNREACHED = 2**30
"""Distance of a pixel not reached yet in :func:`_nearest_passes` (above any distance in
an image): ``t + 1 < d`` then holds where scipy's test is ``t >= 0 and (d < 0 or
t + 1 < d)``, so the same neighbour is taken, with one comparison."""


@numba.njit(cache=True, nogil=True)
def _nearest_passes(  # pragma: no cover - compiled; checked against scipy in the tests
    dt: NDArray[np.int32], val: NDArray[np.float32]
) -> None:
    """:func:`_two_passes` with ``diagonal`` and ``carry``, on ``dt`` holding 0 on the
    seeds and ``_UNREACHED`` elsewhere: the same neighbours in the same order, the same
    strict comparisons, each row's neighbours read from row views."""
    h, w = dt.shape
    for r in range(h):
        drow = dt[r]
        vrow = val[r]
        prow = dt[max(r - 1, 0)]
        pval = val[max(r - 1, 0)]
        for c in range(w):
            mn = drow[c]
            if mn == 0:
                continue
            v = vrow[c]
            if r > 0:
                if c > 0:
                    t = prow[c - 1] + 1
                    if t < mn:
                        mn, v = t, pval[c - 1]
                t = prow[c] + 1
                if t < mn:
                    mn, v = t, pval[c]
                if c < w - 1:
                    t = prow[c + 1] + 1
                    if t < mn:
                        mn, v = t, pval[c + 1]
            if c > 0:
                t = drow[c - 1] + 1
                if t < mn:
                    mn, v = t, vrow[c - 1]
            drow[c] = mn
            vrow[c] = v
    for r in range(h - 1, -1, -1):
        drow = dt[r]
        vrow = val[r]
        nrow = dt[min(r + 1, h - 1)]
        nval = val[min(r + 1, h - 1)]
        for c in range(w - 1, -1, -1):
            mn = drow[c]
            if mn == 0:
                continue
            v = vrow[c]
            if r < h - 1:
                if c < w - 1:
                    t = nrow[c + 1] + 1
                    if t < mn:
                        mn, v = t, nval[c + 1]
                t = nrow[c] + 1
                if t < mn:
                    mn, v = t, nval[c]
                if c > 0:
                    t = nrow[c - 1] + 1
                    if t < mn:
                        mn, v = t, nval[c - 1]
            if c < w - 1:
                t = drow[c + 1] + 1
                if t < mn:
                    mn, v = t, vrow[c + 1]
            drow[c] = mn
            vrow[c] = v


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


@numba.njit(cache=True, nogil=True)
def _distance_at(  # pragma: no cover - compiled; checked against the two passes in the tests
    mask: NDArray[np.bool_], at: NDArray[np.intp], max_d: int, d8: NDArray[np.int32],
    d4: NDArray[np.int32],
) -> bool:  # fmt: skip
    """The chessboard and city-block distances from the pixels of flat indices ``at`` to
    the nearest pixel off ``mask``, by searching rings of growing radius; False (the
    search given up) when one lies beyond ``max_d``."""
    h, w = mask.shape
    for i in range(at.size):
        r = at[i] // w
        c = at[i] - r * w
        if not mask[r, c]:
            d8[i] = 0
            d4[i] = 0
            continue
        k8 = 0
        for k in range(1, max_d + 1):  # the square ring max(|dr|, |dc|) == k
            found = False
            for rr in (r - k, r + k):
                if 0 <= rr < h:
                    for cc in range(max(c - k, 0), min(c + k, w - 1) + 1):
                        if not mask[rr, cc]:
                            found = True
                            break
                if found:
                    break
            if not found:
                for cc in (c - k, c + k):
                    if 0 <= cc < w:
                        for rr in range(max(r - k + 1, 0), min(r + k - 1, h - 1) + 1):
                            if not mask[rr, cc]:
                                found = True
                                break
                    if found:
                        break
            if found:
                k8 = k
                break
        if k8 == 0:
            return False
        k4 = 0
        for k in range(k8, 2 * k8 + 1):  # the diamond |dr| + |dc| == k (k8 <= d4 <= 2 k8)
            found = False
            for dr in range(-k, k + 1):
                rr = r + dr
                if rr < 0 or rr >= h:
                    continue
                dc = k - abs(dr)
                if (c - dc >= 0 and not mask[rr, c - dc]) or (c + dc < w and not mask[rr, c + dc]):
                    found = True
                    break
            if found:
                k4 = k
                break
        d8[i] = k8
        d4[i] = k4
    return True


def chamfer_distance_at(
    mask: NDArray[np.bool_], at: NDArray[np.intp], *, max_distance: int = 32
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """``chamfer_distance(mask, metric=m).ravel()[at]`` for ``m`` ``"chessboard"`` and
    ``"taxicab"``, ((n,) int32 each): the exact distances those passes give, searched
    around the pixels ``at`` only; the whole transforms when a mask pixel lies more than
    ``max_distance`` px from the background (or there is none).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 7), bool); m[1:4, 1:6] = True
    >>> [d.tolist() for d in chamfer_distance_at(m, np.array([15, 16, 8]))]
    [[1, 2, 1], [1, 2, 1]]
    """
    mask = np.ascontiguousarray(mask, bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    at = np.ascontiguousarray(at, np.intp)
    d8, d4 = np.empty(at.size, np.int32), np.empty(at.size, np.int32)
    if at.size and _distance_at(mask, at, int(max_distance), d8, d4):
        return d8, d4
    return (
        chamfer_distance(mask, metric="chessboard").ravel()[at],
        chamfer_distance(mask, metric="taxicab").ravel()[at],
    )


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
    seeds = np.asarray(seeds, bool)
    if seeds.ndim != 2:
        raise ValueError(f"seeds must be 2-D, got shape {seeds.shape}")
    dt = np.where(seeds, np.int32(0), np.int32(_UNREACHED))
    val = np.array(values, np.float32, order="C")
    if val.shape != dt.shape:
        raise ValueError(f"values must have the shape of seeds {dt.shape}, got {val.shape}")
    _nearest_passes(dt, val)
    return val


@numba.njit(cache=True, nogil=True)
def _root(parent: NDArray[np.int64], i: int) -> int:  # pragma: no cover - compiled
    """The root of run ``i`` in the union-find forest ``parent`` (path halving)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True, nogil=True)
def _seeded_runs(  # pragma: no cover - compiled; checked against scipy in the tests
    z: NDArray[np.float32], high: np.float32, low: np.float32, out: NDArray[np.bool_]
) -> None:
    """``out`` (H, W, all False) set on the 8-connected components of ``z >= low`` that
    hold a pixel of ``z >= high``: the row runs of ``z >= low`` found in one raster scan,
    each joined (union-find) to the runs of the row above that overlap it or meet it at
    a corner, and the runs of the components holding a seed painted."""
    h, w = z.shape
    cap = 0  # the number of runs: a first, cheap scan (arrays grown on the way cost
    for r in range(h):  # a reference count at every access)
        inside = False
        for c in range(w):
            now = z[r, c] >= low
            if now and not inside:
                cap += 1
            inside = now
    row_c0 = np.empty(cap, np.int64)  # first column of each run
    row_c1 = np.empty(cap, np.int64)  # last column
    parent = np.empty(cap, np.int64)
    seeded = np.empty(cap, np.bool_)
    first = np.empty(h + 1, np.int64)  # the runs of row r: first[r] .. first[r + 1] - 1
    n = 0
    for r in range(h):
        first[r] = n
        above = first[r - 1] if r > 0 else n  # the runs of the row above: above .. first[r]
        c = 0
        while c < w:
            if not z[r, c] >= low:
                c += 1
                continue
            c0 = c
            seed = False
            while c < w and z[r, c] >= low:
                if z[r, c] >= high:
                    seed = True
                c += 1
            row_c0[n] = c0
            row_c1[n] = c - 1
            parent[n] = n
            seeded[n] = seed
            # the runs above ending before column c0 - 1 touch no later run of this row
            while above < first[r] and row_c1[above] < c0 - 1:
                above += 1
            k = above
            while k < first[r] and row_c0[k] <= c:
                ra, rb = _root(parent, n), _root(parent, k)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
                k += 1
            n += 1
    first[h] = n
    keep = np.zeros(n, np.bool_)
    for i in range(n):
        if seeded[i]:
            keep[_root(parent, i)] = True
    for r in range(h):
        for i in range(first[r], first[r + 1]):
            if keep[_root(parent, i)]:
                for c in range(row_c0[i], row_c1[i] + 1):
                    out[r, c] = True


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
    out = np.zeros(z.shape, bool)
    _seeded_runs(z, np.float32(high), np.float32(low), out)
    return out
