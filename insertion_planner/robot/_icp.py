"""The ICP engine of brain-shift registration: open3d point-to-plane ICP of the plan's
surface onto a scan, its residual, what its geometry can measure, and its refusals.

Besl & McKay 1992 (doi:10.1109/34.121791); Chen & Medioni 1992
(doi:10.1016/0262-8856(92)90066-C) for the point-to-plane error.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..errors import RegistrationError

__all__ = ["MIN_OBSERVABILITY", "NORMAL_KNN"]

NORMAL_KNN = 20
"""Neighbours per surface normal (point-to-plane ICP and residuals)."""

MIN_OBSERVABILITY = 1e-4
"""Smallest ratio of the weakest to the strongest eigenvalue of the point-to-plane
information matrix (rotations scaled by the surface's RMS radius, so both are lengths).
Below it, some rigid motion moves the surface along itself by more than a hundred times
what it moves it off itself: a flat or one-way-curved surface cannot show a sideways
shift, and ICP returns the start as the answer with a perfect fit. Measured: 0 on a flat
plan, 1.2e-5 on a surface curved along one axis only, 3e-4 to 5.5e-3 on synthetic
cortices with gyri (6 mm fields)."""


class _Icp:
    """ICP of the plan surface onto scans, in millimetres centred on the surface."""

    def __init__(self, source: NDArray[np.float64], dist_um: float) -> None:
        import open3d as o3d

        self.o3d = o3d
        self.source = source
        self.centre = source.mean(axis=0)
        self.dist_um = dist_um
        self.src = self._cloud(source)
        self.normals = np.asarray(self.src.normals, dtype=np.float64).copy()

    def _cloud(self, pts: NDArray[np.float64]) -> Any:
        o3d = self.o3d
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector((pts - self.centre) / 1000.0))
        cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=NORMAL_KNN))
        cloud.orient_normals_to_align_with_direction(np.array([0.0, 0.0, 1.0]))
        return cloud

    def fit(self, target: NDArray[np.float64], init: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:  # fmt: skip
        """The transform (4, 4) plan -> scan found from ``init``, and its fitness."""
        reg = self.o3d.pipelines.registration
        tgt = self._cloud(target)
        shift = np.eye(4)
        shift[:3, 3] = self.centre
        init_c = np.linalg.inv(shift) @ init @ shift
        init_c[:3, 3] /= 1000.0
        criteria = reg.ICPConvergenceCriteria(max_iteration=100)
        dist = self.dist_um / 1000.0
        result = reg.registration_icp(self.src, tgt, dist, init_c,
                                      reg.TransformationEstimationPointToPlane(), criteria)  # fmt: skip
        # point-to-plane is degenerate on a nearly flat patch: keep point-to-point if it fits better
        p2p = reg.registration_icp(self.src, tgt, dist, init_c,
                                   reg.TransformationEstimationPointToPoint(), criteria)  # fmt: skip
        if (p2p.fitness, -p2p.inlier_rmse) > (result.fitness + 1e-9, -result.inlier_rmse):
            result = p2p
        tc = np.asarray(result.transformation, dtype=np.float64).copy()
        tc[:3, 3] *= 1000.0
        return shift @ tc @ np.linalg.inv(shift), float(result.fitness)

    def residual_um(self, target: NDArray[np.float64], t: NDArray[np.float64]) -> float:
        """RMS distance, along the surface normal, of the scan points near the moved surface."""
        moved = self.source @ t[:3, :3].T + t[:3, 3]
        normals = self.normals @ t[:3, :3].T
        d, idx = cKDTree(moved).query(target, distance_upper_bound=self.dist_um)
        near = np.isfinite(d)
        if not near.any():
            return math.inf
        off = np.einsum("ij,ij->i", target[near] - moved[idx[near]], normals[idx[near]])
        return float(np.sqrt(np.mean(off**2)))


def _refuse(icp: _Icp, target: NDArray[np.float64], fitness: float, rmse: float, *,
            min_fit: float, max_rmse: float) -> NoReturn:  # fmt: skip
    """Raise for a refused fit, saying whether a centroid start or a mirror image registers."""
    found = (
        f"fitness {fitness:.3f} {'<' if fitness < min_fit else '>='} min_fitness {min_fit:g}, "
        f"inlier RMS residual {rmse:.4g} um {'>' if rmse > max_rmse else '<='} max_rmse_um "
        f"{max_rmse:g}"
    )
    c = target.mean(axis=0)
    offset = c - icp.centre
    for axis, flip in (("", (1.0, 1.0, 1.0)), ("x", (-1.0, 1.0, 1.0)),
                       ("y", (1.0, -1.0, 1.0)), ("z", (1.0, 1.0, -1.0))):  # fmt: skip
        pts = c + (target - c) * flip
        start = np.eye(4)
        start[:3, 3] = offset
        t, f = icp.fit(pts, start)
        r = icp.residual_um(pts, t)
        if f < min_fit or r > max_rmse:
            continue
        if not axis:
            raise RegistrationError(
                f"intraop_points do not register from init ({found}) but do from their "
                f"centroid (fitness {f:.3f}, residual {r:.4g} um): pass "
                f"init=rigid_transform(shift_um=({offset[0]:.0f}, {offset[1]:.0f}, {offset[2]:.0f}))",
                fitness=fitness, rmse_um=rmse,
            )  # fmt: skip
        raise ValueError(
            f"intraop_points look mirrored (left-handed axes): as given they do not register "
            f"({found}), reflected in {axis} they do (fitness {f:.3f}, residual {r:.4g} um); "
            f"check the direction of the scanner's axes"
        )
    raise RegistrationError(
        f"intraop_points do not match the plan surface ({found}), nor from their centroid "
        f"or mirrored: not a scan of this surface in the plan frame, or too deformed for a "
        f"rigid fit", fitness=fitness, rmse_um=rmse)  # fmt: skip


def weakest_motion(icp: _Icp) -> tuple[float, str]:
    """How well the plan's surface constrains the least-constrained rigid motion.

    Returns the ratio of the smallest to the largest eigenvalue of ``J.T @ J``, each row
    ``J = [(p x n) / L, n]`` for surface point ``p`` (centred, mm) with normal ``n`` and
    ``L`` the RMS radius (Gelfand et al. 2003, "Geometrically stable sampling for the ICP
    algorithm", doi:10.1109/IM.2003.1240258), and that motion in words.
    """
    p = (icp.source - icp.centre) / 1000.0
    n = icp.normals
    radius = float(np.sqrt((p**2).sum(axis=1).mean())) or 1.0
    j = np.hstack([np.cross(p, n) / radius, n])
    w, v = np.linalg.eigh(j.T @ j / len(j))
    ratio = float(max(w[0], 0.0) / w[-1]) if w[-1] > 0 else 0.0
    rot, shift = v[:3, 0], v[3:, 0]
    if np.linalg.norm(shift) >= np.linalg.norm(rot):
        d = shift / np.linalg.norm(shift)
        what = f"a shift along ({d[0]:.2f}, {d[1]:.2f}, {d[2]:.2f})"
    else:
        d = rot / np.linalg.norm(rot)
        what = f"a rotation about ({d[0]:.2f}, {d[1]:.2f}, {d[2]:.2f})"
    return ratio, what


def check_observable(icp: _Icp) -> None:
    """Raise :class:`RegistrationError` when the surface cannot show some rigid motion."""
    ratio, what = weakest_motion(icp)
    if ratio < MIN_OBSERVABILITY:
        raise RegistrationError(
            f"the plan's surface cannot show {what}: it is too flat or curved one way only "
            f"there (observability {ratio:.2g} < {MIN_OBSERVABILITY:g}), so a fit would "
            f"return a guess (a plan made without its surface height, surface_height_um or "
            f"plan --surface, is flat; otherwise register with fiducials)"
        )
