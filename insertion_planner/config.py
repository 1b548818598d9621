"""Configuration objects: dura handling mode, safety margins, planner settings.

All are frozen and validated on construction; every term of the margin model
(``docs/margin-model.md``) is a named field of :class:`SafetyMargins`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_choice, check_finite, check_int_range, check_positive
from .robots import DEFAULT_COLLISION_MARGIN_UM

PIXEL_SIZE_RANGE_UM = (0.5, 100.0)
"""Plausible pixel sizes of a picture of the exposed cortex: a surgical microscope or
camera resolves 2-50 um per pixel; outside 0.5-100 um the value is most likely in the
wrong unit (mm or m typed for um)."""

__all__ = [
    "PIXEL_SIZE_RANGE_UM",
    "DuraMode",
    "SafetyMargins",
    "PlannerConfig",
    "DEFAULT_TETHER_CLEARANCE_UM",
    "DEFAULT_MAX_INCIDENCE_DEG",
    "VESSEL_POLARITIES",
    "MAX_THREADS",
    "MAX_DEPTH_UM",
    "RobotAccuracy",
    "check_depth_range",
]

MAX_THREADS = 64
"""The N1 implant carries 64 threads (Neuralink, podcast #438, 2024)."""


class DuraMode(StrEnum):
    """How the dura is handled.

    ``durectomy``: dura removed, pia visible; depth counted from the pia.
    ``transdural``: dura intact and punctured by the needle; the image is veiled,
    dural vessels are hazards too, and depth is counted from the pia under the dura.
    """

    DURECTOMY = "durectomy"
    TRANSDURAL = "transdural"

    @classmethod
    def parse(cls, value: Any, *, name: str = "dura_mode") -> DuraMode:
        """Return the mode for a string or a DuraMode, or raise naming ``name``.

        Examples
        --------
        >>> DuraMode.parse("transdural")
        <DuraMode.TRANSDURAL: 'transdural'>
        """
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in cls)
            raise ValueError(f"{name} must be one of {choices}, got {value!r}") from None


class RobotAccuracy(Protocol):
    """What the margin model reads of a robot (:class:`~insertion_planner.RobotSpec`)."""

    @property
    def needle_radius_um(self) -> float: ...

    @property
    def stage_accuracy_um(self) -> float: ...


@dataclass(frozen=True)
class SafetyMargins:
    """Terms of the required clearance from the nearest vessel edge, all micrometres.

    required = base_margin_um + needle_radius_um
               + positioning_sigma * sqrt(stage_accuracy_um^2 + registration_error_um^2
                                          + brain_motion_residual_um^2)
               + (transdural only) segmentation_uncertainty_um + puncture_deflection_um
               + large_vessel_extra_um where the vessel radius >= large_vessel_radius_um

    Parameters
    ----------
    base_margin_um : float
        Tissue margin from a vessel edge; 50 um after Kozai et al., J Neural Eng 2010
        (insertions > 49 um from major surface vessels avoided bleeding).
    needle_radius_um : float
        Half the needle diameter (R1-2019: 24 um needle, JMIR 2019).
    stage_accuracy_um : float
        One-sigma positioning error of the stage (R1: 10 um global accuracy, JMIR 2019).
        Planning and simulation with a known robot never take less than the robot's
        stated ``RobotSpec.stage_accuracy_um`` (:meth:`for_robot`).
    registration_error_um : float
        One-sigma error registering the camera image to the robot frame.
    brain_motion_residual_um : float
        One-sigma brain motion left after surface tracking (rat: 10-30 um breathing,
        2-4 um heartbeat, Gilletti & Muthuswamy 2006; tracking at ~21 Hz removes most).
    positioning_sigma : float
        How many sigmas of combined positioning error the margin covers.
    segmentation_uncertainty_um : float
        Transdural only: vessel edges seen through the dura veil are less certain.
    puncture_deflection_um : float
        Transdural only: lateral needle deflection when puncturing 0.25-0.40 mm of dura.
    large_vessel_radius_um : float
        Vessels at least this radius (conducting/distributing, Neuropathology 2003)...
    large_vessel_extra_um : float
        ...demand this much more clearance.
    low_confidence_extra_um : float
        Extra clearance where segmentation confidence is low (errs toward forbidding).
    hazard_diameter_um : float
        The smallest vessel every plan guarantees to avoid: wherever the image could not
        have shown a vessel this wide (``AvoidanceMap.detectable_diameter_um`` above it),
        insertion is forbidden. 30 um: the cortical arterioles and venules of 30-40 um
        diameter, the smallest named class of human pial vessels (Neuropathology 2003).

    Examples
    --------
    >>> m = SafetyMargins()
    >>> round(m.required_um("durectomy"), 1)
    86.5
    >>> round(m.required_um("transdural"), 1)
    141.5
    """

    base_margin_um: float = 50.0
    needle_radius_um: float = 12.0
    stage_accuracy_um: float = 10.0
    registration_error_um: float = 5.0
    brain_motion_residual_um: float = 5.0
    positioning_sigma: float = 2.0
    segmentation_uncertainty_um: float = 30.0
    puncture_deflection_um: float = 25.0
    large_vessel_radius_um: float = 100.0
    large_vessel_extra_um: float = 25.0
    low_confidence_extra_um: float = 24.0
    hazard_diameter_um: float = 30.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = check_positive(getattr(self, f.name), name=f.name, allow_zero=True)
            object.__setattr__(self, f.name, value)
        if self.large_vessel_radius_um == 0:
            raise ValueError("large_vessel_radius_um must be positive, got 0.0")
        if self.hazard_diameter_um == 0:
            raise ValueError("hazard_diameter_um must be positive, got 0.0")

    @property
    def positioning_error_um(self) -> float:
        """The positioning term: sigma multiple times the root-sum-square of the errors."""
        return self.positioning_sigma * math.sqrt(
            self.stage_accuracy_um**2
            + self.registration_error_um**2
            + self.brain_motion_residual_um**2
        )

    def required_um(
        self, dura_mode: DuraMode | str, vessel_radius_um: ArrayLike | None = None
    ) -> Any:
        """Required clearance (um) from the nearest vessel edge.

        Parameters
        ----------
        dura_mode : DuraMode or str
        vessel_radius_um : float or array, optional
            Radius of the nearest vessel; large vessels add ``large_vessel_extra_um``.

        Returns
        -------
        float, or a float32 array shaped like ``vessel_radius_um``.
        """
        mode = DuraMode.parse(dura_mode)
        base = self.base_margin_um + self.needle_radius_um + self.positioning_error_um
        if mode is DuraMode.TRANSDURAL:
            base += self.segmentation_uncertainty_um + self.puncture_deflection_um
        if vessel_radius_um is None:
            return base
        r = np.asarray(vessel_radius_um, dtype=np.float32)
        extra = np.where(r >= self.large_vessel_radius_um, self.large_vessel_extra_um, 0.0)
        out: NDArray[np.float32] = (base + extra).astype(np.float32)
        return out if out.ndim else float(out)

    def for_robot(self, robot: RobotAccuracy) -> SafetyMargins:
        """These margins for a robot: needle radius and stage accuracy at least the robot's.

        A margin never assumes a thinner needle or a more accurate stage than the robot
        that inserts states, so a robot of 1 mm stage error (one sigma) requires about
        ``positioning_sigma`` mm more clearance than one of 10 um. Planning with a robot
        (:func:`~insertion_planner.plan_insertions`,
        :func:`~insertion_planner.planning.plan_from_avoidance`) and simulating with one
        (:func:`~insertion_planner.simulate`) apply this.

        Parameters
        ----------
        robot : RobotSpec
            Any object with ``needle_radius_um`` and ``stage_accuracy_um`` (um).

        Returns
        -------
        SafetyMargins

        Examples
        --------
        >>> from insertion_planner.robots import get_robot
        >>> sloppy = get_robot({"base": "R1-2019", "name": "sloppy", "stage_accuracy_um": 1000.0})
        >>> round(SafetyMargins().for_robot(sloppy).required_um("durectomy"), 1)
        2062.0
        >>> SafetyMargins().for_robot(get_robot("R1-2019")) == SafetyMargins()
        True
        """
        needle = check_positive(robot.needle_radius_um, name="robot.needle_radius_um")
        stage = check_positive(robot.stage_accuracy_um, name="robot.stage_accuracy_um")
        if needle <= self.needle_radius_um and stage <= self.stage_accuracy_um:
            return self
        return self.replace(
            needle_radius_um=max(self.needle_radius_um, needle),
            stage_accuracy_um=max(self.stage_accuracy_um, stage),
        )

    def replace(self, **changes: float) -> SafetyMargins:
        """Return a copy with some terms changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown safety margin term(s): {', '.join(sorted(unknown))}")
        return SafetyMargins(**{**asdict(self), **changes})

    def to_dict(self) -> dict[str, float]:
        """The terms as a plain dict (for JSON provenance)."""
        return asdict(self)


DEFAULT_TETHER_CLEARANCE_UM = 100.0
"""A needle must stay this far from a laid thread (threads are 16-84 um wide, JMIR 2019)."""
DEFAULT_MAX_INCIDENCE_DEG = 10.0
"""Largest angle between the needle and the surface normal accepted at a site, degrees."""
DEFAULT_DEPTH_UM = 3500.0
"""Insertion depth below the pia: 16 electrodes 200 um apart over ~3 mm of cortex."""
VESSEL_POLARITIES = ("dark", "bright")
"""Vessels darker than tissue (white light) or brighter (fluorescence angiography)."""


@dataclass(frozen=True, kw_only=True)
class PlannerConfig:
    """Every setting of the planner, validated on construction; its defaults are the API's.

    :func:`~insertion_planner.plan_insertions` and
    :func:`~insertion_planner.planning.plan_from_avoidance` take a ``config`` and, as
    keywords, any of its fields (which replace the config's); the plan saves it whole
    (JSON ``config``). The models the planner works with have their own objects: the
    margin model (:class:`SafetyMargins`), the robot (:class:`~insertion_planner.RobotSpec`),
    the brain's motion and the retraction model's terms
    (:class:`~insertion_planner.BrainMotion`, ``RetractionSettings``).

    Parameters
    ----------
    n_threads : int
        Threads to place, 1 to 64.
    min_spacing_um : float
        Minimum distance between two insertion sites (default 250 um).
    depth_um : float or (float, float)
        Insertion depth counted from the pia (default 3500 um: 16 electrodes over ~3 mm).
        A pair ``(min_um, max_um)`` sets ``depth_range_um``. With a depth range it is the
        range's deepest end (set from it): the needle length the per-site checks (head
        collision, penetrating vessels) assume.
    dura_thickness_um : float
        Dura thickness added to the travel in transdural mode (0.25-0.40 mm).
    thread_length_um : float
        Thread length, bounding the tether reach from the implant (~20 mm).
    depth_range_um : (float, float) or None
        Shallowest and deepest tip depth, um, when the planner chooses a depth per thread
        (``plan_insertions(..., depth_um=(min_um, max_um))``): each thread's 16 electrodes
        inside the cortex, the threads spread over cortical depth. None (the default):
        every thread at ``depth_um``. At most 10,000 um.
    max_retraction_risk : float or None
        Largest predicted pull-out probability accepted per thread, in (0, 1]: the
        planner lays tether slack (and deepens threads within their depth range) to keep
        every thread under it (``docs/retraction.md``, "Planning with it"). None (the
        default): not used.
    tether_clearance_um : float
        No later site within this plan-view distance of a tether already laid (100 um).
    max_incidence_deg : float
        Largest angle between the needle axis and the surface normal, 0-90 degrees (10).
    skull_thickness_um : float
        The skull rim rises this far above the highest point of the surface (6000 um).
    collision_margin_um : float
        Clearance kept between the insertion head and the bone, 0-10,000 um (500).
    implant_gap_um : float
        Implant-brain gap the retraction prediction assumes, 0-20,000 um (0: flush).
    retraction_days : float
        Time after surgery of that prediction, 0-3650 days (30).
    retraction_samples : int
        Its Monte Carlo samples per thread, 1-100,000 (1000).
    vessel_polarity : {"dark", "bright"}
        ``"bright"`` for fluorescence angiography (vessels brighter than tissue).
    strict : bool
        Raise :class:`~insertion_planner.InfeasiblePlanError` when fewer threads fit, or
        when ``max_retraction_risk`` cannot be met (default False).

    Raises
    ------
    ValueError, TypeError
        A setting out of its range or of the wrong type; the message names it.

    Examples
    --------
    >>> PlannerConfig(n_threads=65)
    Traceback (most recent call last):
    ...
    ValueError: n_threads must be between 1 and 64, got 65
    >>> PlannerConfig(depth_um=(2500.0, 4500.0)).depth_range_um
    (2500.0, 4500.0)
    >>> PlannerConfig(depth_range_um=(2500.0, 4500.0)).depth_um
    4500.0
    >>> PlannerConfig(max_retraction_risk=0.0)
    Traceback (most recent call last):
    ...
    ValueError: max_retraction_risk must be in (0, 1] or None, got 0.0
    >>> PlannerConfig().replace(min_spacing_um=300.0).min_spacing_um
    300.0
    """

    n_threads: int = MAX_THREADS
    min_spacing_um: float = 250.0
    depth_um: float = DEFAULT_DEPTH_UM
    dura_thickness_um: float = 320.0
    thread_length_um: float = 20000.0
    depth_range_um: tuple[float, float] | None = None
    max_retraction_risk: float | None = None
    tether_clearance_um: float = DEFAULT_TETHER_CLEARANCE_UM
    max_incidence_deg: float = DEFAULT_MAX_INCIDENCE_DEG
    skull_thickness_um: float = 6000.0
    collision_margin_um: float = DEFAULT_COLLISION_MARGIN_UM
    implant_gap_um: float = 0.0
    retraction_days: float = 30.0
    retraction_samples: int = 1000
    vessel_polarity: str = "dark"
    strict: bool = False

    def __post_init__(self) -> None:
        check_int_range(self.n_threads, name="n_threads", low=1, high=MAX_THREADS)
        object.__setattr__(self, "n_threads", int(self.n_threads))
        depth = self.depth_um
        if not isinstance(depth, (int, float, np.integer, np.floating)) or isinstance(depth, bool):
            if self.depth_range_um is not None:
                raise ValueError("give a depth range as depth_um or depth_range_um, not both")
            object.__setattr__(self, "depth_range_um", check_depth_range(depth, name="depth_um"))
            object.__setattr__(self, "depth_um", self.depth_range_um[1])  # type: ignore[index]
        elif self.depth_range_um is not None and depth not in (
            DEFAULT_DEPTH_UM,
            max(self.depth_range_um),
        ):
            # dataclasses.replace(config, depth_um=...) keeps the range: say so, never guess
            raise ValueError(
                f"depth_um {depth} is not the deepest end of depth_range_um "
                f"{tuple(self.depth_range_um)}; give one of them (PlannerConfig.replace(depth_um=...) "
                "replaces both)"
            )
        for name in ("min_spacing_um", "depth_um", "dura_thickness_um", "thread_length_um",
                     "skull_thickness_um"):  # fmt: skip
            object.__setattr__(self, name, check_positive(getattr(self, name), name=name))
        if not 250.0 <= self.dura_thickness_um <= 400.0:
            raise ValueError(
                f"dura_thickness_um must be between 250 and 400 (human dura), "
                f"got {self.dura_thickness_um}"
            )
        if self.depth_range_um is not None:
            rng = check_depth_range(self.depth_range_um, name="depth_range_um")
            object.__setattr__(self, "depth_range_um", rng)
            object.__setattr__(self, "depth_um", rng[1])
        risk = self.max_retraction_risk
        if risk is not None:
            value = check_finite(risk, name="max_retraction_risk")
            if not 0.0 < value <= 1.0:
                raise ValueError(f"max_retraction_risk must be in (0, 1] or None, got {value}")
            object.__setattr__(self, "max_retraction_risk", value)
        for name, high in (("tether_clearance_um", 10000.0), ("max_incidence_deg", 90.0),
                           ("collision_margin_um", 10000.0), ("implant_gap_um", 20000.0),
                           ("retraction_days", 3650.0)):  # fmt: skip
            value = check_finite(getattr(self, name), name=name)
            if not 0.0 <= value <= high:
                raise ValueError(f"{name} must be between 0 and {high:g}, got {value}")
            object.__setattr__(self, name, value)
        samples = check_int_range(self.retraction_samples, name="retraction_samples", low=1,
                                  high=100_000)  # fmt: skip
        object.__setattr__(self, "retraction_samples", int(samples))
        object.__setattr__(self, "vessel_polarity",
                           check_choice(self.vessel_polarity, name="vessel_polarity", choices=VESSEL_POLARITIES))  # fmt: skip
        if not isinstance(self.strict, (bool, np.bool_)):
            raise TypeError(f"strict must be a bool, got {self.strict!r}")
        object.__setattr__(self, "strict", bool(self.strict))

    def replace(self, **changes: Any) -> PlannerConfig:
        """A copy with some settings changed (validated again); unknown names are refused.

        A new ``depth_um`` replaces the depth range too (a pair sets a new range).
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(
                f"unknown planner setting(s) {', '.join(unknown)} (PlannerConfig takes "
                f"{', '.join(sorted(known))})"
            )
        values = {**asdict(self), **changes}
        if "depth_um" in changes and "depth_range_um" not in changes:
            values["depth_range_um"] = None
        return PlannerConfig(**values)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (the plan's JSON ``config``)."""
        return asdict(self)


MAX_DEPTH_UM = 10000.0
"""Deepest insertion a plan holds (the plan schema's limit; human cortex is 1-4.5 mm)."""


def check_depth_range(value: Any, *, name: str = "depth_um") -> tuple[float, float]:
    """``value`` as a depth range ``(min_um, max_um)``, 0 < min <= max <= 10,000 um.

    Raises
    ------
    ValueError
        Not two finite numbers in that order and range; the message names ``name``.

    Examples
    --------
    >>> check_depth_range([2500, 4500])
    (2500.0, 4500.0)
    >>> check_depth_range((4500.0, 2500.0))
    Traceback (most recent call last):
    ...
    ValueError: depth_um must be a number or a range (min_um, max_um) with 0 < min_um <= max_um <= 10000, got (4500.0, 2500.0)
    """
    try:
        pair = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        pair = ()
    if (
        len(pair) != 2
        or isinstance(value, (str, bytes))
        or not all(math.isfinite(v) for v in pair)
        or not 0.0 < pair[0] <= pair[1] <= MAX_DEPTH_UM
    ):
        raise ValueError(
            f"{name} must be a number or a range (min_um, max_um) with 0 < min_um <= max_um "
            f"<= {MAX_DEPTH_UM:g}, got {value!r}"
        )
    return pair[0], pair[1]
