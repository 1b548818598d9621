"""``assess_image``: can this image support a plan? The gate before any planning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import config as _config
from ._validation import check_positive
from .config import DuraMode
from .segmentation import VesselMap, segment_vessels
from .segmentation._channels import image_channels

__all__ = ["ImageQuality", "assess_image", "line_asymmetry", "line_excess", "PIXEL_SIZE_RANGE_UM"]


PIXEL_SIZE_RANGE_UM = _config.PIXEL_SIZE_RANGE_UM
"""Plausible pixel sizes (um) of a picture of the exposed cortex (0.5-100 um: outside it
the value is most likely in the wrong unit, mm or m typed for um); the one range every
entry point checks (``segment_vessels`` too)."""

POLARITY_BACKGROUND = 0.15
"""Under the right vessel polarity the tissue, the majority of the field, is the
background: its median pixel sits within a few % of the background envelope. Read with
the wrong polarity the envelope is drawn by the vessels and the median pixel lies far
below it (fluorescence read as dark: ~70 %). The declared polarity contradicts the image
when its median is beyond this and over three times the other polarity's."""

POLARITY_LINE_ASYMMETRY = 0.08
"""Vessels are lines, darker (or brighter) than the tissue on both sides. The Hessian of
the image tells a dark line (one strong positive curvature, the other near zero) from a
bright one, and both from blobs (two equal curvatures: glints, dark spots, pigment) and
from edges (which give both kinds equally). ``line_asymmetry`` compares the energy of
bright-line and dark-line curvature at vessel scales; one kind of line standing out by
at least this much on the side opposite the declared polarity contradicts it. Measured
(512 px, 12 um/px): negative on all 108 white-light cortices of both renderers under
random cameras (seeds 10-21 and 30-44; -0.078 at most, -0.13 or below for seeds 10-21)
and on the shared photographs (-0.125 under the thickest dura veil), so the right
polarity is never refused; +0.17 or above on seeds 10-21 inverted; +0.35 on the shared ICG angiogram; glints
(twelve discs at 94 % of full scale on a photograph) and dark blobs beside bright vessels
do not move it across zero. Frangi et al. 1998 (doi:10.1007/BFb0056195) for the
eigenvalue signature of lines and blobs."""

LINE_EXCESS_SCALES_UM = (15.0, 25.0, 40.0, 65.0, 100.0, 160.0)
"""Gaussian scales of :func:`line_excess`: 30-60 um vessels to ~300 um ones."""

LINE_FALSE_ALARM = 0.002
"""Share of the field at which bright lines set the bar in :func:`line_excess`."""

LINE_EXCESS_SIDE_PX = 1024
"""Longest side :func:`line_excess` works at: larger images are measured as means of blocks
(a 1536 px image at 24 um/px), which keeps the cost of the check below a second."""

GLINT_UM = 120.0
"""Widest specular glint left out of :func:`line_excess` (a reflection off a vessel wall)."""

MIN_LINE_EXCESS = 3.0
"""A cortex shows vessels: at some vessel scale, lines darker than the tissue (under the
declared polarity) stronger than the strongest ``LINE_FALSE_ALARM`` of the lines brighter
than it are at least this many times as common. Noise, texture, JPEG block borders,
quantisation steps and smooth shading give both kinds alike (1 on average); the bright
gaps between vessels give bright lines, never dark ones; glints are left out
(``GLINT_UM``). Measured (``line_excess``) on 120 cortices: 4.8 or more (``synthetic_cortex``
seeds 0-11, both dura modes, imaging None and random, 128-1536 px, 12-48 um/px: 7.4 or
more; the independent renderer under 48 random cameras: 4.8; the shared photographs, their
JPEGs, 10-14 bit and inverted copies, ICG declared bright: 11 or more); on 35 frames without
vessels 2.0 at most (a JPEG of a shallow colour ramp; ramps of 8-16 bits in three
directions, radial and vignetted fields with 0.3-5 % noise, a field stop, two lamps, their
JPEGs, smooth random textures: 1.7 at most). The bar sits between the two, a factor of
1.6 below the lowest cortex and 1.5 above the highest frame without vessels."""


LINE_SCALES_UM = (20.0, 40.0, 80.0)
"""Gaussian scales of the line measure: the thin (30-60 um) to medium (~200 um) vessels
that make up most of a field's vessel length."""

MIN_FIELD_UM = 1400.0
"""Shortest side of a field that can show a vessel: twice the widest vessel the detector
looks for (700 um, large pial veins), so that tissue is seen on both sides of it; in a
narrower field a large vessel fills the picture and looks like background."""

MAX_NOISE_FRACTION = 1.0 / 3.0
"""Pixel noise above a third of the brightness: even an opaque vessel one pixel wide lies
within three sigma of the noise (a pure-noise frame, or a sensor at its gain limit)."""

MIN_CONTRAST_TO_NOISE = 1.0
"""The vessels found must be darker than one sigma of pixel noise. A real vessel is seen
by integrating along its length, so it may be fainter than the noise of a pixel, but not
by much in a median over every vessel found: in pure noise the "vessels" found are the
noise's own structure, about 0.8 sigma dark (a frame of white noise, measured)."""

UNLIT_FRACTION = 0.04
"""Below 4 % of full scale (10 of 255) a pixel is black: outside the lit field."""

_MIN_SEEN_FRACTION = 0.05
"""Below this share of the field with data, lit and unsaturated, there is nothing to plan on."""


@dataclass(frozen=True)
class ImageQuality:
    """What the gate measured, and the problems that stop a plan.

    Attributes
    ----------
    problems : tuple of str
        One line each; empty when the image can support a plan.
    no_data_fraction, unseen_fraction : float
        Share of the field without data (alpha), and without data, unlit, bone or saturated.
    vessel_fraction : float
        Share of the field segmented as vessel.
    noise_fraction : float
        Pixel noise relative to the brightness.
    vessel_contrast : float
        Median relative darkness of the vessels found (nan: none found).
    background_darkness, opposite_background_darkness : float
        Median relative darkness of the lit field under the declared polarity and under
        the other one (the tissue sits near 0 under the right one).
    median_detectable_diameter_um : float
        Median thinnest vessel the detector would see where it sees anything (inf if nowhere).
    line_asymmetry : float
        Which kind of line the image shows, in [-1, 1]: negative for dark vessels, positive
        for bright ones (:func:`line_asymmetry`, ``POLARITY_LINE_ASYMMETRY``).
    line_excess : float
        How much more common strong lines of the declared polarity are than the other kind
        (:func:`line_excess`, ``MIN_LINE_EXCESS``; nan when not measured).
    """

    problems: tuple[str, ...]
    noise_fraction: float
    vessel_contrast: float
    no_data_fraction: float
    unseen_fraction: float
    vessel_fraction: float
    background_darkness: float
    opposite_background_darkness: float
    median_detectable_diameter_um: float
    line_asymmetry: float = float("nan")
    line_excess: float = float("nan")

    @property
    def usable(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def assess_image(
    image: Any,
    *,
    pixel_size_um: float,
    dura_mode: DuraMode | str = "durectomy",
    vessel_polarity: str = "dark",
    vessels: VesselMap | None = None,
) -> ImageQuality:
    """Check that an image can support a plan, before any plan is made.

    Problems: a pixel size outside ``PIXEL_SIZE_RANGE_UM`` (a unit mistake); almost no
    field with data, lit and unsaturated (blank, black, saturated or transparent frames);
    no vessel contrast where a cortex must show vessels (constant frames, pure noise); the
    declared vessel polarity contradicting the image (read with it, the median pixel lies
    far below the background: the bright vessels drew the background envelope); no vessel
    at all (smooth shading, a ramp, an empty field: :func:`line_excess` below
    ``MIN_LINE_EXCESS``, or above it only under the other polarity).

    Parameters
    ----------
    image : array
        As :func:`~insertion_planner.segment_vessels` accepts.
    pixel_size_um : float
    dura_mode : {"durectomy", "transdural"}
    vessel_polarity : {"dark", "bright"}
    vessels : VesselMap, optional
        The segmentation of ``image`` with these settings, when already made.

    Returns
    -------
    ImageQuality

    Raises
    ------
    ValueError, TypeError
        An image or setting no check can read (as :func:`segment_vessels`).

    Examples
    --------
    >>> import numpy as np
    >>> q = assess_image(np.zeros((128, 128), np.uint8), pixel_size_um=12.0)
    >>> q.usable, q.problems[0].split(":")[0]
    (False, 'no part of the field is lit')
    >>> assess_image(np.zeros((64, 64), np.uint8), pixel_size_um=0.012).problems[0][:28]
    'pixel_size_um 0.012 is outsi'
    >>> assess_image(np.zeros((3, 512), np.uint8), pixel_size_um=12.0).problems[0][:40]
    'the field is too small to show a vessel:'
    """
    px = check_positive(pixel_size_um, name="pixel_size_um")
    mode = DuraMode.parse(dura_mode, name="dura_mode")
    lo, hi = PIXEL_SIZE_RANGE_UM
    shape = tuple(np.shape(image))[:2]
    early = ""
    if not lo <= px <= hi:
        early = (
            f"pixel_size_um {px:g} is outside the plausible {lo:g}-{hi:g} um: "
            "is it in mm or m instead of um?"
        )
    elif len(shape) == 2 and min(shape) * px < MIN_FIELD_UM:
        early = (
            f"the field is too small to show a vessel: {shape[0]} x {shape[1]} px at "
            f"{px:g} um is {shape[0] * px / 1000:.3g} x {shape[1] * px / 1000:.3g} mm, "
            f"and at least {MIN_FIELD_UM / 1000:g} mm a side is needed"
        )
    if early:
        return ImageQuality(
            problems=(early,),
            noise_fraction=float("nan"),
            vessel_contrast=float("nan"),
            no_data_fraction=float("nan"),
            unseen_fraction=float("nan"),
            vessel_fraction=float("nan"),
            background_darkness=float("nan"),
            opposite_background_darkness=float("nan"),
            median_detectable_diameter_um=float("nan"),
        )
    vm = vessels
    if vm is None:
        vm = segment_vessels(
            image, pixel_size_um=px, dura_mode=mode, vessel_polarity=vessel_polarity
        )
    detectable = np.asarray(vm.detectable_diameter_um)
    seen = np.isfinite(detectable)
    problems: list[str] = []
    no_data = float(np.asarray(vm.no_data).mean())
    ch = image_channels(image, vessel_polarity=vm.vessel_polarity, blend=False)
    saturated = float(ch.saturated.mean())
    unlit = float(
        ((ch.red if ch.red is not None else ch.vessel) < UNLIT_FRACTION / ch.scale).mean()
    )
    unseen = 1.0 - float(seen.mean())
    if no_data > 1.0 - _MIN_SEEN_FRACTION:
        problems.append(f"no data: {no_data:.0%} of the image is transparent")
    elif saturated > 1.0 - _MIN_SEEN_FRACTION:
        problems.append(f"saturated: {saturated:.0%} of the image is at the top of its range")
    elif unlit > _DIM_CHECK_FRACTION and (dim := _dim_scene(image, ch, vm.vessel_polarity, px)):
        problems.append(
            f"exposed for a bright patch: {unlit:.0%} of the image lies below "
            f"{UNLIT_FRACTION:.0%} of full scale yet shows vessels there ({dim}); its "
            "brightest pixels (a glare, a reflex, a light source or hot pixels) set the range: "
            "retake at an exposure for the cortex, crop to it, or store it at its camera's "
            "bit depth"
        )
    elif unlit > 1.0 - _MIN_SEEN_FRACTION:
        problems.append(
            f"no part of the field is lit: {unlit:.0%} of the image is black (below "
            f"{UNLIT_FRACTION:.0%} of full scale)"
        )
    elif not seen.any() and vm.mask.mean() < 1e-4:
        problems.append(
            "no vessel contrast: a cortex must show vessels, none was found "
            "(a constant, defocused or pure-noise frame)"
        )
    elif not seen.any():
        problems.append("no vessel contrast to judge what the image could show")
    noise = vm.noise_fraction
    if np.isfinite(noise) and noise > MAX_NOISE_FRACTION:
        problems.append(
            f"pure noise: pixel noise is {noise:.0%} of the brightness (at most "
            f"{MAX_NOISE_FRACTION:.0%} can show a vessel)"
        )
    elif np.isfinite(noise) and vm.vessel_contrast < MIN_CONTRAST_TO_NOISE * noise:
        problems.append(
            f"no vessel contrast above the noise: the vessels found are {vm.vessel_contrast:.0%} "
            f"darker than the tissue, pixel noise is {noise:.0%}"
        )
    other = "bright" if vm.vessel_polarity == "dark" else "dark"
    small, px_small = _half(np.asarray(image), px)
    own = _median_darkness(small, px_small, vm.vessel_polarity)
    opp = _median_darkness(small, px_small, other)
    lines = line_asymmetry(small, pixel_size_um=px_small)
    against = lines if vm.vessel_polarity == "dark" else -lines
    wrong = ""
    if own > POLARITY_BACKGROUND and own > 3.0 * max(opp, 0.01):
        wrong = (
            f"vessels look {other}, not {vm.vessel_polarity}: read as {vm.vessel_polarity}, "
            f"the median pixel is {own:.0%} darker than the background, read as {other} "
            f"{opp:.0%} (declare vessel_polarity='{other}')"
        )
    elif against >= POLARITY_LINE_ASYMMETRY:
        wrong = (
            f"vessels look {other}, not {vm.vessel_polarity}: the lines that stand out "
            f"from the tissue are {other}er than it (line asymmetry {lines:+.2f}; "
            f"{vm.vessel_polarity} vessels give a "
            f"{'negative' if vm.vessel_polarity == 'dark' else 'positive'} one) "
            f"(declare vessel_polarity='{other}')"
        )
    excess = float("nan")
    if not problems:
        excess = line_excess(image, pixel_size_um=px, vessel_polarity=vm.vessel_polarity)
        other_excess = (
            line_excess(image, pixel_size_um=px, vessel_polarity=other)
            if excess < MIN_LINE_EXCESS or wrong
            else 0.0
        )
        if excess < MIN_LINE_EXCESS and other_excess < MIN_LINE_EXCESS:
            wrong = (  # no vessel of either kind: say so, not which kind it is not
                f"no vessel: lines {vm.vessel_polarity}er than the tissue stand out no more "
                f"often than the other kind (line excess {excess:.1f}, a cortex shows at least "
                f"{MIN_LINE_EXCESS:g}): a frame of shading, a ramp or an empty field"
            )
        elif excess < MIN_LINE_EXCESS and not wrong:
            wrong = (
                f"vessels look {other}, not {vm.vessel_polarity}: lines {other}er than the "
                f"tissue stand out (line excess {other_excess:.1f}), {vm.vessel_polarity}er "
                f"ones do not ({excess:.1f}) (declare vessel_polarity='{other}')"
            )
    if wrong:
        problems.append(wrong)
    return ImageQuality(
        problems=tuple(problems),
        noise_fraction=float(vm.noise_fraction),
        vessel_contrast=float(vm.vessel_contrast),
        no_data_fraction=no_data,
        unseen_fraction=unseen,
        vessel_fraction=float(vm.mask.mean()),
        background_darkness=own,
        opposite_background_darkness=opp,
        median_detectable_diameter_um=float(np.median(detectable[seen]))
        if seen.any()
        else float("inf"),
        line_asymmetry=lines,
        line_excess=excess,
    )


def line_asymmetry(image: Any, *, pixel_size_um: float) -> float:
    """Which kind of line the image shows: dark (negative) or bright (positive), in [-1, 1].

    For each scale of ``LINE_SCALES_UM``, the scale-normalised Hessian of the green channel
    (or grey, divided by its median) has eigenvalues ``h1 >= h2``. Dark-line strength is
    ``max(h1 - max(h2, 0), 0)`` (a blob, ``h1 ~ h2``, gives none), bright-line strength
    ``max(min(h1, 0) - h2, 0)``. Returns ``(B - D) / (B + D)`` of their summed squares over
    the pixels with data, unsaturated (0 when there is no curvature at all).

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
    pixel_size_um : float

    Returns
    -------
    float in [-1, 1]

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((128, 128), 200, np.uint8)
    >>> img[:, 60:63] = 120                 # one dark vessel
    >>> line_asymmetry(img, pixel_size_um=12.0) < -0.3
    True
    >>> line_asymmetry(255 - img, pixel_size_um=12.0) > 0.3
    True
    >>> yy, xx = np.mgrid[:128, :128]
    >>> img[((yy - 33) ** 2 + (xx - 33) ** 2 < 16) | ((yy - 93) ** 2 + (xx - 93) ** 2 < 16)] = 250
    >>> line_asymmetry(img, pixel_size_um=12.0) < -0.3   # glints are not bright vessels
    True
    """
    from scipy import ndimage

    ch = image_channels(image, vessel_polarity="dark", blend=False)
    keep = ~(np.asarray(ch.no_data) | np.asarray(ch.saturated))
    if keep.sum() < 16:
        return 0.0
    g = np.asarray(ch.vessel, dtype=np.float64)
    level = float(np.median(g[keep]))
    g = np.where(keep, g, level) / (level if level > 0 else 1.0)
    dark = bright = 0.0
    for s_um in LINE_SCALES_UM:
        s = s_um / float(pixel_size_um)
        if s < 0.5 or 4 * s > min(g.shape):
            continue
        hrr = ndimage.gaussian_filter(g, s, order=(2, 0))
        hcc = ndimage.gaussian_filter(g, s, order=(0, 2))
        hrc = ndimage.gaussian_filter(g, s, order=(1, 1))
        mean, half = (hrr + hcc) / 2, np.hypot((hrr - hcc) / 2, hrc)
        h1, h2 = (mean + half) * s * s, (mean - half) * s * s
        d = np.maximum(h1 - np.maximum(h2, 0.0), 0.0)[keep]
        b = np.maximum(np.minimum(h1, 0.0) - h2, 0.0)[keep]
        dark += float(np.dot(d, d))
        bright += float(np.dot(b, b))
    total = dark + bright
    return (bright - dark) / total if total > 0 else 0.0


def _line_strengths(g: Any, s: float) -> tuple[Any, Any]:
    """Dark- and bright-line strength of ``g`` at Gaussian scale ``s`` px (scale-normalised
    Hessian eigenvalues ``h1 >= h2``: ``max(h1 - max(h2, 0), 0)``, ``max(min(h1, 0) - h2, 0)``)."""
    from scipy import ndimage

    hrr = ndimage.gaussian_filter(g, s, order=(2, 0))
    hcc = ndimage.gaussian_filter(g, s, order=(0, 2))
    hrc = ndimage.gaussian_filter(g, s, order=(1, 1))
    mean, half = (hrr + hcc) / 2, np.hypot((hrr - hcc) / 2, hrc)
    h1, h2 = (mean + half) * s * s, (mean - half) * s * s
    return np.maximum(h1 - np.maximum(h2, 0), 0), np.maximum(np.minimum(h1, 0) - h2, 0)


def line_excess(
    image: Any, *, pixel_size_um: float, vessel_polarity: str = "dark", valid: Any = None
) -> float:
    """How much more common strong vessel-polarity lines are than lines of the other kind.

    The image's own null: noise, texture, quantisation steps, JPEG block borders and smooth
    shading give dark and bright lines alike. The green channel (grey; inverted for bright
    vessels) is divided by its smooth background (Gaussian of 350 um over ``valid`` pixels,
    which takes shading, ramps and vignetting out); at each scale of
    ``LINE_EXCESS_SCALES_UM``, over the ``valid`` pixels at least three scales from any
    other, the bright-line strength exceeded on ``LINE_FALSE_ALARM`` of them sets a bar; the
    share of pixels whose dark-line strength passes it, over ``LINE_FALSE_ALARM``, is the
    excess at that scale (1 without vessels). It is measured with the glints (``GLINT_UM``)
    kept and left out; the largest value is returned (0 when nothing was measured).
    :func:`assess_image` refuses below ``MIN_LINE_EXCESS``, naming the other polarity when
    the image passes under it.

    Parameters
    ----------
    image : array
        As :func:`~insertion_planner.segment_vessels` accepts.
    pixel_size_um : float
    vessel_polarity : {"dark", "bright"}
    valid : (H, W) bool array, optional
        Pixels to judge, besides those with data, lit and unsaturated (default: all).

    Returns
    -------
    float >= 0

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(150, 3, (256, 256))
    >>> img[:, 100:104] -= 40                        # one dark vessel
    >>> line_excess(img.astype(np.uint8), pixel_size_um=12.0) > MIN_LINE_EXCESS
    True
    >>> ramp = np.tile(np.linspace(20, 230, 256), (256, 1)).astype(np.uint8)
    >>> line_excess(ramp, pixel_size_um=12.0) < 1.5
    True
    """
    from scipy import ndimage

    image, factor = _shrink(np.asarray(image), LINE_EXCESS_SIDE_PX)
    pixel_size_um = float(pixel_size_um) * factor
    ch = image_channels(image, vessel_polarity=vessel_polarity, blend=False)
    keep = ~(np.asarray(ch.no_data) | np.asarray(ch.saturated))
    keep &= (ch.red if ch.red is not None else ch.vessel) >= UNLIT_FRACTION / ch.scale
    if valid is not None:
        h, w = keep.shape
        keep &= np.asarray(valid, bool)[: h * factor : factor, : w * factor : factor]
    if keep.sum() < 100:
        return 0.0
    g = np.asarray(ch.vessel, np.float32)
    sigma = 350.0 / float(pixel_size_um)
    weight = ndimage.gaussian_filter(keep.astype(np.float32), sigma)
    bg = ndimage.gaussian_filter(np.where(keep, g, 0).astype(np.float32), sigma)
    bg /= np.maximum(weight, np.float32(1e-6))
    ok = keep & (weight > 1e-3) & (bg > 0)
    rel = np.where(ok, g / np.where(ok, bg, 1), 1).astype(np.float32)
    # glints (compact spots under GLINT_UM across, 30 % above the background) make bright
    # lines that are not tissue: the excess is also measured with them and everything
    # within three scales of them left out, and the larger of the two kept
    side = 2 * int(np.ceil(GLINT_UM / 2 / float(pixel_size_um))) + 1
    glint = (rel > np.float32(1.3)) & (ndimage.white_tophat(rel, size=(side, side)) > 0.15)
    views = [ok] + ([ok & ~glint] if glint.any() else [])
    insides = [ndimage.distance_transform_edt(np.pad(v, 1))[1:-1, 1:-1] for v in views]
    best = 0.0
    for s_um in LINE_EXCESS_SCALES_UM:
        s = s_um / float(pixel_size_um)
        if s < 0.6 or 6 * s > min(g.shape):
            continue
        dark, bright = _line_strengths(rel, s)
        for inside in insides:
            far = inside > np.ceil(3 * s)
            if far.sum() >= 100:
                bar = max(float(np.quantile(bright[far], 1.0 - LINE_FALSE_ALARM)), 1e-6)
                best = max(best, float(np.mean(dark[far] > bar)) / LINE_FALSE_ALARM)
    return best


_DIM_CHECK_FRACTION = 0.2
"""Above this share of the image below ``UNLIT_FRACTION``, the dim part is looked at for
vessels (a fundus photograph's black surround is 20-30 % of its frame and shows none)."""


def _dim_scene(image: Any, ch: Any, polarity: str, pixel_size_um: float) -> str:
    """Whether the pixels below ``UNLIT_FRACTION`` of full scale show a cortex: stretched
    to their own range (the brighter part then saturated and left out), their
    :func:`line_excess` reaches ``MIN_LINE_EXCESS``. Returns the excess as text, or "" (a
    black surround, noise or a dark offset shows no vessel lines)."""
    level = ch.red if ch.red is not None else ch.vessel
    dim = (level < UNLIT_FRACTION / ch.scale) & ~np.asarray(ch.no_data)
    if dim.sum() < 1000:
        return ""
    arr = np.asarray(image)
    colour = arr[..., :-1] if arr.ndim == 3 and arr.shape[2] in (2, 4) else arr
    top = float(np.percentile(colour[dim], 99.5))
    if top <= 0:
        return ""
    stretched = np.clip(colour.astype(np.float32) / np.float32(top), 0.0, 1.0)
    excess = line_excess(stretched, pixel_size_um=pixel_size_um, vessel_polarity=polarity,
                         valid=dim)  # fmt: skip
    return f"line excess {excess:.1f}" if excess >= MIN_LINE_EXCESS else ""


def _shrink(image: Any, side_px: int) -> tuple[Any, int]:
    """``image`` as means of k x k blocks (dtype kept), k the smallest factor bringing its
    longer side to at most ``side_px``; k = 1 leaves it as it is."""
    k = -(-max(image.shape[:2]) // side_px)
    if k <= 1:
        return image, 1
    h, w = (image.shape[0] // k) * k, (image.shape[1] // k) * k
    a = image[:h, :w].astype(np.float32)
    a = a.reshape(h // k, k, w // k, k, *image.shape[2:]).mean(axis=(1, 3))
    if image.dtype.kind == "u":
        a = np.rint(a)
    return a.astype(image.dtype), k


def _median_darkness(image: Any, pixel_size_um: float, polarity: str) -> float:
    """Median relative darkness of the lit, unsaturated pixels read with ``polarity``."""
    from concurrent.futures import ThreadPoolExecutor

    from .segmentation._darkness import darkness

    ch = image_channels(image, vessel_polarity=polarity, blend=False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        dark, _, excluded, clipped = darkness(
            ch.vessel, ch.red, size_px=1.5 * 700.0 / pixel_size_um, scale=ch.scale, pool=pool
        )
    keep = ~excluded & ~clipped & ~ch.no_data & ~ch.saturated
    return float(np.median(dark[keep])) if keep.any() else 0.0


def _half(image: Any, pixel_size_um: float) -> tuple[Any, float]:
    """The image at half resolution (2 x 2 block means, dtype kept) when it is at least
    512 px a side, for the polarity check: a share of vessel pixels does not need the
    finest scale."""
    if min(image.shape[:2]) < 512:
        return image, pixel_size_um
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    a = image[:h, :w].astype(np.float32)
    a = 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])
    if image.dtype.kind == "u":
        a = np.rint(a).astype(image.dtype)
    return a.astype(image.dtype, copy=False), 2.0 * pixel_size_um
