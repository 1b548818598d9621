"""``segment_vessels``: image -> :class:`VesselMap` (mask, radius, centreline graph, confidence)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from .._arrays import readonly as _readonly
from .._validation import check_image, check_positive
from ..config import DuraMode
from . import _filters as flt
from ._graph import find_stumps, radius_and_graph

__all__ = ["VesselMap", "segment_vessels", "ModeSettings", "MODE_SETTINGS"]


@dataclass(frozen=True)
class ModeSettings:
    """Detection settings of one dura mode (response units: relative darkness).

    Parameters
    ----------
    high_floor, low_floor : float
        Least hysteresis thresholds on the vesselness response.
    high_noise, low_noise : float
        Thresholds as multiples of the pixel noise of the darkness image (1.4826 MAD of
        its fine-scale residual; pure noise exceeds 1.1x that in 1e-5 of the pixels);
        the larger of floor and noise-based value is used.
    edge_fraction : float
        A detected pixel is lumen where its darkness is at least this fraction of the
        local peak darkness (0.5: the half-maximum edge of a blurred vessel).
    wide_scale_px : float
        A seed pixel must exceed ``high * (1 + scale / wide_scale_px)`` where ``scale``
        is its best filter scale (px): wide vessels are thick and dark.
    red_weight : float
        Weight of the red channel's relative darkness subtracted from the green one
        (cancels shading; thick blood is dark in red too, so less through the veil).
    disc_noise : float
        Small dark discs (penetrating stumps) are detected where the dark-disc response
        of the darkness (at 0.7 px) exceeds ``disc_noise`` times its pixel noise (and
        ``low_floor``).
    dark_weak : float
        Pixels whose darkness (smoothed over 2 px) is at least ``dark_weak * high`` extend a
        detection like pixels above the low threshold (0: off).
    disc_green : float
        Also detect dark discs in the green darkness on the 2 x 2 level (smoothed 0.87
        level px, the blur of the dura veil) above ``disc_green`` times its noise; the
        discs and their neighbouring level pixels become lumen (0: off).
    stump_noise : float
        A compact speck is kept as a penetrating stump only if its darkest pixel
        (smoothed 0.7 px) is at least ``stump_noise`` times the pixel noise: a stump is a
        nearly opaque blood column; fainter specks are noise that passed the thresholds.
    """

    high_floor: float
    low_floor: float
    high_noise: float
    low_noise: float
    edge_fraction: float
    wide_scale_px: float
    red_weight: float
    disc_noise: float
    dark_weak: float
    disc_green: float
    stump_noise: float


MODE_SETTINGS: dict[DuraMode, ModeSettings] = {
    # the dura veil lowers relative contrast and blurs: lower floors, a lower edge fraction
    DuraMode.DURECTOMY: ModeSettings(0.05, 0.025, 1.6, 0.8, 0.5, 8.0, 0.5, 0.85, 0.0, 0.0, 4.0),
    DuraMode.TRANSDURAL: ModeSettings(0.03, 0.015, 1.6, 0.8, 0.3, 16.0, 0.5, 0.85, 2.0, 0.5, 4.0),
}


@dataclass(frozen=True, eq=False)
class VesselMap:
    """Segmented vessels of one image. Arrays are read-only, (H, W), (row, col) order.

    Attributes
    ----------
    mask : (H, W) bool
        Vessel lumen (surface vessels, dural vessels in transdural mode, stumps).
    radius_um : (H, W) float32
        Estimated lumen radius of the vessel each mask pixel belongs to; 0 off vessels.
    graph : networkx.Graph
        Centreline graph: node attributes ``rc`` (row, col), ``xyz_um`` (x, y, 0),
        ``radius_um``, ``n_pixels``; edge attribute ``length_um``.
    vesselness : (H, W) float32 in [0, 1]
        Multi-scale Hessian response divided by twice the high threshold, clipped.
    confidence : (H, W) float32 in [0, 1]
        How sure the label (vessel or not) of each pixel is: low on faint candidates
        below the detection thresholds and on weakly detected vessels.
    penetrating : (n, 3) float
        Detected penetrating vessel stumps: row, col, radius_um.
    pixel_size_um : float
    dura_mode : DuraMode
    """

    mask: NDArray[np.bool_]
    radius_um: NDArray[np.float32]
    graph: nx.Graph
    vesselness: NDArray[np.float32]
    confidence: NDArray[np.float32]
    penetrating: NDArray[np.float64]
    pixel_size_um: float
    dura_mode: DuraMode

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (H, W)."""
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))

    @property
    def vessel_fraction(self) -> float:
        """Fraction of the image covered by vessel lumen."""
        return float(self.mask.mean())


F32 = NDArray[np.float32]


def _channels(image: Any) -> tuple[F32, F32 | None, float]:
    """Validated green (or grey) and red channels as float32, (H, W) each, and the factor
    that scales them to [0, 1] (only absolute thresholds need it: darkness is a ratio).

    Integer images are checked by shape and dtype only and converted one channel at a
    time; other inputs go through :func:`check_image` (NaN checks, clipping).
    """
    if isinstance(image, np.ndarray) and image.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got shape {image.shape}")
    if isinstance(image, np.ndarray) and image.dtype in (np.uint8, np.uint16):
        check_image(image[:2, :2], name="image", min_size=1)  # dtype and channel count
        h, w = image.shape[:2]
        if min(h, w) < 2:
            raise ValueError(f"image must be at least 2x2 pixels, got shape {image.shape}")
        if max(h, w) > 8192:
            raise ValueError(f"image must be at most 8192x8192 pixels, got shape {image.shape}")
        scale = 1.0 / (255.0 if image.dtype == np.uint8 else 65535.0)
        if image.ndim == 2:
            return image.astype(np.float32), None, scale
        return image[..., 1].astype(np.float32), image[..., 0].astype(np.float32), scale
    img = check_image(image, name="image", min_size=2)
    if img.ndim == 2:
        return img, None, 1.0
    return np.ascontiguousarray(img[..., 1]), np.ascontiguousarray(img[..., 0]), 1.0


_BONE_GREEN_RED = 0.84
"""Bone (and other whitish tissue) reflects green nearly as well as red (green/red about
0.9); cortex, seen bare or through the dura, and blood reflect far less green (0.6-0.75)."""


def _bg_factor(size_px: float, shape: tuple[int, int]) -> int:
    f = 1
    while size_px / f > 12 and min(shape) // (2 * f) >= 16:
        f *= 2
    return f


_UNLIT = 0.04
"""A block whose mean brightness (red, or grey) is below this (10 of 255) is outside the
lit field (the black surround of a fundus photograph). Blood under the brightest light
stays above it in red, where haemoglobin absorbs least."""


def _excluded(
    green_s: F32, red_s: F32 | None, scale: float
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Blocks of a background level that are not cortex, and the unlit ones among them:
    whitish bone (colour images) or unlit (mean brightness below ``_UNLIT``), each grown
    by one block so mixed blocks at a border are included."""
    unlit = (red_s if red_s is not None else green_s) < np.float32(_UNLIT / scale)
    if unlit.any():
        unlit = ndi.binary_dilation(unlit, iterations=1)
    if red_s is None:
        return unlit, unlit
    bone = (green_s > np.float32(_BONE_GREEN_RED) * red_s) & (green_s > np.float32(0.1 / scale))
    if bone.any():
        bone = ndi.binary_dilation(bone, iterations=1)
    return unlit | bone, unlit


def _and_blocks(mask: NDArray[np.bool_], blocks: NDArray[np.bool_], f: int) -> None:
    """``mask &= blocks`` upsampled by ``f`` (nearest; pixels beyond the last whole block
    take the last block), in place, without building the upsampled mask."""
    hb, wb = blocks.shape
    h, w = min(mask.shape[0], hb * f), min(mask.shape[1], wb * f)
    hb, wb = h // f, w // f
    if hb and wb:
        view = mask[: hb * f, : wb * f].reshape(hb, f, wb, f)
        view &= blocks[:hb, None, :wb, None]
    if mask.shape[0] > hb * f:  # leftover rows and columns: nearest block
        r = np.minimum(np.arange(hb * f, mask.shape[0]) // f, blocks.shape[0] - 1)
        c = np.minimum(np.arange(mask.shape[1]) // f, blocks.shape[1] - 1)
        mask[hb * f :] &= blocks[r][:, c]
    if mask.shape[1] > wb * f:
        r = np.minimum(np.arange(hb * f) // f, blocks.shape[0] - 1)
        c = np.minimum(np.arange(wb * f, mask.shape[1]) // f, blocks.shape[1] - 1)
        mask[: hb * f, wb * f :] &= blocks[r][:, c]


def _inverse_background(
    small: F32, *, size_px: float, f: int, shape: tuple[int, int], exclude: NDArray[np.bool_]
) -> F32:
    """1 / background brightness at full resolution (see :func:`~._filters.background`),
    from the block-mean level ``small`` (blocks of ``f`` px, where the window spans at
    most 12 blocks), bilinearly upsampled. ``exclude``d blocks (bone, unlit) take the
    value of the nearest other block first, so bright bone does not raise the cortex
    background at the rim."""
    if exclude.any() and not exclude.all():
        _, (ri, ci) = ndi.distance_transform_edt(exclude, return_indices=True)
        small = small[ri, ci]
    bg = flt.background(small, size_px=size_px / f)
    inv: F32 = (np.float32(1.0) / np.maximum(bg, np.float32(1e-3))).astype(np.float32)
    return flt.upsample_linear(inv, shape, f) if f > 1 else inv


def _darkness(
    green: F32,
    red: F32 | None,
    *,
    size_px: float,
    red_weight: float = 0.5,
    scale: float = 1.0,
    green_level1: bool = False,
    pool: ThreadPoolExecutor,
) -> tuple[F32, F32, F32 | None]:
    """Relative darkness of blood, (H, W) float32: vessels positive, background ~0.

    Grey images: ``1 - grey / background``. Colour images: the same in green (where
    haemoglobin absorbs most) minus ``red_weight`` times the same in red (where it absorbs
    least): shading, shadows and vignetting darken all channels by the same factor and
    cancel, blood does not. Whitish bone and unlit surroundings are left out of the
    background estimate and set to 0 (no step at their border for the Hessian to take
    for the side of a dark vessel). Specular glints (15 % above the background, nearly
    white) are filled from their surroundings by normalised convolution.
    """
    shape = green.shape
    f = _bg_factor(size_px, shape)
    gs = flt.block_mean(green, f) if f > 1 else green
    rs = (flt.block_mean(red, f) if f > 1 else red) if red is not None else None
    excl, unlit = _excluded(gs, rs, scale)

    def relative(channel: F32, small: F32) -> F32:
        return channel * _inverse_background(small, size_px=size_px, f=f, shape=shape, exclude=excl)

    fut = pool.submit(relative, red, rs) if red is not None and rs is not None else None
    q = relative(green, gs)
    qr = fut.result() if fut is not None else None
    glint = q > np.float32(1.15)
    dark = np.float32(1.0) - q
    dark_g = dark.copy() if green_level1 and red is not None else None
    if qr is not None:
        tmp = qr - np.float32(1.0)
        tmp *= np.float32(red_weight)
        dark += tmp
    if excl.any():
        # inside excluded blocks: whitish pixels (bone) are flat background, and so are
        # pixels far darker than the lit background in red (or grey) in and beside unlit
        # blocks (the fall-off at the edge of the lit field); beside bone such a pixel is
        # blood: a thick vein leaving under the bone is dark in red too
        px = (qr if qr is not None else q) < np.float32(0.3)
        _and_blocks(px, unlit, f)
        if red is not None:
            px |= green > np.float32(_BONE_GREEN_RED) * red
        _and_blocks(px, excl, f)
        np.putmask(dark, px, np.float32(0))
        if dark_g is not None:
            np.putmask(dark_g, px, np.float32(0))
        # no glints on bone or in the dark: bright there is not specular
        _and_blocks(glint, ~excl, f)
    rows, cols = np.nonzero(glint)
    if red is not None and rows.size:
        # glints are white: bright in red as well as in green
        white = red[rows, cols] > np.float32(0.6 / scale)
        rows, cols = rows[white], cols[white]
    level1 = flt.downsample2(dark) if min(dark.shape) >= 2 else dark
    green1 = None
    if green_level1:
        g_src = dark_g if dark_g is not None else dark
        green1 = flt.downsample2(g_src) if min(dark.shape) >= 2 else g_src
    if rows.size and min(dark.shape) >= 16:
        # fill glints (and one pixel around) by normalised convolution on the 2 x 2
        # block-mean level (sigma 1.5 blocks): the level without the glint pixels
        h, w = level1.shape
        rr = np.clip(rows[:, None] + np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1]), 0, 2 * h - 1).ravel()
        cc = np.clip(cols[:, None] + np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1]), 0, 2 * w - 1).ravel()
        flat = np.unique(rr * (2 * w) + cc)
        rr, cc = flat // (2 * w), flat % (2 * w)
        # only the band of level rows holding glints (+ the kernel's reach) is filtered
        r0, r1 = max(int(rr.min()) // 2 - 6, 0), min(int(rr.max()) // 2 + 7, h)
        num = level1[r0:r1].copy()
        den = np.ones_like(num)
        np.subtract.at(num, (rr // 2 - r0, cc // 2), dark[rr, cc] * np.float32(0.25))
        np.subtract.at(den, (rr // 2 - r0, cc // 2), np.float32(0.25))
        num, den = flt.gauss(num, 1.5), flt.gauss(den, 1.5)
        d = np.maximum(den[rr // 2 - r0, cc // 2], np.float32(1e-3))
        dark[rr, cc] = np.where(d > 1e-3, num[rr // 2 - r0, cc // 2] / d, 0)
        # the level's blocks holding filled pixels, again from the filled image
        blocks = np.unique((rr // 2) * w + cc // 2)
        br, bc = blocks // w, blocks % w
        level1[br, bc] = (
            dark[2 * br, 2 * bc]
            + dark[2 * br + 1, 2 * bc]
            + dark[2 * br, 2 * bc + 1]
            + dark[2 * br + 1, 2 * bc + 1]
        ) * 0.25
    return dark, level1, green1


def _noise_level(dark: F32) -> float:
    """Robust pixel noise of the darkness image: 1.4826 MAD of the fine-scale residual,
    over the tissue pixels of a central crop of up to 512 x 512 pixels."""
    h, w = dark.shape
    r0, c0 = max(0, h // 2 - 256), max(0, w // 2 - 256)
    crop = dark[r0 : r0 + 512, c0 : c0 + 512]
    resid = crop - flt.gauss(crop, 1.0)
    lit = crop != 0  # bone and unlit pixels were set to exactly 0
    if lit.sum() >= 64:
        resid = resid[lit]
    return float(1.4826 * np.median(np.abs(resid - np.median(resid))))


def _fill_small_holes(
    mask: NDArray[np.bool_], max_area: int, f: int, dark: F32 | None = None
) -> NDArray[np.bool_]:
    """Fill holes of at most ``max_area`` pixels: background components (4-connected) of
    the mask max-pooled over f x f blocks, so holes narrower than a block stay open."""
    pooled = np.asarray(flt.downmax2(mask) if f == 2 else mask, dtype=bool)
    lab, n = ndi.label(np.logical_not(pooled))
    if n <= 1:
        return mask
    area = np.bincount(lab.ravel(), minlength=n + 1) * (f * f)
    small = area <= max_area
    small[0] = False
    if dark is not None and small.any():
        # a hole is filled only if it is at least half as dark as the vessel ring around
        # it (a junction centre, a filled glint); a lighter one is tissue between vessels
        d1 = flt.downmax2(dark) if f == 2 else dark
        h, w = lab.shape
        for i, sl in enumerate(ndi.find_objects(np.where(small[lab], lab, 0)), start=1):
            if sl is None:
                continue
            r0, r1 = max(sl[0].start - 2, 0), min(sl[0].stop + 2, h)
            c0, c1 = max(sl[1].start - 2, 0), min(sl[1].stop + 2, w)
            hole = lab[r0:r1, c0:c1] == i
            ring = ndi.binary_dilation(hole, iterations=2) & pooled[r0:r1, c0:c1]
            win = d1[r0:r1, c0:c1]
            if ring.any() and win[hole].mean() < 0.5 * win[ring].mean():
                small[i] = False
    if not small.any():
        return mask
    hr, hc = np.nonzero(small[lab])
    r, c = _expand(hr, hc, f, mask.shape)
    out = mask.copy()
    out[r, c] = True
    return out


def _expand(
    rows: NDArray[np.intp], cols: NDArray[np.intp], f: int, shape: tuple[int, int]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Full-resolution pixels of level pixels (f x f blocks), inside ``shape``."""
    dr, dc = np.divmod(np.arange(f * f), f)
    r = (rows[:, None] * f + dr).ravel()
    c = (cols[:, None] * f + dc).ravel()
    ok = (r < shape[0]) & (c < shape[1])
    return r[ok], c[ok]


def _hysteresis(resp: F32, seed: NDArray[np.bool_], low: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Connected components of ``low`` (8-connected) holding a ``seed`` pixel."""
    lab, n = ndi.label(low, structure=np.ones((3, 3), bool))
    keep = np.zeros(n + 1, bool)
    keep[lab[seed & low]] = True
    keep[0] = False
    out: NDArray[np.bool_] = keep[lab]
    return out


def _stump_discs(
    dark: F32, green1: F32 | None, *, noise: float, st: ModeSettings, shape: tuple[int, int]
) -> tuple[F32, NDArray[np.bool_]]:
    """The lightly smoothed darkness (sigma 0.7 px) and the pixels of small dark discs,
    penetrating-stump candidates: found at full resolution (a 2-pixel stump is diluted in
    the pyramid), relative to the pixel ``noise``."""
    dark_s = flt.gauss(dark, 0.7)
    disc = flt.disc_response(dark_s)
    disc *= np.float32(0.49)
    discs = disc >= np.float32(max(st.disc_noise * noise, st.low_floor))
    if green1 is not None:
        # through the dura the veil blurs a stump over ~1.5 px and the red correction
        # hides it (a blood column is dark in red too): green darkness on the 2 x 2 level
        g_disc = flt.disc_response(flt.gauss(green1, 0.87))
        g_disc *= np.float32(0.87**2)
        hit = g_disc >= np.float32(max(st.disc_green * _noise_level(green1), st.low_floor / 2))
        if hit.any():
            hit = ndi.binary_dilation(hit, iterations=1)
            hr, hc = np.nonzero(hit)
            hr, hc = _expand(hr, hc, 2 if min(shape) >= 2 else 1, shape)
            discs[hr, hc] = True
    return dark_s, discs


def _confidence(
    resp: F32,
    mask: NDArray[np.bool_],
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    ok: NDArray[np.bool_],
    ratio: F32,
    *,
    high: float,
    low: float,
    shape: tuple[int, int],
    base: int,
) -> tuple[F32, F32]:
    """Vesselness (response / 2 high thresholds, in [0, 1]) and per-pixel confidence at
    full resolution: on the mask the response over the high threshold, off it one minus
    the response over the low threshold; edge candidates (``rows``, ``cols``) that failed
    the lumen-edge test (``ok``) are as sure as their darkness ``ratio`` is far below the
    edge darkness."""
    rel = np.clip(resp * np.float32(1 / high), 0, 2).astype(np.float32)
    rel = flt.upsample2(rel, shape) if base else rel
    vesselness = rel * np.float32(0.5)
    confidence = rel * np.float32(-high / low)
    confidence += np.float32(1)
    np.maximum(confidence, 0, out=confidence)
    np.copyto(confidence, np.minimum(rel, np.float32(1)), where=mask)
    fail = ~ok & ~mask[rows, cols]
    confidence[rows[fail], cols[fail]] = np.clip(1 - ratio[fail], 0, 1)
    return vesselness, confidence


def _lumen_edges(
    dark_s: F32,
    detected: NDArray[np.bool_],
    best: F32,
    *,
    f: int,
    shape: tuple[int, int],
    edge_fraction: float,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_], F32]:
    """Lumen test of the full-resolution pixels of the detected level blocks (``f`` px)
    and their neighbours: (rows, cols) of the pixels examined, whether each is lumen (its
    smoothed darkness ``dark_s`` at least ``edge_fraction`` of the local peak darkness),
    and that ratio. ``best`` is the best scale (px) of each level pixel."""
    det_grow = ndi.binary_dilation(detected, iterations=1) if f > 1 else detected
    r1, c1 = np.nonzero(det_grow)
    rows, cols = _expand(r1, c1, f, shape)

    # peak darkness around each pixel, over a half-width of 2.5 best scales: level L of
    # a max-pooled pyramid, max-filtered over 5 x 5 blocks, holds only pixels of vessels
    # at least that wide (so a thin dark vessel beside a wide faint one is not its peak)
    def level_of(b: F32) -> NDArray[np.int8]:
        hw_px = 2.5 * b
        return np.clip(np.ceil(np.log2(np.maximum(hw_px, 2.5 * f) / (2.5 * f))), 0, 7).astype(
            np.int8
        )

    lvl = level_of(best)
    pooled = flt.downmax2(dark_s)[: detected.shape[0], : detected.shape[1]] if f > 1 else dark_s
    peak_lv = [np.where(detected, pooled, 0).astype(np.float32)]
    lvl_lv = [lvl]
    top = int(lvl.max()) if lvl.size else 0
    while len(peak_lv) <= top and min(peak_lv[-1].shape) >= 8:
        # mean darkness of the wide enough vessel pixels of each 2 x 2 block (a mean,
        # not a max, so the peak is not raised by noise maxima)
        keep = ((lvl_lv[-1] >= len(peak_lv)) & (peak_lv[-1] > 0)).astype(np.float32)
        num = flt.downsample2(peak_lv[-1] * keep)
        den = flt.downsample2(keep)
        peak_lv.append(
            np.where(den > 0, num / np.maximum(den, np.float32(1e-6)), 0).astype(np.float32)
        )
        lvl_lv.append(np.asarray(flt.downmax2(lvl_lv[-1]), np.int8)[: num.shape[0], : num.shape[1]])
    need = np.minimum(
        lvl[np.minimum(rows // f, lvl.shape[0] - 1), np.minimum(cols // f, lvl.shape[1] - 1)],
        len(peak_lv) - 1,
    )
    peak = np.zeros(rows.size, np.float32)
    for lv, img_lv in enumerate(peak_lv):
        sel = np.nonzero(need == lv)[0]
        if sel.size:
            m5 = flt.max5(img_lv)
            g = f * 2**lv
            peak[sel] = m5[
                np.minimum(rows[sel] // g, m5.shape[0] - 1),
                np.minimum(cols[sel] // g, m5.shape[1] - 1),
            ]
    edge = np.float32(edge_fraction) * peak
    ratio = dark_s[rows, cols] / np.maximum(edge, np.float32(1e-6))
    return rows, cols, ratio >= 1, ratio


def _drop_specks_keep_stumps(
    mask: NDArray[np.bool_],
    discs: NDArray[np.bool_],
    dark_s: F32,
    *,
    pixel_size_um: float,
    min_diameter_um: float,
    noise: float,
    st: ModeSettings,
) -> NDArray[np.float64]:
    """Remove from ``mask`` (in place) the components smaller than a vessel segment
    (``(2 dmin / pixel size)^2`` px) unless they are penetrating stumps: compact or holding
    a disc detection, and with a darkest pixel of ``dark_s`` at least ``st.stump_noise``
    times the pixel ``noise``. Returns the stumps, (n, 3) (row, col, radius_um)."""
    px, dmin = pixel_size_um, min_diameter_um
    stumps, labels, stump_labels, stats = find_stumps(mask, pixel_size_um=px, discs=discs)
    min_area = max(4.0, (2.0 * dmin / px) ** 2)
    speck = stats["area"] < min_area
    speck[0] = False
    if stump_labels.size:
        cand = np.zeros(len(stats["area"]), bool)
        cand[stump_labels] = True
        on = cand[labels]
        peak = np.full(cand.size, -np.inf, np.float32)
        np.maximum.at(peak, labels[on], dark_s[on])
        strong = peak[stump_labels] >= np.float32(st.stump_noise * noise)
        stumps, stump_labels = stumps[strong], stump_labels[strong]
    speck[stump_labels] = False
    if speck.any():
        mask &= ~speck[labels]
    return np.asarray(stumps, dtype=np.float64)


def segment_vessels(
    image: Any,
    *,
    pixel_size_um: float,
    dura_mode: DuraMode | str = "durectomy",
    min_diameter_um: float = 20.0,
    max_diameter_um: float = 700.0,
) -> VesselMap:
    """Segment the surface blood vessels of an image of the cortex.

    Pipeline: green-weighted grey image; specular glints filled from their surroundings;
    background flattened to relative darkness; multi-scale Hessian vesselness (scales
    from ``pixel_size_um`` to cover the diameters, large scales on an image pyramid);
    hysteresis thresholds set from the response's noise; lumen edges at the local
    half-maximum darkness; small holes filled, non-compact specks removed, compact dark
    discs kept as penetrating stumps; radius from the distance transform at the
    centreline; a centreline graph. Independent branches run on two threads; the result
    does not depend on it.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array, uint8, uint16 or float in [0, 1]
        Photograph of the cortical surface (vessels darker than tissue).
    pixel_size_um : float
        Side of a pixel in micrometres (> 0).
    dura_mode : {"durectomy", "transdural"}
        Transdural images are veiled and blurred by the dura: lower detection floors and
        edge fraction, and the dural vessels are kept as hazards.
    min_diameter_um, max_diameter_um : float
        Range of vessel diameters the filter scales cover (default 20-700 um).

    Returns
    -------
    VesselMap

    Raises
    ------
    ValueError
        NaN/inf pixels, an empty, one-pixel or 4-D image, a non-positive or NaN pixel
        size, an unknown dura mode, or ``min_diameter_um > max_diameter_um``.
    TypeError
        A non-array image or an unsupported dtype.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((96, 96), 200, np.uint8)
    >>> img[:, 40:46] = 90                       # a 72 um wide vessel at 12 um/px
    >>> vm = segment_vessels(img, pixel_size_um=12.0)
    >>> bool(vm.mask[50, 43]), bool(vm.mask[50, 20])
    (True, False)
    >>> 6 <= int(vm.mask[50].sum()) <= 8
    True
    >>> 30 <= float(vm.radius_um[50, 43]) <= 45
    True
    """
    green, red, scale = _channels(image)
    px = check_positive(pixel_size_um, name="pixel_size_um")
    mode = DuraMode.parse(dura_mode, name="dura_mode")
    dmin = check_positive(min_diameter_um, name="min_diameter_um")
    dmax = check_positive(max_diameter_um, name="max_diameter_um")
    if dmin > dmax:
        raise ValueError(f"min_diameter_um must not exceed max_diameter_um, got {dmin} > {dmax}")
    st = MODE_SETTINGS[mode]
    shape = green.shape

    with ThreadPoolExecutor(max_workers=1) as pool:  # independent branches beside this thread
        # 1. relative darkness, glints filled, shading cancelled by the red channel
        dark, level1, green1 = _darkness(
            green,
            red,
            size_px=1.5 * dmax / px,
            red_weight=st.red_weight,
            scale=scale,
            green_level1=st.disc_green > 0,
            pool=pool,
        )
        del green, red

        # 2. multi-scale vesselness on a block-mean pyramid; detection on level 1 (2x2
        # blocks); penetrating-stump candidates on the worker meanwhile
        base = 1 if min(shape) >= 16 else 0
        f = 2**base
        scales = flt.scales_for(px, min_diameter_um=dmin, max_diameter_um=dmax)
        levels = [dark, level1]
        while len(levels) < 8 and min(levels[-1].shape) >= 16:
            levels.append(flt.downsample2(levels[-1]))
        levels = levels[: max(base, 1) + int(np.ceil(np.log2(max(scales) / 0.7 + 1e-9))) + 1]
        noise = _noise_level(dark)
        fut_discs = pool.submit(_stump_discs, dark, green1, noise=noise, st=st, shape=shape)
        resp, best, _ = flt.vesselness_pyramid(levels, scales, base_level=base)
        high = max(st.high_floor, st.high_noise * noise)
        low = max(st.low_floor, st.low_noise * noise)
        # wide vessels are thick, so dark (Beer-Lambert): a wide faint structure (texture,
        # a shaded sulcus) must respond more strongly to count as a seed
        seed = resp >= np.float32(high) * (1 + best / np.float32(st.wide_scale_px))
        # a pixel dark enough on its own (smoothed) extends a detection as well: where
        # vessels overlap (a dural vessel along a pial one) the Hessian response is mixed
        weak = resp >= np.float32(low)
        if st.dark_weak > 0:
            weak |= flt.gauss(levels[base], 1.0) >= np.float32(st.dark_weak * high)
        detected = _hysteresis(resp, seed, weak)
        dark_s, discs = fut_discs.result()

        # 3. lumen edges at full resolution: darkness at least edge_fraction of the local peak
        rows, cols, ok, ratio = _lumen_edges(
            dark_s, detected, best, f=f, shape=shape, edge_fraction=st.edge_fraction
        )
        mask = np.zeros(shape, bool)
        mask[rows[ok], cols[ok]] = True
        mask |= discs
        # holes up to the cross-section of the widest vessel: a junction centre or a light
        # reflex, not tissue one could plan in
        mask = _fill_small_holes(mask, max_area=max(4, int((dmax / 2 / px) ** 2)), f=f, dark=dark_s)

        # 4. specks removed, compact dark discs kept as penetrating stumps
        stumps = _drop_specks_keep_stumps(
            mask, discs, dark_s, pixel_size_um=px, min_diameter_um=dmin, noise=noise, st=st
        )

        # 5. radius and centreline graph (on the 2x2 max-pooled mask) on the worker,
        # confidence meanwhile
        fut_rg = pool.submit(radius_and_graph, mask, pixel_size_um=px, factor=f)
        vesselness, confidence = _confidence(
            resp, mask, rows, cols, ok, ratio, high=high, low=low, shape=shape, base=base
        )
        radius_um, graph = fut_rg.result()
    return VesselMap(
        mask=_readonly(mask),
        radius_um=_readonly(radius_um),
        graph=graph,
        vesselness=_readonly(vesselness),
        confidence=_readonly(confidence),
        penetrating=_readonly(stumps),
        pixel_size_um=px,
        dura_mode=mode,
    )
