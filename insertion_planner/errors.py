"""The exception hierarchy of insertion_planner.

Bad input (wrong type, shape, dtype, NaN, impossible settings) raises the built-in
``ValueError`` or ``TypeError`` with a message naming the parameter and what it received.
An algorithm that cannot satisfy a valid request raises a :class:`PlannerError` subclass
that names the constraint that bound it:

- :class:`InfeasiblePlanError`: fewer threads fit than asked, with ``strict=True``
  (``binding_constraint``, ``n_placed``);
- :class:`ConstraintViolationError`: a surgeon edit (move, lock, unlock, remove) or a
  replan would break a hard constraint (``constraint``, ``thread_id``); no plan with a
  broken constraint is ever returned;
- :class:`KinematicLimitError`: a motion the robot cannot make;
- :class:`PlanFileError`: a plan file that cannot be trusted;
- :class:`ImageQualityError`: an image that cannot support a plan (blank, saturated,
  pure noise, no vessel contrast, vessel polarity contradicting the image, an
  implausible pixel size); ``problems`` lists each reason on one line;
- :class:`RegistrationError`: an intra-operative scan that ICP cannot register to the
  plan's surface well enough to move the plan (``fitness``, ``rmse_um``).

``ConstraintViolationError`` and ``PlanFileError`` are also ``ValueError`` subclasses.
"""

from __future__ import annotations

__all__ = [
    "PlannerError",
    "InfeasiblePlanError",
    "ConstraintViolationError",
    "KinematicLimitError",
    "PlanFileError",
    "ImageQualityError",
    "RegistrationError",
]


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


class ConstraintViolationError(PlannerError, ValueError):
    """An edit or a replan would break a hard constraint.

    Attributes
    ----------
    constraint : str
        ``"vessel_clearance"``, ``"min_spacing"``, ``"region"``, ``"craniectomy"``,
        ``"tether_reach"``, ``"surface_slope"``, ``"head_collision"``, ``"tether_tangle"``
        or ``"thread_count"``.
    thread_id : int or None
        The thread concerned, when there is one.
    """

    def __init__(self, message: str, *, constraint: str, thread_id: int | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint
        self.thread_id = thread_id


class KinematicLimitError(PlannerError):
    """A motion the robot cannot make: out of reach, past a joint limit or a tilt limit."""


class PlanFileError(PlannerError, ValueError):
    """A plan file that is missing, malformed, fails its JSON Schema (a value out of its
    range, NaN or infinity: the message names its JSON path), was tampered with, or holds a
    plan no planner could have written."""


class ImageQualityError(PlannerError):
    """The image cannot support a plan: the planner would be planning blind.

    Parameters
    ----------
    problems : list of str
        One line per problem found by :func:`~insertion_planner.assess_image`; the
        message is the first of them (and how many more there are).
    """

    def __init__(self, problems: list[str]) -> None:
        first = problems[0] if problems else "image cannot support a plan"
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"image cannot support a plan: {first}{more}")
        self.problems = list(problems)


class RegistrationError(PlannerError):
    """A scan that registration cannot match to the plan well enough to move the plan.

    Raised by :func:`~insertion_planner.register_brain_shift` when the fit it found
    covers too little of the exposed surface or leaves the scan too far from the moved
    surface; the message gives both numbers and the thresholds they missed.

    Parameters
    ----------
    message : str
    fitness : float
        Share of the plan's exposed surface with a scan point within the correspondence
        distance, in [0, 1].
    rmse_um : float
        Inlier RMS distance of the scan from the moved surface, um.
    """

    def __init__(
        self, message: str, *, fitness: float = float("nan"), rmse_um: float = float("nan")
    ) -> None:
        super().__init__(message)
        self.fitness = fitness
        self.rmse_um = rmse_um
