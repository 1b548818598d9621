"""Benchmark of the retraction Monte Carlo: 64 threads x 1,000 samples.

Target: ``retraction_risk`` on 64 threads x 1,000 samples under 1 s (it evaluates the
plan and the four scenarios with one term removed, for the binding term). The baseline
measured in the same run is the same model written as a Python loop over threads and
samples (4 threads timed, scaled to 64), reported as a ratio.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "retraction"))

from _report import best_of, machine, table, write_section  # noqa: E402
from conftest import synthetic_plan  # noqa: E402

from insertion_planner.retraction import (  # noqa: E402
    BrainMotion,
    RetractionSettings,
    mitigation_table,
    retraction_risk,
)
from insertion_planner.retraction.inputs import prepare  # noqa: E402
from insertion_planner.retraction.model import evaluate, ratchet_share  # noqa: E402

FIRST_PATIENT = {"implant_gap_um": 3000.0, "slack_um": 0.0}


def naive(plan, thickness_um: np.ndarray, n_samples: int) -> float:
    """The model as a per-thread, per-sample, per-electrode Python loop (4 threads, scaled)."""
    st, mo = RetractionSettings(), BrainMotion()
    rng = np.random.default_rng(0)
    z = rng.standard_normal(n_samples)
    u = rng.random((4, n_samples))
    rho = ratchet_share(mo, 30.0, st.slip_per_cycle)
    amp = mo.pulsation_um + mo.positional_shift_um + mo.sag_at_um(30.0)
    h = st.hold_um_per_mm / 1000.0
    t0 = time.perf_counter()
    kept_total = 0
    for i, th in enumerate(plan.threads[:4]):
        d, t = th.depth_um, float(thickness_um[round(th.pixel[0]), round(th.pixel[1])])
        for s in range(n_samples):
            e = math.exp(st.motion_sigma * z[s]) * amp + 3000.0 * (0.5 + 0.5 * u[i, s])
            r = min(rho * max((e - 0.0 - h * d) / (1 - h), 0.0), d)
            for k in range(st.n_electrodes):
                depth = d - k * st.electrode_pitch_um
                kept_total += int(r <= depth <= t)
    return (time.perf_counter() - t0) * len(plan.threads) / 4


def main() -> None:
    case, plan = synthetic_plan()
    thick = case.cortex_thickness_um
    kw = {"cortex_thickness_um": thick, "rng": 0, **FIRST_PATIENT}
    retraction_risk(plan, n_samples=10, **kw)  # warm imports
    risk_t, report = best_of(lambda: retraction_risk(plan, n_samples=1000, **kw), 5)
    p = prepare(plan, brain_motion=None, implant_gap_um=3000.0, days=30.0, n_samples=1000,
                cortex_thickness_um=thick, slack_um=0.0, settings=None, rng=0)  # fmt: skip
    mc_t = best_of(lambda: evaluate(p.scenario, p.draws), 5)[0]
    table_t = best_of(lambda: mitigation_table(plan, n_samples=1000, **kw), 3)[0]
    big_t = best_of(lambda: retraction_risk(plan, n_samples=10000, **kw), 3)[0]
    base_t = naive(plan, thick, 1000)
    rows = [
        ["one Monte Carlo evaluation, 64 threads x 1,000 samples", f"{mc_t:.4f}", "-",
         f"{base_t / mc_t:.0f} x faster"],
        ["retraction_risk, 64 x 1,000 (plan + 4 terms removed)", f"{risk_t:.4f}", "< 1", "-"],
        ["mitigation_table, 64 x 1,000 (6 scenarios)", f"{table_t:.4f}", "-", "-"],
        ["retraction_risk, 64 x 10,000", f"{big_t:.4f}", "-", "-"],
        ["baseline: Python loop over threads, samples, electrodes (64 x 1,000)",
         f"{base_t:.3f}", "-", "baseline"],
    ]  # fmt: skip
    md = (
        "## Retraction (`benchmarks/bench_retraction.py`)\n\n"
        f"Machine: {machine()}. Plan: 64 threads placed on synthetic case 6 (512 x 512 at "
        "48 um), first-participant conditions (3 mm gap, no slack, 3,500 um depth, the case's "
        "thickness map), 30 days. Times are the best of 3-5 runs.\n\n"
        + table(["measurement", "time (s)", "target (s)", "vs baseline"], rows)
        + f"\n\nRetained fraction of this run: {report.electrodes_retained_fraction:.3f}; "
        f"binding term: {report.binding_term}."
    )
    print(md)
    write_section("retraction", md)


if __name__ == "__main__":
    main()
