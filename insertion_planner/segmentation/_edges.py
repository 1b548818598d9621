"""The lumen-edge test of ``segment_vessels`` (step 3): a detected pixel is lumen where
its smoothed darkness reaches a fraction of the local peak darkness of vessels at least
as wide as its best scale (the half-maximum edge of a blurred vessel profile)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from . import _filters as flt

__all__ = ["expand", "lumen_edges"]

F32 = NDArray[np.float32]


def expand(
    rows: NDArray[np.intp], cols: NDArray[np.intp], f: int, shape: tuple[int, int]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Full-resolution pixels of level pixels (f x f blocks), inside ``shape``."""
    dr, dc = np.divmod(np.arange(f * f), f)
    r = (rows[:, None] * f + dr).ravel()
    c = (cols[:, None] * f + dc).ravel()
    ok = (r < shape[0]) & (c < shape[1])
    return r[ok], c[ok]


def lumen_edges(
    dark_s: F32,
    detected: NDArray[np.bool_],
    best: NDArray[np.int8],
    *,
    f: int,
    shape: tuple[int, int],
    edge_fraction: float,
    scales: tuple[float, ...],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_], F32]:
    """Lumen test of the full-resolution pixels of the detected level blocks (``f`` px)
    and their neighbours: (rows, cols) of the pixels examined, whether each is lumen (its
    smoothed darkness ``dark_s`` at least ``edge_fraction`` of the local peak darkness),
    and that ratio. ``best`` is the index in ``scales`` (px) of the best scale of each
    level pixel."""
    from ._fused import first_peak_level, max5_at  # numba: compiled on first use

    if f > 1:
        r1, c1 = flt.nonzero2d(ndi.binary_dilation(detected, iterations=1))
        rows, cols = expand(r1, c1, f, shape)
    else:
        rows, cols = flt.nonzero2d(detected)

    # peak darkness around each pixel, over a half-width of 2.5 best scales: level L of
    # a max-pooled pyramid, max-filtered over 5 x 5 blocks, holds only pixels of vessels
    # at least that wide (so a thin dark vessel beside a wide faint one is not its peak)
    def level_of(b: F32) -> NDArray[np.int8]:
        hw_px = 2.5 * b
        return np.clip(np.ceil(np.log2(np.maximum(hw_px, 2.5 * f) / (2.5 * f))), 0, 7).astype(
            np.int8
        )

    # ``best`` indexes ``scales``: each scale's level, looked up
    table = level_of(np.asarray(scales, np.float32))
    peak_lv: list[F32 | None]
    if f == 1:
        # the full-resolution level (the darkness of the detected pixels, each pixel's
        # level) is not built: its first reduction is made from the inputs in one
        # compiled pass, and the few pixels that read level 0 read it there
        # levels are built up to the coarsest any scale has (not only those some pixel
        # has): the extra ones are never read, and no pass over ``best`` is needed
        top = int(table.max()) if best.size else 0
        peak_lv, lvl_lv = [None], [None]
        if top >= 1 and min(detected.shape) >= 8:
            peak1, lvl1 = first_peak_level(dark_s, detected, best, table)
            peak_lv.append(peak1)
            lvl_lv.append(lvl1)
        at_lvl = np.take(table, np.take(best, rows * best.shape[1] + cols))
    else:
        lvl = np.take(table, best)
        pooled = flt.downmax2(dark_s)[: detected.shape[0], : detected.shape[1]]
        peak_lv = [np.where(detected, pooled, np.float32(0)).astype(np.float32, copy=False)]
        lvl_lv = [lvl]
        top = int(lvl.max()) if lvl.size else 0
        at_lvl = lvl[
            np.minimum(rows // f, lvl.shape[0] - 1), np.minimum(cols // f, lvl.shape[1] - 1)
        ]
    while len(peak_lv) <= top and (last := peak_lv[-1]) is not None and min(last.shape) >= 8:
        # mean darkness of the wide enough vessel pixels of each 2 x 2 block (a mean,
        # not a max, so the peak is not raised by noise maxima)
        peak_lv.append(flt.kept_block_mean(last, lvl_lv[-1], len(peak_lv)))
        hl, wl = peak_lv[-1].shape
        lvl_lv.append(np.asarray(flt.downmax2(lvl_lv[-1]), np.int8)[:hl, :wl])
    need = np.minimum(at_lvl, len(peak_lv) - 1)
    peak = np.zeros(rows.size, np.float32)
    for lv, img_lv in enumerate(peak_lv):
        sel = np.nonzero(need == lv)[0]
        if not sel.size:
            continue
        g = f * 2**lv
        if img_lv is None:  # level 0 at full resolution (f = 1), not built
            if sel.size < detected.size // 8:
                # few pixels read it (those of the thinnest vessels): their windows only
                peak[sel] = max5_at(dark_s, rows[sel], cols[sel], where=detected)
            else:
                peak[sel] = flt.max5(np.where(detected, dark_s, np.float32(0)))[
                    rows[sel], cols[sel]
                ]
            continue
        if f == 1:  # g = 2**lv: a shift, not an integer division (not vectorised)
            r_lv = np.minimum(rows[sel] >> lv, img_lv.shape[0] - 1)
            c_lv = np.minimum(cols[sel] >> lv, img_lv.shape[1] - 1)
        else:
            r_lv = np.minimum(rows[sel] // g, img_lv.shape[0] - 1)
            c_lv = np.minimum(cols[sel] // g, img_lv.shape[1] - 1)
        if sel.size < img_lv.size // 8:
            peak[sel] = max5_at(img_lv, r_lv, c_lv)
        else:
            peak[sel] = flt.max5(img_lv)[r_lv, c_lv]
    edge = np.float32(edge_fraction) * peak
    ratio = np.take(dark_s, rows * dark_s.shape[1] + cols) / np.maximum(edge, np.float32(1e-6))
    return rows, cols, ratio >= 1, ratio
