"""Planning benchmark: safety and completeness on synthetic cases, MILP gaps, speed.

Run: .venv/bin/python benchmarks/bench_planning.py [--cases N] [--shape S]
Writes the "planning" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _report import machine, table, write_section
from scipy import ndimage

import insertion_planner as ip
from insertion_planner.frames import Grid
from insertion_planner.planning.candidates import make_candidates
from insertion_planner.planning.optimise import greedy_select
from insertion_planner.planning.scene import make_scene
from insertion_planner.robots import get_robot


def truth_greedy_count(case, mode: str, n: int = 64, spacing: float = 250.0) -> int:
    """A simple greedy packing (raster order) on the ground truth, same physical constraints."""
    px = case.pixel_size_um
    clear = (ndimage.distance_transform_edt(~case.truth.mask) * px - px / 2).astype(np.float32)
    req = np.full(clear.shape, ip.SafetyMargins().required_um(mode), np.float32)
    amap = type("GT", (), {"clearance_um": clear, "required_um": req, "allowed": clear >= req,
                           "penetrating": np.zeros((0, 3))})()  # fmt: skip
    grid = Grid(clear.shape, px, case.grid.surface_z_um)
    centroid = np.argwhere(case.region).mean(axis=0)
    scene = make_scene(grid, craniectomy=case.craniectomy, toward_rc=centroid, robot=get_robot("R1-2019"),
                       dura_thickness_um=320.0 if mode == "transdural" else 0.0)  # fmt: skip
    c = make_candidates(amap, case.region, scene, min_spacing_um=spacing)
    raster = np.lexsort((c.rc[:, 1], c.rc[:, 0]))
    return len(greedy_select(c, n, spacing, order=raster))


def quality(n_cases: int, shape: int) -> tuple[str, list[float]]:
    rows = []
    gaps_all: list[float] = []
    for mode in ("durectomy", "transdural"):
        worst_d, n_full, n_fit, gaps, placed, added = np.inf, 0, 0, [], [], []
        binding: dict[str, int] = {}
        for seed in range(n_cases):
            case = ip.synthetic_cortex(seed, shape=(shape, shape), dura_mode=mode)
            t0 = time.perf_counter()
            plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, dura_mode=mode,
                                      region=case.region, craniectomy=case.craniectomy,
                                      surface_height_um=case.grid.surface_z_um, weight=case.functional_weight)  # fmt: skip
            added.append(time.perf_counter() - t0)
            d = (
                ndimage.distance_transform_edt(~case.truth.mask) * case.pixel_size_um
                - case.pixel_size_um / 2
            )
            if plan.threads:
                worst_d = min(
                    worst_d, min(d[int(t.pixel[0]), int(t.pixel[1])] for t in plan.threads)
                )
            if truth_greedy_count(case, mode) >= 64:
                n_fit += 1
                n_full += len(plan.threads) == 64
            gaps.append(plan.gap)
            placed.append(len(plan.threads))
            binding[str(plan.binding_constraint)] = binding.get(str(plan.binding_constraint), 0) + 1
        gaps_all += gaps
        rows.append([mode, n_cases, f"{worst_d:.1f}", f"{n_full}/{n_fit}", f"{min(placed)}-{max(placed)}",
                     f"{100 * statistics.median(gaps):.3f} %", f"{100 * max(gaps):.3f} %",
                     f"{statistics.median(added):.2f}",
                     ", ".join(f"{k} {v}" for k, v in sorted(binding.items()))])  # fmt: skip
    md = table(["dura mode", "cases", "closest thread to a true vessel edge (um)",
                "64/64 placed when ground-truth greedy fits 64", "threads placed", "median MILP gap",
                "worst MILP gap", "median pipeline time (s)", "binding constraint (cases)"], rows)  # fmt: skip
    return md, gaps_all


def speed(shape: int = 2048, repeats: int = 2) -> str:
    from skimage.filters import sato

    from insertion_planner.segmentation import segment_vessels

    case = ip.synthetic_cortex(7, shape=(shape, shape), dura_mode="durectomy")
    kw = dict(pixel_size_um=case.pixel_size_um, dura_mode="durectomy")
    grey = case.image.mean(axis=2).astype(np.float32) / 255.0
    from insertion_planner.avoidance import build_avoidance_map
    from insertion_planner.planning import plan_from_avoidance

    seg_t, full_t, sato_t, add_t = [], [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        vessels = segment_vessels(case.image, **kw)
        seg_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        amap = build_avoidance_map(vessels, dura_mode="durectomy")
        plan_from_avoidance(amap, region=case.region, craniectomy=case.craniectomy,
                            surface_height_um=case.grid.surface_z_um, vessels=vessels, image=case.image)  # fmt: skip
        add_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        plan = ip.plan_insertions(case.image, region=case.region, craniectomy=case.craniectomy,
                                  surface_height_um=case.grid.surface_z_um, **kw)  # fmt: skip
        full_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        sato(grey, sigmas=[1, 2, 4, 8], black_ridges=True)
        sato_t.append(time.perf_counter() - t)
    seg, full, sat, added = min(seg_t), min(full_t), min(sato_t), min(add_t)
    # replanning 8 failed threads with 20 inserted
    order = [t.id for t in plan.threads]
    rp = []
    for _ in range(20):
        t = time.perf_counter()
        ip.replan(plan, inserted=order[:20], failed=order[20:28])
        rp.append(time.perf_counter() - t)
    rows = [
        [f"segmentation alone ({shape}x{shape})", f"{seg:.2f} s", ""],
        ["plan_insertions (whole pipeline)", f"{full:.2f} s", f"{full / sat:.2f} x sato"],
        [
            "added beyond segmentation (avoidance map + placement + ordering, timed alone)",
            f"{added:.2f} s",
            "target <= 1.5 s",
        ],
        ["skimage.filters.sato(sigmas=[1, 2, 4, 8])", f"{sat:.2f} s", "baseline"],
        [
            "replan 8 failed threads (median of 20)",
            f"{1000 * statistics.median(rp):.1f} ms",
            "target < 50 ms",
        ],
    ]
    return (
        table(["step", "time (best of runs)", "vs"], rows)
        + f"\n\n{len(plan.threads)} threads placed."
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--shape", type=int, default=1024)
    ap.add_argument("--speed-shape", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    q, _ = quality(args.cases, args.shape)
    print(q)
    s = speed(args.speed_shape, args.repeats)
    print(s)
    md = (
        "## Planning\n\n"
        f"Machine: {machine()}.\n\n"
        f"Quality on {args.cases} synthetic cases per dura mode ({args.shape}x{args.shape} px at 12 um, "
        "64 threads asked, the case's region, craniectomy, surface and functional weight). "
        "Distances are to the ground-truth vessel edge (pixel-centre distance minus half a pixel). "
        "The ground-truth greedy packs the candidates in raster order at 250 um on the true "
        "vessels with the same tether, slope, craniectomy and insertion-head (R1-2019) constraints.\n\n"
        f"{q}\n\nSpeed on one {args.speed_shape}x{args.speed_shape} case, compared in the same run:\n\n{s}\n"
    )
    write_section("planning", md)


if __name__ == "__main__":
    main()
