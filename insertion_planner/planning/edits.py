"""Surgeon edits on a plan: move, lock, unlock or remove a thread.

Each edit returns a new plan; the insertion order of threads not yet inserted is
recomputed, and every constraint is re-checked with :func:`check_plan`. An edit that
would break a constraint raises :class:`ConstraintViolationError` naming it, and no plan
with a broken constraint is ever returned. Edits are recorded in
``plan.provenance["edits"]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..plan import InsertionPlan, Thread, ThreadStatus
from .assemble import make_threads
from .candidates import site_scores
from .checks import check_plan, raise_first, require_avoidance, scene_from_plan
from .depth import fit_depths
from .ordering import insertion_order
from .scene import Scene, penetrating_path_clearance_um
from .slack import relay_slack

__all__ = ["move_thread", "lock_thread", "unlock_thread", "remove_thread", "reorder", "recertify"]

_FIXED = ("inserted",)
_INACTIVE = ("removed", "failed")


def reorder(threads: tuple[Thread, ...], scene: Scene) -> tuple[Thread, ...]:
    """Inserted threads keep their order; the other active ones follow in a tangle-free,
    short-travel order starting from the last inserted site; inactive ones come last."""
    inserted = sorted((t for t in threads if t.status in _FIXED), key=lambda t: (t.order, t.id))
    rest = sorted((t for t in threads if t.status not in _FIXED + _INACTIVE), key=lambda t: t.id)
    inactive = sorted((t for t in threads if t.status in _INACTIVE), key=lambda t: t.id)
    start = np.array(inserted[-1].entry_um[:2]) if inserted else None
    xy = np.array([t.entry_um[:2] for t in rest]).reshape(-1, 2)
    perm = insertion_order(
        xy, scene.exit_um[:2], scene.tether_clearance_um, start_xy=start, use_tour=len(rest) <= 64
    )
    ordered = inserted + [rest[i] for i in perm] + inactive
    return tuple(replace(t, order=k) for k, t in enumerate(ordered))


def recertify(plan: InsertionPlan, threads: tuple[Thread, ...], **changes: Any) -> InsertionPlan:
    """A copy with ``threads``; the objective is recomputed, the bound kept (never below it)."""
    active = [t for t in threads if t.status not in _INACTIVE]
    objective = float(site_scores(np.array([t.weight for t in active]),
                                  np.array([t.clearance_um - t.required_clearance_um for t in active])).sum())  # fmt: skip
    bound = max(plan.bound, objective)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    return replace(plan, threads=threads, objective=objective, bound=bound, gap=gap, **changes)


def _log(plan: InsertionPlan, entry: dict[str, Any]) -> dict[str, Any]:
    prov = dict(plan.provenance)
    prov["edits"] = [*prov.get("edits", []), entry]
    return prov


def _finish(plan: InsertionPlan, threads: tuple[Thread, ...], avoidance: Any, entry: dict[str, Any],
            context: str) -> InsertionPlan:  # fmt: skip
    scene = scene_from_plan(plan, avoidance)
    threads = reorder(threads, scene)
    threads, section = relay_slack(plan, threads, scene)  # new and moved threads get slack
    n_active = sum(t.status not in _INACTIVE for t in threads)
    binding = plan.binding_constraint
    if n_active < plan.n_requested and binding is None:
        binding = "edited"
    new = recertify(
        plan,
        threads,
        provenance=_log(plan, entry),
        binding_constraint=binding,
        simulation=None,
        retraction=section,
    )
    raise_first(check_plan(new, avoidance=avoidance), context=context)
    return new


def _editable(
    plan: InsertionPlan, thread_id: int, *, action: str, allow_locked: bool = False
) -> Thread:
    t = plan.thread(thread_id)
    if t.status in _FIXED:
        raise ValueError(f"thread {thread_id} is already inserted; it cannot be {action}")
    if t.status in _INACTIVE:
        raise ValueError(f"thread {thread_id} is {t.status}; it cannot be {action}")
    if t.status == "locked" and not allow_locked:
        raise ValueError(f"thread {thread_id} is locked; unlock it before it can be {action}")
    return t


def move_thread(
    plan: InsertionPlan, thread_id: int, pixel: ArrayLike, *, avoidance: Any = None
) -> InsertionPlan:
    """Move a thread to the pixel (row, col) (rounded to the nearest pixel centre).

    Raises
    ------
    ValueError
        Unknown, inserted, locked or removed thread; a pixel outside the image.
    ConstraintViolationError
        When the new site breaks a constraint (vessel clearance, spacing, region, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.avoidance import avoidance_from_arrays
    >>> from insertion_planner.planning import plan_from_avoidance
    >>> clear = np.full((150, 150), 400.0); clear[:, 70:80] = 0.0
    >>> amap = avoidance_from_arrays(clearance_um=clear)
    >>> plan = plan_from_avoidance(amap, n_threads=2)
    >>> move_thread(plan, 0, (75, 75))
    Traceback (most recent call last):
    ...
    insertion_planner.errors.ConstraintViolationError: move thread 0: thread 0 (T...) breaks vessel_clearance: site (75, 75) in the image's avoidance map is 0.0 um from a vessel edge, 86.5 um required
    """
    t = _editable(plan, thread_id, action="moved")
    amap = require_avoidance(plan, avoidance)
    p = np.asarray(pixel, dtype=float).reshape(-1)
    if p.shape != (2,) or not np.isfinite(p).all():
        raise ValueError(f"pixel must be two finite numbers (row, col), got {pixel!r}")
    rc = np.rint(p).astype(np.int64)
    h, w = plan.image_shape
    if not (0 <= rc[0] < h and 0 <= rc[1] < w):
        raise ValueError(
            f"pixel must lie inside the image of shape {plan.image_shape}, got {tuple(p)}"
        )
    scene = scene_from_plan(plan, avoidance)
    r, c = int(rc[0]), int(rc[1])
    path = float(penetrating_path_clearance_um(scene, rc[None])[0])
    clear = min(float(np.asarray(amap.clearance_um)[r, c]), path)
    req = float(np.asarray(amap.required_um)[r, c])
    weight = 1.0 if plan.weight is None else float(np.clip(plan.weight[r, c], 0, 1))
    depth = fit_depths(scene, rc[None], [t.depth_um])  # its depth, if the new site allows it
    (moved,) = make_threads(scene, rc[None].astype(float), np.zeros(1, np.int64), ids=[t.id], clearance_um=[clear],
                            required_um=[req], weight=[weight], depth_um=depth, status=t.status)  # fmt: skip
    threads = tuple(moved if u.id == t.id else u for u in plan.threads)
    entry = {"op": "move", "thread_id": int(t.id), "pixel": [r, c]}
    return _finish(plan, threads, avoidance, entry, f"move thread {thread_id}")


def lock_thread(plan: InsertionPlan, thread_id: int, *, avoidance: Any = None) -> InsertionPlan:
    """Lock a thread: replanning and moves leave it where it is."""
    _editable(plan, thread_id, action="locked", allow_locked=True)
    return _set_status(plan, thread_id, "locked", avoidance, op="lock")


def unlock_thread(plan: InsertionPlan, thread_id: int, *, avoidance: Any = None) -> InsertionPlan:
    """Unlock a locked thread (it becomes ``planned``)."""
    t = plan.thread(thread_id)
    if t.status != "locked":
        raise ValueError(f"thread {thread_id} is {t.status}, not locked")
    return _set_status(plan, thread_id, "planned", avoidance, op="unlock")


def _set_status(
    plan: InsertionPlan, thread_id: int, status: str, avoidance: Any, *, op: str
) -> InsertionPlan:
    """Give one thread a new status, then re-check the plan as every edit does."""
    threads = tuple(replace(u, status=ThreadStatus(status)) if u.id == thread_id else u
                    for u in plan.threads)  # fmt: skip
    return _finish(
        plan,
        threads,
        avoidance,
        {"op": op, "thread_id": int(thread_id)},
        f"{op} thread {thread_id}",
    )


def remove_thread(plan: InsertionPlan, thread_id: int, *, avoidance: Any = None) -> InsertionPlan:
    """Remove a thread from the plan (its status becomes ``removed``)."""
    _editable(plan, thread_id, action="removed", allow_locked=True)
    return _set_status(plan, thread_id, "removed", avoidance, op="remove")
