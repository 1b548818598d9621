"""Robot presets as data: an R1-like needle robot, shared by planning and simulation.

Planning reads the needle size and the tilt the robot can make; the simulator in
:mod:`insertion_planner.robot` reads the rest (axes, limits, speeds, head geometry).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ._validation import check_positive

__all__ = ["RobotSpec", "PRESETS", "get_robot"]


@dataclass(frozen=True)
class RobotSpec:
    """An R1-like needle robot. Lengths in um, times in s, angles in rad.

    Parameters
    ----------
    name : str
    n_axes : int
        3 (Cartesian stage, vertical needle) or 5 (plus two tilt axes).
    travel_um : (float, float, float)
        Stage travel along x, y, z (R1: 400 x 400 x 150 mm, JMIR 2019).
    stage_accuracy_um : float
        Global positioning accuracy (R1: 10 um, JMIR 2019).
    max_tilt_rad : float
        Largest needle tilt from vertical the robot can make; 0 for vertical-only.
    needle_diameter_um : float
        Needle diameter (2019: 24 um etched W-Re; now 10-12 um tip).
    """

    name: str
    n_axes: int
    travel_um: tuple[float, float, float]
    stage_accuracy_um: float
    max_tilt_rad: float
    needle_diameter_um: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if self.n_axes not in (3, 5):
            raise ValueError(f"n_axes must be 3 or 5, got {self.n_axes!r}")
        travel = tuple(check_positive(t, name="travel_um") for t in self.travel_um)
        if len(travel) != 3:
            raise ValueError(f"travel_um must hold 3 numbers, got {self.travel_um!r}")
        object.__setattr__(self, "travel_um", travel)
        for name in ("stage_accuracy_um", "needle_diameter_um"):
            object.__setattr__(self, name, check_positive(getattr(self, name), name=name))
        tilt = check_positive(self.max_tilt_rad, name="max_tilt_rad", allow_zero=True)
        if tilt >= math.pi / 2:
            raise ValueError(f"max_tilt_rad must be below pi/2, got {tilt}")
        if self.n_axes == 3 and tilt != 0:
            raise ValueError(f"a 3-axis robot cannot tilt: max_tilt_rad must be 0, got {tilt}")
        object.__setattr__(self, "max_tilt_rad", tilt)

    @property
    def needle_radius_um(self) -> float:
        return self.needle_diameter_um / 2.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotSpec:
        """Build a custom robot from a dict, naming any unknown or missing field."""
        if not isinstance(data, dict):
            raise TypeError(f"robot must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"robot has unknown field(s): {', '.join(sorted(unknown))}")
        missing = known - set(data)
        if missing:
            raise ValueError(f"robot is missing field(s): {', '.join(sorted(missing))}")
        return cls(**{**data, "travel_um": tuple(data["travel_um"])})


_STAGE_TRAVEL_UM = (400_000.0, 400_000.0, 150_000.0)

PRESETS: dict[str, RobotSpec] = {
    "R1-2019": RobotSpec("R1-2019", 3, _STAGE_TRAVEL_UM, 10.0, 0.0, 24.0),
    "R1-2024": RobotSpec("R1-2024", 5, _STAGE_TRAVEL_UM, 10.0, math.radians(30.0), 12.0),
    "next-gen": RobotSpec("next-gen", 5, _STAGE_TRAVEL_UM, 10.0, math.radians(30.0), 10.0),
}


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
