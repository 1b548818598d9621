"""``assess_image``: can this image support a plan? The gate before any planning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_positive
from .config import DuraMode
from .segmentation import VesselMap, segment_vessels
from .segmentation._channels import image_channels

__all__ = ["ImageQuality", "assess_image", "PIXEL_SIZE_RANGE_UM"]

PIXEL_SIZE_RANGE_UM = (0.5, 100.0)
"""Plausible pixel sizes of a picture of the exposed cortex: a surgical microscope or
camera resolves 2-50 um per pixel; outside 0.5-100 um the value is most likely in the
wrong unit (mm or m typed for um)."""

_FEW_VESSELS = 0.03
"""A polarity contradicts the image when, as declared, under this share of the field is
vessel while the other polarity finds over three times as much (a cortex at any
magnification shows 5-25 % vessel; the sides of a dark vessel read as two thin bright
ones, so the other polarity alone is no proof)."""

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
    opposite_vessel_fraction : float
        The same with the other vessel polarity (a contradiction shows here).
    median_detectable_diameter_um : float
        Median thinnest vessel the detector would see where it sees anything (inf if nowhere).
    """

    problems: tuple[str, ...]
    noise_fraction: float
    vessel_contrast: float
    no_data_fraction: float
    unseen_fraction: float
    vessel_fraction: float
    opposite_vessel_fraction: float
    median_detectable_diameter_um: float

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
    declared vessel polarity contradicting the image (bright vessels declared dark shows
    far more vessel with the other polarity).

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
    >>> q = assess_image(np.zeros((64, 64), np.uint8), pixel_size_um=12.0)
    >>> q.usable, q.problems[0].split(":")[0]
    (False, 'no part of the field is lit')
    >>> assess_image(np.zeros((64, 64), np.uint8), pixel_size_um=0.012).problems[0][:28]
    'pixel_size_um 0.012 is outsi'
    """
    px = check_positive(pixel_size_um, name="pixel_size_um")
    mode = DuraMode.parse(dura_mode, name="dura_mode")
    lo, hi = PIXEL_SIZE_RANGE_UM
    if not lo <= px <= hi:
        return ImageQuality(
            problems=(
                f"pixel_size_um {px:g} is outside the plausible {lo:g}-{hi:g} um: "
                "is it in mm or m instead of um?",
            ),
            noise_fraction=float("nan"),
            vessel_contrast=float("nan"),
            no_data_fraction=float("nan"),
            unseen_fraction=float("nan"),
            vessel_fraction=float("nan"),
            opposite_vessel_fraction=float("nan"),
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
    ch = image_channels(image, vessel_polarity=vm.vessel_polarity)
    saturated = float(ch.saturated.mean())
    unlit = float(((ch.red if ch.red is not None else ch.green) < UNLIT_FRACTION / ch.scale).mean())
    unseen = 1.0 - float(seen.mean())
    if no_data > 1.0 - _MIN_SEEN_FRACTION:
        problems.append(f"no data: {no_data:.0%} of the image is transparent")
    elif saturated > 1.0 - _MIN_SEEN_FRACTION:
        problems.append(f"saturated: {saturated:.0%} of the image is at the top of its range")
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
    opposite = segment_vessels(small, pixel_size_um=px_small, dura_mode=mode, vessel_polarity=other)
    frac, frac_other = float(vm.mask.mean()), float(opposite.mask.mean())
    if frac_other > max(3.0 * frac, 0.01) and frac < _FEW_VESSELS:
        problems.append(
            f"vessels look {other}, not {vm.vessel_polarity}: {frac_other:.1%} of the image is "
            f"vessel with vessel_polarity='{other}' against {frac:.1%} as declared"
        )
    return ImageQuality(
        problems=tuple(problems),
        noise_fraction=float(vm.noise_fraction),
        vessel_contrast=float(vm.vessel_contrast),
        no_data_fraction=no_data,
        unseen_fraction=unseen,
        vessel_fraction=frac,
        opposite_vessel_fraction=frac_other,
        median_detectable_diameter_um=float(np.median(detectable[seen]))
        if seen.any()
        else float("inf"),
    )


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
