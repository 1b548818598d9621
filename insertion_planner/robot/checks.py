"""Validation of insertions: the checks a thread must pass before the robot inserts it.

:class:`SimulationScene` gathers, once per simulation, what the checks need from the
plan: the vessels as capsules, the obstacle meshes, the surface normals and the stage
box, and the plan's one validity checker
(:class:`~insertion_planner.planning.validity.ValidityChecker`). :func:`assess` runs the
per-thread checks on many threads at once and returns their cycle times: first what only
the robot model can tell (stage reach and joint limits, tilt, incidence on the surface,
needle length, the head and free needle against the skull and implant meshes, the 3-D
needle path against the vessel capsules), then every constraint planning checks, asked of
the validity checker itself (vessel clearance on the image's map, region, craniectomy,
surface slope, tether reach, head keep-out, depth), so simulation and planning cannot
disagree on them. :class:`LaidTethers` checks that a tether does not cross those already
laid (spacing and tangling are judged by the validity checker in the plan's order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..plan import InsertionPlan
from ..planning.checks import requirement_floor_um, scene_from_plan
from ..planning.opening import plan_opening
from ..planning.validity import ValidityChecker, Violation
from ..protocols import AvoidanceLike
from ..robots import RobotSpec
from ..thread import Thread
from .clearance import path_clearance, vessel_capsules
from .collision import Obstacles, build_obstacles, head_points, obstacle_distances
from .cycle import CycleTimes, cycle_times, stage_frame, tilt_angles

__all__ = [
    "SimulationScene",
    "Assessment",
    "simulation_scene",
    "assess",
    "approach_um",
    "LaidTethers",
]

_TILT_TOL_RAD = math.radians(0.5)


@dataclass(frozen=True, eq=False)
class SimulationScene:
    """What the checks need from a plan, built once per simulation (lengths um)."""

    robot: RobotSpec
    capsules: NDArray[np.float64]
    obstacles: Obstacles
    surface: dict[str, Any] | None
    pia_z_um: float
    skull_top_z_um: float
    stage_low_um: NDArray[np.float64]
    stage_high_um: NDArray[np.float64]
    cartridge_um: NDArray[np.float64]
    dura_thickness_um: float
    max_incidence_rad: float
    thread_length_um: float
    tether_clearance_um: float
    exit_um: NDArray[np.float64]
    collision_margin_um: float
    clearance_tolerance_um: float
    validity: ValidityChecker
    approach_top_z_um: float = 0.0
    required_floor_um: float = 0.0
    required_extra_um: float = 0.0


def approach_um(
    scene: SimulationScene, entries_um: NDArray[np.float64], directions: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Length (n,) of each needle axis checked above its entry, um.

    The needle tip sweeps its whole axis from above the scene down to the target, so the
    vessel-clearance check starts where the axis rises above every vessel and the top of
    the dura (``scene.approach_top_z_um``), and never below the top of the dura. A vessel
    over the entry point, or a vessel recorded at another height than the surface, is
    then still on the checked path.
    """
    e = np.asarray(entries_um, dtype=np.float64).reshape(-1, 3)
    d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    down = np.maximum(
        -d[:, 2], 0.1
    )  # the approach of a near-horizontal axis is capped at 10x the height
    rise = (scene.approach_top_z_um - e[:, 2]) / down
    out: NDArray[np.float64] = np.maximum(scene.dura_thickness_um, rise)
    return out


def _surface_z(surface: dict[str, Any] | None) -> NDArray[np.float64] | None:
    return None if surface is None else np.asarray(surface["z_um"], dtype=np.float64)


def simulation_scene(
    plan: InsertionPlan,
    robot: RobotSpec,
    *,
    collision_margin_um: float,
    clearance_tolerance_um: float,
    avoidance: AvoidanceLike | None = None,
) -> SimulationScene:
    """Build the :class:`SimulationScene` of ``plan`` for ``robot``.

    The scene carries the plan's one validity checker, built on the plan's scene with
    this robot (its head, tilt and the collision margin) and the requirement this robot
    adds to the plan's margins. With ``avoidance`` (an avoidance map of the plan's image),
    that map judges every site through the checker, and its penetrating vessels join the
    3-D path check, so neither the stored clearances nor the stored vessels can excuse a
    site; the stored vessels can still reject one.
    """
    g = plan.geometry
    z = _surface_z(g.surface)
    dura = float(g.dura_thickness_um)
    if z is None:
        z_min = z_max = pia = 0.0
    else:
        z_min, z_max = float(z.min()), float(z.max())
        pia = float(np.median(z))
    top = z_max + float(g.skull_thickness_um)
    obstacles = build_obstacles(
        opening=plan_opening(plan), skull_top_z_um=top, skull_bottom_z_um=z_min - dura - 1000.0,
        implant_center_um=g.implant_center_um, implant_radius_um=g.implant_radius_um,
        implant_height_um=g.implant_height_um,
    )  # fmt: skip
    low, high = stage_frame(g.craniectomy_center_um, pia, robot)
    cx, cy = g.craniectomy_center_um
    cartridge = np.array([cx, cy, pia]) + np.asarray(robot.cartridge_offset_um)
    incidence = robot.max_incidence_rad
    if g.max_incidence_rad > 0:
        incidence = min(incidence, g.max_incidence_rad)
    capsules = vessel_capsules(g.vessel_segments_um, g.penetrating_um)
    if avoidance is not None:
        capsules = np.concatenate([capsules, _map_penetrating(plan, avoidance, z_min, z_max, dura)])
    top = z_max + dura
    if len(capsules):
        top = max(top, float(capsules[:, [2, 5]].max() + capsules[:, 6].max()))
    # a thread never needs less than the plan's margin model asks of the smallest vessel,
    # with the needle and the stage accuracy of the robot that inserts it (a file may say
    # otherwise): each thread's requirement grows by what this robot adds to the plan's
    floor, extra = requirement_floor_um(plan.margins, robot, plan.dura_mode)
    planned = scene_from_plan(plan, avoidance)
    # the larger of the plan's collision margin and the simulation's
    margin = max(float(planned.collision_margin_um), float(collision_margin_um))
    planned = replace(planned, robot=robot, collision_margin_um=margin,
                      max_tilt_rad=robot.max_tilt_rad,
                      thread_length_um=float(plan.config.thread_length_um))  # fmt: skip
    validity = ValidityChecker(planned, avoidance, plan.region, float(plan.config.min_spacing_um),
                               required_extra_um=extra, required_floor_um=floor)  # fmt: skip
    return SimulationScene(
        robot=robot, capsules=capsules,
        obstacles=obstacles, surface=g.surface, pia_z_um=pia, skull_top_z_um=top,
        stage_low_um=low, stage_high_um=high, cartridge_um=cartridge, dura_thickness_um=dura,
        max_incidence_rad=incidence, thread_length_um=float(plan.config.thread_length_um),
        tether_clearance_um=float(g.tether_clearance_um), exit_um=np.asarray(g.thread_exit_um, float),
        collision_margin_um=collision_margin_um, clearance_tolerance_um=clearance_tolerance_um,
        approach_top_z_um=top + 1.0, required_floor_um=floor, required_extra_um=extra,
        validity=validity,
    )  # fmt: skip


def _map_penetrating(
    plan: InsertionPlan, avoidance: AvoidanceLike, z_min: float, z_max: float, dura: float
) -> NDArray[np.float64]:
    """The map's penetrating vessels (row, col, radius_um) as capsules (m, 7) spanning every needle path."""
    pen = np.asarray(getattr(avoidance, "penetrating", np.zeros((0, 3))), dtype=np.float64)
    pen = pen.reshape(-1, 3)
    px = float(plan.pixel_size_um)
    deepest = max((float(t.depth_um) for t in plan.threads), default=0.0)
    out = np.empty((len(pen), 7))
    out[:, 0] = out[:, 3] = pen[:, 1] * px
    out[:, 1] = out[:, 4] = pen[:, 0] * px
    out[:, 2] = z_max + dura
    out[:, 5] = z_min - deepest - dura
    out[:, 6] = pen[:, 2]
    return out


@dataclass(frozen=True, eq=False)
class Assessment:
    """Per-thread check results of one batch (arrays of length n, lengths um, angles rad)."""

    reasons: list[list[str]]
    min_clearance_um: NDArray[np.float64]
    head_clearance_um: NDArray[np.float64]
    tilt_rad: NDArray[np.float64]
    incidence_rad: NDArray[np.float64]
    deflection_sigma_um: NDArray[np.float64]
    times: CycleTimes
    required_um: NDArray[np.float64] | None = None


def assess(threads: Sequence[Thread], scene: SimulationScene) -> Assessment:
    """Run the per-thread checks on ``threads`` and time their insertion cycles."""
    r = scene.robot
    n = len(threads)
    e = np.array([t.entry_um for t in threads], dtype=np.float64).reshape(n, 3)
    d = np.array([t.direction for t in threads], dtype=np.float64).reshape(n, 3)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    depth = np.array([t.depth_um for t in threads], dtype=np.float64)
    required = np.array([t.required_clearance_um for t in threads], dtype=np.float64)
    required = np.maximum(required + scene.required_extra_um, scene.required_floor_um)
    dura = scene.dura_thickness_um
    reasons: list[list[str]] = [[] for _ in range(n)]
    times = cycle_times(e, d, depth, robot=r, cartridge_um=scene.cartridge_um, pia_z_um=scene.pia_z_um,
                        dura_thickness_um=dura)  # fmt: skip
    # reach: every stage position visited, and the cartridge
    pts = np.concatenate(
        [times.waypoints_um, np.broadcast_to(scene.cartridge_um, (n, 1, 3))], axis=1
    )
    outside = (pts < scene.stage_low_um - 1e-6) | (pts > scene.stage_high_um + 1e-6)
    # joint limits: tilt axes
    angles = tilt_angles(d)
    tilt = angles[:, 2]
    # the planner's surface normals (one surface model, the one the plan file keeps)
    grid = scene.validity.scene.grid
    normals = grid.normals(e[:, [1, 0]] / grid.pixel_size_um)
    incidence = np.arccos(np.clip(-(d * normals).sum(axis=1), -1.0, 1.0))
    gap = r.needle_stickout_um - depth - dura  # head bottom above the pia at full depth
    # collision of the head and the free needle with the skull rim and the implant
    tips = e + depth[:, None] * d
    hp, hr = head_points(tips, d, r, needle_end_um=e - dura * d)
    dist = obstacle_distances(scene.obstacles, hp, hr)
    head_clear = dist.min(axis=1) if dist.shape[1] else np.full(n, np.inf)
    clear, _ = path_clearance(
        e, d, depth, scene.capsules, dura_thickness_um=approach_um(scene, e, d)
    )
    names = list(scene.obstacles.names)
    shared: tuple[tuple[Violation, ...], ...] = tuple(() for _ in range(n))
    judged_clear, judged_required = clear, required
    if n:
        # the constraints planning checks, asked of the one validity checker
        found = scene.validity.check(threads, pairs=False)
        shared = found.per_thread
        judged_clear = np.minimum(clear, found.clearance_um)
        judged_required = np.maximum(required, found.required_um)
    for i in range(n):
        why = reasons[i]
        if outside[i].any():
            axes = "".join(sorted({"xyz"[a] for a in np.nonzero(outside[i])[1]}))
            why.append(f"reach: a stage position is outside the {axes} travel of {r.name}")
        if tilt[i] > r.max_tilt_rad + _TILT_TOL_RAD:
            limit = (
                "vertical-only"
                if r.max_tilt_rad == 0
                else f"limit {math.degrees(r.max_tilt_rad):.1f} deg"
            )
            why.append(f"joint_limit: needle tilt {math.degrees(tilt[i]):.1f} deg, robot {limit}")
        if incidence[i] > scene.max_incidence_rad + 1e-9:
            why.append(f"incidence: needle {math.degrees(incidence[i]):.1f} deg from the surface normal "
                       f"(limit {math.degrees(scene.max_incidence_rad):.1f} deg)")  # fmt: skip
        if gap[i] <= 0:
            why.append(f"needle_length: stick-out {r.needle_stickout_um:.0f} um is shorter than "
                       f"depth + dura {depth[i] + dura:.0f} um")  # fmt: skip
        for j, name in enumerate(names):
            if dist[i, j] < scene.collision_margin_um:
                why.append(f"collision_{name}: insertion head {dist[i, j]:.0f} um from the {name} "
                           f"(margin {scene.collision_margin_um:.0f} um)")  # fmt: skip
        if clear[i] < required[i] - scene.clearance_tolerance_um:
            why.append(f"vessel_clearance: needle path {clear[i]:.1f} um from a vessel edge, "
                       f"{required[i]:.1f} um required")  # fmt: skip
        why.extend(f"{v.constraint}: {v.detail}" for v in shared[i])
    deflection = np.zeros(n)
    if dura > 0:
        deflection = (
            r.puncture_deflection_um_per_mm * dura / 1000.0 / np.maximum(np.cos(incidence), 0.1)
        )
    return Assessment(
        reasons, judged_clear, head_clear, tilt, incidence, deflection, times, judged_required
    )


def _cross(
    a: NDArray[np.float64], b: NDArray[np.float64], c: NDArray[np.float64]
) -> NDArray[np.float64]:
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (
        c[..., 0] - a[..., 0]
    )


def _plan_view(thread: Thread, exit_xy: NDArray[np.float64]) -> NDArray[np.float64]:
    poly = np.asarray(thread.tether_um, dtype=np.float64).reshape(-1, 3)[:, :2]
    if len(poly) < 2:
        poly = np.stack([exit_xy, np.asarray(thread.entry_um[:2], dtype=np.float64)])
    return poly


class LaidTethers:
    """Plan-view tether segments of the threads inserted so far."""

    def __init__(self, scene: SimulationScene) -> None:
        self.scene = scene
        self.a = np.zeros((0, 2))
        self.b = np.zeros((0, 2))
        self.owner = np.zeros(0, dtype=np.int64)

    def add(self, thread: Thread) -> None:
        poly = _plan_view(thread, self.scene.exit_um[:2])
        self.a = np.concatenate([self.a, poly[:-1]])
        self.b = np.concatenate([self.b, poly[1:]])
        self.owner = np.concatenate([self.owner, np.full(len(poly) - 1, thread.id)])

    def reasons(self, thread: Thread) -> list[str]:
        """Why ``thread`` cannot go in after the laid threads (empty when it can).

        The new tether must not properly cross a laid one in plan view (touching at the
        shared thread exit is allowed). A site under a laid tether is a ``tether_tangle``
        of the validity checker.
        """
        if not len(self.a):
            return []
        out: list[str] = []
        mine = _plan_view(thread, self.scene.exit_um[:2])
        p, q = mine[:-1, None], mine[1:, None]
        r0, r1 = self.a[None], self.b[None]
        d1, d2 = _cross(p, q, r0), _cross(p, q, r1)
        d3, d4 = _cross(r0, r1, p), _cross(r0, r1, q)
        tol = 1e-6
        proper = (((d1 > tol) & (d2 < -tol)) | ((d1 < -tol) & (d2 > tol))) & (
            ((d3 > tol) & (d4 < -tol)) | ((d3 < -tol) & (d4 > tol))
        )
        crossed = self.owner[proper.any(axis=0)]
        for owner in dict.fromkeys(crossed.tolist()):
            out.append(f"tether_crossing: tether crosses the tether of thread {owner}")
        return out
