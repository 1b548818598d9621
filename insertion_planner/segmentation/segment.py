"""``segment_vessels``: image -> :class:`VesselMap` (mask, radius, centreline graph, confidence)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from .._arrays import readonly as _readonly
from .._validation import check_positive
from ..config import PIXEL_SIZE_RANGE_UM, DuraMode
from . import _filters as flt
from ._between import lumen_between_edges
from ._channels import image_channels
from ._darkness import darkness
from ._attenuation import colour_kept, washed_out
from ._darkness import _UNLIT
from ._blur import BlurEstimates, blur_estimates, blur_map_px
from ._detect import (
    ABSORPTION_LENGTH_UM,
    ScaleCalibration,
    disc_evidence,
    line_evidence,
    local_spread_ratio,
)
from ._edges import expand as _expand
from ._edges import lumen_edges as _lumen_edges
from ._floor import detectability_floor
from ._graph import centreline_graph, radius_and_skeleton, stumps_of_pixels
from ._lines import _unit_spread
from ._runs import small_component_runs
from ._select import median
from ._width import deblurred_lumen

__all__ = ["VesselMap", "segment_vessels", "EDGE_FRACTION", "RED_WEIGHT"]

EDGE_FRACTION = 0.5
"""A detected pixel is lumen where its darkness is at least this fraction of the local
peak darkness: the half-maximum edge of a blurred vessel profile."""

RED_WEIGHT = 0.5
"""Weight of the red channel's relative darkness subtracted from the vessel channel's (green,
or green and blue blended, ``_channels.vessel_blend``): shading
darkens every channel by the same factor and cancels; haemoglobin absorbs about ten times
less in red than in green (Prahl's tabulated molar extinction, 560 vs 600-650 nm)."""


THIN_BLUR_PERCENTILE = 10.0
"""Percentile of the blur estimates of each block (``_blur.blur_map_px``) that thin
vessels are narrowed by: the sharpest edges nearby, so that a lumen is never narrowed more
than the least blur the image shows justifies (a larger blur would make every thin vessel
look thinner than it is)."""

THIN_BLUR_CAP_PERCENTILE = 90.0
"""Percentile of the image's edge blur estimates up to which its thin profiles' own blur
(``_width.line_blur_px``) may raise the thin vessels' blur: a guard for an image whose
thinnest vessels are wider than ``min_diameter_um`` (they read too large a blur)."""

THIN_MAX_RADIUS_PX = 4.0
"""Vessels whose half-maximum lumen is at most this radius (px), and pixels more than 3 px
from any wider vessel, are measured for the blur taken off (``_width.deblurred_lumen``);
wider ones have their edge at the half-maximum. Above ``THIN_MAX_FWHM_PX / 2``: thin
vessels side by side or crossing merge into a wider half-maximum lumen."""

THIN_MAX_FWHM_PX = 6.0
"""Profiles at most this wide at half height (px) are narrowed; wider ones keep their
half-maximum edge. At 8 px, the edge of a 7 px vessel where a missed 44 um branch leaves
it was narrowed by a pixel, and an allowed pixel came within 66 um of that branch (78 um
at most otherwise, on 20 synthetic durectomy cases)."""


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
    detectable_diameter_um : (H, W) float32
        Smallest vessel diameter (um) the detector would have found at each pixel, from
        the local noise and texture, the blur and the vessel contrast measured on this
        image; ``inf`` where nothing could be seen (no data, unlit, bone, saturated, or
        no vessel contrast anywhere to judge by).
    no_data : (H, W) bool
        Pixels without data (transparent).
    vessel_polarity : {"dark", "bright"}
    calibration : tuple of ScaleCalibration
        Each filter scale's threshold as measured on this image.
    noise_fraction : float
        Pixel noise relative to the background brightness (1.4826 MAD of the fine-scale
        residual of the relative darkness over the lit pixels; nan when none is lit).
    vessel_contrast : float
        Median relative darkness of the inner pixels of the vessels found (nan: none).
    blur_px : (H, W) float32 or None
        Local optical blur (Gaussian sigma, px) measured on the edges of wide vessels
        (None when no vessel was found).
    """

    mask: NDArray[np.bool_]
    radius_um: NDArray[np.float32]
    graph: nx.Graph
    vesselness: NDArray[np.float32]
    confidence: NDArray[np.float32]
    penetrating: NDArray[np.float64]
    pixel_size_um: float
    dura_mode: DuraMode
    detectable_diameter_um: NDArray[np.float32]
    no_data: NDArray[np.bool_]
    vessel_polarity: str = "dark"
    calibration: tuple[ScaleCalibration, ...] = ()
    noise_fraction: float = float("nan")
    vessel_contrast: float = float("nan")
    blur_px: NDArray[np.float32] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (H, W)."""
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))

    @property
    def vessel_fraction(self) -> float:
        """Fraction of the image covered by vessel lumen."""
        return float(self.mask.mean())


F32 = NDArray[np.float32]


_RESIDUAL_KEEPS = 0.873
"""Share of white noise's sigma left in an image minus its 1 px Gaussian smoothing (the
truncated kernel of ``_filters.gauss``, measured on simulated noise)."""


def _gauss_on_grid(a: F32, sigma: float, step: int) -> F32:
    """``flt.gauss(a, sigma)[::step, ::step]`` without smoothing the other pixels (the
    same truncated kernel, edges repeated)."""
    from ._fused import taps_on_grid2d  # numba: compiled on first use

    # flt.taps_on_grid down the columns then along the rows, in one compiled pass
    return taps_on_grid2d(a, flt._kernel(sigma), step)


def _noise_fraction(vessel: F32, valid: NDArray[np.bool_]) -> float:
    """Pixel noise relative to the brightness: 1.4826 MAD of ``vessel`` minus its 1 px
    Gaussian smoothing over a sample of the ``valid`` pixels, divided by their median
    brightness (nan when too few)."""
    step = max(1, int(np.sqrt(vessel.size / 250_000)))
    sel = valid[::step, ::step]
    resid = (vessel[::step, ::step] - _gauss_on_grid(vessel, 1.0, step))[sel]
    level = float(median(vessel[::step, ::step][sel])) if resid.size else 0.0
    if resid.size < 64 or level <= 0:
        return float("nan")
    mad = float(median(np.abs(resid - median(resid))))
    return 1.4826 * mad / _RESIDUAL_KEEPS / level


def _fill_small_holes(
    mask: NDArray[np.bool_],
    max_area: int,
    f: int,
    dark: F32 | None = None,
    doubtful: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """Fill holes of at most ``max_area`` pixels (background components, 4-connected, of
    the mask max-pooled over f x f blocks); with ``dark``, those as dark as ``EDGE_FRACTION``
    of the 90th percentile of the vessel pixels within 2 px; ``doubtful`` (if given) gets
    the others reaching half their mean: blurred tissue or lumen, not sure."""
    pooled = np.asarray(flt.downmax2(mask) if f == 2 else mask, dtype=bool)
    # background components from row runs: only the small ones, as runs (no label
    # image: each hole's window is drawn from its own runs)
    n, holes, (st, ln, lab) = small_component_runs(
        np.logical_not(pooled), max_area=max_area, pixel_area=f * f
    )
    if n <= 1 or not holes:
        return mask
    d1 = None if dark is None else (flt.downmax2(dark) if f == 2 else dark)
    h, w = pooled.shape
    out = mask.copy()
    by_label = np.argsort(lab, kind="stable")
    first = np.searchsorted(lab[by_label], np.arange(len(holes) + 2))
    for i, sl in holes:
        r0, r1 = max(sl[0].start - 2, 0), min(sl[0].stop + 2, h)
        c0, c1 = max(sl[1].start - 2, 0), min(sl[1].stop + 2, w)
        hole = np.zeros((r1 - r0, c1 - c0), bool)  # ``label image[window] == i``
        for k in by_label[first[i] : first[i + 1]]:
            row, col = divmod(int(st[k]), w)
            hole[row - r0, col - c0 : col - c0 + int(ln[k])] = True
        if d1 is not None:
            # a hole is lumen (a junction centre, a filled glint) if as dark as a lumen
            # edge: half the ring's 90th percentile (its own edge pixels, at half its
            # peak, do not lower the bar); a lighter one is tissue between vessels
            ring = flt.dilate_cross(hole, 2) & pooled[r0:r1, c0:c1]
            win = d1[r0:r1, c0:c1]
            if ring.any():
                hole_dark, ring_dark = win[hole].mean(), win[ring]
                lit = hole_dark < 0.5 * ring_dark.mean()  # then below the percentile too
                if lit or hole_dark < EDGE_FRACTION * np.percentile(ring_dark, 90):
                    if doubtful is not None and not lit:
                        hr, hc = np.nonzero(hole)
                        r, c = _expand(hr + r0, hc + c0, f, mask.shape)
                        doubtful[r, c] = True
                    continue
        if f == 1:
            out[r0:r1, c0:c1] |= hole
        else:
            hr, hc = np.nonzero(hole)
            r, c = _expand(hr + r0, hc + c0, f, mask.shape)
            out[r, c] = True
    return out


def _confidence(
    z_seed: F32,
    z_grow: F32,
    mask: NDArray[np.bool_],
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    ok: NDArray[np.bool_],
    ratio: F32,
    cleared: NDArray[np.bool_] | None = None,
) -> tuple[F32, F32]:
    """Vesselness (seed evidence / 2, in [0, 1]: 0.5 at the seed threshold) and
    per-pixel confidence: on the mask the seed evidence (1 at or above a seed), off it one
    minus the grow evidence (0 where a pixel would extend a detection); edge candidates
    (``rows``, ``cols``) that failed the lumen-edge test (``ok``) are as sure as their
    darkness ``ratio`` is far below the edge darkness; ``cleared`` pixels off the mask
    are not sure at all (0). One compiled pass (``_fused.confidence_maps``), written
    over ``z_seed`` and ``z_grow`` (not used after)."""
    from ._fused import confidence_maps  # numba: compiled on first use

    return confidence_maps(z_seed, z_grow, mask, rows, cols, ok, ratio, cleared, overwrite=True)


def _drop_specks_keep_stumps(
    mask: NDArray[np.bool_],
    discs: NDArray[np.bool_],
    disc_z: F32,
    *,
    pixel_size_um: float,
    min_diameter_um: float,
) -> NDArray[np.float64]:
    """Remove from ``mask`` (in place) the components smaller than a vessel segment
    (``(2 dmin / pixel size)^2`` px) unless they are penetrating stumps: compact or holding
    a disc detection, and reaching the seed threshold of the dark-disc evidence
    ``disc_z`` somewhere (a nearly opaque blood column; fainter specks are noise that
    passed the grow threshold). Returns the stumps, (n, 3) (row, col, radius_um)."""
    px, dmin = pixel_size_um, min_diameter_um
    # the labels at the mask's pixels only (flat indices, raster order): the background,
    # label 0, is never a speck nor a stump, so no pass over the whole label image
    stumps, (flat, lab), stump_labels, stats = stumps_of_pixels(mask, pixel_size_um=px, discs=discs)
    min_area = max(4.0, (2.0 * dmin / px) ** 2)
    speck = stats["area"] < min_area
    speck[0] = False
    if stump_labels.size:
        cand = np.zeros(len(stats["area"]), bool)
        cand[stump_labels] = True
        on = cand[lab]
        peak = np.full(cand.size, -np.inf, np.float32)
        at = flat[on]
        np.maximum.at(peak, lab[on], disc_z[at // mask.shape[1], at % mask.shape[1]])
        strong = peak[stump_labels] >= np.float32(1.0)
        stumps, stump_labels = stumps[strong], stump_labels[strong]
    speck[stump_labels] = False
    if speck.any():
        at = flat[speck[lab]]
        mask[at // mask.shape[1], at % mask.shape[1]] = False
    return np.asarray(stumps, dtype=np.float64)


def segment_vessels(
    image: Any,
    *,
    pixel_size_um: float,
    dura_mode: DuraMode | str = "durectomy",
    vessel_polarity: str = "dark",
    min_diameter_um: float = 20.0,
    max_diameter_um: float = 700.0,
) -> VesselMap:
    """Segment the surface blood vessels of an image of the cortex.

    Pipeline: the channels read as the camera meant them (alpha = no data, grey stored as
    RGB, the bit depth in use, bright vessels inverted); green and blue blended for the most
    vessel contrast per unit of noise, both measured on the image (a matched filter, Reed &
    Yu 1990, doi:10.1109/29.60107); its darkness relative to the background (glints left
    out of its block means), shading cancelled by the red channel, glints filled, bone and
    the unlit surround left out; a signed multi-scale Hessian line measure (Frangi et al. 1998,
    doi:10.1007/BFb0056195), thin scales at full resolution and wide ones on a block-mean
    pyramid, each scale thresholded against its own spread on this image at a stated
    false-alarm rate (``ALPHA_SEED``, ``ALPHA_GROW`` in ``_detect``); hysteresis (Canny
    1986, doi:10.1109/TPAMI.1986.4767851); lumen edges at the local half-maximum
    darkness; small dark holes filled, specks removed, compact dark discs kept as
    penetrating stumps; the lumen between the found edges of a vein wider than the
    coarsest scale (a closing, Serra 1982), or doubtful where it does not stand out from
    the image's texture; radius and centreline graph; and a forward model of the detector
    giving the thinnest vessel it would have seen at each pixel
    (``detectable_diameter_um``). No threshold is a constant fitted to a renderer.

    Parameters
    ----------
    image : (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) array, uint8, uint16 or float in [0, 1]
        Photograph of the cortical surface; a 2- or 4-channel image's last channel is
        alpha (below half: no data).
    pixel_size_um : float
        Side of a pixel in micrometres, within ``PIXEL_SIZE_RANGE_UM`` (0.5-100 um: outside
        it the value is most likely in the wrong unit).
    dura_mode : {"durectomy", "transdural"}
        Dural vessels are found like pial ones and are hazards; through the dura the
        vessels may lie at two depths, so what the image could show is judged by the
        fainter layer where the vessels found form two, vessel by vessel
        (``LAYER_PERCENTILES``), and the detector's completeness there is measured by
        injecting vessels into the image (``_inject``).
    vessel_polarity : {"dark", "bright"}
        ``"bright"`` for fluorescence angiography (vessels brighter than tissue).
    min_diameter_um, max_diameter_um : float
        Range of vessel diameters the filter scales cover (default 20-700 um).

    Returns
    -------
    VesselMap

    Raises
    ------
    ValueError
        NaN/inf pixels, an empty, one-pixel or 4-D image, a pixel size that is NaN or
        outside ``PIXEL_SIZE_RANGE_UM``, an unknown dura mode or polarity, or ``min_diameter_um > max_diameter_um``.
    TypeError
        A non-array image or an unsupported dtype.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = np.clip(rng.normal(200, 4, (96, 96)), 0, 255).astype(np.uint8)
    >>> img[:, 40:46] = 90                       # a 72 um wide vessel at 12 um/px
    >>> vm = segment_vessels(img, pixel_size_um=12.0)
    >>> bool(vm.mask[50, 43]), bool(vm.mask[50, 20])
    (True, False)
    >>> 6 <= int(vm.mask[50].sum()) <= 8
    True
    >>> 30 <= float(vm.radius_um[50, 43]) <= 45
    True
    """
    ch = image_channels(image, vessel_polarity=vessel_polarity)
    px = check_positive(pixel_size_um, name="pixel_size_um")
    lo, hi = PIXEL_SIZE_RANGE_UM
    if not lo <= px <= hi:
        raise ValueError(
            f"pixel_size_um {px:g} is outside the plausible {lo:g}-{hi:g} um (a unit mistake? "
            "give micrometres per pixel)"
        )
    mode = DuraMode.parse(dura_mode, name="dura_mode")
    dmin = check_positive(min_diameter_um, name="min_diameter_um")
    dmax = check_positive(max_diameter_um, name="max_diameter_um")
    if dmin > dmax:
        raise ValueError(f"min_diameter_um must not exceed max_diameter_um, got {dmin} > {dmax}")
    shape = ch.vessel.shape
    vessel_raw = ch.vessel

    with ThreadPoolExecutor(max_workers=2) as pool:  # independent branches beside this thread
        # 1. relative darkness, glints filled, shading cancelled by the red channel
        dark, level1, excluded, clipped = darkness(
            ch.vessel, ch.red, size_px=1.5 * dmax / px, max_width_px=dmax / px,
            red_weight=RED_WEIGHT, scale=ch.scale, pool=pool,
        )  # fmt: skip
        # bone and unlit pixels were set to exactly 0: no detection there; saturated
        # pixels (glints, filled from around them) and black ones outside the unlit
        # surround (blood a grey camera clips) are searched but show nothing themselves,
        # so they neither calibrate nor count as seen
        any_no_data = bool(ch.no_data.any())  # (the no-data passes skipped without any)
        lit = ~excluded & ~ch.no_data if any_no_data else ~excluded
        valid = lit & ~ch.saturated
        if clipped.any():
            valid &= ~clipped
        if any_no_data:
            dark[ch.no_data] = 0

        # 2. line evidence per scale against its own calibrated threshold; stump discs
        # on the worker meanwhile
        # quantisation noise in relative darkness: a step of the bit depth in use, over
        # sqrt(12), relative to the median brightness of the lit pixels
        lit_sample = ch.vessel[::4, ::4][lit[::4, ::4]]
        level = float(median(lit_sample)) if lit_sample.size else 0.0
        step = 1.0 if ch.bit_depth else 1.0 / 65535.0 / ch.scale
        quant = step / np.sqrt(12.0) * ch.quantisation_gain / level if level > 0 else 0.0

        def smooth_and_discs() -> tuple[F32, F32]:
            smoothed = np.empty_like(dark)  # gauss(dark, 0.7), filled on the way
            return smoothed, disc_evidence(dark, valid, quantisation=quant, smoothed_out=smoothed)

        fut_discs = pool.submit(smooth_and_discs)
        scales = flt.scales_for(px, min_diameter_um=dmin, max_diameter_um=dmax)
        levels, valids = [dark], [valid]
        while len(levels) < 8 and min(levels[-1].shape) >= 16:
            # the first level as darkness() made it (the same block means) unless
            # no-data pixels were zeroed since
            reuse = len(levels) == 1 and level1.shape == (shape[0] // 2, shape[1] // 2)
            reuse = reuse and not any_no_data
            levels.append(level1 if reuse else flt.downsample2(levels[-1]))
            v = valids[-1]  # a block is valid when its four pixels are
            h2, w2 = (v.shape[0] // 2) * 2, (v.shape[1] // 2) * 2
            valids.append(
                v[0:h2:2, 0:w2:2] & v[1:h2:2, 0:w2:2] & v[0:h2:2, 1:w2:2] & v[1:h2:2, 1:w2:2]
            )
        z_seed, z_grow, best, cal, finest, detected = line_evidence(
            levels, valids, scales, quantisation=quant, pool=pool
        )
        if not lit.all():
            unlit = ~lit
            np.copyto(z_seed, np.float32(0), where=unlit)  # z_seed[unlit] = 0, vectorised
            np.copyto(z_grow, np.float32(0), where=unlit)
            detected &= lit
        fut_noise = pool.submit(_noise_fraction, vessel_raw, valid)
        dark_s, disc_z = fut_discs.result()
        discs = (disc_z >= 1) & lit

        # 3. lumen edges at full resolution: darkness at least EDGE_FRACTION of the local
        # peak (of the darkness smoothed at 0.7 px, ``dark_s``)
        # pixels above the grow evidence but outside every detection (the shoulders of a
        # wide vessel's response) are examined too: lighter than the lumen edge, they are
        # confidently not vessel; as dark, they stay uncertain (a hazard when line-like)
        examined = detected | (z_grow >= 1)
        rows, cols, ok, ratio = _lumen_edges(
            dark_s, examined, best, f=1, shape=shape, edge_fraction=EDGE_FRACTION,
            scales=tuple(c.scale_px for c in cal),
        )  # fmt: skip
        mask = np.zeros(shape, bool)
        flat = rows * shape[1] + cols  # flat gathers and scatters: cheaper than 2-D ones
        keep = ok & np.take(detected, flat)
        mask.ravel()[flat[keep]] = True
        mask |= discs
        # holes up to the cross-section of the widest vessel: a junction centre or a light
        # reflex, not tissue one could plan in
        doubtful = np.zeros(shape, bool)
        mask = _fill_small_holes(
            mask, max_area=max(4, int((dmax / 2 / px) ** 2)), f=1, dark=dark_s, doubtful=doubtful
        )
        if any_no_data:
            mask &= ~ch.no_data
        # 4. specks removed, compact dark discs kept as penetrating stumps
        stumps = _drop_specks_keep_stumps(
            mask, discs, disc_z, pixel_size_um=px, min_diameter_um=dmin
        )
        # 4b. thin vessels: the lumen whose blurred profile has the measured half-height
        # width, at the least blur the image's vessel edges show (``_width``); the
        # detectability model (step 6) keeps reading the half-maximum lumen (its
        # percentiles were validated on it; the wider samples make it judge the image
        # blinder)
        half_max = mask
        radius_hm = np.zeros(shape, np.float32)
        blur_est: BlurEstimates | None = None
        if mask.any():
            radius_hm = radius_and_skeleton(mask, pixel_size_um=px, factor=2)[0]
            radius_hm /= np.float32(px)
            # the edge blur estimates, measured once for both maps (here and step 6)
            # (noise and texture taken off the edges' gradients: read on the lit tissue
            # 3 px or more from the vessels)
            blur_est = blur_estimates(
                dark_s, mask, radius_hm, background=valid & ~flt.dilate_cross(mask, 3),
                observed=valid,
            )  # fmt: skip
            # (the sharpest edges alone: a lumen is never narrowed by more blur than they
            # show, so not the blocks' summed edges, which the floor takes as its least)
            sharpest, _, _, measured = blur_map_px(
                dark_s, mask, radius_hm, percentile=THIN_BLUR_PERCENTILE, estimates=blur_est,
                summed=False,
            )  # fmt: skip
            # the blurriest edges: the most the thin profiles' own blur may raise it to
            est = blur_est[1]
            blurriest = float(np.percentile(est, THIN_BLUR_CAP_PERCENTILE)) if est.size else None
            # thin vessels, measured away from wider ones (within 3 px of a wider vessel
            # the profile mixes both, and a branch leaving it looks thin)
            wide = mask & (radius_hm > np.float32(THIN_MAX_RADIUS_PX))
            thin = (radius_hm <= np.float32(THIN_MAX_RADIUS_PX)) & ~flt.dilate_cross(wide, 3)
            if not measured:  # no blur measured on this image: nothing to take off
                thin = np.zeros(shape, bool)
            mask, _ = deblurred_lumen(
                half_max, dark_s, sharpest, candidates=thin,
                smoothing_px=0.7, absorption_length_px=ABSORPTION_LENGTH_UM / px,
                max_fwhm_px=THIN_MAX_FWHM_PX, min_diameter_px=dmin / px,
                max_blur_px=blurriest,
            )  # fmt: skip
        # 4c. the lumen of a vessel wider than the coarsest scale, between its found edges
        # (after the stumps are listed: a stump joined to a vein stays a stump); as dark
        # but not standing out from the image's texture: doubtful. Not read by the width
        # step nor by the detectability model, which read the edges the detector found
        # (the closed gaps' borders are not vessel edges to measure blur or contrast on)
        between, maybe = lumen_between_edges(
            half_max, dark_s, lit, width_px=dmax / px, edge_fraction=EDGE_FRACTION
        )
        mask = mask | between
        doubtful |= maybe

        # 5. radius on a worker; confidence and the local spread of the finest scale
        # meanwhile; then the centreline graph on a worker while this thread estimates
        # 6. the thinnest vessel the detector would have seen at each pixel
        fut_r = pool.submit(radius_and_skeleton, mask, pixel_size_um=px, factor=2)
        # the half-maximum lumen the width step took off is a model's judgement: not
        # sure (0), so the avoidance map keeps it as uncertain (a hazard beside the
        # vessel); so are the holes as dark as half their ring's mean darkness left open
        cleared = doubtful | half_max if half_max is not mask else doubtful
        vesselness, confidence = _confidence(
            z_seed, z_grow, mask, rows, cols, ok, ratio, cleared=cleared
        )
        spread_blocks, spread_b, kept = local_spread_ratio(
            finest,
            valid,
            spread=cal[0].spread,
            brightness=vessel_raw if vessel_polarity == "dark" else None,
            floor=quant / 2 ** cal[0].level * _unit_spread(round(cal[0].sigma_level, 4)),
        )
        if ch.red is not None and vessel_polarity == "dark":
            # white light added over a block (glare, a reflection, a fog) washed its
            # vessels out as its colour was: the lesser share kept counts. Read on every
            # other lit pixel (as the spread is sampled) off the vessels found, those
            # taken for bone too (a veil is as white)
            s2 = (slice(None, None, 2), slice(None, None, 2))
            red2 = ch.red[s2]
            tissue = ~ch.no_data[s2] & ~ch.saturated[s2] & ~mask[s2]
            tissue &= red2 >= np.float32(_UNLIT / ch.scale)
            washed, cortex = colour_kept(
                vessel_raw[s2], red2, tissue, valid[s2], block_px=spread_b // 2,
                white=(ch.white, 1 / ch.scale),
            )  # fmt: skip
            washed = washed_out(washed, cortex)[: kept.shape[0], : kept.shape[1]]
            lower = np.minimum(kept, washed)
            spread_blocks *= kept / lower
            kept = lower
        radius_um, skeleton, skel_r = fut_r.result()
        fut_graph = (
            pool.submit(
                centreline_graph, skeleton, skel_r, pixel_size_um=px, factor=2, step_px=4, mask=mask
            )  # fmt: skip
            if skeleton is not None
            else None
        )
        # 6-7. the detectability floor (``_floor``)
        detectable, blur, contrast = detectability_floor(
            dark, dark_s, valid, half_max, radius_hm, blur_est=blur_est, calibration=cal,
            spread=(spread_blocks, spread_b, kept), mode=mode, pixel_size_um=px, max_diameter_um=dmax,
        )  # fmt: skip
        graph = fut_graph.result() if fut_graph is not None else nx.Graph()
        noise_fraction = fut_noise.result()
    np.copyto(detectable, np.float32(np.inf), where=~valid)  # detectable[~valid] = inf
    return VesselMap(
        mask=_readonly(mask),
        radius_um=_readonly(radius_um),
        graph=graph,
        vesselness=_readonly(vesselness),
        confidence=_readonly(confidence),
        penetrating=_readonly(stumps),
        pixel_size_um=px,
        dura_mode=mode,
        detectable_diameter_um=_readonly(detectable),
        no_data=_readonly(ch.no_data),
        vessel_polarity=vessel_polarity,
        calibration=tuple(cal),
        noise_fraction=noise_fraction,
        vessel_contrast=contrast,
        blur_px=None if blur is None else _readonly(blur),
    )
