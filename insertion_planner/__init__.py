"""insertion_planner: plan vessel-avoiding insertion of electrode threads into the cortex.

>>> import insertion_planner as ip
>>> ip.SafetyMargins().base_margin_um
50.0
"""

from __future__ import annotations

from ._version import __version__
from .avoidance import AvoidanceMap, avoidance_from_arrays, build_avoidance_map
from .config import MAX_THREADS, DuraMode, PlannerConfig, SafetyMargins
from .errors import (
    ImageQualityError,
    InfeasiblePlanError,
    KinematicLimitError,
    PlanFileError,
    PlannerError,
    RegistrationError,
)
from .export import to_csv_text, to_slicer_markups
from .frames import Grid
from .imageio import read_image
from .pipeline import avoidance_for_plan, plan_insertions
from .plan import InsertionPlan, PlanGeometry, Thread, ThreadStatus
from .plan_file import load_plan
from .planning import (
    ConstraintViolationError,
    check_plan,
    lock_thread,
    move_thread,
    remove_thread,
    replan,
    unlock_thread,
)
from .quality import ImageQuality, assess_image
from .retraction import BrainMotion, RetractionReport, RetractionSettings, retraction_risk
from .robot import (
    SimulationReport,
    register_brain_shift,
    simulate,
    synthetic_brain_shift,
)
from .robots import PRESETS, RobotSpec, get_robot
from .segmentation import VesselMap, segment_vessels
from .study import StudyCase, StudyResult, run_study
from .synthetic import GroundTruth, Imaging, SyntheticCase, synthetic_cortex

__all__ = [
    "__version__",
    "MAX_THREADS",
    "DuraMode",
    "PlannerConfig",
    "SafetyMargins",
    "Grid",
    "read_image",
    "RobotSpec",
    "PRESETS",
    "get_robot",
    "PlannerError",
    "InfeasiblePlanError",
    "KinematicLimitError",
    "PlanFileError",
    "ImageQualityError",
    "RegistrationError",
    "synthetic_cortex",
    "Imaging",
    "segment_vessels",
    "VesselMap",
    "build_avoidance_map",
    "AvoidanceMap",
    "avoidance_from_arrays",
    "avoidance_for_plan",
    "SyntheticCase",
    "GroundTruth",
    "InsertionPlan",
    "PlanGeometry",
    "Thread",
    "ThreadStatus",
    "load_plan",
    "to_slicer_markups",
    "to_csv_text",
    "plan_insertions",
    "assess_image",
    "ImageQuality",
    "replan",
    "move_thread",
    "lock_thread",
    "unlock_thread",
    "remove_thread",
    "check_plan",
    "ConstraintViolationError",
    "simulate",
    "SimulationReport",
    "BrainMotion",
    "register_brain_shift",
    "synthetic_brain_shift",
    "retraction_risk",
    "RetractionReport",
    "RetractionSettings",
    "run_study",
    "StudyResult",
    "StudyCase",
]
