"""Robot presets as data: an R1-like needle robot, shared by planning and simulation.

Planning reads the needle size and the tilt the robot can make; the simulator in
:mod:`insertion_planner.robot` reads the rest (axes, limits, speeds, head geometry).
Where every preset value comes from is recorded in :data:`PRESET_SOURCES` and
``docs/robots.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ._validation import check_choice, check_finite, check_positive

__all__ = [
    "RobotSpec",
    "PRESETS",
    "PRESET_SOURCES",
    "get_robot",
    "head_standoff_um",
    "DEFAULT_COLLISION_MARGIN_UM",
]

DEFAULT_COLLISION_MARGIN_UM = 500.0
"""Smallest distance kept between the insertion head (or free needle) and the skull rim or implant."""

_TRIPLES = (
    "travel_um",
    "axis_speed_um_per_s",
    "axis_accel_um_per_s2",
    "axis_jerk_um_per_s3",
    "cartridge_offset_um",
)
_NON_NEGATIVE = (
    "load_time_s",
    "align_settle_s",
    "release_time_s",
    "verify_time_s",
    "puncture_dwell_s",
    "tracking_latency_s",
    "puncture_deflection_um_per_mm",
)
_POSITIVE = (
    "stage_accuracy_um",
    "needle_diameter_um",
    "tilt_speed_rad_per_s",
    "tilt_accel_rad_per_s2",
    "insertion_speed_um_per_s",
    "needle_accel_um_per_s2",
    "retraction_speed_um_per_s",
    "retraction_accel_um_per_s2",
    "touchdown_speed_um_per_s",
    "puncture_speed_um_per_s",
    "standoff_um",
    "safe_height_um",
    "head_tip_radius_um",
    "head_length_um",
    "needle_stickout_um",
    "tracking_rate_hz",
)


@dataclass(frozen=True)
class RobotSpec:
    """An R1-like needle robot. Lengths in um, times in s, angles in rad.

    Only the first six fields are required; the others default to the R1-2019 values.

    Parameters
    ----------
    name : str
    n_axes : int
        3 (Cartesian stage, vertical needle) or 5 (plus two tilt axes).
    travel_um : (float, float, float)
        Stage travel along x, y, z (R1: 400 x 400 x 150 mm, JMIR 2019), centred on the
        craniectomy in x and y, with the pia at mid-travel in z.
    stage_accuracy_um : float
        Global positioning accuracy, taken as one sigma (R1: 10 um, JMIR 2019).
    max_tilt_rad : float
        Largest needle tilt from vertical the robot can make; 0 for vertical-only.
    needle_diameter_um : float
        Needle diameter (2019: 24 um etched W-Re; now 10-12 um tip).
    axis_speed_um_per_s, axis_accel_um_per_s2, axis_jerk_um_per_s3 : (float, float, float)
        Velocity, acceleration and jerk limits of the x, y, z stage axes.
    tilt_speed_rad_per_s, tilt_accel_rad_per_s2 : float
        Limits of the two tilt axes (5-axis robots).
    profile : {"trapezoidal", "s-curve"}
        Motion profile of the stage axes (S-curve adds the jerk limit).
    insertion_speed_um_per_s, needle_accel_um_per_s2 : float
        Needle drive speed and acceleration while inserting.
    retraction_speed_um_per_s, retraction_accel_um_per_s2 : float
        Needle retraction (up to 30,000 mm/s^2 = 3e7 um/s^2, JMIR 2019).
    touchdown_speed_um_per_s, standoff_um : float
        The head descends the last ``standoff_um`` to the surface at this speed.
    puncture_speed_um_per_s, puncture_dwell_s, puncture_deflection_um_per_mm : float
        Transdural puncture: slower, higher-force drive through the dura, a dwell while
        the dura gives, and the one-sigma lateral tip deflection per mm of dura
        (divided by the cosine of the incidence angle).
    max_incidence_rad : float
        Largest angle between the needle and the surface normal the robot accepts
        (for a vertical-only robot this is the surface-slope limit).
    safe_height_um : float
        Height above the pia at which the head travels between sites and cartridge.
    head_shape : {"cone", "cylinder"}
        Insertion-head envelope around the needle.
    head_tip_radius_um, head_half_angle_rad, head_length_um : float
        Head radius at its lower end, cone half-angle (0 for a cylinder), length.
    needle_stickout_um : float
        Free needle length below the head; must exceed depth plus dura.
    cartridge_offset_um : (float, float, float)
        Thread cartridge position relative to the craniectomy centre on the pia.
    load_time_s, align_settle_s, release_time_s, verify_time_s : float
        Fixed dwell times of the cycle (calibrated to the published insertion rates).
    tracking_rate_hz, tracking_latency_s : float
        Brain-surface tracking (R1: ~21 Hz) and its processing latency.
    insertion_success_rate : float
        Probability an insertion succeeds (0.871, JMIR 2019).
    """

    name: str
    n_axes: int
    travel_um: tuple[float, float, float]
    stage_accuracy_um: float
    max_tilt_rad: float
    needle_diameter_um: float
    axis_speed_um_per_s: tuple[float, float, float] = (50_000.0, 50_000.0, 25_000.0)
    axis_accel_um_per_s2: tuple[float, float, float] = (500_000.0, 500_000.0, 250_000.0)
    axis_jerk_um_per_s3: tuple[float, float, float] = (1.0e7, 1.0e7, 5.0e6)
    tilt_speed_rad_per_s: float = 0.5
    tilt_accel_rad_per_s2: float = 2.0
    profile: str = "trapezoidal"
    insertion_speed_um_per_s: float = 10_000.0
    needle_accel_um_per_s2: float = 1.0e6
    retraction_speed_um_per_s: float = 300_000.0
    retraction_accel_um_per_s2: float = 3.0e7
    touchdown_speed_um_per_s: float = 2_000.0
    standoff_um: float = 2_000.0
    puncture_speed_um_per_s: float = 1_000.0
    puncture_dwell_s: float = 0.2
    puncture_deflection_um_per_mm: float = 40.0
    max_incidence_rad: float = math.radians(20.0)
    safe_height_um: float = 15_000.0
    head_shape: str = "cone"
    head_tip_radius_um: float = 1_500.0
    head_half_angle_rad: float = math.radians(15.0)
    head_length_um: float = 40_000.0
    needle_stickout_um: float = 6_000.0
    cartridge_offset_um: tuple[float, float, float] = (40_000.0, 0.0, 15_000.0)
    load_time_s: float = 3.0
    align_settle_s: float = 0.0
    release_time_s: float = 0.5
    verify_time_s: float = 2.0
    tracking_rate_hz: float = 21.0
    tracking_latency_s: float = 0.03
    insertion_success_rate: float = 0.871

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if self.n_axes not in (3, 5):
            raise ValueError(f"n_axes must be 3 or 5, got {self.n_axes!r}")
        for name in _TRIPLES:
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 3:
                raise ValueError(f"{name} must hold 3 numbers, got {value!r}")
            if name == "cartridge_offset_um":
                checked = tuple(check_finite(v, name=name) for v in value)
            else:
                checked = tuple(check_positive(v, name=name) for v in value)
            object.__setattr__(self, name, checked)
        for name in _POSITIVE:
            object.__setattr__(self, name, check_positive(getattr(self, name), name=name))
        for name in _NON_NEGATIVE:
            value = check_positive(getattr(self, name), name=name, allow_zero=True)
            object.__setattr__(self, name, value)
        tilt = check_positive(self.max_tilt_rad, name="max_tilt_rad", allow_zero=True)
        if tilt >= math.pi / 2:
            raise ValueError(f"max_tilt_rad must be below pi/2, got {tilt}")
        if self.n_axes == 3 and tilt != 0:
            raise ValueError(f"a 3-axis robot cannot tilt: max_tilt_rad must be 0, got {tilt}")
        object.__setattr__(self, "max_tilt_rad", tilt)
        for name in ("max_incidence_rad", "head_half_angle_rad"):
            angle = check_positive(getattr(self, name), name=name, allow_zero=True)
            if angle >= math.pi / 2:
                raise ValueError(f"{name} must be below pi/2, got {angle}")
            object.__setattr__(self, name, angle)
        check_choice(self.profile, name="profile", choices=("trapezoidal", "s-curve"))
        check_choice(self.head_shape, name="head_shape", choices=("cone", "cylinder"))
        rate = check_positive(self.insertion_success_rate, name="insertion_success_rate")
        if rate > 1:
            raise ValueError(f"insertion_success_rate must be at most 1, got {rate}")
        object.__setattr__(self, "insertion_success_rate", rate)

    @property
    def needle_radius_um(self) -> float:
        return self.needle_diameter_um / 2.0

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-ready values (tuples become lists on dumping)."""
        return asdict(self)

    def replace(self, **changes: Any) -> RobotSpec:
        """Return a copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown robot field(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotSpec:
        """Build a custom robot from a dict, naming any unknown or missing field.

        ``data`` may name a preset under ``"base"``; its fields then fill in what
        ``data`` leaves out. Otherwise fields with defaults take the R1-2019 values.

        Examples
        --------
        >>> r = RobotSpec.from_dict({"base": "R1-2024", "name": "fast", "verify_time_s": 1.0})
        >>> r.n_axes, r.verify_time_s
        (5, 1.0)
        """
        if not isinstance(data, dict):
            raise TypeError(f"robot must be a dict, got {type(data).__name__}")
        data = dict(data)
        base = data.pop("base", None)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"robot has unknown field(s): {', '.join(sorted(unknown))}")
        if base is not None:
            if base not in PRESETS:
                raise ValueError(
                    f"robot base must be one of {', '.join(map(repr, PRESETS))}, got {base!r}"
                )
            data = {**PRESETS[base].to_dict(), **data}
        required = {f.name for f in fields(cls) if f.default is MISSING}
        missing = required - set(data)
        if missing:
            raise ValueError(f"robot is missing field(s): {', '.join(sorted(missing))}")
        for name in _TRIPLES:
            if name in data and isinstance(data[name], list):
                data[name] = tuple(data[name])
        return cls(**data)


_STAGE_TRAVEL_UM = (400_000.0, 400_000.0, 150_000.0)

PRESETS: dict[str, RobotSpec] = {
    # 3-axis stage, vertical needle only, 24 um needle, 6 threads/min (JMIR 2019).
    "R1-2019": RobotSpec("R1-2019", 3, _STAGE_TRAVEL_UM, 10.0, 0.0, 24.0),
    # 5 axes (tilt to the surface normal), 12 um needle, ~17 s/thread (2024 reports).
    "R1-2024": RobotSpec(
        "R1-2024",
        5,
        _STAGE_TRAVEL_UM,
        10.0,
        math.radians(30.0),
        12.0,
        max_incidence_rad=math.radians(10.0),
        insertion_speed_um_per_s=5_000.0,
        touchdown_speed_um_per_s=1_000.0,
        load_time_s=5.0,
        align_settle_s=1.0,
        release_time_s=1.0,
        verify_time_s=4.25,
    ),
    # Through the dura, ~1.5 s/thread (next-generation robot, 2025 reports).
    "next-gen": RobotSpec(
        "next-gen",
        5,
        _STAGE_TRAVEL_UM,
        10.0,
        math.radians(30.0),
        10.0,
        axis_speed_um_per_s=(250_000.0, 250_000.0, 150_000.0),
        axis_accel_um_per_s2=(1.0e7, 1.0e7, 5.0e6),
        axis_jerk_um_per_s3=(5.0e8, 5.0e8, 2.5e8),
        tilt_speed_rad_per_s=4.0,
        tilt_accel_rad_per_s2=40.0,
        profile="s-curve",
        max_incidence_rad=math.radians(10.0),
        insertion_speed_um_per_s=50_000.0,
        needle_accel_um_per_s2=1.0e7,
        touchdown_speed_um_per_s=20_000.0,
        standoff_um=1_000.0,
        puncture_speed_um_per_s=10_000.0,
        puncture_dwell_s=0.05,
        safe_height_um=12_000.0,
        cartridge_offset_um=(15_000.0, 0.0, 12_000.0),
        load_time_s=0.5,
        release_time_s=0.05,
        verify_time_s=0.25,
        tracking_rate_hz=60.0,
        tracking_latency_s=0.015,
    ),
}
"""The robot presets by name: "R1-2019", "R1-2024" and "next-gen" (see docs/robots.md)."""

PRESET_SOURCES: dict[str, str] = {
    "travel_um": "400 x 400 x 150 mm three-axis stage (Musk & Neuralink, JMIR 2019)",
    "stage_accuracy_um": "10 um global accuracy (JMIR 2019)",
    "needle_diameter_um": "24 um etched W-Re needle (JMIR 2019); 10-12 um tip now (podcast #438, 2024)",
    "retraction_accel_um_per_s2": "needle retraction up to 30,000 mm/s^2 (JMIR 2019)",
    "tracking_rate_hz": "real-time brain-surface model at ~21 Hz (R1 video 2021; WO2021011239A1)",
    "insertion_success_rate": "87.1 +/- 12.6 % over 19 surgeries (JMIR 2019)",
    "max_tilt_rad": "2019 robot vertical-only; later robots tilt to the surface normal (assumed 30 deg)",
    "cycle time": "6 threads/min (JMIR 2019); ~17 s/thread (2024); ~1.5 s/thread next generation "
    "(2025 reports): dwell times calibrated to these, see docs/robots.md",
    "axis limits and head geometry": "engineering assumptions for precision linear stages, "
    "documented in docs/robots.md",
}
"""Where each preset value comes from, by parameter (or group of parameters)."""


def head_standoff_um(
    robot: RobotSpec,
    height_um: Any,
    *,
    margin_um: float = DEFAULT_COLLISION_MARGIN_UM,
    tilt_rad: Any = 0.0,
) -> Any:
    """Smallest horizontal distance the insertion head needs from an obstacle edge.

    The obstacle is a wall whose top edge lies ``height_um`` above the lower end of the
    head (the centre of the head's bottom disc at full insertion depth); the returned
    distance is measured horizontally from the needle axis at that lower end to the wall.
    The head is the cone (or cylinder) of :class:`RobotSpec`: radius ``head_tip_radius_um``
    at its lower end, widening at ``head_half_angle_rad``. At this distance the head stays
    ``margin_um`` from the wall in 3-D. A needle tilted by ``tilt_rad`` is covered
    conservatively: the wall-side generator of a tilted cone makes ``half_angle + tilt``
    with the vertical and its lower edge dips ``tip_radius * sin(tilt)``.

    The robot simulator checks the same head geometry on points sampled over the head;
    the planner uses this closed form to keep candidate sites reachable. Both measure the
    distance to the skull rim with the one rule of
    :meth:`~insertion_planner.planning.opening.Opening.edge_distance_um` (the real
    opening, whatever its shape).

    Parameters
    ----------
    robot : RobotSpec
    height_um : float or (n,) float
        Height of the obstacle's top edge above the head's lower end (negative: below it).
    margin_um : float
        Distance to keep (the simulator's ``collision_margin_um``).
    tilt_rad : float or (n,) float
        Needle tilt from vertical.

    Returns
    -------
    float or (n,) float
        Micrometres; 0 when the head passes above the obstacle by more than the margin.

    Examples
    --------
    >>> r = get_robot("R1-2019")  # cone: 1.5 mm tip radius, 15 deg half-angle
    >>> round(float(head_standoff_um(r, 4000.0, margin_um=500.0)), 1)  # 1500 + 4000 tan15 + 500 / cos15
    3089.4
    >>> float(head_standoff_um(r, -600.0, margin_um=500.0))  # head bottom 600 um above the top
    0.0
    """
    import numpy as np

    tilt = np.asarray(tilt_rad, dtype=np.float64)
    alpha = robot.head_half_angle_rad if robot.head_shape == "cone" else 0.0
    a = np.minimum(alpha + tilt, math.radians(89.0))
    r0 = robot.head_tip_radius_um
    dz = np.minimum(
        np.asarray(height_um, dtype=np.float64) + r0 * np.sin(tilt), robot.head_length_um
    )
    m = float(margin_um)
    ta, ca, sa = np.tan(a), np.cos(a), np.sin(a)
    # corner at or above the lower end: distance to the wall-side generator
    above = m / ca + dz * ta
    # corner below the lower end: the generator (side region) or the bottom edge
    below_side = (m + dz * sa) / ca  # dz < 0
    below_edge = np.sqrt(np.maximum(m * m - dz * dz, 0.0))
    in_side = below_side * ta >= -dz
    below = np.where(in_side, below_side, below_edge)
    w = np.where(dz >= 0, above, np.where(-dz >= m, -np.inf, below))
    out = np.maximum(r0 + w, 0.0)
    return float(out) if out.ndim == 0 else out


def get_robot(robot: str | Path | dict[str, Any] | RobotSpec) -> RobotSpec:
    """Return a preset by name, a custom robot from a dict or a JSON file, or ``robot``.

    Examples
    --------
    >>> get_robot("R1-2019").needle_radius_um
    12.0
    """
    if isinstance(robot, RobotSpec):
        return robot
    if isinstance(robot, dict):
        return RobotSpec.from_dict(robot)
    if isinstance(robot, Path) or (isinstance(robot, str) and robot.endswith(".json")):
        path = Path(robot)
        if not path.is_file():
            raise ValueError(f"robot file {str(path)!r} does not exist")
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"robot file {str(path)!r} is not valid JSON: {exc}") from None
        return RobotSpec.from_dict(data)
    if isinstance(robot, str) and robot in PRESETS:
        return PRESETS[robot]
    raise ValueError(
        f"robot must be one of {', '.join(map(repr, PRESETS))}, a dict or a JSON file, got {robot!r}"
    )
