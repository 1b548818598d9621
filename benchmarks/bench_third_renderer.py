"""Safety on the third test renderer; writes the "third renderer" section.

``tests/renderers/third.py`` draws cortex photographs independently of the detector and of
the two other renderers: vessel trees grown by space colonisation with Murray's-law radii,
defocus, Airy and long-tailed point-spread functions, Bayer mosaics, JPEG, a striated dura
veil with dural vessels on top, and a share of the branches submerged 20-160 um below the
pia. Per picture: ``segment_vessels`` and ``build_avoidance_map`` (default
``SafetyMargins`` with the R1-2024 needle), then ``plan_insertions`` (the default 64 threads) in a 5 mm
disc at the centre, scored against the truth split into **surface** vessels (on the pia or
on the dura: what the detectability floor covers) and **submerged** ones.

    .venv/bin/python benchmarks/bench_third_renderer.py [--seeds N] [--size PX]
                                                        [--no-hard] [--quick] [--no-write]

Defaults: random cameras of seeds 0-17 in both modes and 10 hard settings, 1024 x 1024 px:
46 pictures, about 30-40 minutes on two cores (rendering takes most of it). ``--quick``
(256 px, seed 0, no hard settings) is a smoke run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from tqdm import tqdm

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))  # the repository root, for tests.renderers
from _report import machine, table, write_section  # noqa: E402

import insertion_planner as ip  # noqa: E402
from tests.renderers.third import Render, random_camera, render  # noqa: E402

PIXEL_SIZE_UM = 12.0
ROBOT = "R1-2024"
REGION_DIAMETER_UM = 5000.0
KOZAI_MARGIN_UM = 49.0
HARD: dict[str, dict[str, Any]] = {
    "jpeg": {"bit_depth": 8, "jpeg_quality": 70},
    "defocus": {"psf": "pillbox", "psf_radius_px": 3.0},
    "tail": {"psf": "twogauss", "tg_core_px": 1.2, "tg_tail_px": 14.0, "tg_weight": 0.35},
    "deep": {
        "submerged_share": 0.6,
        "submerged_depth_um": (60.0, 200.0),
        "f0": 0.3,
        "delta_g_um": 150.0,
    },
    "grey": {"bayer": "grey"},
    "dark": {"exposure": 0.15, "full_well_e": 2000.0, "read_noise_e": 15.0},
    "faint": {"path_factor": 0.6, "f0": 0.35, "artery_lightness": 0.6},
    "veil": {"dura_T": 0.3, "dura_blur_px": 4.0},
}
HARD_CASES = [
    ("durectomy", 100, "jpeg"),
    ("durectomy", 101, "defocus"),
    ("durectomy", 102, "tail"),
    ("durectomy", 103, "deep"),
    ("durectomy", 104, "grey"),
    ("durectomy", 105, "faint"),
    ("transdural", 106, "veil+tail"),
    ("transdural", 107, "jpeg+deep"),
    ("transdural", 108, "grey"),
    ("transdural", 109, "dark"),
]


def camera_for(mode: str, seed: int, preset: str) -> dict[str, Any]:
    """``random_camera(seed, mode)`` with the ``HARD`` settings of ``preset`` ("a+b")."""
    cam = random_camera(seed, mode)
    for name in preset.split("+") if preset else []:
        cam.update(HARD[name])
    return cam


def hazards(out: Render) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """True vessel pixels of at least the hazard diameter: all, and those on the surface
    (on the pia, or dural)."""
    every = out.mask & (2.0 * np.asarray(out.radius_um) >= ip.SafetyMargins().hazard_diameter_um)
    depth = np.nan_to_num(np.asarray(out.depth_um, np.float64), nan=0.0)
    return every, every & ((depth <= 0.0) | np.asarray(out.dural))


def shortfall(
    amap: ip.AvoidanceMap, vessels: NDArray[np.bool_], radius_um: NDArray[Any], mode: str,
    margins: ip.SafetyMargins,
) -> tuple[int, float, int]:  # fmt: skip
    """Allowed pixels inside the required clearance of ``vessels`` (pixel-centre distance
    less one pixel, against ``margins.required_um`` for the nearest vessel's true radius),
    the most inside (um), and allowed pixels closer than 49 um."""
    if not vessels.any():
        return 0, 0.0, 0
    dist, idx = ndimage.distance_transform_edt(~vessels, return_indices=True)
    gap_um = np.maximum(dist - 1.0, 0.0) * PIXEL_SIZE_UM
    need = np.asarray(margins.required_um(mode, np.asarray(radius_um)[idx[0], idx[1]]))
    short = amap.allowed & (gap_um < need)
    worst = float((need - gap_um)[short].max()) if short.any() else 0.0
    return int(short.sum()), worst, int((amap.allowed & (gap_um < KOZAI_MARGIN_UM)).sum())


def run_case(mode: str, seed: int, preset: str, size: int) -> dict[str, Any]:
    """Render, segment, map, plan and score one picture."""
    cam = camera_for(mode, seed, preset)
    out = render((size, size), pixel_size_um=PIXEL_SIZE_UM, dura_mode=mode, seed=seed, **cam)
    margins = ip.SafetyMargins(needle_radius_um=ip.get_robot(ROBOT).needle_radius_um)
    t0 = time.perf_counter()
    vm = ip.segment_vessels(out.image, pixel_size_um=PIXEL_SIZE_UM, dura_mode=mode)
    t_seg = time.perf_counter() - t0
    amap = ip.build_avoidance_map(vm, dura_mode=mode, margins=margins)
    every, surface = hazards(out)
    yy, xx = np.mgrid[0:size, 0:size]
    region = np.hypot(yy - (size - 1) / 2, xx - (size - 1) / 2) * PIXEL_SIZE_UM <= (
        REGION_DIAMETER_UM / 2
    )
    s_n, s_worst, s_49 = shortfall(amap, surface, out.radius_um, mode, margins)
    row: dict[str, Any] = {
        "case": f"{mode} {seed}" + (f" {preset}" if preset else ""),
        "mode": mode,
        "surface_px_allowed": int((surface & amap.allowed).sum()),
        "surface_short_px": s_n,
        "surface_short_um": s_worst,
        "surface_within_49": s_49,
        "submerged_px_allowed": int((every & ~surface & amap.allowed).sum()),
        "dice": float(2 * (vm.mask & out.mask).sum() / max(vm.mask.sum() + out.mask.sum(), 1)),
        "allowed_share": float(amap.allowed[region].mean()),
        "detectable_um": float(np.median(amap.detectable_diameter_um[region])),
        "t_seg": t_seg,
    }
    try:
        plan = ip.plan_insertions(
            out.image, pixel_size_um=PIXEL_SIZE_UM, region=region, robot=ROBOT,
            dura_mode=mode, pixel_size_source="pixel_size_um",
        )  # fmt: skip
    except ip.ImageQualityError as exc:  # a refusal is a safe outcome
        row.update(outcome=f"refused: {exc}", threads=0, too_close_surface=0, too_close_all=0)
        return row
    field = np.ones(out.mask.shape, bool)
    radius = np.asarray(out.radius_um)
    on_surface = ip.study.score_plan(
        plan, surface, truth_radius_um=np.where(surface, radius, 0.0), field=field
    )
    on_any = ip.study.score_plan(
        plan, every, truth_radius_um=np.where(every, radius, 0.0), field=field
    )
    row.update(
        outcome="planned",
        threads=len(plan.active_threads),
        too_close_surface=int(on_surface["threads_too_close"]),
        too_close_all=int(on_any["threads_too_close"]),
    )
    return row


HEADER = [
    "picture",
    "outcome",
    "threads",
    "threads inside clearance: surface (all)",
    "surface >= 30 um px allowed",
    "allowed px inside a surface vessel's clearance (worst um)",
    "allowed px within 49 um of a surface vessel",
    "submerged >= 30 um px allowed",
    "Dice",
    "region allowed %",
    "detectable (um, median)",
    "segment (s)",
]


def case_row(r: dict[str, Any]) -> list[object]:
    return [
        r["case"],
        r["outcome"],
        r["threads"],
        f"{r['too_close_surface']} ({r['too_close_all']})",
        r["surface_px_allowed"],
        f"{r['surface_short_px']} ({r['surface_short_um']:.1f})",
        r["surface_within_49"],
        r["submerged_px_allowed"],
        f"{r['dice']:.3f}",
        f"{100 * r['allowed_share']:.1f}",
        f"{r['detectable_um']:.0f}",
        f"{r['t_seg']:.2f}",
    ]


def summary(results: list[dict[str, Any]]) -> list[str]:
    """What the table says, case counts first."""
    n = len(results)
    surf = [r for r in results if r["surface_px_allowed"]]
    near = [r for r in results if r["surface_within_49"]]
    sub = [r for r in results if r["submerged_px_allowed"]]
    return [
        f"surface or dural vessels >= 30 um: pixels allowed on {len(surf)} of {n} pictures"
        + (f" ({', '.join(r['case'] for r in surf)})" if surf else ""),
        f"allowed pixels within 49 um of such a vessel on {len(near)} of {n}",
        f"threads inside the required clearance of a surface vessel: "
        f"{sum(r['too_close_surface'] for r in results)}; of any vessel, submerged ones "
        f"included: {sum(r['too_close_all'] for r in results)}",
        f"submerged vessels >= 30 um: pixels allowed on {len(sub)} of {n} pictures (not "
        f"guaranteed: they are fainter and blurrier than the vessels the floor is judged by)",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=18, help="random cameras per mode")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--no-hard", action="store_true", help="leave out the hard settings")
    ap.add_argument("--quick", action="store_true", help="256 px, seed 0, no hard settings")
    ap.add_argument("--no-write", action="store_true", help="print, do not write the docs")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.size, args.no_hard = 1, 256, True
    cases = [(m, s, "") for s in range(args.seeds) for m in ("durectomy", "transdural")]
    if not args.no_hard:
        cases += HARD_CASES
    t0 = time.time()
    results = []
    for mode, seed, preset in (bar := tqdm(cases, unit="picture")):
        bar.set_postfix_str(f"{mode} {seed} {preset}")
        results.append(run_case(mode, seed, preset, args.size))
    minutes = (time.time() - t0) / 60
    text = f"""## Third renderer (`benchmarks/bench_third_renderer.py`)

Machine: {machine()}. {len(results)} pictures of {args.size} x {args.size} px at
{PIXEL_SIZE_UM:g} um/px from `tests/renderers/third.py` (random cameras of seeds
0-{args.seeds - 1} in both modes{"" if args.no_hard else ", and 10 hard settings"}), run in
{minutes:.1f} min. Per picture: `segment_vessels`, `build_avoidance_map` (default
`SafetyMargins`, the {ROBOT} needle), `plan_insertions` (64 threads, {ROBOT}) in a
{REGION_DIAMETER_UM / 1000:g} mm disc at the centre. "Surface": true vessels on the pia or on
the dura, what the detectability floor covers; "submerged": branches lying 20-200 um below
the pia. Distances are from pixel centres to the nearest true vessel pixel centre, less one
pixel.

{chr(10).join("- " + line for line in summary(results))}

{table(HEADER, [case_row(r) for r in results])}
"""
    print(text)
    if not args.no_write:
        write_section("third_renderer", text)


if __name__ == "__main__":
    main()
