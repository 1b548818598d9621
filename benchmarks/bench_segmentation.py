"""Segmentation quality, safety and speed; writes the "segmentation" section.

Quality: on synthetic cases (2048 x 2048 px, 12 um/px, seeds 0-9, both dura modes),
``segment_vessels`` beside ``skimage.filters.sato`` and ``frangi`` (sigmas 1, 2, 4, 8 px,
dark ridges, on the green channel, Otsu threshold of the response inside the
craniectomy), all run in this process. Scores are inside the craniectomy (where the
ground truth is defined): Dice, recall of vessels at least 40 um across, and the number
of ground-truth vessel pixels the avoidance map allows (must be 0).

Speed: ``segment_vessels`` on the RGB image against ``sato(sigmas=[1, 2, 4, 8])`` on its
green channel, same image, same process (best of several runs; wall-clock and CPU time,
since ``segment_vessels`` runs independent branches on two worker threads beside the
calling one), and peak memory
(tracemalloc) with a scaling table for 1024, 2048 and 4096 px square.

    .venv/bin/python benchmarks/bench_segmentation.py [--seeds N] [--size PX]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from skimage.filters import frangi, sato, threshold_otsu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import best_of, machine, table, write_section  # noqa: E402

import insertion_planner as ip  # noqa: E402

SIGMAS = [1, 2, 4, 8]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = int(a.sum() + b.sum())
    return 2.0 * float((a & b).sum()) / s if s else 1.0


def otsu_mask(response: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Pixels of ``region`` whose response is above the Otsu threshold of the region."""
    return (response > threshold_otsu(response[region])) & region


def quality(seeds: int, size: int) -> tuple[str, dict[str, list[dict[str, float]]]]:
    rows, per_mode = [], {}
    for mode in ("durectomy", "transdural"):
        per_mode[mode] = []
        for seed in range(seeds):
            case = ip.synthetic_cortex(seed, shape=(size, size), dura_mode=mode)
            region = case.craniectomy
            truth = case.truth.mask & region
            t_seg, vm = best_of(
                lambda c=case, m=mode: ip.segment_vessels(
                    c.image, pixel_size_um=c.pixel_size_um, dura_mode=m
                ),
                1,
            )
            amap = ip.build_avoidance_map(vm)
            green = case.image[..., 1].astype(np.float32) / np.float32(255.0)
            t_sato, r_sato = best_of(lambda g=green: sato(g, sigmas=SIGMAS, black_ridges=True), 1)
            t_fr, r_fr = best_of(lambda g=green: frangi(g, sigmas=SIGMAS, black_ridges=True), 1)
            ours = vm.mask & region
            big = truth & (case.truth.radius_um >= 20.0)
            in_allowed = truth & amap.allowed
            kinds = np.bincount(case.truth.kind[in_allowed], minlength=5)
            r = {
                "dice": dice(ours, truth),
                "dice_sato": dice(otsu_mask(r_sato, region), truth),
                "dice_frangi": dice(otsu_mask(r_fr, region), truth),
                "recall40": float((ours & big).sum() / max(int(big.sum()), 1)),
                "in_allowed": int(in_allowed.sum()),
                "in_allowed_stumps": int(kinds[4]),
                "allowed": float(amap.allowed[region].mean()),
                "t_seg": t_seg,
                "t_sato": t_sato,
                "t_frangi": t_fr,
            }
            per_mode[mode].append(r)
            rows.append(
                [
                    mode,
                    seed,
                    f"{r['dice']:.3f}",
                    f"{r['dice_sato']:.3f}",
                    f"{r['dice_frangi']:.3f}",
                    f"{r['recall40']:.4f}",
                    r["in_allowed"],
                    r["in_allowed_stumps"],
                    f"{100 * r['allowed']:.1f}",
                    f"{t_seg:.2f}",
                    f"{t_sato:.1f}",
                    f"{t_fr:.1f}",
                ]
            )
            print(mode, seed, {k: round(v, 4) for k, v in r.items()}, flush=True)
    md = table(
        [
            "dura mode",
            "seed",
            "Dice",
            "Dice sato",
            "Dice frangi",
            "recall >= 40 um",
            "truth px in allowed",
            "of which stumps",
            "allowed % of opening",
            "segment (s)",
            "sato (s)",
            "frangi (s)",
        ],
        rows,
    )
    return md, per_mode


def summary(per_mode: dict[str, list[dict[str, float]]]) -> str:
    target = {"durectomy": 0.90, "transdural": 0.80}
    rows = []
    for mode, rs in per_mode.items():
        d = np.array([r["dice"] for r in rs])
        above = sum(r["dice"] > max(r["dice_sato"], r["dice_frangi"]) for r in rs)
        rows.append(
            [
                mode,
                len(rs),
                f"{d.min():.3f}",
                f"{d.mean():.3f}",
                f">= {target[mode]}",
                f"{above}/{len(rs)}",
                f"{min(r['recall40'] for r in rs):.4f}",
                sum(r["in_allowed"] for r in rs),
                sum(r["in_allowed"] - r["in_allowed_stumps"] for r in rs),
            ]
        )
    return table(
        [
            "dura mode",
            "cases",
            "Dice min",
            "Dice mean",
            "target",
            "above both filters",
            "recall >= 40 um (min)",
            "truth px in allowed (all cases)",
            "of which not stumps",
        ],
        rows,
    )


def speed(sizes: tuple[int, ...]) -> tuple[str, str]:
    rows = []
    ratio_line = ""
    for n in sizes:
        case = ip.synthetic_cortex(0, shape=(n, n), dura_mode="durectomy")
        image = case.image
        ip.segment_vessels(image, pixel_size_um=case.pixel_size_um)  # warm-up
        t_seg, _ = best_of(lambda im=image: ip.segment_vessels(im, pixel_size_um=12.0), 3)
        cpu_seg, _ = best_of(
            lambda im=image: ip.segment_vessels(im, pixel_size_um=12.0), 3, time.process_time
        )
        tracemalloc.start()
        ip.segment_vessels(image, pixel_size_um=12.0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t_sato = None
        if n <= 2048:
            green = image[..., 1].astype(np.float32) / np.float32(255.0)
            t_sato, _ = best_of(lambda g=green: sato(g, sigmas=SIGMAS), 2)
        rows.append(
            [
                f"{n} x {n}",
                f"{t_seg:.3f}",
                f"{cpu_seg:.3f}",
                f"{peak / 2**20:.0f}",
                f"{t_seg / (n * n) * 1e9:.0f}",
                "-" if t_sato is None else f"{t_sato:.2f}",
                "-" if t_sato is None else f"{t_sato / t_seg:.1f}",
                "-" if t_sato is None else f"{t_sato / cpu_seg:.1f}",
            ]
        )
        if n == 2048 and t_sato is not None:
            load = os.getloadavg()[0]
            ratio_line = (
                f"At 2048 x 2048: `segment_vessels` {t_seg:.3f} s, "
                f"`sato(sigmas=[1, 2, 4, 8])` {t_sato:.2f} s: **{t_sato / t_seg:.1f}x "
                f"faster** (target >= 10x) in wall-clock time; in CPU time, all threads "
                f"summed, {cpu_seg:.3f} s, {t_sato / cpu_seg:.1f}x less than `sato`; "
                f"peak traced memory {peak / 2**20:.0f} MiB (target < 1.5 GB). Load average "
                f"during the run: {load:.1f} on {os.cpu_count()} cores (other jobs on a shared "
                f"machine slow both, and leave `segment_vessels`' worker threads no core)."
            )
        print(rows[-1], flush=True)
    md = table(
        [
            "image (RGB)",
            "segment_vessels (s, best of 3)",
            "its CPU time (s, all threads)",
            "peak memory (MiB)",
            "ns / pixel",
            "sato (s)",
            "speed-up vs sato",
            "sato / CPU time",
        ],
        rows,
    )
    return md, ratio_line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    speed_md, ratio_line = speed((1024, 2048, 4096))
    quality_md, per_mode = quality(args.seeds, args.size)
    text = f"""## segmentation

Machine: {machine()}.

### Speed and memory

Synthetic durectomy case, seed 0, 12 um/px. `sato` runs on the green channel (float32) in
the same process, on one thread; `segment_vessels` runs independent branches on two
worker threads beside the calling one, so its CPU time is given too (on a machine whose
cores are busy with other work the threads gain little, and the two times agree). Peak
memory is the largest traced allocation during one
`segment_vessels` call (tracemalloc, numpy buffers included).

{ratio_line}

{speed_md}

### Quality and safety

Synthetic cases {args.size} x {args.size} px at 12 um/px, seeds 0-{args.seeds - 1}. Scores
inside the craniectomy (the ground truth's domain). Baselines: `skimage.filters.sato` and
`frangi` (sigmas 1, 2, 4, 8 px, dark ridges) on the green channel, Otsu threshold of the
response inside the craniectomy. "truth px in allowed": ground-truth vessel pixels where
`build_avoidance_map` (default margins) allows insertion; "stumps": penetrating stumps
(kind 4) among them.

{summary(per_mode)}

{quality_md}
"""
    write_section("segmentation", text)
    print(text)


if __name__ == "__main__":
    main()
