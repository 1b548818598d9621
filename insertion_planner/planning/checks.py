"""Re-check every constraint of a plan: per-site constraints, spacing, tangling, count."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from ..config import MAX_THREADS
from ..errors import ConstraintViolationError
from ..frames import Grid
from ..plan import InsertionPlan
from ..robots import DEFAULT_COLLISION_MARGIN_UM
from .candidates import SITE_CONSTRAINTS, site_checks
from .depth import site_depth_window_um
from .opening import opening_from_geometry
from .ordering import tangle_violations
from .scene import Scene, make_scene

__all__ = [
    "Violation",
    "ConstraintViolationError",
    "scene_from_plan",
    "check_plan",
    "require_avoidance",
]


@dataclass(frozen=True)
class Violation:
    """A broken constraint: which thread, which constraint, and why."""

    thread_id: int
    constraint: str
    message: str


def require_avoidance(plan: InsertionPlan, avoidance: Any) -> Any:
    """The avoidance map to check against: ``avoidance`` or the plan's in-memory one."""
    amap = avoidance if avoidance is not None else plan.avoidance
    if amap is None:
        raise ValueError(
            "avoidance is required: this plan was loaded from a file and holds no avoidance map; "
            "pass avoidance=ip.build_avoidance_map(...) of the same image"
        )
    shape = np.asarray(amap.clearance_um).shape
    if tuple(shape) != tuple(plan.image_shape):
        raise ValueError(
            f"avoidance must match the plan's image shape {plan.image_shape}, got shape {shape}"
        )
    return amap


def scene_from_plan(plan: InsertionPlan, avoidance: Any = None) -> Scene:
    """The plan's scene: the in-memory one, or one rebuilt from the JSON geometry.

    The opening is the stored mask (the real craniectomy), or the stored circle for a
    plan without one (:func:`~insertion_planner.planning.opening.opening_from_geometry`,
    which the robot simulator asks too).
    """
    if plan.scene is not None:
        return plan.scene  # type: ignore[no-any-return]
    g = plan.geometry
    h, w = plan.image_shape
    px = plan.pixel_size_um
    surface = None
    if g.surface is not None:
        z = np.asarray(g.surface["z_um"], float)
        step = g.surface["step_um"] / px
        rr, cc = np.mgrid[:h, :w].astype(float) / step
        surface = ndimage.map_coordinates(z, [rr, cc], order=1, mode="nearest").astype(np.float32)
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
        collision_margin_um=plan.provenance.get("parameters", {}).get("collision_margin_um", DEFAULT_COLLISION_MARGIN_UM),
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
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from insertion_planner.planning import plan_from_avoidance
    >>> amap = SimpleNamespace(clearance_um=np.full((120, 120), 400.0), required_um=np.full((120, 120), 86.5),
    ...                        allowed=np.ones((120, 120), bool), pixel_size_um=12.0)
    >>> check_plan(plan_from_avoidance(amap, n_threads=4))
    []
    """
    amap = require_avoidance(plan, avoidance)
    scene = scene_from_plan(plan, avoidance)
    reg = region if region is not None else plan.region
    active = plan.active_threads
    out: list[Violation] = []
    if len(active) > MAX_THREADS:
        out.append(
            Violation(-1, "thread_count", f"{len(active)} active threads, more than {MAX_THREADS}")
        )
    if not active:
        return out
    rc = np.array([t.pixel for t in active])
    checks = site_checks(
        amap, reg if reg is not None else np.ones(plan.image_shape, bool), scene, rc
    )
    clear = np.asarray(amap.clearance_um)
    req = np.asarray(amap.required_um)
    low, high = site_depth_window_um(scene, rc)
    for k, t in enumerate(active):
        for name in SITE_CONSTRAINTS:
            if not checks[name][k]:
                out.append(
                    Violation(
                        t.id, name, f"thread {t.id} ({t.label}) at pixel {t.pixel} breaks {name}"
                    )
                )
        if checks["depth"][k] and not low[k] - 1e-6 <= t.depth_um <= high[k] + 1e-6:
            out.append(Violation(t.id, "depth",
                                 f"thread {t.id} ({t.label}) at depth {t.depth_um} um leaves electrodes outside "
                                 f"the cortex (allowed there: {low[k]:g}-{high[k]:g} um)"))  # fmt: skip
        r, c = (int(v) for v in np.clip(np.rint(t.pixel), 0, np.array(plan.image_shape) - 1))
        if t.clearance_um < t.required_clearance_um or clear[r, c] < req[r, c]:
            if checks["vessel_clearance"][k]:
                out.append(Violation(t.id, "vessel_clearance",
                                     f"thread {t.id} ({t.label}) records clearance {t.clearance_um} um < required "
                                     f"{t.required_clearance_um} um"))  # fmt: skip
    xy = np.array([t.entry_um[:2] for t in active])
    for i, j in sorted(cKDTree(xy).query_pairs(plan.config.min_spacing_um * (1 - 1e-9))):
        d = float(np.linalg.norm(xy[i] - xy[j]))
        out.append(Violation(active[j].id, "min_spacing",
                             f"threads {active[i].id} ({active[i].label}) and {active[j].id} ({active[j].label}) are {d:.1f} um apart, "
                             f"less than min_spacing_um={plan.config.min_spacing_um}"))  # fmt: skip
    for later, earlier in tangle_violations(xy, scene.exit_um[:2], scene.tether_clearance_um):
        out.append(Violation(active[later].id, "tether_tangle",
                             f"thread {active[later].id} ({active[later].label}) lies under the tether of thread "
                             f"{active[earlier].id} ({active[earlier].label}), inserted before it"))  # fmt: skip
    return out


def raise_first(violations: list[Violation], *, context: str) -> None:
    """Raise :class:`ConstraintViolationError` for the first violation, if any."""
    if violations:
        v = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise ConstraintViolationError(
            f"{context}: {v.message}{more}", constraint=v.constraint, thread_id=v.thread_id
        )
