"""Robot simulation: motion profiles, the insertion cycle, collision and clearance checks,
Monte Carlo of positioning errors, failures with replanning, and brain-shift registration.

The entry point is :func:`simulate`, returning a :class:`SimulationReport`. Robot presets
live in :mod:`insertion_planner.robots`. See ``docs/algorithms.md`` (Robot simulation) and
``docs/robots.md``.
"""

from __future__ import annotations

from .clearance import path_clearance, segment_distance, vessel_capsules
from .collision import build_obstacles, head_points, obstacle_distances
from .cycle import PHASES, CycleTimes, cycle_times
from .montecarlo import BrainMotion, breach_probability
from .motion import MoveProfile, plan_move, profile_time
from .registration import (
    BrainShift,
    BrainShiftResult,
    move_plan,
    register_brain_shift,
    rigid_transform,
    surface_points,
    synthetic_brain_shift,
)
from .report import InsertionRecord, SimulationReport
from .simulate import simulate

__all__ = [
    "simulate",
    "SimulationReport",
    "InsertionRecord",
    "PHASES",
    "CycleTimes",
    "cycle_times",
    "MoveProfile",
    "plan_move",
    "profile_time",
    "BrainMotion",
    "breach_probability",
    "vessel_capsules",
    "segment_distance",
    "path_clearance",
    "build_obstacles",
    "head_points",
    "obstacle_distances",
    "BrainShift",
    "BrainShiftResult",
    "register_brain_shift",
    "synthetic_brain_shift",
    "surface_points",
    "move_plan",
    "rigid_transform",
]
