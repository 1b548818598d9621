"""Brain shift: register an intra-operative surface scan to the plan and move the plan.

The brain moves relative to the skull between imaging and insertion (brain shift). Given
an intra-operative point cloud of the exposed surface, :func:`register_brain_shift`
finds the rigid transform from the plan's pre-operative surface to it with open3d's ICP
(point-to-plane), moves everything attached to the brain (entry points, needle
directions of tilting robots, tethers on the surface, vessels, the surface itself) and
re-validates the moved plan with :func:`~insertion_planner.robot.simulate.simulate`.
The skull, implant and thread exit do not move. :func:`synthetic_brain_shift` makes
test scans: the pre-operative surface moved rigidly, deformed smoothly and noised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from .._arrays import readonly as _ro
from .._validation import as_rng, check_positive

__all__ = ["BrainShift", "BrainShiftResult", "surface_points", "synthetic_brain_shift",
           "register_brain_shift", "rigid_transform"]  # fmt: skip


def rigid_transform(
    rotation_rad: ArrayLike = (0.0, 0.0, 0.0),
    shift_um: ArrayLike = (0.0, 0.0, 0.0),
    *,
    center_um: ArrayLike = (0.0, 0.0, 0.0),
) -> NDArray[np.float64]:
    """A 4x4 transform rotating by x-y-z angles (rad) about ``center_um``, then shifting.

    Examples
    --------
    >>> rigid_transform((0, 0, math.pi / 2), (1.0, 0, 0)).round(6)[:3, 3].tolist()
    [1.0, 0.0, 0.0]
    """
    rx, ry, rz = (float(a) for a in np.broadcast_to(np.asarray(rotation_rad, float), (3,)))
    cx, sx, cy, sy, cz, sz = (
        math.cos(rx),
        math.sin(rx),
        math.cos(ry),
        math.sin(ry),
        math.cos(rz),
        math.sin(rz),
    )
    r = (np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]) @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
         @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]]))  # fmt: skip
    c = np.asarray(center_um, dtype=np.float64)
    out = np.eye(4)
    out[:3, :3] = r
    out[:3, 3] = c - r @ c + np.asarray(shift_um, dtype=np.float64)
    return out


def _apply(t: NDArray[np.floating], pts: ArrayLike) -> NDArray[np.float64]:
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    return p @ t[:3, :3].T + t[:3, 3]


def surface_points(plan: Any, *, inside_craniectomy: bool = True) -> NDArray[np.float64]:
    """The plan's pre-operative surface as points (n, 3) um, from ``geometry.surface``.

    A plan without a surface grid gives a flat grid at z = 0 (on which ICP can only
    recover the vertical shift and the tilts). Only the exposed brain (inside the
    craniectomy) is kept unless ``inside_craniectomy`` is False.
    """
    g = plan.geometry
    cx, cy = g.craniectomy_center_um
    if g.surface is not None:
        z = np.asarray(g.surface["z_um"], dtype=np.float64)
        ox, oy = g.surface["origin_um"]
        step = float(g.surface["step_um"])
    else:
        step = max(g.craniectomy_radius_um / 48, 1.0)
        n = int(2 * g.craniectomy_radius_um / step) + 1
        ox, oy = cx - g.craniectomy_radius_um, cy - g.craniectomy_radius_um
        z = np.zeros((n, n))
    yy, xx = np.mgrid[: z.shape[0], : z.shape[1]].astype(np.float64)
    pts = np.stack([ox + xx * step, oy + yy * step, z], axis=-1).reshape(-1, 3)
    if inside_craniectomy:
        keep = np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) <= g.craniectomy_radius_um
        pts = pts[keep]
    return pts


@dataclass(frozen=True, eq=False)
class BrainShift:
    """A synthetic intra-operative scan: ``points`` (n, 3) um and the true rigid ``transform`` (4, 4)."""

    points: NDArray[np.float64]
    transform: NDArray[np.float64]


def synthetic_brain_shift(
    source: Any,
    *,
    shift_um: ArrayLike = (300.0, -200.0, -500.0),
    rotation_rad: ArrayLike = (0.01, -0.01, 0.02),
    deformation_um: float = 0.0,
    deformation_wavelength_um: float = 8000.0,
    noise_um: float = 0.0,
    rng: int | np.random.Generator | None = None,
) -> BrainShift:
    """Displace and deform a pre-operative surface into a synthetic intra-operative scan.

    Parameters
    ----------
    source : InsertionPlan or (n, 3) float
        A plan (its surface from :func:`surface_points`) or surface points, um.
    shift_um : (3,) float
        Rigid translation.
    rotation_rad : (3,) float
        Rotations about x, y, z through the centroid of the points.
    deformation_um : float
        Amplitude of a smooth non-rigid vertical deformation (random sinusoids).
    deformation_wavelength_um : float
    noise_um : float
        One-sigma Gaussian scan noise per coordinate.
    rng : int, Generator or None

    Returns
    -------
    BrainShift

    Examples
    --------
    >>> pts = np.random.default_rng(0).uniform(-1000, 1000, (50, 3))
    >>> s = synthetic_brain_shift(pts, shift_um=(10, 0, 0), rotation_rad=(0, 0, 0))
    >>> np.allclose(s.points - pts, [10, 0, 0])
    True
    """
    gen = as_rng(rng)
    pts = (
        surface_points(source)
        if hasattr(source, "geometry")
        else np.asarray(source, dtype=np.float64)
    )
    if pts.ndim != 2 or pts.shape[1] != 3 or not len(pts):
        raise ValueError(
            f"source must be a plan or an (n, 3) array of points, got shape {pts.shape}"
        )
    check_positive(deformation_um, name="deformation_um", allow_zero=True)
    check_positive(noise_um, name="noise_um", allow_zero=True)
    lam = check_positive(deformation_wavelength_um, name="deformation_wavelength_um")
    t = rigid_transform(rotation_rad, shift_um, center_um=pts.mean(axis=0))
    out = _apply(t, pts)
    if deformation_um > 0:
        k = gen.normal(0.0, 1.0, (3, 2))
        k = 2 * math.pi / lam * k / np.linalg.norm(k, axis=1, keepdims=True)
        phase = gen.uniform(0.0, 2 * math.pi, 3)
        field = np.sin(pts[:, :2] @ k.T + phase).sum(axis=1) / math.sqrt(3)
        out[:, 2] += deformation_um * field
    if noise_um > 0:
        out += gen.normal(0.0, noise_um, out.shape)
    return BrainShift(_ro(out), _ro(t))


@dataclass(frozen=True, eq=False)
class BrainShiftResult:
    """Result of :func:`register_brain_shift`.

    Attributes
    ----------
    transform : (4, 4) float
        Rigid transform from the pre-operative plan frame to the intra-operative scan.
    plan : InsertionPlan
        The plan moved with the brain (statuses from the re-validation).
    fitness : float
        Share of plan surface points with a scan point within the correspondence distance.
    rmse_um : float
        Root-mean-square distance of those correspondences (residual deformation).
    report : SimulationReport or None
        The re-validation of the moved plan.
    """

    transform: NDArray[np.float64]
    plan: Any
    fitness: float
    rmse_um: float
    report: Any


def _move_surface(surface: dict[str, Any] | None, t: NDArray[np.float64]) -> dict[str, Any] | None:
    if surface is None:
        return None
    z = np.asarray(surface["z_um"], dtype=np.float64)
    ox, oy = surface["origin_um"]
    step = float(surface["step_um"])
    yy, xx = np.mgrid[: z.shape[0], : z.shape[1]].astype(np.float64)
    x, y = ox + xx * step, oy + yy * step
    inv = np.linalg.inv(t)
    znew = z.copy()
    for _ in range(4):  # fixed point: the moved surface passes through (x, y, znew)
        back = _apply(inv, np.stack([x, y, znew], axis=-1))
        rc = np.stack([(back[:, 1] - oy) / step, (back[:, 0] - ox) / step])
        z_old = ndimage.map_coordinates(z, rc, order=1, mode="nearest")
        # point on the old surface under `back`, moved forward: its z at (x, y)
        znew = znew + (z_old - back[:, 2]).reshape(z.shape) * t[2, 2]
    return {"origin_um": [ox, oy], "step_um": step, "z_um": znew.tolist()}


def move_plan(plan: Any, transform: ArrayLike) -> Any:
    """The plan moved with the brain by a rigid ``transform`` (4, 4) (statuses kept)."""
    t = np.asarray(transform, dtype=np.float64)
    if t.shape != (4, 4) or not np.isfinite(t).all():
        raise ValueError(f"transform must be a finite (4, 4) array, got shape {t.shape}")
    g = plan.geometry
    rim_z = max((p[2] for th in plan.threads for p in th.tether_um[:2]), default=math.inf)
    vertical_only = plan.robot_spec.max_tilt_rad == 0
    px = plan.pixel_size_um
    threads = []
    for th in plan.threads:
        entry = _apply(t, [th.entry_um])[0]
        direction = (
            np.asarray(th.direction) if vertical_only else t[:3, :3] @ np.asarray(th.direction)
        )
        tether = [
            tuple(p) if p[2] >= rim_z - 1e-6 else tuple(_apply(t, [p])[0]) for p in th.tether_um
        ]
        threads.append(replace(th, entry_um=tuple(entry), direction=tuple(direction / np.linalg.norm(direction)),
                               pixel=(entry[1] / px, entry[0] / px), tether_um=tuple(tether)))  # fmt: skip
    seg = np.asarray(g.vessel_segments_um, dtype=np.float64).reshape(-1, 7).copy()
    if len(seg):
        seg[:, 0:3] = _apply(t, seg[:, 0:3])
        seg[:, 3:6] = _apply(t, seg[:, 3:6])
    pen = np.asarray(g.penetrating_um, dtype=np.float64).reshape(-1, 5).copy()
    if len(pen):
        pen[:, 0:3] = _apply(t, pen[:, 0:3])
    geometry = replace(
        g, vessel_segments_um=seg, penetrating_um=pen, surface=_move_surface(g.surface, t)
    )
    return replace(plan, threads=tuple(threads), geometry=geometry, simulation=None, grid=None,
                   avoidance=None, vessels=None)  # fmt: skip


def register_brain_shift(
    plan: Any,
    intraop_points: ArrayLike,
    *,
    max_correspondence_um: float = 1500.0,
    init: ArrayLike | None = None,
    max_points: int = 20000,
    validate: bool = True,
    robot: Any = None,
    rng: int | np.random.Generator | None = None,
) -> BrainShiftResult:
    """Register an intra-operative surface scan to the plan, move the plan, re-validate it.

    Parameters
    ----------
    plan : InsertionPlan
    intraop_points : (n, 3) float
        Intra-operative surface points, um, plan frame.
    max_correspondence_um : float
        ICP correspondence distance (larger shifts need an ``init``).
    init : (4, 4) float, optional
        Initial guess of the transform; default identity.
    max_points : int
        Scans larger than this are randomly subsampled (with ``rng``).
    validate : bool
        Simulate the moved plan (with ``robot`` and ``rng``) and attach the report.
    robot : str, dict, RobotSpec or None
        Passed to ``simulate``.
    rng : int, Generator or None

    Returns
    -------
    BrainShiftResult

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> plan = _example_plan()
    >>> scan = synthetic_brain_shift(plan, shift_um=(0, 0, -40), rotation_rad=(0.01, 0, 0))
    >>> res = register_brain_shift(plan, scan.points, validate=False)
    >>> bool(np.allclose(res.transform, scan.transform, atol=1e-3)), res.fitness
    (True, 1.0)
    """
    import open3d as o3d

    gen = as_rng(rng)
    target = np.asarray(intraop_points, dtype=np.float64)
    if target.ndim != 2 or target.shape[1] != 3 or len(target) < 10:
        raise ValueError(
            f"intraop_points must be an (n, 3) array with n >= 10, got shape {target.shape}"
        )
    if not np.isfinite(target).all():
        raise ValueError("intraop_points holds NaN or infinite values")
    dist = check_positive(max_correspondence_um, name="max_correspondence_um")
    if len(target) > max_points:
        target = target[np.sort(gen.choice(len(target), max_points, replace=False))]
    source = surface_points(plan)
    t0 = np.eye(4) if init is None else np.asarray(init, dtype=np.float64)
    if t0.shape != (4, 4):
        raise ValueError(f"init must be a (4, 4) array, got shape {t0.shape}")
    # work in millimetres, centred: better conditioned for ICP
    centre = source.mean(axis=0)
    src = o3d.geometry.PointCloud(o3d.utility.Vector3dVector((source - centre) / 1000.0))
    tgt = o3d.geometry.PointCloud(o3d.utility.Vector3dVector((target - centre) / 1000.0))
    tgt.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=20))
    tgt.orient_normals_to_align_with_direction(np.array([0.0, 0.0, 1.0]))
    shift = np.eye(4)
    shift[:3, 3] = centre
    init_c = np.linalg.inv(shift) @ t0 @ shift
    init_c[:3, 3] /= 1000.0
    reg = o3d.pipelines.registration
    criteria = reg.ICPConvergenceCriteria(max_iteration=100)
    result = reg.registration_icp(src, tgt, dist / 1000.0, init_c,
                                  reg.TransformationEstimationPointToPlane(), criteria)  # fmt: skip
    # point-to-plane is degenerate on a nearly flat patch: keep point-to-point if it fits better
    p2p = reg.registration_icp(src, tgt, dist / 1000.0, init_c,
                               reg.TransformationEstimationPointToPoint(), criteria)  # fmt: skip
    if (p2p.fitness, -p2p.inlier_rmse) > (result.fitness + 1e-9, -result.inlier_rmse):
        result = p2p
    tc = np.asarray(result.transformation, dtype=np.float64).copy()
    tc[:3, 3] *= 1000.0
    transform = shift @ tc @ np.linalg.inv(shift)
    moved = move_plan(plan, transform)
    report = None
    if validate:
        from .simulate import simulate

        report = simulate(moved, robot=robot, rng=gen)
        moved = report.apply(moved)
    return BrainShiftResult(
        _ro(transform), moved, float(result.fitness), float(result.inlier_rmse) * 1000.0, report
    )
