"""Collision geometry: the skull rim, the implant and the insertion head.

The skull rim is a wall over the bone around the craniectomy, its top at the rim height:
its distance is :meth:`Opening.wall_distance_um
<insertion_planner.planning.opening.Opening.wall_distance_um>`, built on the same
distance-to-bone rule as the planner's head keep-out (the real opening mask when the plan
stores one, so a square or elliptic opening is checked as it is, never as a disc). The
implant is a cylinder (a trimesh mesh, queried with open3d's ``RaycastingScene``). The
insertion head is a cone (or cylinder) around the needle, checked at the lowest pose of
each insertion (needle at full depth): the head only moves along the needle axis while
inserting and widens upwards, so that pose, extended upwards by the head length, covers
every pose of the descent. Distances are signed distances from points sampled on the head
surface and along the free needle to each obstacle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..planning.opening import Opening
from ..robots import RobotSpec

__all__ = ["Obstacles", "build_obstacles", "head_points", "obstacle_distances"]

OBSTACLE_NAMES = ("skull", "implant")


@dataclass(frozen=True, eq=False)
class Obstacles:
    """The skull rim (the opening and the rim's heights) and the implant mesh.

    Attributes
    ----------
    opening : Opening
        The craniectomy; the rim is the bone outside it.
    skull_top_z_um, skull_bottom_z_um : float
        Heights of the rim's top and bottom.
    implant : trimesh.Trimesh or None
        The implant cylinder (um), None without an implant.
    implant_scene : open3d.t.geometry.RaycastingScene or None
    implant_bounds : (x, y, r_in, r_out, z_low, z_high) or None
        The implant's round envelope (for the distance lower bound).
    """

    opening: Opening
    skull_top_z_um: float
    skull_bottom_z_um: float
    implant: Any = None
    implant_scene: Any = None
    implant_bounds: tuple[float, float, float, float, float, float] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The obstacles, in the column order of :func:`obstacle_distances`."""
        return OBSTACLE_NAMES if self.implant is not None else OBSTACLE_NAMES[:1]

    def lower_bound(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """A lower bound (n,) of the distance from points (n, 3) to the implant.

        The implant's envelope is a ring (x, y, r_in, r_out, z_low, z_high) about a vertical
        axis (r_in = 0: a solid cylinder); the bound is exact for the round shape.
        """
        if self.implant_bounds is None:
            return np.full(len(points), np.inf)
        cx, cy, r_in, r_out, z_lo, z_hi = self.implant_bounds
        rho = np.hypot(points[:, 0] - cx, points[:, 1] - cy)
        dr = np.maximum(np.maximum(r_in - rho, rho - r_out), 0.0)
        dz = np.maximum(np.maximum(z_lo - points[:, 2], points[:, 2] - z_hi), 0.0)
        out: NDArray[np.float64] = np.hypot(dr, dz)
        return out


def build_obstacles(
    *,
    opening: Opening,
    skull_top_z_um: float,
    skull_bottom_z_um: float,
    implant_center_um: ArrayLike | None = None,
    implant_radius_um: float = 0.0,
    implant_height_um: float = 0.0,
    sections: int = 128,
) -> Obstacles:
    """The skull rim around ``opening`` and the implant mesh, ready for distance queries.

    Parameters
    ----------
    opening : Opening
        The craniectomy (:class:`~insertion_planner.planning.opening.Opening`: the real
        mask, or a circle).
    skull_top_z_um, skull_bottom_z_um : float
        Heights of the top and bottom of the skull rim.
    implant_center_um : (3,) float, optional
        Centre of the implant's base; None or a zero radius for no implant.
    implant_radius_um, implant_height_um : float
    sections : int
        Polygon sides of the implant mesh (circumscribed: never smaller than the implant).

    Returns
    -------
    Obstacles

    Raises
    ------
    ValueError
        ``skull_top_z_um`` is not above ``skull_bottom_z_um``.
    TypeError
        ``opening`` is not an Opening.

    Examples
    --------
    >>> ob = build_obstacles(opening=Opening.circle((0, 0), 10000), skull_top_z_um=6000,
    ...                      skull_bottom_z_um=-1000)
    >>> ob.names
    ('skull',)
    """
    if not isinstance(opening, Opening):
        raise TypeError(f"opening must be an Opening, got {type(opening).__name__}")
    top, bottom = float(skull_top_z_um), float(skull_bottom_z_um)
    if not top > bottom:
        raise ValueError(
            f"skull_top_z_um must be above skull_bottom_z_um, got {skull_top_z_um} and {skull_bottom_z_um}"
        )
    if implant_center_um is None or not implant_radius_um > 0 or not implant_height_um > 0:
        return Obstacles(opening, top, bottom)
    import open3d as o3d
    import trimesh

    ic = np.asarray(implant_center_um, dtype=np.float64)
    r_out = float(implant_radius_um) / math.cos(math.pi / sections)
    implant = trimesh.creation.cylinder(r_out, height=implant_height_um, sections=sections)
    implant.apply_translation([ic[0], ic[1], ic[2] + implant_height_um / 2])
    bounds = (
        float(ic[0]),
        float(ic[1]),
        0.0,
        r_out,
        float(ic[2]),
        float(ic[2] + implant_height_um),
    )
    scene = o3d.t.geometry.RaycastingScene()
    # open3d's stub marks Tensor's dtype and device as required; both default at runtime.
    scene.add_triangles(
        o3d.core.Tensor(np.asarray(implant.vertices, dtype=np.float32)),  # type: ignore[call-overload]
        o3d.core.Tensor(np.asarray(implant.faces, dtype=np.uint32)),  # type: ignore[call-overload]
    )
    return Obstacles(opening, top, bottom, implant, scene, bounds)


def head_points(
    tips_um: ArrayLike,
    directions: ArrayLike,
    robot: RobotSpec,
    *,
    needle_end_um: ArrayLike | None = None,
    ring_step_um: float = 500.0,
    n_around: int = 24,
    needle_step_um: float = 250.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points on the insertion head and the free needle at the full-depth pose.

    Parameters
    ----------
    tips_um : (n, 3) float
        Needle tip positions at full depth.
    directions : (n, 3) float
        Unit needle axes into tissue.
    robot : RobotSpec
        Head shape, tip radius, half-angle, length and needle stick-out.
    needle_end_um : (n, 3) float, optional
        Where the needle enters tissue (the checked needle part ends there); default
        the tip itself (the whole free needle is checked).

    Returns
    -------
    points : (n, m, 3) float
        m = n_rings * n_around head-surface points (rings ``ring_step_um`` apart), 9 bottom-disc points and the needle
        points (spaced ``needle_step_um``).
    radius : (m,) float
        Radius to subtract from a point's distance: the needle radius on needle points
        (inside the surface there is nothing to subtract), 0 elsewhere.

    Examples
    --------
    >>> from insertion_planner.robots import get_robot
    >>> pts, rad = head_points([[0.0, 0, -3500]], [[0.0, 0, -1]], get_robot("R1-2019"))
    >>> pts.shape[0], float(pts[0, :, 2].min())
    (1, -3500.0)
    """
    tips = np.atleast_2d(np.asarray(tips_um, dtype=np.float64))
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    up = -d
    bottom = tips + robot.needle_stickout_um * up
    # an orthonormal frame (u, v) around each needle axis
    helper = np.where(np.abs(up[:, [0]]) < 0.9, [[1.0, 0, 0]], [[0.0, 1, 0]])
    u = np.cross(up, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(up, u)
    n_rings = max(2, int(math.ceil(robot.head_length_um / ring_step_um)) + 1)
    h = np.linspace(0.0, robot.head_length_um, n_rings)
    slope = math.tan(robot.head_half_angle_rad) if robot.head_shape == "cone" else 0.0
    radius = robot.head_tip_radius_um + h * slope
    theta = np.linspace(0.0, 2 * math.pi, n_around, endpoint=False)
    around = (
        np.cos(theta)[None, None, :, None] * u[:, None, None]
        + np.sin(theta)[None, None, :, None] * v[:, None, None]
    )  # (n, 1, A, 3)
    shell = (
        bottom[:, None, None]
        + h[None, :, None, None] * up[:, None, None]
        + radius[None, :, None, None] * around
    )  # (n, R, A, 3)
    shell = shell.reshape(len(tips), -1, 3)
    disc_r = robot.head_tip_radius_um * np.array([0.0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1])
    disc_a = np.array([0.0, 0, 0.5, 1, 1.5, 0.25, 0.75, 1.25, 1.75]) * math.pi
    disc = bottom[:, None] + disc_r[None, :, None] * (
        np.cos(disc_a)[None, :, None] * u[:, None] + np.sin(disc_a)[None, :, None] * v[:, None]
    )
    end = (
        tips
        if needle_end_um is None
        else np.atleast_2d(np.asarray(needle_end_um, dtype=np.float64))
    )
    free = float(np.max(np.einsum("ij,ij->i", bottom - end, up))) if len(tips) else 0.0
    n_needle = max(2, int(math.ceil(max(free, 0.0) / needle_step_um)) + 1)
    s = np.linspace(0.0, 1.0, n_needle)
    needle = bottom[:, None] + s[None, :, None] * (end - bottom)[:, None]
    points = np.concatenate([shell, disc, needle], axis=1)
    rad = np.concatenate(
        [np.zeros(shell.shape[1] + disc.shape[1]), np.full(n_needle, robot.needle_radius_um)]
    )
    return points, rad


def obstacle_distances(
    obstacles: Obstacles, points: ArrayLike, radius: ArrayLike, *, horizon_um: float = 3000.0
) -> NDArray[np.float64]:
    """Smallest signed distance (um) from each point set to each obstacle.

    The skull rim's distance is :meth:`Opening.wall_distance_um
    <insertion_planner.planning.opening.Opening.wall_distance_um>` at every point (the
    planner's rule). For the implant only points within ``horizon_um`` of its round
    envelope are queried on the mesh; for the others the distance to the envelope is a
    lower bound, so a value below ``horizon_um`` is exact (up to the sampling) and a
    larger one means "at least this far".

    Parameters
    ----------
    obstacles : Obstacles
    points : (n, m, 3) float
        From :func:`head_points`.
    radius : (m,) float
        Subtracted from each point's distance.
    horizon_um : float

    Returns
    -------
    (n, k) float
        One column per obstacle in ``obstacles.names`` order; negative inside.

    Examples
    --------
    >>> ob = build_obstacles(opening=Opening.circle((0, 0), 10000), skull_top_z_um=6000,
    ...                      skull_bottom_z_um=-1000)
    >>> d = obstacle_distances(ob, [[[9000.0, 0, 0], [0, 0, 0]]], [0.0, 0.0])
    >>> float(d[0, 0])  # 1,000 um to the rim
    1000.0
    """
    pts = np.asarray(points, dtype=np.float64)
    rad = np.asarray(radius, dtype=np.float64)
    n, m = pts.shape[:2]
    flat = pts.reshape(-1, 3)
    rad_flat = np.broadcast_to(rad[None, :], (n, m)).reshape(-1)
    out = np.empty((n, len(obstacles.names)))
    skull = obstacles.opening.wall_distance_um(
        flat, top_z_um=obstacles.skull_top_z_um, bottom_z_um=obstacles.skull_bottom_z_um
    )
    out[:, 0] = (skull - rad_flat).reshape(n, m).min(axis=1) if m else np.inf
    if obstacles.implant_scene is not None:
        import open3d as o3d

        gap = obstacles.lower_bound(flat)
        dist = gap - rad_flat
        near = np.flatnonzero(gap <= horizon_um)
        if len(near):
            query = o3d.core.Tensor(flat[near].astype(np.float32))  # type: ignore[call-overload]
            exact = (
                obstacles.implant_scene.compute_signed_distance(query).numpy().astype(np.float64)
            )
            dist[near] = exact - rad_flat[near]
        out[:, 1] = dist.reshape(n, m).min(axis=1) if m else np.inf
    return out
