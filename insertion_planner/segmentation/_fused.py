"""Compiled single passes of ``segment_vessels``' per-pixel steps.

Each kernel does, in one pass over the image (or only over the pixels that matter), what a
chain of whole-image numpy operations did, with the same float32 operations in the same
order, so the result is bit for bit the numpy one (checked in
``tests/segmentation/test_fast_paths_stages.py``): every numpy step reads and writes all
16 MiB of a 2048 x 2048 float32 image, which on large images costs more than the
arithmetic.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "confidence_maps",
    "max5_at",
    "first_peak_level",
    "merge_evidence",
    "taps_on_grid2d",
    "merge_scale",
    "standardise",
    "or_above",
    "add_rows",
    "add_where",
]

F32 = NDArray[np.float32]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _clip(x: np.float32, lo: np.float32, hi: np.float32) -> np.float32:  # pragma: no cover
    """``numpy.clip`` of one float32: NaN stays NaN, a value equal to a bound (-0.0 at a
    bound of 0.0 included) is kept."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _confidence(  # pragma: no cover - compiled; checked against the numpy arithmetic
    z_seed: F32, z_grow: F32, mask: NDArray[np.bool_], rows: NDArray[np.intp],
    cols: NDArray[np.intp], ok: NDArray[np.bool_], ratio: F32,
    cleared: NDArray[np.bool_], use_cleared: bool, vesselness: F32, confidence: F32,
) -> None:  # fmt: skip
    zero, half, one, two = np.float32(0), np.float32(0.5), np.float32(1), np.float32(2)
    h, w = z_seed.shape
    for r in range(h):
        for c in range(w):
            rel = _clip(z_seed[r, c], zero, two)
            vesselness[r, c] = rel * half
            conf = one - _clip(z_grow[r, c], zero, one)
            m = mask[r, c]
            sure = one if rel > one else rel  # numpy.minimum(rel, 1), NaN kept
            # take_where's arithmetic: conf * (not m) + sure * m
            conf = conf * np.float32(not m) + sure * np.float32(m)
            if use_cleared and not m and cleared[r, c]:
                conf = zero
            confidence[r, c] = conf
    for k in range(rows.size):
        r, c = rows[k], cols[k]
        if ok[k] or mask[r, c] or (use_cleared and cleared[r, c]):
            continue
        confidence[r, c] = _clip(one - ratio[k], zero, one)


def confidence_maps(
    z_seed: F32,
    z_grow: F32,
    mask: NDArray[np.bool_],
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    ok: NDArray[np.bool_],
    ratio: F32,
    cleared: NDArray[np.bool_] | None = None,
    *,
    overwrite: bool = False,
) -> tuple[F32, F32]:
    """Vesselness and confidence, (H, W) float32 each, of ``segment._confidence`` in one
    pass: ``rel = clip(z_seed, 0, 2)``, vesselness ``rel * 0.5``; confidence
    ``1 - clip(z_grow, 0, 1)`` off ``mask`` and ``minimum(rel, 1)`` on it (as
    ``_lines.take_where`` computes it), then ``clip(1 - ratio, 0, 1)`` at the examined
    pixels ``(rows[k], cols[k])`` that failed the lumen test (``ok[k]`` false) off the
    mask, then 0 at the ``cleared`` pixels off the mask. With ``overwrite`` (float32,
    C-contiguous inputs) the results are written over ``z_seed`` and ``z_grow``
    (pixel by pixel, each read before it is written): no new 16 MiB images to fault in.
    """
    z_seed = np.ascontiguousarray(z_seed, np.float32)
    z_grow = np.ascontiguousarray(z_grow, np.float32)
    vesselness = z_seed if overwrite else np.empty(z_seed.shape, np.float32)
    confidence = z_grow if overwrite else np.empty(z_seed.shape, np.float32)
    use = cleared is not None
    cl = np.asarray(cleared, bool) if cleared is not None else np.zeros((1, 1), bool)
    _confidence(
        z_seed, z_grow, np.asarray(mask, bool), np.asarray(rows, np.intp),
        np.asarray(cols, np.intp), np.asarray(ok, bool), np.asarray(ratio, np.float32),
        cl, use, vesselness, confidence,
    )  # fmt: skip
    return vesselness, confidence


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _max5_at(  # pragma: no cover - compiled; checked against _morph.max5
    img: F32, where: NDArray[np.bool_], use_where: bool, rows: NDArray[np.intp],
    cols: NDArray[np.intp], out: F32,
) -> None:  # fmt: skip
    h, w = img.shape
    zero = np.float32(0)
    for k in range(rows.size):
        r, c = rows[k], cols[k]
        m = img[r, c] if (not use_where or where[r, c]) else zero
        for i in range(max(r - 2, 0), min(r + 3, h)):
            for j in range(max(c - 2, 0), min(c + 3, w)):
                v = img[i, j] if (not use_where or where[i, j]) else zero
                if v > m or v != v:  # numpy.maximum: NaN wins
                    m = v
        out[k] = m


def max5_at(
    img: F32,
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    where: NDArray[np.bool_] | None = None,
) -> F32:
    """``_morph.max5(a)[rows, cols]`` (the 5 x 5 maximum, the window cut at the image's
    edges) at the given pixels only, (n,) float32, with ``a = img`` or, given ``where``,
    ``numpy.where(where, img, 0)`` (not built): cheaper than the whole image when a few
    pixels of a large level read it. (Where -0.0 and 0.0 tie for the maximum, the sign
    of the zero may differ from ``max5``'s: the peak darkness it serves is only read
    through ``maximum(edge, 1e-6)``.)"""
    out = np.empty(np.shape(rows), np.float32)
    use = where is not None
    _max5_at(
        np.ascontiguousarray(img, np.float32),
        np.ascontiguousarray(where, bool) if where is not None else np.zeros((1, 1), bool),
        use,
        np.ascontiguousarray(rows, np.intp),
        np.ascontiguousarray(cols, np.intp),
        out,
    )
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _kept(  # pragma: no cover - compiled
    dark: F32, detected: NDArray[np.bool_], best: NDArray[np.int8], table: NDArray[np.int8],
    r: int, c: int,
) -> tuple[np.float32, np.float32, np.int8]:  # fmt: skip
    """One full-resolution pixel of ``_lumen_edges``' first level: (its peak darkness
    if kept, else 0, as ``peak * keep``; whether kept, 1.0 or 0.0; its level)."""
    lv = table[best[r, c]]
    p = dark[r, c] if detected[r, c] else np.float32(0)
    keep = np.float32(1) if (lv >= 1 and p > 0) else np.float32(0)
    return p * keep, keep, lv


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _first_level(  # pragma: no cover - compiled; checked against the numpy pyramid
    dark: F32, detected: NDArray[np.bool_], best: NDArray[np.int8], table: NDArray[np.int8],
    peak1: F32, lvl1: NDArray[np.int8],
) -> None:  # fmt: skip
    quarter, tiny, zero = np.float32(0.25), np.float32(1e-6), np.float32(0)
    h2, w2 = peak1.shape
    for r in range(h2):
        for c in range(w2):
            # downsample2's order: top-left, bottom-left, top-right, bottom-right
            a, ka, la = _kept(dark, detected, best, table, 2 * r, 2 * c)
            b, kb, lb = _kept(dark, detected, best, table, 2 * r + 1, 2 * c)
            d, kd, ld = _kept(dark, detected, best, table, 2 * r, 2 * c + 1)
            e, ke, le = _kept(dark, detected, best, table, 2 * r + 1, 2 * c + 1)
            num = (((a + b) + d) + e) * quarter
            den = (((ka + kb) + kd) + ke) * quarter
            peak1[r, c] = num / max(den, tiny) if den > zero else zero
            lvl1[r, c] = max(max(la, lb), max(ld, le))


def first_peak_level(
    dark: F32, detected: NDArray[np.bool_], best: NDArray[np.int8], table: NDArray[np.int8]
) -> tuple[F32, NDArray[np.int8]]:
    """The first reduced level of ``_edges.lumen_edges``' peak pyramid at full
    resolution (f = 1), without the full-resolution images: with ``peak0 =
    numpy.where(detected, dark, 0)`` and ``lvl0 = table[best]`` ((H, W) int8, each
    pixel's pyramid level), returns ``_filters.kept_block_mean(peak0, lvl0, 1)``
    ((H // 2, W // 2) float32) and ``_filters.downmax2(lvl0)`` cut to that shape
    (int8)."""
    dark = np.ascontiguousarray(dark, np.float32)
    detected = np.ascontiguousarray(detected, bool)
    best = np.ascontiguousarray(best, np.int8)
    table = np.ascontiguousarray(table, np.int8)
    h2, w2 = dark.shape[0] // 2, dark.shape[1] // 2
    peak1 = np.empty((h2, w2), np.float32)
    lvl1 = np.empty((h2, w2), np.int8)
    _first_level(dark, detected, best, table, peak1, lvl1)
    return peak1, lvl1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _merge_evidence(  # pragma: no cover - compiled; checked against the numpy merge
    z_seed: F32, z_grow: F32, best: NDArray[np.int8], detected: NDArray[np.bool_],
    far_seed: F32, far_grow: F32, far_best: NDArray[np.int8], far_found: NDArray[np.bool_],
) -> None:  # fmt: skip
    h, w = z_seed.shape
    for r in range(h):
        for c in range(w):
            u = far_seed[r, c]
            v = z_seed[r, c]
            if u > v:  # a coarser scale wins only if higher
                best[r, c] = far_best[r, c]
            z_seed[r, c] = u if (u > v or u != u) else v  # numpy.maximum: NaN wins
            g = far_grow[r, c]
            gv = z_grow[r, c]
            z_grow[r, c] = g if (g > gv or g != g) else gv
            detected[r, c] = detected[r, c] | far_found[r, c]


def merge_evidence(
    z_seed: F32,
    z_grow: F32,
    best: NDArray[np.int8],
    detected: NDArray[np.bool_],
    far: tuple[F32, F32, NDArray[np.int8], NDArray[np.bool_]],
) -> None:
    """The coarse levels' evidence ``far`` (seed, grow, best scale, detections, at full
    resolution) merged into the full-resolution scales' in place, as ``_lines.
    line_evidence`` did with numpy: ``best`` taken from ``far`` where its seed evidence
    is higher (``take_where``), the evidence by ``numpy.maximum`` (NaN wins; of a
    -0.0/0.0 tie the sign may differ), the detections or'ed; in one pass. All (H, W),
    C-contiguous."""
    _merge_evidence(z_seed, z_grow, best, detected, *far)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _taps_on_grid2d(  # pragma: no cover - compiled; checked against _filters.taps_on_grid
    a: F32, k: F32, step: int, out: F32
) -> None:
    h, w = a.shape
    rad = k.size // 2
    col = np.empty(w, np.float32)  # the column pass of one sampled row, every column
    for e in range(out.shape[0]):
        r = e * step
        # tap by tap over whole rows (contiguous, vectorised): each column still adds
        # its taps in the order j = 1, 2, ...
        row = a[r]
        k0 = k[rad]
        for c in range(w):
            col[c] = row[c] * k0
        for i in range(1, rad + 1):
            above = a[max(r - i, 0)]
            below = a[min(r + i, h - 1)]
            ki = k[rad + i]
            for c in range(w):
                col[c] += (above[c] + below[c]) * ki
        for q in range(out.shape[1]):
            c = q * step
            acc = col[c] * k[rad]
            for i in range(1, rad + 1):
                acc += (col[max(c - i, 0)] + col[min(c + i, w - 1)]) * k[rad + i]
            out[e, q] = acc


def taps_on_grid2d(a: F32, k: F32, step: int) -> F32:
    """``_filters.taps_on_grid`` along the rows' axis (0) and then along the columns'
    (1): the symmetric kernel ``k`` at every ``step``-th row and column of ``a`` (edges
    repeated), (ceil(H / step), ceil(W / step)) float32, with its float32 arithmetic
    (``a[i] k[rad]``, then ``+= (a[i - j] + a[i + j]) k[rad + j]`` for j = 1, 2, ...,
    indices clipped), in one pass without the strided temporaries."""
    a = np.ascontiguousarray(a, np.float32)
    h, w = a.shape
    out = np.empty((-(-h // step), -(-w // step)), np.float32)
    if out.size:
        _taps_on_grid2d(a, np.ascontiguousarray(k, np.float32), int(step), out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _merge_scale(  # pragma: no cover - compiled; checked against the numpy merge
    zs_l: F32, zg_l: F32, best_l: NDArray[np.int8], found_l: NDArray[np.bool_], zs: F32,
    found: NDArray[np.bool_], index: np.int8, grow: np.float32,
) -> None:  # fmt: skip
    for i in range(zs.size):
        z = zs[i]
        v = zs_l[i]
        if z > v:
            best_l[i] = index
        zs_l[i] = z if (z > v or z != z) else v  # numpy.maximum: NaN wins
        g = z * grow
        gv = zg_l[i]
        zg_l[i] = g if (g > gv or g != g) else gv
        found_l[i] = found_l[i] | found[i]


def merge_scale(
    zs_l: F32,
    zg_l: F32,
    best_l: NDArray[np.int8],
    found_l: NDArray[np.bool_],
    zs: F32,
    found: NDArray[np.bool_],
    index: int,
    grow: np.float32,
) -> None:
    """One scale's seed evidence ``zs`` and hysteresis detections ``found`` merged into
    a level's running ones in place, as ``_lines._level_evidence`` did with numpy:
    ``best_l`` set to ``index`` where ``zs > zs_l`` (``take_where``), ``zs_l`` and
    ``zg_l`` the ``numpy.maximum`` with ``zs`` and ``zs * grow`` (float32; NaN wins, of a
    -0.0/0.0 tie the sign may differ), ``found_l |= found``; in one pass. All of one
    shape, C-contiguous (``zs`` is read only)."""
    arrays = (zs_l, zg_l, best_l, found_l, zs, found)
    if not all(a.flags.c_contiguous for a in arrays) or len({a.shape for a in arrays}) != 1:
        raise ValueError("merge_scale needs C-contiguous arrays of one shape")
    _merge_scale(
        zs_l.ravel(), zg_l.ravel(), best_l.ravel(), found_l.ravel(), zs.ravel(),
        found.ravel(), np.int8(index), np.float32(grow),
    )  # fmt: skip


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _standardise(  # pragma: no cover - compiled; checked against the numpy arithmetic
    r: F32, centre: np.float32, scale: np.float32, out: F32
) -> None:
    for i in range(r.size):
        out[i] = (r[i] - centre) * scale  # two float32 roundings, as numpy's two passes


def standardise(r: F32, centre: np.float32, scale: np.float32, *, inplace: bool) -> F32:
    """``(r - centre) * scale`` in float32 as ``numpy.subtract`` then ``*=`` compute it
    (two roundings), in one pass (numpy's for other than a C-contiguous float32 ``r``);
    into ``r`` itself when ``inplace``, else a new array."""
    if not (r.dtype == np.float32 and r.flags.c_contiguous):
        z = np.subtract(r, np.float32(centre), out=r if inplace else None)
        z *= np.float32(scale)
        return z
    out = r if inplace else np.empty_like(r)
    _standardise(r.ravel(), np.float32(centre), np.float32(scale), out.ravel())
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _or_above(  # pragma: no cover - compiled; checked against the numpy arithmetic
    mask: NDArray[np.bool_], a: F32, ratio: np.float32, b: F32
) -> None:
    for i in range(mask.size):
        mask[i] = mask[i] | (a[i] > ratio * b[i])


def or_above(mask: NDArray[np.bool_], a: F32, ratio: np.float32, b: F32) -> None:
    """``mask |= a > ratio * b`` (float32 product, then the comparison) in place, in one
    pass instead of three; numpy's for other than C-contiguous arrays of one shape."""
    arrays = (mask, a, b)
    if (
        a.dtype != np.float32
        or b.dtype != np.float32
        or mask.dtype != np.bool_
        or not all(x.flags.c_contiguous and x.shape == mask.shape for x in arrays)
    ):
        mask |= a > np.float32(ratio) * b
        return
    _or_above(mask.ravel(), a.ravel(), np.float32(ratio), b.ravel())


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _add_rows(  # pragma: no cover - compiled; checked against the numpy gather
    out: F32, table: F32, which: NDArray[np.intp], lo: int, across: bool
) -> None:
    """See :func:`add_rows`."""
    m = table.shape[1]
    if not across:
        for r in range(which.size):
            t = which[r]
            for k in range(m):
                out[r, lo + k] += table[t, k]
    else:
        for k in range(m):
            for c in range(which.size):
                out[lo + k, c] += table[which[c], k]


def add_rows(out: F32, table: F32, which: NDArray[np.intp], lo: int, *, axis: int) -> None:
    """``out[:, lo:lo + m] += table[which]`` (``axis`` 0: row ``r`` of ``out`` gets
    profile ``which[r]``) or ``out[lo:lo + m, :] += table[which].T`` (``axis`` 1), in
    place, without the gathered (H, m) copy: ``out`` (H, W) float32, ``table`` (n, m)
    float32, ``which`` (H,) or (W,) indices into ``table``'s rows."""
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float32 array (it is changed in place)")
    table = np.ascontiguousarray(table, np.float32)
    which = np.ascontiguousarray(which, np.intp)
    size = out.shape[0] if axis == 0 else out.shape[1]
    if which.shape != (size,) or lo < 0 or lo + table.shape[1] > out.shape[1 - axis]:
        raise ValueError(f"which must be ({size},) and the profiles inside out, got {which.shape}")
    _add_rows(out, table, which, int(lo), axis == 1)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _add_where(  # pragma: no cover - compiled; checked against the numpy arithmetic
    base: F32, add: F32, where: NDArray[np.bool_]
) -> None:
    """See :func:`add_where` (flat arrays)."""
    for i in range(base.size):
        add[i] = base[i] + add[i] if where[i] else base[i]


def add_where(base: F32, add: F32, where: NDArray[np.bool_]) -> F32:
    """``numpy.where(where, base + add, base)`` (float32), written over ``add`` (H, W)
    float32, C-contiguous, which is returned."""
    if add.dtype != np.float32 or not add.flags.c_contiguous:
        raise ValueError("add must be a C-contiguous float32 array (it is overwritten)")
    if base.shape != add.shape or where.shape != add.shape:
        raise ValueError(f"base and where must have the shape of add {add.shape}")
    base = np.ascontiguousarray(base, np.float32)
    _add_where(base.ravel(), add.ravel(), np.ascontiguousarray(where, bool).ravel())
    return add
