"""Planning: candidate sites, placement with a MILP certificate, ordering, edits, replanning.

The stage takes an avoidance map (see :mod:`insertion_planner.avoidance`) and returns an
:class:`~insertion_planner.plan.InsertionPlan`. See ``docs/algorithms.md`` (Placement,
Ordering and tethers, Replanning).
"""

from __future__ import annotations

from .candidates import Candidates, make_candidates
from .checks import ConstraintViolationError, check_plan
from .edits import lock_thread, move_thread, remove_thread, unlock_thread
from .optimise import Placement, place_sites
from .ordering import insertion_order, precedence_graph, tangle_violations
from .plan_sites import plan_from_avoidance
from .replan import replan
from .scene import Scene, make_scene
from .validity import SITE_CONSTRAINTS, ValidityChecker, Violation, site_checks

__all__ = [
    "replan",
    "move_thread",
    "lock_thread",
    "unlock_thread",
    "remove_thread",
    "check_plan",
    "Violation",
    "ConstraintViolationError",
    "SITE_CONSTRAINTS",
    "Candidates",
    "make_candidates",
    "site_checks",
    "Placement",
    "place_sites",
    "insertion_order",
    "precedence_graph",
    "tangle_violations",
    "plan_from_avoidance",
    "Scene",
    "make_scene",
    "ValidityChecker",
]
