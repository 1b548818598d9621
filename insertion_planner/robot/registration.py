"""Brain shift: register an intra-operative surface scan to the plan and move the plan.

The brain moves relative to the skull between imaging and insertion (brain shift). Given
an intra-operative point cloud of the exposed surface, :func:`register_brain_shift`
finds the rigid transform from the plan's pre-operative surface to it with open3d's ICP
(point-to-plane), moves everything attached to the brain (entry points, needle
directions of tilting robots, tethers on the surface, vessels, the surface itself) and
re-validates the moved plan with :func:`~insertion_planner.robot.simulate.simulate`.
The skull, implant and thread exit do not move. :func:`synthetic_brain_shift` makes
test scans: the pre-operative surface moved rigidly, deformed smoothly and noised.

Registration refuses what it cannot do rather than return a guess: a scan too small,
degenerate (duplicated, collinear, a vertical plane), in the wrong units or mirrored, a
non-rigid initial transform, and a fit that covers too little of the surface or leaves the
scan too far from it (:class:`~insertion_planner.errors.RegistrationError`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from .._arrays import readonly as _ro
from .._validation import as_rng, check_finite, check_positive
from ..plan import InsertionPlan
from ..robots import RobotSpec
from ._icp import _Icp, _refuse, check_observable
from .report import SimulationReport

__all__ = ["BrainShift", "BrainShiftResult", "surface_points", "synthetic_brain_shift",
           "register_brain_shift", "rigid_transform", "MIN_SCAN_POINTS"]  # fmt: skip

MIN_SCAN_POINTS = 100
"""Fewest distinct points a scan may have (and the least ``max_points``): a 10 x 10
sampling of the surface. ICP fits 6 parameters and point-to-plane ICP takes each scan
normal from the 20 nearest points; with fewer than 100 points each normal spans a fifth of
the scan, so the normals are no longer local and the fit is decided by a few patches."""


@dataclass(frozen=True)
class _ScanLimits:
    """The numbers a scan and the options are checked against, with their reasons."""

    extent_ratio: tuple[float, float] = (0.2, 5.0)
    """Allowed RMS spread of the scan over that of the exposed surface. A partial scan of a
    fifth of the spread (1/25 of the area), or one five times wider (skull and drapes around
    the craniectomy), is still a scan of this surface in um; mm or nm are 1000 times off."""
    spacing_ratio: tuple[float, float] = (0.01, 100.0)
    """Allowed median nearest-neighbour spacing of the scan over the surface grid step. Real
    scanners differ from the grid by up to a few tens either way; a unit error is 1000."""
    min_spread_ratio: float = 0.1
    """Least second/first singular value of the scan (and of its x-y projection): a strip
    ten times longer than wide fixes the rotation about its long axis only through its width."""
    rigid_tol: float = 1e-6
    """Largest deviation of ``init`` from a rotation: float32 rotations are orthonormal to
    ~1e-7, so anything larger is a scale, shear or reflection, not rounding."""
    normal_knn: int = 20  # neighbours per normal (point-to-plane ICP and residuals)


_LIMITS = _ScanLimits()


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


def _point(v: NDArray[np.float64]) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))


def _surface_step_um(plan: InsertionPlan) -> float:
    """The grid step of the plan's surface, um (a flat stand-in: 1/48 of the radius)."""
    g = plan.geometry
    if g.surface is not None:
        return float(g.surface["step_um"])
    return max(g.craniectomy_radius_um / 48, 1.0)


def surface_points(plan: InsertionPlan, *, inside_craniectomy: bool = True) -> NDArray[np.float64]:
    """The plan's pre-operative surface as points (n, 3) um, from ``geometry.surface``.

    A plan without a surface grid gives a flat grid at z = 0 (on which ICP can only
    recover the vertical shift and the tilts). Only the exposed brain (inside the
    craniectomy) is kept unless ``inside_craniectomy`` is False.
    """
    g = plan.geometry
    cx, cy = g.craniectomy_center_um
    step = _surface_step_um(plan)
    if g.surface is not None:
        z = np.asarray(g.surface["z_um"], dtype=np.float64)
        ox, oy = g.surface["origin_um"]
    else:
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
    source: InsertionPlan | ArrayLike,
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
        if isinstance(source, InsertionPlan)
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
        Inlier RMS residual, um: RMS distance, along the moved surface's normal, of the scan
        points within the correspondence distance of it (scan noise plus the deformation a
        rigid transform cannot follow, whatever the scan's point spacing).
    report : SimulationReport or None
        The re-validation of the moved plan.
    """

    transform: NDArray[np.float64]
    plan: InsertionPlan
    fitness: float
    rmse_um: float
    report: SimulationReport | None


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


def move_plan(plan: InsertionPlan, transform: ArrayLike) -> InsertionPlan:
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
        tether: list[tuple[float, float, float]] = [
            p if p[2] >= rim_z - 1e-6 else _point(_apply(t, [p])[0]) for p in th.tether_um
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
    # the image no longer shows where the brain is: no context, the scene from the new geometry
    return replace(plan, threads=tuple(threads), geometry=geometry, simulation=None, context=None)


def register_brain_shift(
    plan: InsertionPlan,
    intraop_points: ArrayLike,
    *,
    max_correspondence_um: float = 1500.0,
    init: ArrayLike | None = None,
    max_points: int = 20000,
    min_fitness: float = 0.5,
    max_rmse_um: float = 100.0,
    validate: bool = True,
    robot: str | RobotSpec | dict[str, Any] | None = None,
    rng: int | np.random.Generator | None = None,
) -> BrainShiftResult:
    """Register an intra-operative surface scan to the plan, move the plan, re-validate it.

    The scan and options are checked at the door (see Raises). ICP (point-to-plane, Chen &
    Medioni 1992; point-to-point, Besl & McKay 1992, kept when it fits better) runs in
    open3d with its console output silenced. A fit covering less than ``min_fitness`` of
    the exposed surface, or leaving the scan more than ``max_rmse_um`` from the moved
    surface, is refused, never returned; the scan is then tried from its centroid and in
    its three mirror images, to say whether it only needs an ``init`` or has left-handed
    axes. A surface that is itself mirror-symmetric (flat, a bowl) cannot show a mirror.

    Parameters
    ----------
    plan : InsertionPlan
        Its exposed surface (:func:`surface_points`) is registered to the scan.
    intraop_points : (n, 3) float
        Intra-operative surface points, um, plan frame; at least ``MIN_SCAN_POINTS`` (100)
        distinct points (duplicates count once).
    max_correspondence_um : float
        ICP correspondence distance, um, > 0 (larger shifts need an ``init``).
    init : (4, 4) float, optional
        Initial guess of the transform, rigid; default identity.
    max_points : int
        Scans with more distinct points are randomly subsampled (with ``rng``); at least
        ``MIN_SCAN_POINTS`` (100).
    min_fitness : float
        Least ``fitness`` accepted, in (0, 1]. Default 0.5: the threads are spread over
        the whole craniectomy, and a rigid fit to less than half of it extrapolates its
        tilts to the unseen side.
    max_rmse_um : float
        Largest ``rmse_um`` accepted, um, > 0. Default 100 um, twice the 50 um base vessel
        margin (:class:`~insertion_planner.SafetyMargins`, after Kozai et al. 2010): a scan
        farther than that from the rigidly moved surface shows a deformation (or scanner
        noise) larger than the clearance kept from vessels, which a rigid move of the plan
        cannot follow. The residual is noise plus deformation, not sampling, so it does not
        grow with the point spacing; a scanner of one-sigma noise s needs a value above s.
    validate : bool
        Simulate the moved plan (with ``robot`` and ``rng``) and attach the report.
    robot : str, dict, RobotSpec or None
        Passed to ``simulate``.
    rng : int, Generator or None

    Returns
    -------
    BrainShiftResult

    Raises
    ------
    ValueError
        ``intraop_points`` not (n, 3) or not finite; fewer than ``MIN_SCAN_POINTS`` (100)
        distinct points; collinear (second/first singular value of the centred points
        below 0.1) or along a line seen from above (the same on x-y: a vertical plane);
        an RMS spread outside 0.2-5 times the surface's or a median nearest-neighbour
        spacing outside 0.01-100 times its grid step (wrong units; the message names mm,
        cm, m or nm near their power of ten); mirrored (refused as given, accepted
        reflected in x, y or z). ``init`` not a finite (4, 4) rigid transform (rotation
        orthonormal with determinant +1 within 1e-6, last row [0, 0, 0, 1]; the message
        gives the determinant). ``max_points`` below ``MIN_SCAN_POINTS`` (100);
        ``max_correspondence_um`` or ``max_rmse_um`` not positive; ``min_fitness``
        outside (0, 1].
    TypeError
        ``plan`` not an InsertionPlan, ``max_points`` not an integer, an option not a
        number, ``init`` not numeric.
    RegistrationError
        The plan's surface cannot show some rigid motion (a flat plan, or a surface curved
        one way only: ``MIN_OBSERVABILITY`` in ``robot/_icp.py``), checked before any
        fit. Fitness below ``min_fitness`` or residual above ``max_rmse_um``: the message gives
        both with their thresholds, and the ``init`` to pass when a start at the scan's
        centroid registers it.

    References
    ----------
    Besl P.J., McKay N.D. (1992) A method for registration of 3-D shapes. IEEE TPAMI
    14(2):239-256. doi:10.1109/34.121791

    Chen Y., Medioni G. (1992) Object modelling by registration of multiple range images.
    Image Vis Comput 10(3):145-155. doi:10.1016/0262-8856(92)90066-C

    Examples
    --------
    >>> import insertion_planner as ip
    >>> case = ip.synthetic_cortex(0, shape=(256, 256))
    >>> plan = ip.plan_insertions(case.image, pixel_size_um=12.0, n_threads=4,
    ...                           surface_height_um=case.grid.surface_z_um)
    >>> scan = synthetic_brain_shift(plan, shift_um=(30, -20, -40), rotation_rad=(0.01, 0, 0))
    >>> res = register_brain_shift(plan, scan.points, validate=False)
    >>> bool(np.allclose(res.transform, scan.transform, atol=1e-3)), res.fitness
    (True, 1.0)

    A flat surface cannot show a sideways shift, so it is not registered at all:

    >>> from insertion_planner.plan import _example_plan
    >>> flat = _example_plan()
    >>> register_brain_shift(flat, synthetic_brain_shift(flat, shift_um=(300, 0, 0)).points)
    Traceback (most recent call last):
    ...
    insertion_planner.errors.RegistrationError: the plan's surface cannot show a shift along ...

    A scan in millimetres is refused at the door:

    >>> register_brain_shift(plan, scan.points / 1000.0, validate=False)
    Traceback (most recent call last):
    ...
    ValueError: intraop_points spread ... 0.001 times the plan surface's ... the scan looks like millimetres, not micrometres (multiply it by 1000)
    """
    if not isinstance(plan, InsertionPlan):
        raise TypeError(f"plan must be an InsertionPlan, got {type(plan).__name__}")
    gen = as_rng(rng)
    dist = check_positive(max_correspondence_um, name="max_correspondence_um")
    n_max = _check_max_points(max_points)
    min_fit = check_finite(min_fitness, name="min_fitness")
    if not 0.0 < min_fit <= 1.0:
        raise ValueError(f"min_fitness must be in (0, 1], got {min_fit}")
    max_rmse = check_positive(max_rmse_um, name="max_rmse_um")
    t0 = _check_rigid(init, name="init")
    source = surface_points(plan)
    target = _checked_scan(intraop_points, source, _surface_step_um(plan), max_points=n_max, rng=gen)  # fmt: skip

    import open3d as o3d

    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        icp = _Icp(source, dist)
        check_observable(icp)
        transform, fitness = icp.fit(target, t0)
        rmse = icp.residual_um(target, transform)
        if fitness < min_fit or rmse > max_rmse:
            _refuse(icp, target, fitness, rmse, min_fit=min_fit, max_rmse=max_rmse)
    moved = move_plan(plan, transform)
    report = None
    if validate:
        from .simulate import simulate

        report = simulate(moved, robot=robot, rng=gen)
        moved = report.apply(moved)
    return BrainShiftResult(_ro(transform), moved, fitness, rmse, report)


def _check_max_points(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"max_points must be an integer >= {MIN_SCAN_POINTS}, got {value!r}")
    if value < MIN_SCAN_POINTS:
        raise ValueError(f"max_points must be an integer >= {MIN_SCAN_POINTS} (the fewest points a scan may have), got {int(value)}")  # fmt: skip
    return int(value)


def _check_rigid(value: ArrayLike | None, *, name: str) -> NDArray[np.float64]:
    """``value`` as a (4, 4) rigid transform (identity for None), or raise naming ``name``."""
    if value is None:
        return np.eye(4)
    try:
        t = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a (4, 4) array of numbers, got {value!r:.60}") from None
    if t.shape != (4, 4):
        raise ValueError(f"{name} must be a (4, 4) rigid transform, got shape {t.shape}")
    if not np.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(t)).sum())} NaN or infinite entries")  # fmt: skip
    tol = _LIMITS.rigid_tol
    if np.abs(t[3] - [0.0, 0.0, 0.0, 1.0]).max() > tol:
        raise ValueError(f"{name} must have the last row [0, 0, 0, 1], got {t[3].tolist()}")
    r = t[:3, :3]
    det = float(np.linalg.det(r))
    if np.abs(r.T @ r - np.eye(3)).max() > tol or abs(det - 1.0) > tol:
        raise ValueError(f"{name} must be a rigid transform (orthonormal rotation part with determinant +1, within {tol:g}), got determinant {det:.6g}")  # fmt: skip
    return t


def _spread(pts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Singular values of the centred points over sqrt(n), largest first (RMS per axis)."""
    c = pts - pts.mean(axis=0)
    eig = np.linalg.eigvalsh(c.T @ c / len(c))[::-1]
    return np.sqrt(np.maximum(eig, 0.0))


def _unit_hint(ratio: float) -> str:
    """Name the unit a scan is in when ``ratio`` (scan / surface) is near its power of ten."""
    for exp, unit in ((-6, "metres"), (-4, "centimetres"), (-3, "millimetres"), (3, "nanometres")):  # fmt: skip
        if abs(math.log10(ratio) - exp) < 0.5:
            how = f"multiply it by {10**-exp:g}" if exp < 0 else f"divide it by {10**exp:g}"
            return f": the scan looks like {unit}, not micrometres ({how})"
    return ": wrong units, or not a scan of this surface"


def _checked_scan(points: ArrayLike, source: NDArray[np.float64], step_um: float, *,
                  max_points: int, rng: np.random.Generator) -> NDArray[np.float64]:  # fmt: skip
    """The distinct scan points (subsampled to ``max_points``) after the checks at the door."""
    try:
        pts = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"intraop_points must be an (n, 3) array of numbers, got {type(points).__name__}") from None  # fmt: skip
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"intraop_points must be an (n, 3) array of points in um, got shape {pts.shape}")  # fmt: skip
    if not np.isfinite(pts).all():
        raise ValueError(f"intraop_points holds {int((~np.isfinite(pts)).any(axis=1).sum())} points with NaN or infinite values")  # fmt: skip
    _, first = np.unique(pts, axis=0, return_index=True)
    uniq = pts[np.sort(first)]
    if len(uniq) < MIN_SCAN_POINTS:
        raise ValueError(f"intraop_points must hold at least {MIN_SCAN_POINTS} distinct points, got {len(pts)} points of which {len(uniq)} distinct")  # fmt: skip
    tol = _LIMITS.min_spread_ratio
    s3, s2 = _spread(uniq), _spread(uniq[:, :2])
    if s3[1] < tol * s3[0]:
        raise ValueError(
            f"intraop_points are (nearly) collinear: second/first singular value "
            f"{s3[1] / s3[0]:.3g}, at least {tol:g} needed to fix the rotation about that line"
        )
    if s2[1] < tol * s2[0]:
        raise ValueError(
            f"intraop_points lie along a line seen from above (in a vertical plane): x-y "
            f"second/first singular value {s2[1] / s2[0]:.3g}, at least {tol:g} needed to "
            f"cover the exposed surface"
        )
    lo, hi = _LIMITS.extent_ratio
    rms_scan, rms_src = float(np.hypot.reduce(s3)), float(np.hypot.reduce(_spread(source)))
    ratio = rms_scan / rms_src
    if not lo <= ratio <= hi:
        raise ValueError(
            f"intraop_points spread {rms_scan:.4g} um RMS about their centroid, {ratio:.3g} "
            f"times the plan surface's {rms_src:.4g} um (allowed {lo:g} to {hi:g}){_unit_hint(ratio)}"
        )
    if len(uniq) > max_points:
        uniq = uniq[np.sort(rng.choice(len(uniq), max_points, replace=False))]
    spacing = float(np.median(cKDTree(uniq).query(uniq, k=2)[0][:, 1]))
    lo, hi = _LIMITS.spacing_ratio
    ratio = spacing / step_um
    if not lo <= ratio <= hi:
        raise ValueError(
            f"intraop_points are {spacing:.4g} um apart (median nearest neighbour), {ratio:.3g} "
            f"times the plan surface's grid step of {step_um:.4g} um (allowed {lo:g} to "
            f"{hi:g}){_unit_hint(ratio)}"
        )
    return uniq
