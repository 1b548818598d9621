"""Planning and simulation speed of this tree against an earlier revision, in the same run.

A change to the safety model must not slow planning or simulation. This script times the
same work in two source trees, alternating between them so both see the same machine
load: placement on a synthetic cortex's avoidance map (``plan_from_avoidance``), the
simulation of the plan with the image's map (``simulate(plan, avoidance=...)``), and the
Monte Carlo of 200 samples per thread, each after one untimed warm-up run (imports and
one-time set-up). The avoidance maps are built once, by this tree,
and handed to both (the detector is not what is compared).

Usage::

    git worktree add /tmp/base <revision>
    .venv/bin/python benchmarks/bench_revisions.py --baseline-src /tmp/base --name "before X"

Results go to the ``revisions`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, table, write_section  # noqa: E402

HERE = Path(__file__).resolve().parent.parent

WORK = r"""
import json, sys, time, pickle
import numpy as np
import insertion_planner as ip
from insertion_planner.planning import plan_from_avoidance

cases = pickle.load(open(sys.argv[1], "rb"))
warm = plan_from_avoidance(cases[0]["amap"], n_threads=8)  # imports and one-time set-up
ip.simulate(warm, avoidance=cases[0]["amap"])
out = []
for c in cases:
    kw = dict(n_threads=64, region=c["region"], surface_height_um=c["surface"],
              craniectomy=c["craniectomy"])
    t0, c0 = time.perf_counter(), time.process_time()
    plan = plan_from_avoidance(c["amap"], **kw)
    t1, c1 = time.perf_counter(), time.process_time()
    rep = ip.simulate(plan, avoidance=c["amap"])
    t2, c2 = time.perf_counter(), time.process_time()
    ip.simulate(plan, avoidance=c["amap"], monte_carlo_samples=200, rng=0)
    t3, c3 = time.perf_counter(), time.process_time()
    out.append({"plan_s": t1 - t0, "plan_cpu_s": c1 - c0, "sim_s": t2 - t1,
                "sim_cpu_s": c2 - c1, "mc_s": t3 - t2, "mc_cpu_s": c3 - c2,
                "placed": len(plan.active_threads), "validated": rep.n_validated})
print(json.dumps(out))
"""


def _cases(n: int, shape: int) -> list[dict]:
    import insertion_planner as ip

    out = []
    for seed in range(n):
        for mode in ("durectomy", "transdural"):
            case = ip.synthetic_cortex(seed, shape=(shape, shape), dura_mode=mode)
            vm = ip.segment_vessels(case.image, pixel_size_um=case.pixel_size_um, dura_mode=mode)
            amap = ip.build_avoidance_map(vm, dura_mode=mode)
            out.append({"amap": amap, "region": case.region, "surface": case.grid.surface_z_um,
                        "craniectomy": case.craniectomy, "name": f"{seed} {mode}"})  # fmt: skip
    return out


def _run(src: Path, data: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    res = subprocess.run([sys.executable, "-c", WORK, str(data)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode:
        raise SystemExit(f"the work failed in {src}:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-src", type=Path, required=True,
                    help="source tree of the earlier revision (a git worktree)")  # fmt: skip
    ap.add_argument("--name", default="baseline", help="what the baseline is, for the report")
    ap.add_argument("--cases", type=int, default=3, help="seeds (each in both dura modes)")
    ap.add_argument("--shape", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import pickle

    cases = _cases(args.cases, args.shape)
    names = [c.pop("name") for c in cases]
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "cases.pkl"
        data.write_bytes(pickle.dumps(cases))
        runs: dict[str, list[list[dict]]] = {"this": [], "base": []}
        for _ in range(args.repeats):  # alternate, so both see the same load
            runs["base"].append(_run(args.baseline_src, data))
            runs["this"].append(_run(HERE, data))
    keys = ("plan_s", "plan_cpu_s", "sim_s", "sim_cpu_s", "mc_s", "mc_cpu_s")
    rows = []
    totals = {side: dict.fromkeys(keys, 0.0) for side in runs}
    for i, name in enumerate(names):
        row = [name]
        for key in keys:
            b = min(rep[i][key] for rep in runs["base"])
            t = min(rep[i][key] for rep in runs["this"])
            totals["base"][key] += b
            totals["this"][key] += t
            if not key.endswith("cpu_s"):
                row += [f"{b:.3f}", f"{t:.3f}", f"{t / b:.2f}"]
        row += [f"{runs['base'][0][i]['placed']}/{runs['this'][0][i]['placed']}",
                f"{runs['base'][0][i]['validated']}/{runs['this'][0][i]['validated']}"]  # fmt: skip
        rows.append(row)
    header = ["case", "plan base s", "plan this s", "ratio", "simulate base s", "simulate this s",
              "ratio", "MC base s", "MC this s", "ratio", "placed base/this", "validated base/this"]  # fmt: skip
    summary = ", ".join(
        f"{label} {totals['this'][k] / totals['base'][k]:.2f} wall ({totals['this'][c] / totals['base'][c]:.2f} CPU)"
        for label, k, c in (("placement", "plan_s", "plan_cpu_s"), ("simulation", "sim_s", "sim_cpu_s"),
                            ("Monte Carlo", "mc_s", "mc_cpu_s"))
    )  # fmt: skip
    text = (
        f"This tree against {args.name} (`bench_revisions.py`), {len(names)} synthetic cases of "
        f"{args.shape}², 64 threads, best of {args.repeats} alternating runs. {machine()}\n\n"
        f"Ratios this / baseline over all cases (below 1: faster): {summary}.\n\n"
        + table(header, rows)
    )
    print(text)
    write_section("revisions", text)


if __name__ == "__main__":
    main()
