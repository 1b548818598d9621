"""Time synthetic_cortex at 2048 x 2048 (both dura modes) and write the "synthetic" section.

Baseline in the same run: one full-frame Gaussian blur of a (2048, 2048, 3) float32 image
(scipy.ndimage, sigma 1), a fixed unit of image work on this machine.

    .venv/bin/python benchmarks/bench_synthetic.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import best_of, machine, table, write_section  # noqa: E402

import insertion_planner as ip  # noqa: E402

SEEDS = (0, 1, 2)
SHAPE = (2048, 2048)


def main() -> None:
    img = np.random.default_rng(0).random((*SHAPE, 3), dtype=np.float32)
    base, _ = best_of(lambda: ndimage.gaussian_filter(img, (1.0, 1.0, 0)))
    rows = []
    for mode in ("durectomy", "transdural"):
        for seed in SEEDS:
            t0 = time.perf_counter()
            case = ip.synthetic_cortex(seed, shape=SHAPE, dura_mode=mode)
            dt = time.perf_counter() - t0
            t = case.truth
            frac = float(t.mask[case.craniectomy].mean())
            rows.append(
                [
                    mode,
                    seed,
                    f"{dt:.2f}",
                    f"{dt / base:.1f}",
                    t.graph.number_of_nodes(),
                    len(t.penetrating),
                    f"{100 * frac:.1f}",
                ]
            )
            print(rows[-1], flush=True)
    times = [float(r[2]) for r in rows]
    md = "\n".join(
        [
            "## synthetic",
            "",
            f"`synthetic_cortex(seed, shape={SHAPE})`, one call per row (generation, rasterisation, "
            "rendering). Baseline: one Gaussian blur (sigma 1) of a 2048x2048x3 float32 image, "
            f"best of 3: {base:.3f} s. Machine: {machine()}.",
            "",
            table(
                [
                    "dura mode",
                    "seed",
                    "time (s)",
                    "x baseline",
                    "graph nodes",
                    "penetrating",
                    "vessel % of opening",
                ],
                rows,
            ),
            "",
            f"Median {np.median(times):.2f} s, max {max(times):.2f} s (target: under about 5 s).",
        ]
    )
    write_section("synthetic", md)


if __name__ == "__main__":
    main()
