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
the pixels above the low threshold that reach the high one, by a flood fill from each
seed (a depth-first stack, each pixel pushed once) that visits only the pixels it fills
and their neighbours, instead of thresholding the evidence twice and joining the row runs
of the whole grow mask (``_runs.seeded_components``: the same set).

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
