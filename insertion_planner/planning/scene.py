"""The surgical scene around the sites: craniectomy, implant, tethers, needle axes.

Every function takes plain arrays or a :class:`Scene` and works on many sites at once.
Pixels are (row, col); points are (x, y, z) in micrometres in the :class:`~insertion_planner.Grid`
frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from .._validation import check_bool_mask, check_positive
from ..frames import Grid
from ..robots import DEFAULT_COLLISION_MARGIN_UM, RobotSpec, head_standoff_um
from .opening import Opening

__all__ = [
    "Scene",
    "make_scene",
    "needle_directions",
    "incidence_rad",
    "tether_polylines",
    "tether_lengths_um",
    "penetrating_path_clearance_um",
    "head_slack_um",
]

IMPLANT_RADIUS_UM = 11500.0
"""The N1 implant is about quarter-sized (US quarter: 24.26 mm diameter)."""
IMPLANT_HEIGHT_UM = 9000.0
"""About 9 mm thick (Neuralink, podcast #438)."""
DEFAULT_CRANIECTOMY_DIAMETER_UM = 25000.0
"""Opening assumed around an image given without a craniectomy mask (the image is a view
inside it, centred): about the N1 craniectomy."""
EXIT_GAP_UM = 500.0
"""Horizontal gap between the craniectomy rim and the implant's thread exit."""
EXIT_HEIGHT_UM = 1000.0
"""The implant sits in a recess cut in the skull beside the craniectomy; its thread exit is
this far above the highest point of the surface."""

# Where the implant sits: beside the craniectomy on the side AWAY from the target region,
# its thread exit just outside the rim, the tethers running over the rim and across the
# opening to the sites. The implant (11.5 mm radius, 9 mm tall) is the tallest obstacle
# the insertion head must clear; on the far side it blocks only sites near the far rim,
# not the region. All tethers then arrive from one direction, which the tangle-free
# ordering handles by inserting the sites farthest from the exit first.


@dataclass(frozen=True, eq=False)
class Scene:
    """Geometry the placement constraints need besides the avoidance map.

    Attributes
    ----------
    grid : Grid
    craniectomy : (H, W) bool
        Pixels inside the craniectomy (exposed brain).
    center_um : (x, y)
        Centre of the smallest disc about the opening's centroid holding it: where the
        implant and the thread exit are laid out from (never a safety test).
    radius_um : float
        Radius of that disc.
    rim_z_um : float
        Height of the skull rim: highest surface point plus the skull thickness (for
        collision checks; the tethers start lower, at the implant's thread exit).
    skull_thickness_um : float
    exit_um : (x, y, z)
        The implant's thread exit, where every tether starts, ``EXIT_HEIGHT_UM`` above the
        highest surface point, ``EXIT_GAP_UM`` outside the rim.
    implant_center_um : (x, y, z)
    thread_length_um, depth_um, dura_thickness_um, tether_clearance_um : float
    max_tilt_rad, max_incidence_rad : float
    penetrating : (m, 3) float
        Known penetrating vessels as (row, col, radius_um).
    robot : RobotSpec or None
        Insertion-head geometry for the head-collision constraint (None: not checked).
    collision_margin_um : float
        Distance the head and free needle keep from the skull rim and the implant.
    implant_radius_um, implant_height_um : float
    opening : Opening
        The real opening (:mod:`~insertion_planner.planning.opening`): the one
        distance-to-bone rule of the head keep-out, shared with the robot simulator.
    depth_range_um : (float, float) or None
        Tip depths the planner may choose per thread (``depth_um`` is then its deepest
        end); None: every thread at ``depth_um``.
    cortex_thickness_um : float, (H, W) float or None
        Vertical cortical thickness (a number or a read-only map), um: the ``depth``
        constraint keeps every electrode inside it (:mod:`~insertion_planner.planning.depth`).
        None: not known, no depth constraint (a single depth, as before).
    """

    grid: Grid
    craniectomy: NDArray[np.bool_] = field(repr=False)
    center_um: tuple[float, float]
    radius_um: float
    rim_z_um: float
    skull_thickness_um: float
    exit_um: tuple[float, float, float]
    implant_center_um: tuple[float, float, float]
    thread_length_um: float
    depth_um: float
    dura_thickness_um: float
    tether_clearance_um: float
    max_tilt_rad: float
    max_incidence_rad: float
    penetrating: NDArray[np.float64] = field(repr=False)
    robot: RobotSpec | None = field(default=None, repr=False)
    collision_margin_um: float = DEFAULT_COLLISION_MARGIN_UM
    implant_radius_um: float = IMPLANT_RADIUS_UM
    implant_height_um: float = IMPLANT_HEIGHT_UM
    opening: Opening = field(default=None, repr=False)  # type: ignore[assignment]
    depth_range_um: tuple[float, float] | None = None
    cortex_thickness_um: float | NDArray[np.float32] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.opening is None:  # a scene built by hand: its disc is the opening
            circle = Opening.circle(self.center_um, self.radius_um,
                                    pixel_size_um=self.grid.pixel_size_um)  # fmt: skip
            object.__setattr__(self, "opening", circle)


def make_scene(
    grid: Grid,
    *,
    craniectomy: ArrayLike | None = None,
    toward_rc: ArrayLike | None = None,
    skull_thickness_um: float = 6000.0,
    thread_length_um: float = 20000.0,
    depth_um: float = 3500.0,
    dura_thickness_um: float = 0.0,
    tether_clearance_um: float = 100.0,
    max_tilt_rad: float = 0.0,
    max_incidence_rad: float = math.radians(10.0),
    penetrating: ArrayLike | None = None,
    robot: RobotSpec | None = None,
    collision_margin_um: float = DEFAULT_COLLISION_MARGIN_UM,
    depth_range_um: tuple[float, float] | None = None,
    cortex_thickness_um: float | NDArray[np.float32] | None = None,
) -> Scene:
    """Build the scene: craniectomy disc, implant beside it, thread exit at its edge.

    Parameters
    ----------
    grid : Grid
    craniectomy : (H, W) bool, optional
        Exposed brain: the real opening, whatever its shape, checked exactly by the head
        keep-out (beyond the image counts as bone). The smallest disc around the mask's
        centroid holding it lays out the implant. Default: the image is a view inside a
        round opening centred on it, ``DEFAULT_CRANIECTOMY_DIAMETER_UM`` across (or the
        disc inscribed in the image when that is larger).
    toward_rc : (row, col), optional
        The target (usually the centroid of the target region): the implant sits beside
        the craniectomy on the side away from it, so it does not block the insertion head
        over the region; default: the implant to the right (+x).
    skull_thickness_um : float
        Rim height above the highest surface point (adult skull ~6 mm).
    thread_length_um, depth_um, dura_thickness_um, tether_clearance_um : float
    max_tilt_rad, max_incidence_rad : float
        Tilt the robot can make; largest angle allowed between needle and surface normal.
    penetrating : (m, 3) float, optional
        (row, col, radius_um) of known penetrating vessels.
    robot : RobotSpec, optional
        Head geometry for the head-collision constraint; None skips it.
    collision_margin_um : float
        Distance the head keeps from the skull rim and the implant.
    depth_range_um, cortex_thickness_um
        See :class:`Scene` (checked by the caller, ``plan_from_avoidance``). With a range,
        ``depth_um`` is replaced by its deepest end.

    Examples
    --------
    >>> s = make_scene(Grid((100, 100), pixel_size_um=10.0))
    >>> s.center_um, s.radius_um, s.exit_um
    ((495.0, 495.0), 12500.0, (13495.0, 495.0, 1000.0))
    """
    h, w = grid.shape
    px = grid.pixel_size_um
    if craniectomy is None:
        yy, xx = np.ogrid[:h, :w]
        center = ((w - 1) * px / 2.0, (h - 1) * px / 2.0)
        radius = max(min(h, w) * px, DEFAULT_CRANIECTOMY_DIAMETER_UM) / 2.0
        mask = np.hypot(xx * px - center[0], yy * px - center[1]) <= radius
        opening = Opening.circle(center, radius, pixel_size_um=px)
    else:
        mask = check_bool_mask(np.asarray(craniectomy), name="craniectomy", shape=grid.shape)
        opening = Opening.from_mask(mask, pixel_size_um=px)
        center, radius = opening.center_um, opening.radius_um
    mask = np.array(mask, bool)
    mask.setflags(write=False)
    skull = check_positive(skull_thickness_um, name="skull_thickness_um")
    zmax = float(grid.surface_z_um.max()) if grid.surface_z_um is not None else 0.0
    rim_z = zmax + skull
    exit_z = zmax + EXIT_HEIGHT_UM
    if toward_rc is None:
        u = np.array([1.0, 0.0])
    else:
        t = np.asarray(toward_rc, dtype=float)
        u = -np.array([t[1] * px - center[0], t[0] * px - center[1]])
        n = float(np.hypot(*u))
        u = u / n if n > 1e-6 else np.array([1.0, 0.0])
    exit_xy = np.array(center) + u * (radius + EXIT_GAP_UM)
    implant_xy = np.array(center) + u * (radius + EXIT_GAP_UM + IMPLANT_RADIUS_UM)
    pen = np.zeros((0, 3)) if penetrating is None else np.asarray(penetrating, float).reshape(-1, 3)
    pen = pen.copy()
    pen.setflags(write=False)
    return Scene(
        grid=grid, craniectomy=mask, center_um=(float(center[0]), float(center[1])),
        radius_um=float(radius), rim_z_um=rim_z, skull_thickness_um=skull,
        exit_um=(float(exit_xy[0]), float(exit_xy[1]), exit_z),
        implant_center_um=(float(implant_xy[0]), float(implant_xy[1]), exit_z),
        thread_length_um=check_positive(thread_length_um, name="thread_length_um"),
        depth_um=check_positive(depth_um if depth_range_um is None else depth_range_um[1], name="depth_um"),
        dura_thickness_um=check_positive(dura_thickness_um, name="dura_thickness_um", allow_zero=True),
        tether_clearance_um=check_positive(tether_clearance_um, name="tether_clearance_um", allow_zero=True),
        max_tilt_rad=float(max_tilt_rad), max_incidence_rad=float(max_incidence_rad), penetrating=pen,
        robot=robot, collision_margin_um=check_positive(collision_margin_um, name="collision_margin_um",
                                                        allow_zero=True), opening=opening,
        depth_range_um=depth_range_um, cortex_thickness_um=cortex_thickness_um,
    )  # fmt: skip


def needle_directions(scene: Scene, rc: ArrayLike) -> NDArray[np.float64]:
    """Unit needle axes (n, 3) pointing into tissue at (n, 2) sites.

    A vertical-only robot inserts along (0, 0, -1); a tilting robot follows the inward
    surface normal, tilting at most ``max_tilt_rad`` toward it.
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float))
    out = np.zeros((len(pts), 3))
    out[:, 2] = -1.0
    if scene.max_tilt_rad <= 0 or scene.grid.surface_z_um is None or not len(pts):
        return out
    n = scene.grid.normals(pts)
    slope = np.arccos(np.clip(n[:, 2], -1.0, 1.0))
    tilt = np.minimum(slope, scene.max_tilt_rad)
    hnorm = np.hypot(n[:, 0], n[:, 1])
    safe = np.where(hnorm > 1e-12, hnorm, 1.0)
    out[:, 0] = -np.sin(tilt) * n[:, 0] / safe
    out[:, 1] = -np.sin(tilt) * n[:, 1] / safe
    out[:, 2] = -np.cos(tilt)
    return out


def incidence_rad(scene: Scene, rc: ArrayLike) -> NDArray[np.float64]:
    """Angle (n,) between the needle axis and the inward surface normal at (n, 2) sites."""
    pts = np.atleast_2d(np.asarray(rc, dtype=float))
    if scene.grid.surface_z_um is None:
        return np.zeros(len(pts))
    d = needle_directions(scene, pts)
    n = scene.grid.normals(pts)
    return np.arccos(np.clip(-(d * n).sum(axis=1), -1.0, 1.0))


def _rim_points(scene: Scene, xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Where the straight path exit -> site crosses the craniectomy rim, (n, 2)."""
    e = np.array(scene.exit_um[:2])
    c = np.array(scene.center_um)
    d = xy - e
    f = e - c
    a = (d * d).sum(axis=1)
    b = 2 * (f * d).sum(axis=1)
    cc = (f * f).sum() - scene.radius_um**2
    disc = b * b - 4 * a * cc
    safe_a = np.where(a > 0, a, 1.0)
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2 * safe_a)
    t = np.where((disc >= 0) & (a > 0), np.clip(t, 0.0, 1.0), 0.0)
    return e + t[:, None] * d


def tether_polylines(scene: Scene, rc: ArrayLike) -> NDArray[np.float64]:
    """Tether polylines (n, 4, 3): exit, over the rim, down to the surface, to the site.

    Examples
    --------
    >>> s = make_scene(Grid((100, 100), pixel_size_um=10.0))
    >>> tether_polylines(s, [[49.5, 49.5]])[0].round(1).tolist()
    [[13495.0, 495.0, 1000.0], [12995.0, 495.0, 1000.0], [12995.0, 495.0, 0.0], [495.0, 495.0, 0.0]]
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float))
    sites = scene.grid.to_um(pts)
    rim = _rim_points(scene, sites[:, :2])
    rim_rc = np.clip(scene.grid.to_pixel(rim), 0, np.array(scene.grid.shape) - 1)
    rim_z = scene.grid.height_at(rim_rc)
    out = np.empty((len(pts), 4, 3))
    out[:, 0] = scene.exit_um
    out[:, 1, :2] = rim
    out[:, 1, 2] = scene.exit_um[2]
    out[:, 2, :2] = rim
    out[:, 2, 2] = rim_z
    out[:, 3] = sites
    return out


def tether_lengths_um(scene: Scene, rc: ArrayLike) -> NDArray[np.float64]:
    """Length (n,) of each tether polyline, micrometres."""
    poly = tether_polylines(scene, rc)
    return np.linalg.norm(np.diff(poly, axis=1), axis=2).sum(axis=1)


def penetrating_path_clearance_um(
    scene: Scene, rc: ArrayLike, *, upto_um: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Clearance (n,) from each needle path to the nearest known penetrating vessel, um.

    The needle path runs from the dura (or pia) top to ``depth_um`` below the pia along the
    needle axis; a penetrating vessel is a vertical cylinder of its radius. The clearance is
    the 2-D distance from the vessel axis to the path's horizontal projection minus the
    vessel radius (conservative: it ignores that the two may not overlap in depth).
    ``inf`` when no penetrating vessel is known.

    ``upto_um`` (scalar or (n,)) limits the search: vessels farther than that from a path
    are skipped, and a path with none that close gets ``inf`` (callers that only compare
    the clearance with, or take its minimum with, a value <= ``upto_um`` lose nothing).
    The vessels near each path are found with a k-d tree.
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float)).reshape(-1, 2)
    out = np.full(len(pts), np.inf)
    if not len(scene.penetrating) or not len(pts):
        return out
    px = scene.grid.pixel_size_um
    vxy = scene.penetrating[:, [1, 0]] * px
    vr = scene.penetrating[:, 2]
    d = needle_directions(scene, pts)
    length = scene.depth_um + scene.dura_thickness_um
    a = pts[:, [1, 0]] * px - d[:, :2] * scene.dura_thickness_um
    b = pts[:, [1, 0]] * px + d[:, :2] * length
    mid = 0.5 * (a + b)
    half = 0.5 * np.linalg.norm(b - a, axis=1)
    if upto_um is None:
        reach = np.full(len(pts), np.inf)
    else:
        reach = np.broadcast_to(np.asarray(upto_um, dtype=np.float64), (len(pts),))
    finite = np.isfinite(reach)
    radius = np.where(finite, half + np.where(finite, reach, 0.0) + float(vr.max()) + 1e-6, 0.0)
    # pairs (path, vessel) within reach; paths with an unbounded reach see every vessel
    lists = cKDTree(vxy).query_ball_point(mid[finite], radius[finite]) if finite.any() else []
    counts = np.array([len(x) for x in lists], dtype=np.int64)
    rows = [np.repeat(np.flatnonzero(finite), counts)]
    cols = [np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(counts.sum()))]
    if (~finite).any():
        inf_idx = np.flatnonzero(~finite)
        rows.append(np.repeat(inf_idx, len(vxy)))
        cols.append(np.tile(np.arange(len(vxy)), len(inf_idx)))
    i, j = np.concatenate(rows), np.concatenate(cols)
    if not len(i):
        return out
    ab = b[i] - a[i]
    t = np.clip(
        ((vxy[j] - a[i]) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0.0, 1.0
    )
    dist = np.linalg.norm(vxy[j] - (a[i] + t[:, None] * ab), axis=1) - vr[j]
    np.minimum.at(out, i, dist)
    return out


def _segment_point_distance(
    a: NDArray[np.float64], b: NDArray[np.float64], p: ArrayLike
) -> NDArray[np.float64]:
    """Distance (n,) from point ``p`` (2,) to the segments a[i] -> b[i] (n, 2)."""
    q = np.asarray(p, dtype=np.float64)
    ab = b - a
    t = np.clip(((q - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0.0, 1.0)
    out: NDArray[np.float64] = np.linalg.norm(a + t[:, None] * ab - q, axis=1)
    return out


def head_slack_um(scene: Scene, rc: ArrayLike) -> NDArray[np.float64]:
    """How far (n,) each site's insertion head stays beyond the collision margin, um.

    The head is checked at full insertion depth against the skull rim (a wall over the
    bone outside the real opening, ``rim_z_um`` high: :meth:`Opening.edge_distance_um
    <insertion_planner.planning.opening.Opening.edge_distance_um>`, the rule the robot
    simulator's skull collision asks too) and the implant (a cylinder): the horizontal
    distance from the head's lower end to the bone edge (or the implant) minus
    :func:`~insertion_planner.robots.head_standoff_um` for the obstacle's height above that
    end; the free needle (head to dura) must also keep the margin plus its radius from
    both, inside the opening along its whole length. Negative where the head would
    collide; ``inf`` without a robot.

    Parameters
    ----------
    scene : Scene
    rc : (n, 2) float
        Sites (row, col).

    Returns
    -------
    (n,) float
        Micrometres.

    Examples
    --------
    >>> from insertion_planner.robots import get_robot
    >>> m = np.zeros((600, 600), bool); m[50:550, 50:550] = True   # a 10 mm square at 20 um
    >>> s = make_scene(Grid((600, 600), 20.0), craniectomy=m, robot=get_robot("R1-2019"))
    >>> head_slack_um(s, [[300, 300], [300, 100]]).round(1).tolist()  # 4990 and 1010 um from bone
    [2034.6, -1945.4]
    """
    pts = np.atleast_2d(np.asarray(rc, dtype=float)).reshape(-1, 2)
    out = np.full(len(pts), np.inf)
    robot = scene.robot
    if robot is None or not len(pts):
        return out
    opening = scene.opening
    m = scene.collision_margin_um
    entry = scene.grid.to_um(pts)
    d = needle_directions(scene, pts)
    up = -d
    bottom = entry + (robot.needle_stickout_um - scene.depth_um) * up
    top = entry + scene.dura_thickness_um * up  # the needle enters tissue here
    tilt = np.arccos(np.clip(up[:, 2], -1.0, 1.0))
    # skull rim: a wall over the bone, its top at rim_z_um
    g_skull = opening.edge_distance_um(bottom[:, :2])
    need = head_standoff_um(robot, scene.rim_z_um - bottom[:, 2], margin_um=m, tilt_rad=tilt)
    needle_in = _free_needle_inside_um(opening, bottom, top)
    out = np.minimum(g_skull - need, needle_in - m - robot.needle_radius_um)
    if scene.implant_radius_um > 0 and scene.implant_height_um > 0:
        ic = np.asarray(scene.implant_center_um)
        g_imp = np.linalg.norm(bottom[:, :2] - ic[:2], axis=1) - scene.implant_radius_um
        need = head_standoff_um(
            robot, ic[2] + scene.implant_height_um - bottom[:, 2], margin_um=m, tilt_rad=tilt
        )
        needle_out = (
            _segment_point_distance(bottom[:, :2], top[:, :2], ic[:2]) - scene.implant_radius_um
        )
        out = np.minimum(out, np.minimum(g_imp - need, needle_out - m - robot.needle_radius_um))
    return out


def _free_needle_inside_um(
    opening: Opening, bottom: NDArray[np.float64], top: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Smallest distance (n,) inside the opening along each free needle's plan view.

    The segments bottom -> top are sampled at most half a pixel apart; the distance to
    the edge changes by at most the sample gap, so half of it is taken off.
    """
    span = np.linalg.norm(top[:, :2] - bottom[:, :2], axis=1)
    longest = float(span.max(initial=0.0))
    # a circle's edge distance is concave along a segment: its ends hold the minimum
    step = max(longest, 1.0) if opening.is_circle else 0.5 * opening.pixel_size_um
    k = int(np.clip(np.ceil(longest / step), 1, 4096)) + 1
    s = np.linspace(0.0, 1.0, k)
    pts = bottom[:, None, :2] + s[None, :, None] * (top - bottom)[:, None, :2]
    inside = opening.edge_distance_um(pts.reshape(-1, 2)).reshape(len(bottom), k)
    gap = span / (k - 1) if k > 1 else np.zeros(len(bottom))
    out: NDArray[np.float64] = inside.min(axis=1) - (0.0 if opening.is_circle else 0.5) * gap
    return out


def scene_summary(scene: Scene) -> dict[str, Any]:
    """Plain numbers describing the scene (for provenance)."""
    return {
        "craniectomy_center_um": list(scene.center_um),
        "craniectomy_radius_um": scene.radius_um,
        "thread_exit_um": list(scene.exit_um),
    }
