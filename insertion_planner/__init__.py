"""insertion_planner: plan vessel-avoiding insertion of electrode threads into the cortex.

>>> import insertion_planner as ip
>>> ip.SafetyMargins().base_margin_um
50.0
"""

from __future__ import annotations

from .config import MAX_THREADS, DuraMode, PlannerConfig, SafetyMargins
from .errors import InfeasiblePlanError, KinematicLimitError, PlanFileError, PlannerError
from .frames import Grid
from .robots import PRESETS, RobotSpec, get_robot

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "MAX_THREADS",
    "DuraMode",
    "PlannerConfig",
    "SafetyMargins",
    "Grid",
    "RobotSpec",
    "PRESETS",
    "get_robot",
    "PlannerError",
    "InfeasiblePlanError",
    "KinematicLimitError",
    "PlanFileError",
]
