"""Simulate the insertion of a plan on a robot: validate, time, fail, replan, Monte Carlo."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import as_rng, check_int_range, check_positive
from ..plan import InsertionPlan
from ..planning.checks import map_of_plan
from ..planning.validity import pairwise_violations
from ..protocols import AvoidanceLike
from ..robots import RobotSpec, get_robot
from ..thread import Thread
from .checks import Assessment, LaidTethers, SimulationScene, approach_um, assess, simulation_scene
from .cycle import PHASES
from .montecarlo import BrainMotion, breach_probability
from .report import InsertionRecord, SimulationReport

__all__ = ["simulate"]


def _key(t: Thread) -> tuple[Any, ...]:
    return (t.id, t.pixel, t.entry_um, t.direction, t.depth_um, t.clearance_um,
            t.required_clearance_um, t.tether_um)  # fmt: skip


class _Assessor:
    """Caches per-thread assessments; threads moved by replanning are assessed anew."""

    def __init__(self, scene: SimulationScene) -> None:
        self.scene = scene
        self.cache: dict[tuple[Any, ...], tuple[Assessment, int]] = {}

    def add(self, threads: list[Thread]) -> None:
        todo = [t for t in threads if _key(t) not in self.cache]
        if todo:
            a = assess(todo, self.scene)
            for i, t in enumerate(todo):
                self.cache[_key(t)] = (a, i)

    def get(self, t: Thread) -> tuple[Assessment, int]:
        self.add([t])
        return self.cache[_key(t)]


def _failure_rate(value: Any, robot: RobotSpec) -> float:
    if value is None:
        return 0.0
    if isinstance(value, str):
        if value != "robot":
            raise ValueError(
                f"failure_rate must be a number in [0, 1), 'robot' or None, got {value!r}"
            )
        return 1.0 - robot.insertion_success_rate
    rate = check_positive(value, name="failure_rate", allow_zero=True)
    if rate >= 1:
        raise ValueError(f"failure_rate must be below 1, got {rate}")
    return rate


def simulate(
    plan: InsertionPlan,
    *,
    robot: str | dict[str, Any] | RobotSpec | None = None,
    rng: int | np.random.Generator | None = None,
    monte_carlo_samples: int = 0,
    motion: BrainMotion | None = None,
    failure_rate: float | str | None = None,
    max_retries: int = 2,
    avoidance: AvoidanceLike | None = None,
    collision_margin_um: float = 500.0,
    clearance_tolerance_um: float = 0.0,
    progress: bool | None = None,
) -> SimulationReport:
    """Simulate inserting every thread of ``plan`` with ``robot`` and validate each insertion.

    Threads are taken in plan order. Each is checked (reach and joint limits, tilt and
    incidence on the surface normal, needle length, insertion-head collision with the
    skull rim and the implant, 3-D needle-path clearance from vessels including
    penetrating ones, tether reach, tangling and crossing with the threads already
    inserted). A thread failing a check is *rejected* and not attempted. A thread passing
    every check is inserted through the cycle of :mod:`~insertion_planner.robot.cycle`;
    with ``failure_rate`` the insertion fails at random, the thread is re-placed by
    :func:`~insertion_planner.replan` and retried (at most ``max_retries`` times).

    Parameters
    ----------
    plan : InsertionPlan
    robot : str, dict, RobotSpec or None
        Preset name, custom robot or JSON file; None: the plan's robot. Its needle radius
        and stage accuracy raise every thread's required clearance wherever the plan's
        margins assumed less (:meth:`SafetyMargins.for_robot
        <insertion_planner.SafetyMargins.for_robot>`: a robot of 1 mm stage error asks
        about 2 mm more), and its stage accuracy drives the Monte Carlo.
    rng : int, Generator or None
        Seed of the failures and the Monte Carlo (None: seed 0, deterministic).
    monte_carlo_samples : int
        Samples per thread of the positioning-error Monte Carlo (0: none); gives each
        record a ``breach_probability`` (see :mod:`~insertion_planner.robot.montecarlo`:
        every vessel a sampled error can reach is checked; binomial standard error
        ``sqrt(p (1 - p) / monte_carlo_samples)``).
    motion : BrainMotion, optional
        Brain-motion settings of the Monte Carlo (defaults documented there).
    failure_rate : float, 'robot' or None
        Probability an insertion fails; ``'robot'`` takes ``1 - robot.insertion_success_rate``
        (0.129 for the presets: 87.1 % success, JMIR 2019); None or 0: no failures.
    max_retries : int
        Retries per thread after failed insertions.
    avoidance : AvoidanceMap, optional
        The avoidance map of the plan's image, e.g. rebuilt for a loaded plan by
        :func:`~insertion_planner.avoidance_for_plan`. Given, it judges every site: a site
        it does not allow, or whose clearance there is below the required clearance
        there, is rejected for ``vessel_clearance`` with both numbers, whatever the plan
        records (stored clearances and stored vessels cannot excuse a site), and its
        penetrating vessels join the 3-D needle-path check. A failed insertion is
        re-placed on this map (or the plan's in-memory one); without either it is
        retried at the same site.
    collision_margin_um : float
        Smallest allowed distance of the head and needle to the skull rim or implant.
    clearance_tolerance_um : float
        Slack on the 3-D vessel clearance check (0: the path must meet the thread's
        required clearance exactly).
    progress : bool or None
        Progress bar for long Monte Carlo runs (None: only on a terminal).

    Returns
    -------
    SimulationReport

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> report = simulate(_example_plan(), robot="R1-2019")
    >>> report.n_threads, report.n_validated
    (2, 2)
    >>> report.insertions[0].min_clearance_um  # no vessels in this plan
    inf

    A thread moved by hand next to (and under the tether of) the first is rejected, with
    the reasons planning would give:

    >>> from dataclasses import replace
    >>> p = _example_plan()
    >>> moved = replace(p.threads[1], pixel=(100.0, 110.0), entry_um=(1320.0, 1200.0, 0.0))
    >>> for why in simulate(replace(p, threads=(p.threads[0], moved))).insertions[1].reasons:
    ...     print(why)
    min_spacing: 120.0 um from thread 0 (T01), inserted before it, less than min_spacing_um=250.0
    tether_tangle: site 0 um from the tether of thread 0 (T01), inserted before it (clearance 100 um)
    """
    if not isinstance(plan, InsertionPlan):
        raise TypeError(f"plan must be an InsertionPlan, got {type(plan).__name__}")
    spec = plan.robot_spec if robot is None else get_robot(robot)
    name = plan.robot if robot is None else spec.name
    samples = check_int_range(
        monte_carlo_samples, name="monte_carlo_samples", low=0, high=10_000_000
    )
    retries = check_int_range(max_retries, name="max_retries", low=0, high=100)
    rate = _failure_rate(failure_rate, spec)
    margin = check_positive(collision_margin_um, name="collision_margin_um", allow_zero=True)
    tol = check_positive(clearance_tolerance_um, name="clearance_tolerance_um", allow_zero=True)
    if motion is not None and not isinstance(motion, BrainMotion):
        raise TypeError(f"motion must be a BrainMotion, got {type(motion).__name__}")
    motion = motion or BrainMotion()
    gen = as_rng(rng)
    fail_rng, mc_rng = (np.random.default_rng(s) for s in gen.integers(0, 2**63 - 1, size=2))

    _check_threads(plan)
    judge = _site_map(plan, avoidance)
    scene = simulation_scene(plan, spec, collision_margin_um=margin, clearance_tolerance_um=tol,
                       avoidance=judge)  # fmt: skip
    assessor = _Assessor(scene)
    current = plan
    assessor.add([t for t in current.threads if t.status not in ("removed", "failed", "inserted")])
    laid = LaidTethers(scene)
    done = set()
    records: list[InsertionRecord] = []
    for t in current.threads:
        if t.status == "inserted":
            laid.add(t)
            done.add(t.id)
            # already in the brain: judged all the same, never counted validated when it fails
            found = scene.validity.check([t], pairs=False)
            if found.per_thread[0]:
                records.append(InsertionRecord(
                    thread_id=t.id, attempt=0, ok=False,
                    reasons=tuple(f"{v.constraint}: {v.detail}" for v in found.per_thread[0]),
                    time_s=0.0, start_s=0.0, phases=(), entry_um=t.entry_um,
                    min_clearance_um=float(found.clearance_um[0]),
                    required_clearance_um=float(found.required_um[0]), head_clearance_um=math.nan,
                ))  # fmt: skip
    closed: set[int] = set()
    attempts: dict[int, int] = {}
    clock = 0.0
    n_retries = 0
    while True:
        pending = [t for t in current.threads
                   if t.id not in done and t.id not in closed and t.status not in ("removed", "failed")]  # fmt: skip
        if not pending:
            break
        t = pending[0]
        a, i = assessor.get(t)
        reasons = list(a.reasons[i]) + _pair_reasons(current, t, scene, done) + laid.reasons(t)
        k = attempts.get(t.id, 0)
        required = t.required_clearance_um if a.required_um is None else float(a.required_um[i])
        base: dict[str, Any] = dict(thread_id=t.id, attempt=k, entry_um=t.entry_um, min_clearance_um=float(a.min_clearance_um[i]),
                    required_clearance_um=required, head_clearance_um=float(a.head_clearance_um[i]))  # fmt: skip
        if reasons:
            records.append(InsertionRecord(ok=False, reasons=tuple(reasons), time_s=0.0, start_s=clock,
                                           phases=(), **base))  # fmt: skip
            closed.add(t.id)
            continue
        durations = a.times.phases_s[i]
        starts = clock + np.concatenate([[0.0], np.cumsum(durations)[:-1]])
        phases = tuple(
            (p, float(s), float(dur)) for p, s, dur in zip(PHASES, starts, durations, strict=True)
        )
        cycle = float(durations.sum())
        failed = rate > 0 and fail_rng.random() < rate
        if not failed:
            records.append(
                InsertionRecord(
                    ok=True, reasons=(), time_s=cycle, start_s=clock, phases=phases, **base
                )
            )
            clock += cycle
            done.add(t.id)
            laid.add(t)
            continue
        why = f"insertion_failed: the insertion failed (sampled at rate {rate:.3f})"
        records.append(
            InsertionRecord(
                ok=False, reasons=(why,), time_s=cycle, start_s=clock, phases=phases, **base
            )
        )
        clock += cycle
        attempts[t.id] = k + 1
        if k >= retries:
            closed.add(t.id)
            continue
        current = _replan(current, t.id, done, avoidance)
        if current.thread(t.id).status == "failed":  # no site left for it: no retry
            closed.add(t.id)
        else:
            n_retries += 1

    final_ids = {t.id for t in current.threads if t.status != "removed"}
    statuses: dict[int, str] = {}
    for rec in records:
        statuses[rec.thread_id] = rec.status
    if samples:
        records = _monte_carlo(records, current, scene, plan, samples, motion, mc_rng, progress)
    settings = {
        "robot_spec": spec.to_dict(), "monte_carlo_samples": samples, "motion": motion.to_dict(),
        "failure_rate": rate, "max_retries": retries, "collision_margin_um": margin,
        "clearance_tolerance_um": tol, "seed": None if isinstance(rng, np.random.Generator) else rng,
    }  # fmt: skip
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}
    return SimulationReport(
        robot=name, insertions=tuple(records), total_time_s=clock, n_threads=len(final_ids),
        n_validated=sum(1 for s in statuses.values() if s == "validated") + len(
            {t.id for t in plan.threads if t.status == "inserted"} - set(statuses)),
        n_rejected=sum(1 for s in statuses.values() if s == "rejected"),
        n_failed=sum(1 for s in statuses.values() if s == "failed"), n_retries=n_retries,
        monte_carlo_samples=samples, settings=_jsonable(settings), plan=current,
    )  # fmt: skip


def _pair_reasons(
    plan: InsertionPlan, thread: Thread, scene: SimulationScene, laid: set[int]
) -> list[str]:
    """Spacing and tangling of ``thread`` with the threads before it -- the plan's active
    threads earlier in its order and every thread already in the brain (``laid``) -- judged
    by the validity checker as planning judges them, ``thread`` taken as the later."""
    before = [u for u in plan.threads if u.id != thread.id and (
        u.id in laid or (u.status.is_active and (u.order, u.id) < (thread.order, thread.id)))]  # fmt: skip
    last = max((u.order for u in before), default=-1) + 1
    probe = replace(thread, order=max(thread.order, last))
    found = pairwise_violations([*before, probe], scene=scene.validity.scene,
                                min_spacing_um=scene.validity.min_spacing_um)  # fmt: skip
    return [f"{v.constraint}: {v.detail}" for v in found if v.thread_id == thread.id]


def _site_map(plan: InsertionPlan, avoidance: object) -> AvoidanceLike | None:
    """``avoidance``, checked against the plan (None stays None)."""
    return None if avoidance is None else map_of_plan(plan, avoidance)


def _check_threads(plan: InsertionPlan) -> None:
    """Needle axes must be finite unit vectors and depths positive (a file may hold anything)."""
    for t in plan.threads:
        d = np.asarray(t.direction, dtype=np.float64)
        norm = float(np.linalg.norm(d)) if np.isfinite(d).all() else math.nan
        if not abs(norm - 1.0) <= 1e-3:
            raise ValueError(
                f"plan thread {t.id} direction must be a unit vector, got {tuple(t.direction)}"
            )
        if not (math.isfinite(t.depth_um) and t.depth_um > 0):
            raise ValueError(f"plan thread {t.id} depth_um must be positive, got {t.depth_um}")
        if not all(math.isfinite(v) for v in t.entry_um):
            raise ValueError(f"plan thread {t.id} entry_um must be finite, got {tuple(t.entry_um)}")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 9) + 0.0 if math.isfinite(obj) else None
    return obj


def _replan(
    plan: InsertionPlan, failed_id: int, done: set[int], avoidance: AvoidanceLike | None
) -> InsertionPlan:
    """Re-place thread ``failed_id`` with planning's replan; same site when it cannot run."""
    if avoidance is None and plan.avoidance is None:
        return plan  # a loaded plan without its avoidance map: retry at the same site
    from ..planning.replan import replan

    inserted = sorted(i for i in done if plan.thread(i).status != "inserted")
    return replan(plan, failed=[failed_id], inserted=inserted, avoidance=avoidance)


def _monte_carlo(
    records: list[InsertionRecord],
    plan: InsertionPlan,
    scene: SimulationScene,
    original: InsertionPlan,
    samples: int,
    motion: BrainMotion,
    rng: np.random.Generator,
    progress: bool | None,
) -> list[InsertionRecord]:
    """Attach breach probabilities to every record (one Monte Carlo batch over the sites)."""
    by_key: dict[tuple[Any, ...], int] = {}
    threads = {t.id: t for t in original.threads}
    for t in plan.threads:
        threads.setdefault(t.id, t)
    sites: list[Thread] = []
    for rec in records:
        key = (rec.thread_id, rec.entry_um)
        if key in by_key:
            continue
        src = next((t for t in (plan.threads + original.threads) if t.id == rec.thread_id
                    and t.entry_um == rec.entry_um), threads[rec.thread_id])  # fmt: skip
        by_key[key] = len(sites)
        sites.append(src)
    a = assess(sites, scene) if sites else None
    e = np.array([t.entry_um for t in sites], dtype=np.float64).reshape(-1, 3)
    d = np.array([t.direction for t in sites], dtype=np.float64).reshape(-1, 3)
    depth = np.array([t.depth_um for t in sites], dtype=np.float64)
    margins = original.margins
    # the map the checker judges by, else the fresh plan's own: never the capsules alone
    judge = scene.validity
    if judge.avoidance is None and original.avoidance is not None:
        judge = replace(judge, avoidance=original.avoidance)
    prob, p05 = breach_probability(
        e, d, depth, scene.capsules, n_samples=samples, needle_radius_um=scene.robot.needle_radius_um,
        base_margin_um=margins.base_margin_um, stage_accuracy_um=scene.robot.stage_accuracy_um,
        registration_error_um=(margins.registration_error_um if motion.registration_error_um is None
                               else motion.registration_error_um),
        tracking_rate_hz=scene.robot.tracking_rate_hz, tracking_latency_s=scene.robot.tracking_latency_s,
        motion=motion, deflection_sigma_um=a.deflection_sigma_um if a is not None else 0.0,
        dura_thickness_um=approach_um(scene, e, d), rng=rng, progress=progress,
        surface_clearance=judge.surface_clearance_um,
    )  # fmt: skip
    out = []
    for rec in records:
        j = by_key[(rec.thread_id, rec.entry_um)]
        p05j = float(p05[j]) if math.isfinite(p05[j]) else None
        out.append(replace(rec, breach_probability=float(prob[j]), p05_clearance_um=p05j))
    return out
