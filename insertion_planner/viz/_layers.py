"""What a figure draws, pulled out of a plan once: plain arrays in pixel coordinates.

Figures never reach into the plan themselves; they take a :class:`PlanLayers`, so the
drawing code also works on arrays that did not come from a plan (tests, custom figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["PlanLayers", "plan_layers", "simulation_dict", "final_outcomes", "FAILED_STATUSES"]

FAILED_STATUSES = ("failed", "rejected", "removed")
"""Thread statuses a figure marks as not (or no longer) inserted."""


@dataclass(frozen=True, eq=False)
class PlanLayers:
    """The drawable content of a plan, in pixel (row, col) coordinates.

    Parameters
    ----------
    shape : (int, int)
        Image shape (H, W).
    pixel_size_um : float
        Side of a pixel, micrometres (for the scale bar).
    sites_rc : (n, 2) float
        Insertion sites (row, col), sorted by insertion order.
    order : (n,) int
        0-based insertion order of each site.
    margin_um : (n,) float
        Clearance achieved minus clearance required at each site (um).
    failed : (n,) bool
        Threads that failed, were rejected or removed.
    tethers_rc : list of (k, 2) float
        Tether polylines (row, col), one per site.
    vessel_mask : (H, W) bool or None
        Vessel lumen, drawn as outlines.
    vessel_segments_rc : (m, 5) float or None
        Centreline segments r0, c0, r1, c1, radius_px, drawn when no mask is known.
    forbidden : (H, W) bool or None
        Where no needle may go (shaded).
    region : (H, W) bool or None
        Target region (outlined).
    craniectomy : (row, col, radius_px) or None
    thread_exit_rc : (row, col) or None
    """

    shape: tuple[int, int]
    pixel_size_um: float
    sites_rc: NDArray[np.float64]
    order: NDArray[np.int64]
    margin_um: NDArray[np.float64]
    failed: NDArray[np.bool_]
    tethers_rc: list[NDArray[np.float64]] = field(default_factory=list)
    vessel_mask: NDArray[np.bool_] | None = None
    vessel_segments_rc: NDArray[np.float64] | None = None
    forbidden: NDArray[np.bool_] | None = None
    region: NDArray[np.bool_] | None = None
    craniectomy: tuple[float, float, float] | None = None
    thread_exit_rc: tuple[float, float] | None = None


def simulation_dict(obj: Any) -> dict[str, Any] | None:
    """The JSON ``simulation`` section of a plan, a simulation report, or a dict.

    Examples
    --------
    >>> simulation_dict({"total_time_s": 12.0, "insertions": []})["total_time_s"]
    12.0
    >>> simulation_dict(None) is None
    True
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    for attr in ("to_plan_section", "to_dict"):
        fn = getattr(obj, attr, None)
        if callable(fn) and not hasattr(obj, "threads"):
            out = fn()
            if isinstance(out, dict):
                return out
    sim = getattr(obj, "simulation", None)
    if isinstance(sim, dict):
        return sim
    return None


def final_outcomes(simulation: Any) -> dict[int, bool]:
    """Whether each thread's last insertion attempt succeeded, by thread id.

    Examples
    --------
    >>> final_outcomes({"insertions": [{"thread_id": 4, "ok": False}, {"thread_id": 4, "ok": True},
    ...                                {"thread_id": 2, "ok": False}]})
    {4: True, 2: False}
    """
    sim = simulation_dict(simulation)
    out: dict[int, bool] = {}
    for ins in (sim or {}).get("insertions", ()):
        out[int(ins["thread_id"])] = bool(ins.get("ok", False))
    return out


def plan_layers(plan: Any) -> PlanLayers:
    """Pull the drawable layers out of an :class:`~insertion_planner.InsertionPlan`.

    Works on a freshly planned plan (vessel mask, avoidance map and region known) and on
    one loaded from JSON (vessels drawn from the centreline segments of its geometry).
    """
    px = float(plan.pixel_size_um)
    shape = (int(plan.image_shape[0]), int(plan.image_shape[1]))
    threads = sorted(plan.threads, key=lambda t: t.order)
    sim = simulation_dict(plan)
    final_ok = final_outcomes(sim)
    sites = np.array([t.pixel for t in threads], dtype=np.float64).reshape(-1, 2)
    margin = np.array(
        [float(t.clearance_um) - float(t.required_clearance_um) for t in threads], dtype=np.float64
    )
    failed = np.array(
        [t.status in FAILED_STATUSES or final_ok.get(t.id) is False for t in threads], dtype=bool
    )
    tethers = []
    for t in threads:
        pts = np.asarray(t.tether_um, dtype=np.float64).reshape(-1, 3)
        tethers.append(pts[:, [1, 0]] / px)

    geom = getattr(plan, "geometry", None)
    vessels = getattr(plan, "vessels", None)
    amap = getattr(plan, "avoidance", None)
    region = getattr(plan, "region", None)
    mask = None if vessels is None else np.asarray(vessels.mask, dtype=bool)
    segments = None
    if mask is None and geom is not None:
        seg = np.asarray(geom.vessel_segments_um, dtype=np.float64).reshape(-1, 7)
        segments = np.stack([seg[:, 1], seg[:, 0], seg[:, 4], seg[:, 3], seg[:, 6]], axis=1) / px
    forbidden = None if amap is None else ~np.asarray(amap.allowed, dtype=bool)
    cran = exit_rc = None
    if geom is not None:
        cx, cy = geom.craniectomy_center_um[:2]
        cran = (float(cy) / px, float(cx) / px, float(geom.craniectomy_radius_um) / px)
        ex, ey = geom.thread_exit_um[:2]
        exit_rc = (float(ey) / px, float(ex) / px)
    return PlanLayers(
        shape=shape,
        pixel_size_um=px,
        sites_rc=sites,
        order=np.array([t.order for t in threads], dtype=np.int64),
        margin_um=margin,
        failed=failed,
        tethers_rc=tethers,
        vessel_mask=mask,
        vessel_segments_rc=segments,
        forbidden=forbidden,
        region=None if region is None else np.asarray(region, dtype=bool),
        craniectomy=cran,
        thread_exit_rc=exit_rc,
    )
