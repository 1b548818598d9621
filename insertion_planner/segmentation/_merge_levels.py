"""The coarse pyramid levels merged into the full-resolution evidence in one pass.

``_resample.merge_level`` merges one level (blocks of ``f`` px) into the full-resolution
seed and grow evidence, best scale and detections; merged one after the other, L levels
read and write those four (H, W) arrays L times. Here every output row takes each level's
upsampled row in turn (the same float32 operations, the same order of the levels at each
pixel), blended and merged in one loop, so each output pixel is read and written once:
bit for bit the level-by-level merges, in about two thirds of their time (four levels at
2048 x 2048).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from ._resample import _column_taps, _hold_rows, _row_weights, merge_level

__all__ = ["merge_levels"]

_Level = tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int8], NDArray[np.bool_]]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _merge_all(  # pragma: no cover - compiled; checked against merge_level in the tests
    zs_t: tuple, zg_t: tuple, best_t: tuple, found_t: tuple, fs: NDArray[np.intp],
    z_seed: NDArray[np.float32], z_grow: NDArray[np.float32], best: NDArray[np.int8],
    detected: NDArray[np.bool_],
) -> None:  # fmt: skip
    """See :func:`merge_levels`; the level arrays as tuples, ``fs`` their block sizes."""
    n_lv = fs.size
    h, w = z_seed.shape
    lo_col = np.empty((n_lv, w), np.intp)
    w0 = np.empty((n_lv, w), np.float32)
    w1 = np.empty((n_lv, w), np.float32)
    near = np.empty((n_lv, w), np.intp)
    for i in range(n_lv):
        lo_col[i], w0[i], w1[i] = _column_taps(fs[i], w)
        m = zs_t[i].shape[1]
        for q in range(w):
            near[i, q] = min(q // fs[i], m - 1)
    rows_s = np.empty((n_lv, 2, w), np.float32)
    rows_g = np.empty((n_lv, 2, w), np.float32)
    held = np.full((n_lv, 2), -1, np.intp)  # level rows held in rows_s/rows_g
    best_up = np.empty((n_lv, w), np.int8)
    found_up = np.empty((n_lv, w), np.bool_)
    near_row = np.full(n_lv, -1, np.intp)
    slots = np.empty(2, np.intp)
    for r in range(h):
        zs = z_seed[r]
        zg = z_grow[r]
        br = best[r]
        dr = detected[r]
        for i in range(n_lv):
            f = fs[i]
            zs_l = zs_t[i]
            zg_l = zg_t[i]
            n = zs_l.shape[0]
            # _resample._merge's row of level i, as it forms it
            blend, c, j0, j1, t, omt = _row_weights(r, n, f)
            _hold_rows(zs_l, zg_l, f, lo_col[i], w0[i], w1[i], rows_s[i], rows_g[i], held[i],
                       j0, j1, slots)  # fmt: skip
            a_s, b_s = rows_s[i, slots[0]], rows_s[i, slots[1]]
            a_g, b_g = rows_g[i, slots[0]], rows_g[i, slots[1]]
            if c != near_row[i]:  # best scale and detections, nearest-upsampled
                bl = best_t[i][c]
                fl = found_t[i][c]
                for q in range(w):
                    best_up[i, q] = bl[near[i, q]]
                    found_up[i, q] = fl[near[i, q]]
                near_row[i] = c
            bu = best_up[i]
            fu = found_up[i]
            if i == 0:  # the first level is written
                if blend:
                    for q in range(w):
                        zs[q] = a_s[q] * omt + b_s[q] * t
                        zg[q] = a_g[q] * omt + b_g[q] * t
                else:
                    zs[:] = a_s
                    zg[:] = a_g
                br[:] = bu
                dr[:] = fu
                continue
            if blend:  # the two level rows blended (float32, as _up_axis along the rows)
                for q in range(w):
                    u = a_s[q] * omt + b_s[q] * t
                    g = a_g[q] * omt + b_g[q] * t
                    v = zs[q]
                    better = u > v
                    br[q] = bu[q] if better else br[q]
                    zs[q] = u if (better or u != u) else v  # numpy.maximum: NaN wins
                    gv = zg[q]
                    zg[q] = g if (g > gv or g != g) else gv
                    dr[q] = dr[q] | fu[q]
            else:
                for q in range(w):
                    u = a_s[q]
                    g = a_g[q]
                    v = zs[q]
                    better = u > v
                    br[q] = bu[q] if better else br[q]
                    zs[q] = u if (better or u != u) else v
                    gv = zg[q]
                    zg[q] = g if (g > gv or g != g) else gv
                    dr[q] = dr[q] | fu[q]


def merge_levels(
    z_seed: NDArray[np.float32],
    z_grow: NDArray[np.float32],
    best: NDArray[np.int8],
    detected: NDArray[np.bool_],
    levels: list[tuple[_Level, int]],
) -> None:
    """``_resample.merge_level`` of each ``(level, f)`` of ``levels`` in turn, the first
    with ``first=True`` (written), into the (H, W) ``z_seed``, ``z_grow`` (float32),
    ``best`` (int8) and ``detected`` (bool), in place, in one pass over them."""
    if not levels:
        return
    parts = [
        tuple(
            np.ascontiguousarray(a, t)
            for a, t in zip(lv, (np.float32, np.float32, np.int8, bool), strict=True)
        )
        for lv, _ in levels
    ]
    if not z_seed.size or any(p[0].size == 0 for p in parts):
        # an empty level is skipped by merge_level: level by level
        for i, (lv, f) in enumerate(levels):
            merge_level(z_seed, z_grow, best, detected, lv, f, first=i == 0)
        return
    fs = np.array([int(f) for _, f in levels], np.intp)
    _merge_all(
        tuple(p[0] for p in parts), tuple(p[1] for p in parts), tuple(p[2] for p in parts),
        tuple(p[3] for p in parts), fs, z_seed, z_grow, best, detected,
    )  # fmt: skip
