"""Score a plan against the true vessels behind its image.

The distance of a thread to the true vessels is measured the way the robustness benchmark
(``benchmarks/bench_robustness.py``) measures it: from the centre of the site's pixel (the
site rounded to the nearest pixel) to the centre of the nearest true vessel pixel, minus
one pixel (the vessel's edge lies within a pixel of its outermost pixel centre), times the
pixel size, never below 0. The Euclidean distance transform is exact (Maurer et al. 2003,
doi:10.1109/TPAMI.2003.1177156, as ``scipy.ndimage.distance_transform_edt``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["score_plan", "dice"]


def dice(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    """Dice coefficient ``2 |a & b| / (|a| + |b|)`` of two masks; 1.0 when both are empty.

    Examples
    --------
    >>> import numpy as np
    >>> dice(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool))
    0.6666666666666666
    """
    s = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return 2.0 * int(np.count_nonzero(a & b)) / s if s else 1.0


def _edge_um(vessels: NDArray[np.bool_], rc: NDArray[np.intp], pixel_size_um: float) -> Any:
    """Distance (um) from the pixel centres ``rc`` to the nearest vessel edge (inf: none)."""
    if not vessels.any():
        return np.full(len(rc), np.inf)
    d = ndimage.distance_transform_edt(~vessels)[rc[:, 0], rc[:, 1]]
    return np.maximum(d - 1.0, 0.0) * pixel_size_um


def score_plan(
    plan: Any,
    truth: NDArray[np.bool_],
    *,
    truth_radius_um: NDArray[np.floating[Any]] | None = None,
    field: NDArray[np.bool_] | None = None,
) -> dict[str, Any]:
    """Numbers of a plan against the ground truth of its image.

    Parameters
    ----------
    plan : InsertionPlan
        As returned by :func:`~insertion_planner.plan_insertions` (with its ``vessels``,
        ``avoidance`` and ``region``).
    truth : (H, W) bool
        True vessel pixels.
    truth_radius_um : (H, W) float, optional
        Radius of the true vessel at each truth pixel. With it, ``threads_too_close`` and
        ``min_clearance_to_hazard_um`` count only vessels of at least the plan's hazard
        diameter (``plan.margins.hazard_diameter_um``, 30 um: the smallest vessel a plan
        guarantees to avoid); without it every truth pixel is a hazard.
    field : (H, W) bool, optional
        Where the truth is known (a synthetic case's craniectomy); Dice is taken there.
        Default: the whole image.

    Returns
    -------
    dict
        ``threads_too_close``: threads closer to a hazard-sized true vessel than their own
        ``required_clearance_um``; ``threads_too_close_any``: the same against any true
        vessel; ``min_clearance_to_truth_um``: the closest thread to any true vessel;
        ``min_clearance_to_hazard_um``: to a hazard-sized one; ``min_margin_to_truth_um``:
        the smallest (clearance to a hazard-sized vessel - required clearance), negative when
        some thread is too close; ``worst_site``: that thread's ``"row,col"``; ``dice``:
        ``plan.vessels.mask`` against ``truth`` over ``field`` (NaN for a plan read by
        :func:`~insertion_planner.load_plan`, which holds no vessel map). Distances are NaN (and
        ``worst_site`` empty) for a plan without threads, inf when the truth is empty.

    Examples
    --------
    >>> import numpy as np
    >>> import insertion_planner as ip
    >>> img = np.full((160, 160), 200, np.uint8); img[:, 70:76] = 90
    >>> plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4)
    >>> truth = np.zeros((160, 160), bool); truth[:, 70:76] = True
    >>> s = score_plan(plan, truth)
    >>> s["threads_too_close"], s["dice"] > 0.8, s["min_clearance_to_truth_um"] >= 50
    (0, True, True)
    """
    truth = np.asarray(truth, dtype=bool)
    shape = tuple(plan.image_shape)
    if truth.shape != shape:
        raise ValueError(f"truth must have the plan's image shape {shape}, got {truth.shape}")
    px = float(plan.pixel_size_um)
    hazard = truth
    if truth_radius_um is not None:
        diameter = 2.0 * np.asarray(truth_radius_um, dtype=np.float64)
        hazard = truth & (diameter >= float(plan.margins.hazard_diameter_um))
    area = np.ones(shape, bool) if field is None else np.asarray(field, dtype=bool)
    out: dict[str, Any] = {
        "threads_too_close": 0,
        "threads_too_close_any": 0,
        "min_clearance_to_truth_um": math.nan,
        "min_clearance_to_hazard_um": math.nan,
        "min_margin_to_truth_um": math.nan,
        "worst_site": "",
        # a plan read back from its file (``load_plan``) carries no vessel map
        "dice": (
            dice(np.asarray(plan.vessels.mask, bool) & area, truth & area)
            if getattr(plan, "vessels", None) is not None
            else math.nan
        ),
    }
    threads = plan.active_threads
    if not threads:
        return out
    rc = np.rint(np.array([t.pixel for t in threads], dtype=np.float64)).astype(np.intp)
    rc = np.clip(rc, 0, np.array(shape) - 1)
    required = np.array([t.required_clearance_um for t in threads], dtype=np.float64)
    edge_any = _edge_um(truth, rc, px)
    edge_haz = _edge_um(hazard, rc, px)
    margin = edge_haz - required
    worst = int(np.argmin(margin))
    out.update(
        threads_too_close=int(np.count_nonzero(edge_haz < required)),
        threads_too_close_any=int(np.count_nonzero(edge_any < required)),
        min_clearance_to_truth_um=float(edge_any.min()),
        min_clearance_to_hazard_um=float(edge_haz.min()),
        min_margin_to_truth_um=float(margin[worst]),
        worst_site=f"{rc[worst, 0]},{rc[worst, 1]}",
    )
    return out
