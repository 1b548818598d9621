"""Replanning during surgery: keep inserted threads, re-place failed ones elsewhere.

Inserted threads are fixed (their tethers are laid). Each failed thread is re-placed on
the plan's candidates, at least ``hole_exclusion_um`` (default: the minimum spacing) from
every failed hole so far, at least the minimum spacing from every kept site, and never
under a tether already laid. Planned and locked threads stay where they are, unless an
out-of-order insertion has laid a tether over one: that thread is re-placed too. The
in-memory candidates of the plan are reused, so replanning a few threads takes
milliseconds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InfeasiblePlanError
from ..plan import InsertionPlan, Thread, ThreadStatus
from .assemble import make_threads
from .candidates import Candidates, make_candidates
from .checks import check_plan, raise_first, require_avoidance, scene_from_plan
from .depth import fit_depths
from .edits import recertify, reorder
from .optimise import greedy_select, place_sites
from .ordering import point_segment_distance
from .slack import relay_slack

__all__ = ["replan"]


def _ids(values: Any, name: str, known: set[int]) -> list[int]:
    try:
        out = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of thread ids, got {values!r}") from None
    bad = [i for i in out if i not in known]
    if bad:
        raise ValueError(f"{name} names thread ids not in the plan: {bad} (ids {sorted(known)})")
    return out


def _candidates(plan: InsertionPlan, amap: Any, scene: Any) -> Candidates:
    if plan.candidates is not None and plan.avoidance is amap:
        return plan.candidates
    region = plan.region if plan.region is not None else np.ones(plan.image_shape, bool)
    return make_candidates(
        amap, region, scene, min_spacing_um=plan.config.min_spacing_um, weight=plan.weight
    )


def _binding(cands: Candidates, keep_tethers: NDArray[np.bool_], keep_holes: NDArray[np.bool_], n_placed: int,
             n: int, spacing: float, occupied: NDArray[np.float64], before: str | None) -> str:  # fmt: skip
    """What stopped re-placing every thread.

    ``"hole_exclusion"`` (the exclusion around failed holes) or ``"tether_tangle"`` (the
    laid tethers), whichever relaxed fits more threads; else ``"min_spacing"`` (the kept
    sites crowd the rest); with no candidate at all, the plan's own binding constraint.
    """
    if not len(cands):
        return before or "vessel_clearance"
    fits = {}
    for name, mask in (("hole_exclusion", keep_tethers), ("tether_tangle", keep_holes)):
        fits[name] = (
            len(greedy_select(cands.subset(mask), n, spacing, fixed_xy=occupied))
            if mask.any()
            else 0
        )
    best = max(fits, key=lambda k: fits[k])
    return best if fits[best] > n_placed else "min_spacing"


def replan(
    plan: InsertionPlan,
    *,
    failed: Any = (),
    inserted: Any = (),
    hole_exclusion_um: float | None = None,
    avoidance: Any = None,
    strict: bool = False,
) -> InsertionPlan:
    """Re-place failed threads, keeping inserted ones fixed.

    Parameters
    ----------
    plan : InsertionPlan
    failed : sequence of int
        Ids of threads whose insertion failed; they keep their ids and get new sites.
    inserted : sequence of int
        Ids of threads now inserted (fixed from now on).
    hole_exclusion_um : float, optional
        No new site within this distance of a failed hole (default: ``min_spacing_um``).
    avoidance : AvoidanceMap, optional
        Needed for a plan loaded from a file.
    strict : bool
        Raise :class:`~insertion_planner.InfeasiblePlanError` when not every failed thread
        can be re-placed (otherwise those stay ``failed`` and the plan names the binding
        constraint).

    Returns
    -------
    InsertionPlan
        Re-certified and re-ordered: inserted threads first, in their order.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning import plan_from_avoidance
    >>> amap = avoidance_from_arrays(clearance_um=np.full((200, 200), 400.0))
    >>> plan = plan_from_avoidance(amap, n_threads=6)
    >>> new = replan(plan, inserted=[0, 1], failed=[2])
    >>> [t.status.value for t in new.threads][:3], new.thread(2).pixel != plan.thread(2).pixel
    (['inserted', 'inserted', 'planned'], True)
    """
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict must be a bool, got {strict!r}")
    known = {t.id for t in plan.threads}
    failed_ids = _ids(failed, "failed", known)
    inserted_ids = _ids(inserted, "inserted", known)
    both = sorted(set(failed_ids) & set(inserted_ids))
    if both:
        raise ValueError(f"threads {both} are named both failed and inserted")
    for i in failed_ids + inserted_ids:
        st = plan.thread(i).status
        if st in ("removed",) or (st == "inserted" and i in failed_ids):
            raise ValueError(
                f"thread {i} is {st}; it cannot be reported {'failed' if i in failed_ids else 'inserted'}"
            )
    amap = require_avoidance(plan, avoidance)
    scene = scene_from_plan(plan, avoidance)
    spacing = plan.config.min_spacing_um
    excl = spacing if hole_exclusion_um is None else float(hole_exclusion_um)
    if excl < 0:
        raise ValueError(f"hole_exclusion_um must be non-negative, got {excl}")

    status = {t.id: t.status for t in plan.threads}
    for i in inserted_ids:
        status[i] = ThreadStatus.INSERTED
    holes = [list(h) for h in plan.provenance.get("failed_holes_um", [])]
    holes += [list(plan.thread(i).entry_um[:2]) for i in failed_ids]
    fixed = [t for t in plan.threads if status[t.id] == "inserted"]
    fixed.sort(key=lambda t: (t.order, t.id))
    exit_xy = np.asarray(scene.exit_um[:2])
    laid = np.array([t.entry_um[:2] for t in fixed]).reshape(-1, 2)

    def under_laid(xy: NDArray[np.float64]) -> NDArray[np.bool_]:
        if not len(laid) or not len(xy):
            return np.zeros(len(xy), bool)
        near = point_segment_distance(xy, exit_xy, laid) < scene.tether_clearance_um
        return np.asarray(near.any(axis=1))

    kept = [
        t
        for t in plan.threads
        if status[t.id] not in ("inserted", "removed", "failed") and t.id not in failed_ids
    ]
    kept_xy = np.array([t.entry_um[:2] for t in kept]).reshape(-1, 2)
    covered = under_laid(kept_xy)
    redo = failed_ids + [t.id for t, c in zip(kept, covered, strict=True) if c]
    kept = [t for t, c in zip(kept, covered, strict=True) if not c]
    redo += [t.id for t in plan.threads if status[t.id] == "failed" and t.id not in failed_ids]
    redo = sorted(set(redo))

    cands = _candidates(plan, amap, scene)
    occupied = np.vstack([laid, np.array([t.entry_um[:2] for t in kept]).reshape(-1, 2)])
    keep_tethers = ~under_laid(cands.xy_um)
    keep_holes = np.ones(len(cands), bool)
    if holes and excl > 0 and len(cands):
        h = np.asarray(holes, float).reshape(-1, 2)
        dmin = np.sqrt(((cands.xy_um[:, None, :] - h[None]) ** 2).sum(axis=2)).min(axis=1)
        keep_holes = dmin >= excl
    sub = cands.subset(keep_tethers & keep_holes)
    placement = place_sites(
        sub, len(redo), min_spacing_um=spacing, fixed_xy=occupied, node_limit=200
    )
    new_threads: dict[int, Thread] = {}
    if len(placement.chosen):
        idx = placement.chosen
        ids = redo[: len(idx)]
        rc = sub.rc[idx].astype(float)
        depth = fit_depths(
            scene, rc, [plan.thread(i).depth_um for i in ids]
        )  # old depth if allowed
        made = make_threads(scene, rc, np.arange(len(idx)), ids=ids,
                            clearance_um=sub.clearance_um[idx], required_um=sub.required_um[idx],
                            weight=sub.weight[idx], depth_um=depth)  # fmt: skip
        new_threads = {t.id: t for t in made}
    n_missing = len(redo) - len(placement.chosen)
    binding = plan.binding_constraint
    why = None
    if n_missing:
        why = _binding(cands, keep_tethers, keep_holes, len(placement.chosen), len(redo), spacing, occupied,
                       plan.binding_constraint)  # fmt: skip
        if strict:
            raise InfeasiblePlanError(
                f"only {len(placement.chosen)} of the {len(redo)} threads to re-place fit away from the "
                f"failed holes and laid tethers; the binding constraint is {why}",
                binding_constraint=why, n_placed=len(placement.chosen),
            )  # fmt: skip
        # a plan already short of threads keeps naming what first bound it
        binding = (
            plan.binding_constraint if plan.binding_constraint not in (None, "edited") else why
        )
    threads = []
    for t in plan.threads:
        if t.id in new_threads:
            threads.append(new_threads[t.id])
        elif t.id in redo:
            threads.append(replace(t, status=ThreadStatus.FAILED))
        else:
            threads.append(replace(t, status=status[t.id]))
    ordered = reorder(tuple(threads), scene)
    ordered, section = relay_slack(plan, ordered, scene)  # re-placed threads get slack
    prov = dict(plan.provenance)
    prov["failed_holes_um"] = [[round(float(v), 6) for v in h] for h in holes]
    prov["replans"] = [*prov.get("replans", []), {"failed": failed_ids, "inserted": inserted_ids,
                                                  "replaced": sorted(new_threads),
                                                  "binding_constraint": why if n_missing else None}]  # fmt: skip
    new = recertify(plan, ordered, provenance=prov, binding_constraint=binding, simulation=None,
                    retraction=section).with_context(avoidance=amap, scene=scene, candidates=cands)  # fmt: skip
    raise_first(check_plan(new, avoidance=amap), context="replan")
    return new
