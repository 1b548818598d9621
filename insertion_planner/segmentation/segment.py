"""``segment_vessels``: image -> :class:`VesselMap` (mask, radius, centreline graph, confidence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold

from .._validation import check_image, check_positive
from ..config import DuraMode
from . import _filters as flt
from ._graph import centreline_graph, find_stumps, radius_field

__all__ = ["VesselMap", "segment_vessels", "ModeSettings", "MODE_SETTINGS"]


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


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
    """

    high_floor: float
    low_floor: float
    high_noise: float
    low_noise: float
    edge_fraction: float
    wide_scale_px: float


MODE_SETTINGS: dict[DuraMode, ModeSettings] = {
    # the dura veil lowers relative contrast and blurs: lower floors, a lower edge fraction
    DuraMode.DURECTOMY: ModeSettings(0.05, 0.025, 1.6, 0.8, 0.5, 8.0),
    DuraMode.TRANSDURAL: ModeSettings(0.03, 0.015, 1.6, 0.8, 0.45, 16.0),
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


def _fill_small_holes(mask: NDArray[np.bool_], max_area: int) -> NDArray[np.bool_]:
    holes = ndi.binary_fill_holes(mask) & ~mask
    if not holes.any():
        return mask
    lab, n = ndi.label(holes)
    area = np.bincount(lab.ravel(), minlength=n + 1)
    small = area <= max_area
    small[0] = False
    return mask | small[lab]


_RED_WEIGHT = 0.5
"""Weight of the red channel's relative darkness subtracted from the green one: half
cancels shading yet keeps thick veins (dark in red too) well above the background."""


def _darkness(img: NDArray[np.float32], *, size_px: float) -> NDArray[np.float32]:
    """Relative darkness of blood, (H, W) float32: vessels positive, background ~0.

    Grey images: ``(background - grey) / background``. Colour images: the same in green
    (where haemoglobin absorbs most) minus the same in red (where it absorbs least).
    Shading, shadows and vignetting darken all channels by the same factor and cancel;
    blood does not. Specular glints are found on the green channel and filled first.
    """
    green = img[..., 1] if img.ndim == 3 else img
    bg_g = flt.background(green, size_px=size_px)
    glints = flt.find_glints(img, green, bg=bg_g)
    if glints.any():
        # the background is closed at a coarse level where glints are diluted: keep it
        green = flt.fill_glints(green, glints, bg=bg_g)
    dark = flt.flatten_background(green, bg=bg_g)
    if img.ndim == 3:
        red = img[..., 0]
        bg_r = flt.background(red, size_px=size_px)
        if glints.any():
            red = flt.fill_glints(red, glints, bg=bg_r)
        dark -= np.float32(_RED_WEIGHT) * flt.flatten_background(red, bg=bg_r)
    return dark


def _noise_level(contrast: NDArray[np.float32]) -> float:
    """Robust pixel noise of the darkness image: 1.4826 MAD of the fine-scale residual,
    from a central crop of up to 512 x 512 pixels."""
    h, w = contrast.shape
    r0, c0 = max(0, h // 2 - 256), max(0, w // 2 - 256)
    crop = contrast[r0 : r0 + 512, c0 : c0 + 512]
    resid = crop - flt.smooth(crop, 1.0)
    return float(1.4826 * np.median(np.abs(resid - np.median(resid))))


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
    centreline; a centreline graph.

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
    if isinstance(image, np.ndarray) and image.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got shape {image.shape}")
    img = check_image(image, name="image", min_size=2)
    px = check_positive(pixel_size_um, name="pixel_size_um")
    mode = DuraMode.parse(dura_mode, name="dura_mode")
    dmin = check_positive(min_diameter_um, name="min_diameter_um")
    dmax = check_positive(max_diameter_um, name="max_diameter_um")
    if dmin > dmax:
        raise ValueError(
            f"min_diameter_um must not exceed max_diameter_um, got {dmin} > {dmax}"
        )
    settings = MODE_SETTINGS[mode]

    # 1. relative darkness, glints filled, shading cancelled by the red channel
    contrast = _darkness(img, size_px=1.5 * dmax / px)

    # 2. multi-scale vesselness and noise-adaptive hysteresis
    scales = flt.scales_for(px, min_diameter_um=dmin, max_diameter_um=dmax)
    resp, best, _ = flt.vesselness_pyramid(contrast, scales)
    noise = _noise_level(contrast)
    high = max(settings.high_floor, settings.high_noise * noise)
    low = max(settings.low_floor, settings.low_noise * noise)
    # wide vessels are thick, so dark (Beer-Lambert): a wide faint structure (texture,
    # a shaded sulcus) must respond more strongly to count as a seed
    seed_level = resp / (1 + best / np.float32(settings.wide_scale_px))
    detected = apply_hysteresis_threshold(resp, low, high) & ndi.binary_dilation(
        seed_level >= high, iterations=0, mask=resp >= low)

    # 3. lumen edges at the local half-maximum darkness
    dark = flt.smooth(contrast, 0.7)
    peak = flt.local_peak(np.where(detected, dark, 0).astype(np.float32),
                          (2.5 * best).astype(np.float32))
    mask = detected & (dark >= np.float32(settings.edge_fraction) * peak)
    mask = _fill_small_holes(mask, max_area=max(4, int(round((dmax / 4 / px) ** 2))))

    # 4. specks removed, compact discs kept as penetrating stumps
    stumps, labels, n, stats = find_stumps(mask, pixel_size_um=px)
    min_area = max(4.0, (2.0 * dmin / px) ** 2)
    speck = stats["area"] < min_area
    speck[0] = False
    if stumps.shape[0]:
        keep_rc = np.round(stumps[:, :2]).astype(int)
        speck[labels[keep_rc[:, 0], keep_rc[:, 1]]] = False
    if speck.any():
        mask &= ~speck[labels]

    # 5. radius, centreline graph, confidence
    radius_um, skeleton, skel_r = radius_field(mask, pixel_size_um=px)
    graph = centreline_graph(skeleton, skel_r, pixel_size_um=px)
    vesselness = np.clip(resp / np.float32(2 * high), 0, 1).astype(np.float32)
    conf_in = np.clip(resp / np.float32(high), 0, 1)
    conf_out = np.clip(1 - resp / np.float32(low), 0, 1)
    confidence = np.where(mask, conf_in, conf_out).astype(np.float32)
    return VesselMap(
        mask=_readonly(mask),
        radius_um=_readonly(radius_um),
        graph=graph,
        vesselness=_readonly(vesselness),
        confidence=_readonly(confidence),
        penetrating=_readonly(np.asarray(stumps, dtype=np.float64)),
        pixel_size_um=px,
        dura_mode=mode,
    )
