"""Benchmark of the robot simulation: 64 insertions, Monte Carlo, cycle time per preset.

Targets: simulating 64 insertions without Monte Carlo under 0.2 s; 1,000 Monte Carlo
samples per thread for 64 threads under 2 s. The baseline measured in the same run is a
naive loop of the same 3-D clearance (one needle sample point at a time against every
vessel capsule) for the Monte Carlo, reported as a ratio.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "robot"))

from _report import best_of, machine, table, write_section  # noqa: E402
from conftest import make_plan  # noqa: E402

import insertion_planner as ip  # noqa: E402
from insertion_planner.robot.clearance import vessel_capsules  # noqa: E402


def naive_breach(plan, samples: int, rng: np.random.Generator) -> float:
    """Per-sample Python loop over sample points along the path (the baseline)."""
    caps = vessel_capsules(plan.geometry.vessel_segments_um, plan.geometry.penetrating_um)
    t0 = time.perf_counter()
    for th in plan.threads[:4]:  # 4 threads, scaled to 64 below
        e, d = np.asarray(th.entry_um), np.asarray(th.direction)
        pts = e + np.linspace(0, th.depth_um, 15)[:, None] * d
        for _ in range(samples):
            p = pts + rng.normal(0, 10, 3)
            a, b = caps[:, 0:3], caps[:, 3:6]
            ab = b - a
            best = np.inf
            for q in p:
                t = np.clip(((q - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0, 1)
                best = min(
                    best,
                    float((np.linalg.norm(a + t[:, None] * ab - q, axis=1) - caps[:, 6]).min()),
                )
    return (time.perf_counter() - t0) * len(plan.threads) / 4


def main() -> None:
    plan = make_plan()
    trans = make_plan("next-gen", "transdural")
    t = time.perf_counter()
    ip.simulate(plan)  # first call: imports open3d and trimesh
    cold = time.perf_counter() - t
    warm = best_of(lambda: ip.simulate(plan), 5)[0]
    mc = best_of(lambda: ip.simulate(plan, monte_carlo_samples=1000), 3)[0]
    naive = naive_breach(plan, 1000 // 10, np.random.default_rng(0)) * 10
    fail = best_of(lambda: ip.simulate(plan, failure_rate="robot", rng=0), 3)[0]
    rows = []
    for name, p in (("R1-2019", plan), ("R1-2024", plan), ("next-gen", trans)):
        rep = ip.simulate(p, robot=name)
        per = rep.total_time_s / rep.n_validated
        target = {"R1-2019": 10.0, "R1-2024": 17.0, "next-gen": 1.5}[name]
        rows.append(
            [
                name,
                p.dura_mode.value,
                rep.n_validated,
                f"{per:.2f}",
                f"{60 / per:.2f}",
                f"{target:.1f}",
                f"{100 * (per - target) / target:+.1f} %",
            ]
        )
    rep = ip.simulate(plan, failure_rate="robot", rng=0)
    case = ip.synthetic_cortex(0, shape=(1024, 1024), pixel_size_um=24.0)
    real = ip.plan_insertions(case.image, pixel_size_um=24.0, n_threads=64, robot="R1-2019")
    n_seg = len(real.geometry.vessel_segments_um) + len(real.geometry.penetrating_um)
    real_warm = best_of(lambda: ip.simulate(real), 5)[0]
    real_mc = best_of(lambda: ip.simulate(real, monte_carlo_samples=1000), 3)[0]
    md = "\n".join(
        [
            "## Robot simulation (`benchmarks/bench_robot.py`)",
            "",
            f"Machine: {machine()}. 64-thread plan on a flat 25 mm craniectomy with 3 surface and 2 penetrating vessels.",
            "",
            table(
                ["measurement", "time (s)", "target (s)"],
                [
                    [
                        "simulate, 64 insertions, no Monte Carlo (warm, best of 5)",
                        f"{warm:.3f}",
                        "< 0.2",
                    ],
                    [
                        "simulate, first call in a process (imports open3d, trimesh)",
                        f"{cold:.3f}",
                        "-",
                    ],
                    [
                        "simulate + Monte Carlo 1,000 samples x 64 threads (best of 3)",
                        f"{mc:.3f}",
                        "< 2",
                    ],
                    [
                        "simulate with failures at 12.9 % + replanning (best of 3)",
                        f"{fail:.3f}",
                        "-",
                    ],
                    [
                        f"synthetic cortex plan ({len(real.threads)} threads, {n_seg} vessel capsules): simulate",
                        f"{real_warm:.3f}",
                        "< 0.2",
                    ],
                    [
                        "synthetic cortex plan: simulate + Monte Carlo 1,000 x 64",
                        f"{real_mc:.3f}",
                        "< 2",
                    ],
                ],
            ),
            "",
            f"Monte Carlo baseline (Python loop over samples and 15 points per path, extrapolated): "
            f"{naive:.1f} s, {naive / mc:.0f}x slower than the vectorised Monte Carlo.",
            "",
            f"With failures sampled at the published rate (seed 0): {rep.n_retries} retries, "
            f"{rep.total_time_s:.0f} s of robot time ({rep.total_time_s / 60:.1f} min).",
            "",
            "Cycle time per preset against the published rates:",
            "",
            table(
                [
                    "robot",
                    "dura",
                    "validated",
                    "s/thread",
                    "threads/min",
                    "published s/thread",
                    "difference",
                ],
                rows,
            ),
        ]
    )
    write_section("robot", md)
    print(md)


if __name__ == "__main__":
    main()
