"""The exception hierarchy of insertion_planner.

Bad input (wrong type, shape, dtype, NaN, impossible settings) raises the built-in
``ValueError`` or ``TypeError`` with a message naming the parameter and what it received.
An algorithm that cannot satisfy a valid request raises a :class:`PlannerError` subclass
that names the constraint that bound it.
"""

from __future__ import annotations

__all__ = ["PlannerError", "InfeasiblePlanError", "KinematicLimitError", "PlanFileError"]


class PlannerError(Exception):
    """Base class of the errors the planner raises for requests it cannot meet."""


class InfeasiblePlanError(PlannerError):
    """Fewer threads fit than were asked for, and the caller asked for all or nothing.

    Parameters
    ----------
    message : str
        What was asked and what fits.
    binding_constraint : str
        The constraint that bound the plan, e.g. ``"vessel_clearance"``,
        ``"min_spacing"``, ``"region"``, ``"tether_reach"``, ``"surface_slope"``.
    n_placed : int
        How many threads do fit.
    """

    def __init__(self, message: str, *, binding_constraint: str, n_placed: int = 0) -> None:
        super().__init__(message)
        self.binding_constraint = binding_constraint
        self.n_placed = n_placed


class KinematicLimitError(PlannerError):
    """A motion the robot cannot make: out of reach, past a joint limit or a tilt limit."""


class PlanFileError(PlannerError, ValueError):
    """A plan file that is missing, malformed, fails its JSON Schema or was tampered with."""
