"""``build_avoidance_map``: VesselMap -> :class:`AvoidanceMap` (clearance, required, allowed)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from .._arrays import readonly as _readonly
from ..config import DuraMode, SafetyMargins
from ..segmentation import VesselMap
from ..segmentation import _filters as flt

__all__ = ["AvoidanceMap", "build_avoidance_map", "LOW_CONFIDENCE", "UNCERTAIN_CONFIDENCE"]

LOW_CONFIDENCE = 0.5
"""Below this segmentation confidence a pixel needs ``low_confidence_extra_um`` more."""

EDGE_ALLOWANCE_PX = 2.5
"""Pixels taken off the distance to the nearest hazard pixel centre: the true vessel edge
lies half a pixel beyond the last vessel pixel centre, and a segmented edge misses the true
one by up to about 2 px more (measured on the detector sweep of the two renderers, 54 settings,
1024 x 1024: allowed pixels fell short of the required clearance to a true vessel of the
hazard diameter by up to 18.3 um, 1.52 px, with an allowance of 1 px; 4,509 of them, at
the edges of 30-40 um vessels whose lumen the width model drew a pixel narrow and of
veiled vessels whose half-maximum edge lay inside the true one)."""

BLIND_EDGE_ALLOWANCE_PX = 1.0
"""Pixels added to the reach around a blind pixel: the edge of a vessel hiding in it lies
up to half a pixel beyond its centre, and the pooled distance to it half a pixel more."""

UNCERTAIN_CONFIDENCE = 0.05
"""Off-vessel pixels at or below this confidence (candidates that responded like a vessel
but were not kept) are treated as vessel when measuring clearance: uncertainty forbids."""

SEED_VESSELNESS = 0.5
"""``VesselMap.vesselness`` at the segmentation's high (seed) threshold: a group of
uncertain candidates reaching it was a detection that a later test dropped."""

UNCERTAIN_LENGTH_UM = 144.0
"""A group of uncertain candidates at least this long (bounding box) is line-like, a faint
vessel, even where no pixel of it reaches the seed response."""


@dataclass(frozen=True, eq=False)
class AvoidanceMap:
    """Where a needle may enter. Arrays are read-only, (H, W), (row, col) order.

    Attributes
    ----------
    clearance_um : (H, W) float32
        Distance from each pixel centre to the nearest vessel edge, um (0 inside vessels).
    required_um : (H, W) float32
        Clearance the margin model demands there (nearest vessel's size, dura mode, and
        the low-confidence extra).
    allowed : (H, W) bool
        ``clearance_um >= required_um``, and the image could have shown a vessel of the
        hazard diameter there (``detectable_diameter_um <= margins.hazard_diameter_um``).
    nearest_radius_um : (H, W) float32
        Radius of the nearest vessel, um.
    penetrating : (n, 3) float
        Penetrating stumps as in :class:`~insertion_planner.VesselMap` (row, col, radius_um).
    margins : SafetyMargins
    dura_mode : DuraMode
    pixel_size_um : float
    detectable_diameter_um : (H, W) float32
        Smallest vessel diameter (um) the segmentation would have found at each pixel
        (``inf`` where nothing could be seen: no data, unlit, bone, saturated).
    undetectable : (H, W) bool
        Pixels forbidden only because a vessel of the hazard diameter could have hidden
        there unseen (not detected is not absent).
    """

    clearance_um: NDArray[np.float32]
    required_um: NDArray[np.float32]
    allowed: NDArray[np.bool_]
    nearest_radius_um: NDArray[np.float32]
    penetrating: NDArray[np.float64]
    margins: SafetyMargins
    dura_mode: DuraMode
    pixel_size_um: float
    detectable_diameter_um: NDArray[np.float32]
    undetectable: NDArray[np.bool_]

    @cached_property
    def hidden_clearance_um(self) -> NDArray[np.float32]:
        """(H, W) float32, read-only: distance (um) from each pixel to the edge of a vessel
        of the hazard diameter that could lie unseen, never overstated.

        One is assumed wherever this map could not have shown it (``detectable_diameter_um``
        above ``margins.hazard_diameter_um``) and everywhere beyond the frame; the
        distance to the nearest such pixel (a lower bound, :func:`_distance_lower_bound`)
        less the hazard radius and half a pixel. Computed on first use (the
        positioning-error Monte Carlo of :func:`~insertion_planner.simulate` asks it).
        """
        hazard = float(self.margins.hazard_diameter_um)
        px = float(self.pixel_size_um)
        blind = np.pad(~(self.detectable_diameter_um <= np.float32(hazard)), 1,
                       constant_values=True)  # fmt: skip
        d = _distance_lower_bound(blind)[1:-1, 1:-1] * np.float32(px)
        out = np.maximum(d - np.float32(0.5 * hazard + 0.5 * px), np.float32(0)).astype(np.float32)
        return _readonly(out)

    @property
    def allowed_fraction(self) -> float:
        """Fraction of the image where insertion is allowed."""
        return float(self.allowed.mean())

    def clearance_at(self, rc: Any) -> NDArray[np.float64]:
        """Clearance (um) at (n, 2) pixel positions (rounded to the nearest pixel); (n,)."""
        idx = self._index(rc)
        return self.clearance_um[idx[:, 0], idx[:, 1]].astype(np.float64)

    def required_at(self, rc: Any) -> NDArray[np.float64]:
        """Required clearance (um) at (n, 2) pixel positions; (n,)."""
        idx = self._index(rc)
        return self.required_um[idx[:, 0], idx[:, 1]].astype(np.float64)

    def _index(self, rc: Any) -> NDArray[np.intp]:
        a = np.asarray(rc, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(a).all():
            raise ValueError("rc holds NaN or infinite positions")
        idx = np.rint(a).astype(np.intp)
        h, w = self.allowed.shape
        if (idx < 0).any() or (idx[:, 0] >= h).any() or (idx[:, 1] >= w).any():
            raise ValueError(f"rc must lie inside the image of shape {(h, w)}, got {a.tolist()}")
        return idx


def _uncertain(vessels: VesselMap, *, min_area_px: int = 6) -> NDArray[np.bool_]:
    """Off-vessel candidates at or below ``UNCERTAIN_CONFIDENCE`` forming groups of at
    least ``min_area_px`` pixels that reach the seed response somewhere (a detection
    dropped by the lumen-edge or speck test), touch a found vessel (a faint continuation
    the mask stopped short of) or are at least ``UNCERTAIN_LENGTH_UM`` long (a faint
    vessel). Short groups that only cross the low threshold are what hysteresis exists to
    reject: pixel noise and texture give thousands of them per 2048 x 2048 image. The
    shoulders of a found vessel are not candidates: the segmentation examined them and
    gave them the confidence of being lighter than the lumen edge."""
    mask = vessels.mask
    cand = (vessels.confidence <= UNCERTAIN_CONFIDENCE) & ~mask
    if not cand.any():
        return cand
    lab, n = ndi.label(cand, structure=np.ones((3, 3), bool))
    rows, cols = np.nonzero(cand)
    ids = lab[rows, cols]
    area = np.bincount(ids, minlength=n + 1)
    strong = np.zeros(n + 1, bool)
    strong[ids[vessels.vesselness[rows, cols] >= np.float32(SEED_VESSELNESS)]] = True
    h, w = mask.shape
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                rr, cc = np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)
                strong[ids[mask[rr, cc]]] = True
    # extent: the longer side of each group's bounding box
    lo_r, hi_r = np.full(n + 1, h), np.full(n + 1, -1)
    lo_c, hi_c = np.full(n + 1, w), np.full(n + 1, -1)
    np.minimum.at(lo_r, ids, rows)
    np.maximum.at(hi_r, ids, rows)
    np.minimum.at(lo_c, ids, cols)
    np.maximum.at(hi_c, ids, cols)
    extent = np.maximum(hi_r - lo_r, hi_c - lo_c) + 1
    strong |= extent >= UNCERTAIN_LENGTH_UM / float(vessels.pixel_size_um)
    if vessels.dura_mode is DuraMode.TRANSDURAL:
        # through the dura a veiled pial vessel may show only as a row of short faint
        # groups: any group long enough to be a vessel's cross-section is a hazard
        strong |= extent >= 2
    keep = (area >= min_area_px) & strong
    keep[0] = False
    out = np.zeros_like(cand)
    out[rows, cols] = keep[ids]
    return out


def _distance_lower_bound(mask: NDArray[np.bool_], block: int = 2) -> NDArray[np.float32]:
    """Distance (px) from each pixel to the nearest ``mask`` pixel, never overstated:
    the exact transform of the ``block`` x ``block`` any-pooled mask, in full-resolution
    px, less the farthest a pixel and its block's centre can be apart on both ends
    (``(block - 1) * sqrt(2)``); 4 times cheaper than the full-resolution transform."""
    h, w = mask.shape
    hp, wp = -(-h // block) * block, -(-w // block) * block
    padded = np.zeros((hp, wp), bool)
    padded[:h, :w] = mask
    pooled = padded.reshape(hp // block, block, wp // block, block).any(axis=(1, 3))
    d = ndi.distance_transform_edt(~pooled).astype(np.float32) * np.float32(block)
    d = np.maximum(d - np.float32((block - 1) * np.sqrt(2.0)), 0)
    d[pooled] = 0
    full = np.repeat(np.repeat(d, block, axis=0), block, axis=1)[:h, :w]
    out: NDArray[np.float32] = np.ascontiguousarray(full)
    return out


def _clear_of_large_vessels(
    vessels: VesselMap,
    hazard: NDArray[np.bool_],
    margins: SafetyMargins,
    mode: DuraMode,
    low: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """(H, W) bool: pixels at least a large vessel's required clearance (with
    ``margins.large_vessel_extra_um``) from every hazard pixel of a large vessel, not only
    from the nearest hazard pixel, which may be a thinner vessel's beside it.

    A vessel pixel's radius is its nearest centreline pixel's, often a branch's or a
    narrowing's: on true vessel pixels of 90-160 um radius (the two renderers, 48 settings)
    the radius read was 0.93 of the true one at the median but 0.39 at the 5th
    percentile. So a hazard pixel belongs to a large vessel when a vessel pixel within a
    large vessel's radius of it reads at least ``large_vessel_radius_um`` less one step of
    the radius (2 px: the centreline is found on 2 x 2 blocks). Without this, allowed
    pixels beside 104-118 um vessels (read 78-89 um there) kept the base clearance only,
    up to 9.5 um short of the large-vessel one (synthetic 1024 x 1024, seed 0 durectomy
    and seed 2 transdural: 13 and 55 pixels; none with it).
    """
    radius = np.asarray(vessels.radius_um, np.float32)
    px_um = float(vessels.pixel_size_um)
    r_large = float(margins.large_vessel_radius_um)
    big = radius >= np.float32(r_large - 2.0 * px_um)
    if not big.any():
        return np.ones(hazard.shape, bool)
    reach = int(np.ceil(r_large / px_um))
    large = hazard & ndi.maximum_filter(big, size=2 * reach + 1, mode="constant")
    px = np.float32(vessels.pixel_size_um)
    dist = ndi.distance_transform_edt(~large).astype(np.float32)
    clear = np.maximum(dist - np.float32(EDGE_ALLOWANCE_PX), 0) * px
    need = np.float32(margins.required_um(mode, r_large))
    need = np.where(low, need + np.float32(margins.low_confidence_extra_um), need)
    out: NDArray[np.bool_] = clear >= need
    return out


def build_avoidance_map(
    vessels: VesselMap,
    *,
    dura_mode: DuraMode | str | None = None,
    margins: SafetyMargins | None = None,
) -> AvoidanceMap:
    """Clearance field and allowed-insertion mask from segmented vessels.

    ``clearance_um`` is the Euclidean distance from each pixel centre to the nearest
    hazard pixel centre minus ``EDGE_ALLOWANCE_PX`` pixels: the true vessel edge lies half
    a pixel beyond the last vessel pixel centre, and a segmented edge can miss it by up to
    2 px more (measured), so the distance to the edge is not overstated. Hazards are the
    vessel mask (penetrating stumps included) and uncertain pixels: off-vessel pixels of
    confidence at most ``UNCERTAIN_CONFIDENCE`` in groups of 6 pixels or more that reach
    the seed response, touch a found vessel or are at least ``UNCERTAIN_LENGTH_UM`` long.
    ``required_um`` = ``margins.required_um(dura_mode, nearest radius)`` plus
    ``margins.low_confidence_extra_um`` where confidence is below ``LOW_CONFIDENCE``.
    Never planning blind: wherever the segmentation could not have seen a vessel of
    ``margins.hazard_diameter_um`` (``vessels.detectable_diameter_um`` above it: noise,
    blur, veil, glare, no data, no vessel contrast), the pixel is forbidden, and so is
    every pixel closer to it than the required clearance of such a vessel; the same
    holds for the frame's edge (what lies beyond a cropped photograph was not seen).

    Parameters
    ----------
    vessels : VesselMap
    dura_mode : {"durectomy", "transdural"}, optional
        Defaults to ``vessels.dura_mode``.
    margins : SafetyMargins, optional
        The margin model (default ``SafetyMargins()``); the needle radius is one of its terms.

    Returns
    -------
    AvoidanceMap

    Raises
    ------
    TypeError
        ``vessels`` is not a VesselMap or ``margins`` not a SafetyMargins.
    ValueError
        An unknown ``dura_mode``.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner import segment_vessels
    >>> rng = np.random.default_rng(0)
    >>> img = np.clip(rng.normal(200, 4, (96, 96)), 0, 255).astype(np.uint8)
    >>> img[:, 40:46] = 90; img[:, 80] = 150                    # and a 12 um vessel
    >>> amap = build_avoidance_map(segment_vessels(img, pixel_size_um=12.0))
    >>> bool(amap.allowed[50, 43]), bool(amap.allowed[50, 20]), bool(amap.allowed[50, 2])
    (False, True, False)
    >>> float(amap.clearance_um[50, 43])
    0.0
    >>> bool(amap.clearance_um[50, 20] > amap.required_um[50, 20])
    True
    """
    if not isinstance(vessels, VesselMap):
        raise TypeError(f"vessels must be a VesselMap, got {type(vessels).__name__}")
    mode = vessels.dura_mode if dura_mode is None else DuraMode.parse(dura_mode, name="dura_mode")
    if margins is None:
        margins = SafetyMargins()
    elif not isinstance(margins, SafetyMargins):
        raise TypeError(f"margins must be a SafetyMargins, got {type(margins).__name__}")
    px = float(vessels.pixel_size_um)
    conf = vessels.confidence
    hazard = vessels.mask | _uncertain(vessels)
    shape = vessels.mask.shape
    if hazard.any():
        dist, (ri, ci) = ndi.distance_transform_edt(~hazard, return_indices=True)
        allowance = np.float32(EDGE_ALLOWANCE_PX)
        clearance = np.maximum(dist.astype(np.float32) - allowance, 0) * np.float32(px)
        clearance[hazard] = 0
        radius = np.asarray(vessels.radius_um, np.float32)
        # an uncertain candidate has no radius of its own: that of a found vessel within
        # 2 px (a faint shoulder of it), else a small vessel's. A shoulder further out is
        # itself kept clear of, which keeps more than a large vessel's extra from the
        # vessel beyond it.
        own = np.where(vessels.mask, radius, flt.max5(radius))
        own = np.where(own > 0, own, np.float32(0.5 * px)).astype(np.float32)
        nearest = own[ri, ci]
    else:
        diag = float(np.hypot(*shape)) * px
        clearance = np.full(shape, diag, np.float32)
        nearest = np.zeros(shape, np.float32)
    required = np.asarray(margins.required_um(mode, nearest), dtype=np.float32)
    low = conf < LOW_CONFIDENCE
    required = np.where(low, required + np.float32(margins.low_confidence_extra_um), required)
    required = required.astype(np.float32)
    allowed = (clearance >= required) & ~hazard
    if hazard.any():
        allowed &= _clear_of_large_vessels(vessels, hazard, margins, mode, low)
    blind = ~(vessels.detectable_diameter_um <= np.float32(margins.hazard_diameter_um))
    undetectable = np.zeros(shape, bool)
    reach = (
        margins.required_um(mode, 0.5 * margins.hazard_diameter_um) / px + BLIND_EDGE_ALLOWANCE_PX
    )
    # beyond the frame nothing was seen: a vessel just outside a cropped photograph is
    # kept clear of like one in an unseen pixel
    rr = np.minimum(np.arange(shape[0]), np.arange(shape[0])[::-1])[:, None]
    cc = np.minimum(np.arange(shape[1]), np.arange(shape[1])[::-1])[None, :]
    near_edge = np.minimum(rr, cc) + 1 <= reach
    undetectable |= allowed & near_edge
    allowed &= ~near_edge
    if blind.any():
        # a hazard-sized vessel could hide in a blind pixel: keep its clearance from them
        d_blind = _distance_lower_bound(blind)
        hidden = allowed & (d_blind <= np.float32(reach))
        undetectable |= hidden
        allowed &= ~hidden
    return AvoidanceMap(
        clearance_um=_readonly(clearance.astype(np.float32)),
        required_um=_readonly(required),
        allowed=_readonly(allowed),
        nearest_radius_um=_readonly(nearest),
        penetrating=vessels.penetrating,
        margins=margins,
        dura_mode=mode,
        pixel_size_um=px,
        detectable_diameter_um=vessels.detectable_diameter_um,
        undetectable=_readonly(undetectable),
    )
