"""``assess_image``: can this image support a plan? The gate before any planning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_positive
from .config import DuraMode
from .segmentation import VesselMap, segment_vessels

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
    opposite_vessel_fraction : float
        The same with the other vessel polarity (a contradiction shows here).
    median_detectable_diameter_um : float
        Median thinnest vessel the detector would see where it sees anything (inf if nowhere).
    """

    problems: tuple[str, ...]
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
    (False, 'no part of the field is lit and unsaturated')
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
    unseen = 1.0 - float(seen.mean())
    if no_data > 1.0 - _MIN_SEEN_FRACTION:
        problems.append(f"no data: {no_data:.0%} of the image is transparent")
    elif not seen.any() and vm.mask.mean() < 1e-4:
        lit = _lit_fraction(vm)
        if lit < _MIN_SEEN_FRACTION:
            problems.append(
                "no part of the field is lit and unsaturated: a blank, black or saturated frame"
            )
        else:
            problems.append(
                "no vessel contrast: a cortex must show vessels, none was found "
                "(a constant, defocused or pure-noise frame)"
            )
    elif not seen.any():
        problems.append("no vessel contrast to judge what the image could show")
    other = "bright" if vm.vessel_polarity == "dark" else "dark"
    opposite = segment_vessels(image, pixel_size_um=px, dura_mode=mode, vessel_polarity=other)
    frac, frac_other = float(vm.mask.mean()), float(opposite.mask.mean())
    if frac_other > max(3.0 * frac, 0.01) and frac < _FEW_VESSELS:
        problems.append(
            f"vessels look {other}, not {vm.vessel_polarity}: {frac_other:.1%} of the image is "
            f"vessel with vessel_polarity='{other}' against {frac:.1%} as declared"
        )
    return ImageQuality(
        problems=tuple(problems),
        no_data_fraction=no_data,
        unseen_fraction=unseen,
        vessel_fraction=frac,
        opposite_vessel_fraction=frac_other,
        median_detectable_diameter_um=float(np.median(detectable[seen]))
        if seen.any()
        else float("inf"),
    )


def _lit_fraction(vm: VesselMap) -> float:
    """Share of the field the detector could examine (calibrated scales had spread)."""
    spread = vm.calibration[0].spread if vm.calibration else 0.0
    return 0.0 if spread <= 1e-9 else 1.0
