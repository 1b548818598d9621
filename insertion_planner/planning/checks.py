"""Re-check every constraint of a plan with the one validity checker (:mod:`.validity`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..config import DuraMode, SafetyMargins
from ..errors import ConstraintViolationError
from ..frames import Grid
from ..plan import InsertionPlan
from ..protocols import AvoidanceLike
from ..robots import RobotSpec
from .opening import opening_from_geometry
from .scene import Scene, make_scene
from .surface import surface_from_summary
from .validity import Violation, thread_violations

__all__ = [
    "map_of_plan",
    "requirement_floor_um",
    "Violation",
    "ConstraintViolationError",
    "scene_from_plan",
    "check_plan",
    "require_avoidance",
]


def requirement_floor_um(
    margins: SafetyMargins, robot: RobotSpec, dura_mode: DuraMode
) -> tuple[float, float]:
    """The least clearance any thread needs under ``margins`` with ``robot``, and what the
    robot adds to the margins' own requirement (``(floor_um, extra_um)``).

    A plan's margins are never thinner than its robot's needle or better than its stage
    (:meth:`SafetyMargins.for_robot <insertion_planner.SafetyMargins.for_robot>`), so a
    plan whose margins or robot were changed is still held to both.

    Examples
    --------
    >>> from insertion_planner.config import DuraMode, SafetyMargins
    >>> from insertion_planner.robots import get_robot
    >>> sloppy = get_robot({"base": "R1-2019", "name": "sloppy", "stage_accuracy_um": 150.0})
    >>> [round(v, 1) for v in requirement_floor_um(SafetyMargins(), sloppy, DuraMode.DURECTOMY)]
    [362.3, 275.8]
    """
    floor = float(margins.for_robot(robot).required_um(dura_mode))
    return floor, max(0.0, floor - float(margins.required_um(dura_mode)))


def map_of_plan(plan: InsertionPlan, avoidance: object) -> AvoidanceLike:
    """``avoidance``, checked to be a map of the plan's image: its arrays of the image's
    shape, its pixel size and dura mode the plan's (when it records them).

    Raises
    ------
    TypeError
        ``avoidance`` lacks ``clearance_um``, ``required_um`` or ``allowed``.
    ValueError
        A shape, pixel size or dura mode that is not the plan's, naming it.
    """
    amap: Any = avoidance
    for name in ("clearance_um", "required_um", "allowed"):
        if not hasattr(amap, name):
            raise TypeError(f"avoidance must be an AvoidanceMap, got {type(amap).__name__}")
        shape = np.shape(getattr(amap, name))
        if tuple(shape) != tuple(plan.image_shape):
            raise ValueError(
                f"avoidance {name} has shape {tuple(shape)}, the plan's image {tuple(plan.image_shape)}"
            )
    mode = getattr(amap, "dura_mode", None)
    if mode is not None and DuraMode.parse(mode) is not plan.dura_mode:
        raise ValueError(
            f"avoidance was built for {DuraMode.parse(mode).value}, the plan is {plan.dura_mode.value}"
        )
    px = getattr(amap, "pixel_size_um", None)
    if px is not None and abs(float(px) - plan.pixel_size_um) > 1e-6 * plan.pixel_size_um:
        raise ValueError(
            f"avoidance was built at {float(px)} um per pixel, the plan at {plan.pixel_size_um}"
        )
    return amap  # type: ignore[no-any-return]


def require_avoidance(plan: InsertionPlan, avoidance: Any) -> Any:
    """The avoidance map to check against: ``avoidance`` or the plan's in-memory one.

    The map must be of the plan's image grid and dura mode; where the plan's margins (with
    its robot) ask more than the map applied, its requirement is raised to them
    (:func:`~insertion_planner.planning.plan_sites.map_for_margins`).
    """
    from .plan_sites import map_for_margins

    amap = avoidance if avoidance is not None else plan.avoidance
    if amap is None:
        raise ValueError(
            "avoidance is required: this plan was loaded from a file (or its dura mode was "
            "changed) and holds no avoidance map; pass avoidance=ip.avoidance_for_plan(plan, image)"
        )
    amap = map_of_plan(plan, amap)
    return map_for_margins(amap, plan.margins.for_robot(plan.robot_spec),
                           applied=getattr(amap, "margins", None), dura_mode=plan.dura_mode,
                           vessels=plan.vessels)  # fmt: skip


def scene_from_plan(plan: InsertionPlan, avoidance: Any = None) -> Scene:
    """The plan's scene, built from its saved fields (kept in its context while they hold).

    A fresh plan's scene is the one the planner built from the fields it saved; once any
    of those fields is replaced, or for a loaded plan, the scene is rebuilt from the
    saved fields alone (:class:`~insertion_planner.plan_context.PlanContext`), so an
    edited plan is judged exactly as its file would be. The opening is the stored mask
    (the real craniectomy), or the stored circle for a plan without one
    (:func:`~insertion_planner.planning.opening.opening_from_geometry`, which the robot
    simulator asks too).
    """
    if plan.scene is not None:
        return plan.scene
    g = plan.geometry
    h, w = plan.image_shape
    px = plan.pixel_size_um
    surface = None if g.surface is None else surface_from_summary(g.surface, (h, w), px)
    grid = plan.grid if plan.grid is not None else Grid((h, w), px, surface)
    opening = opening_from_geometry(g, px)
    if opening.mask is not None:
        crani = np.asarray(opening.mask)
    else:
        yy, xx = np.mgrid[:h, :w]
        cx, cy = g.craniectomy_center_um
        crani = np.hypot(xx * px - cx, yy * px - cy) <= g.craniectomy_radius_um + 1e-3
    pen = np.zeros((0, 3))
    if len(g.penetrating_um):
        pen = np.column_stack(
            [g.penetrating_um[:, 1] / px, g.penetrating_um[:, 0] / px, g.penetrating_um[:, 3]]
        )
    if avoidance is not None and getattr(avoidance, "penetrating", None) is not None:
        pen = np.asarray(avoidance.penetrating, float).reshape(-1, 3)
    scene = make_scene(
        grid, craniectomy=crani, skull_thickness_um=g.skull_thickness_um,
        thread_length_um=plan.config.thread_length_um, depth_um=plan.config.depth_um,
        depth_range_um=plan.config.depth_range_um, dura_thickness_um=g.dura_thickness_um, tether_clearance_um=g.tether_clearance_um,
        max_tilt_rad=plan.robot_spec.max_tilt_rad, max_incidence_rad=g.max_incidence_rad, penetrating=pen,
        robot=plan.robot_spec,
        collision_margin_um=plan.config.collision_margin_um,
        cortex_thickness_um=None if plan.context is None else plan.context.cortex_thickness_um,
    )  # fmt: skip
    return replace(scene, center_um=g.craniectomy_center_um, radius_um=g.craniectomy_radius_um,
                   exit_um=g.thread_exit_um, implant_center_um=g.implant_center_um,
                   implant_radius_um=g.implant_radius_um, implant_height_um=g.implant_height_um,
                   opening=opening)  # fmt: skip


def check_plan(
    plan: InsertionPlan, *, avoidance: Any = None, region: NDArray[np.bool_] | None = None
) -> list[Violation]:
    """Every hard constraint broken by the plan's active threads (empty when all hold).

    Checked: the per-site constraints (region, craniectomy, vessel clearance including the
    needle path past penetrating vessels, surface slope, tether reach, head collision,
    depth), each thread's recorded clearance against its requirement, each thread's depth
    against the depths allowed at its site (every electrode inside the cortex, when the
    plan's scene knows the thickness; :mod:`~insertion_planner.planning.depth`), spacing
    between active sites, tangling (no site under the tether of a thread inserted before
    it), and the thread count. The region is checked when the plan (or ``region``) holds
    one; a plan loaded from a file needs ``avoidance`` (and knows no cortical thickness:
    its depths are checked against its depth range only).

    Examples
    --------
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning import plan_from_avoidance
    >>> amap = avoidance_from_arrays(clearance_um=np.full((120, 120), 400.0))
    >>> check_plan(plan_from_avoidance(amap, n_threads=4))
    []
    """
    amap = require_avoidance(plan, avoidance)
    floor, extra = requirement_floor_um(plan.margins, plan.robot_spec, plan.dura_mode)
    return thread_violations(
        plan.active_threads, scene=scene_from_plan(plan, avoidance), avoidance=amap,
        region=region if region is not None else plan.region,
        min_spacing_um=plan.config.min_spacing_um, required_extra_um=extra,
        required_floor_um=floor,
    )  # fmt: skip


def raise_first(violations: list[Violation], *, context: str) -> None:
    """Raise :class:`ConstraintViolationError` for the first violation, if any."""
    if violations:
        v = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise ConstraintViolationError(
            f"{context}: {v.message}{more}", constraint=v.constraint, thread_id=v.thread_id
        )
