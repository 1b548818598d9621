"""The simulation report: a record per insertion attempt, totals, JSON export."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .._io import atomic_write_text
from ..plan import InsertionPlan
from .cycle import PHASES

__all__ = ["InsertionRecord", "SimulationReport"]


def _num(x: float | None, nd: int = 6) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd) + 0.0


@dataclass(frozen=True)
class InsertionRecord:
    """One insertion attempt (or one rejected thread, which the robot does not attempt).

    Attributes
    ----------
    thread_id : int
    attempt : int
        0 for the first attempt at this thread, 1 for its first retry, ...
    ok : bool
        Every check passed and the insertion succeeded.
    reasons : tuple of str
        Why not, each starting with a check name (``"vessel_clearance: ..."``).
    time_s : float
        Robot time spent on this attempt (0 when rejected before any motion).
    start_s : float
        When the attempt starts, from the start of the surgery.
    phases : tuple of (str, float, float)
        (phase name, start_s, duration_s) of the cycle; empty when rejected.
    entry_um : (float, float, float)
        Site of this attempt (replanning moves failed threads).
    min_clearance_um : float
        3-D clearance of the needle path from the nearest vessel edge (inf without vessels).
    required_clearance_um : float
    head_clearance_um : float
        Smallest distance of the insertion head and needle to the skull rim or implant.
    breach_probability : float or None
        Monte Carlo probability that the realised path breaches the base margin.
    p05_clearance_um : float or None
        5th percentile of the realised clearance (Monte Carlo).
    """

    thread_id: int
    attempt: int
    ok: bool
    reasons: tuple[str, ...]
    time_s: float
    start_s: float
    phases: tuple[tuple[str, float, float], ...]
    entry_um: tuple[float, float, float]
    min_clearance_um: float
    required_clearance_um: float
    head_clearance_um: float
    breach_probability: float | None = None
    p05_clearance_um: float | None = None

    @property
    def status(self) -> str:
        """``validated``, ``rejected`` (a check failed) or ``failed`` (the insertion failed)."""
        if self.ok:
            return "validated"
        return "failed" if self.time_s > 0 else "rejected"

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "attempt": self.attempt,
            "ok": self.ok,
            "status": self.status,
            "reasons": list(self.reasons),
            "time_s": _num(self.time_s),
            "start_s": _num(self.start_s),
            "phases": [
                {"name": n, "start_s": _num(s), "duration_s": _num(d)} for n, s, d in self.phases
            ],
            "entry_um": [_num(v) for v in self.entry_um],
            "min_clearance_um": _num(self.min_clearance_um),
            "required_clearance_um": _num(self.required_clearance_um),
            "head_clearance_um": _num(self.head_clearance_um),
            "breach_probability": _num(self.breach_probability),
            "p05_clearance_um": _num(self.p05_clearance_um),
        }


@dataclass(frozen=True, eq=False)
class SimulationReport:
    """Result of :func:`~insertion_planner.simulate`.

    Attributes
    ----------
    robot : str
    insertions : tuple of InsertionRecord
        In the order the robot met them (retries follow their failed attempt).
    total_time_s : float
        Robot time of the whole surgery, retries included.
    n_threads, n_validated, n_rejected, n_failed, n_retries : int
        Threads in the plan; threads finally validated; threads rejected by a check;
        threads given up after failed insertions; retries made.
    monte_carlo_samples : int
    settings : dict
        The simulation settings (JSON-ready).
    plan : InsertionPlan or None
        The plan as finally simulated (after any replanning), not serialised.
    """

    robot: str
    insertions: tuple[InsertionRecord, ...]
    total_time_s: float
    n_threads: int
    n_validated: int
    n_rejected: int
    n_failed: int
    n_retries: int
    monte_carlo_samples: int
    settings: dict[str, Any]
    plan: InsertionPlan | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Whether every thread of the plan was validated."""
        return self.n_validated == self.n_threads

    @property
    def statuses(self) -> dict[int, str]:
        """Final status of each thread id (the status of its last record)."""
        out: dict[int, str] = {}
        for rec in self.insertions:
            out[rec.thread_id] = rec.status
        return out

    def phase_totals_s(self) -> dict[str, float]:
        """Total time per cycle phase over all attempts, seconds."""
        out = dict.fromkeys(PHASES, 0.0)
        for rec in self.insertions:
            for name, _, dur in rec.phases:
                out[name] += dur
        return out

    def to_plan_section(self) -> dict[str, Any]:
        """The plan JSON's ``simulation`` section: {robot, total_time_s, insertions, ...}."""
        return {
            "robot": self.robot,
            "total_time_s": _num(self.total_time_s),
            "insertions": [r.to_dict() for r in self.insertions],
            "n_threads": self.n_threads,
            "n_validated": self.n_validated,
            "n_rejected": self.n_rejected,
            "n_failed": self.n_failed,
            "n_retries": self.n_retries,
            "monte_carlo_samples": self.monte_carlo_samples,
            "phase_totals_s": {k: _num(v) for k, v in self.phase_totals_s().items()},
            "settings": self.settings,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (the plan section)."""
        return self.to_plan_section()

    def to_json_text(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, allow_nan=False) + "\n"

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the report as JSON, atomically."""
        atomic_write_text(path, self.to_json_text())

    def apply(self, plan: InsertionPlan | None = None) -> InsertionPlan:
        """The plan with this report as its ``simulation`` section and the thread statuses.

        ``plan`` defaults to the plan as simulated (which differs from the input plan
        when failed threads were replanned).
        """
        target = self.plan if plan is None else plan
        if target is None:
            raise ValueError("plan is required: this report holds no plan")
        known = {t.id for t in target.threads}
        statuses = {i: s for i, s in self.statuses.items() if i in known}
        return target.with_simulation(self.to_plan_section(), statuses)
