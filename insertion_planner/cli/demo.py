"""``insertion-planner demo``: plan and simulate a synthetic cortex, write plan, figure, report.

Output (``--out DIR``, default ``out``)::

    DIR/plan.json, DIR/plan.png          the first dura mode (durectomy by default)
    DIR/transdural/plan.json, plan.png   the second mode, when both modes run
    DIR/report.html                      one self-contained page covering every mode run
    DIR/scene.html                       with --scene: the 3-D scene of the first mode

Everything is computed before anything is written, and every file is written atomically,
so a failed run leaves no file behind (and no half-written one).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .._io import atomic_write_all
from .._validation import check_int_range
from ..config import MAX_THREADS, DuraMode
from ..quality import PIXEL_SIZE_RANGE_UM
from ._options import SEED_MAX, float_in, int_in, robot_choice

__all__ = ["add_parser", "run", "run_demo", "DEFAULT_SIZE", "DEFAULT_ROBOTS"]

DEFAULT_SIZE = 2048
"""Side (pixels) of the demo image: 2048 px at 12 um is a 24.6 mm field, the full ~25 mm
craniectomy; a smaller field shrinks the opening and the insertion head then reaches fewer
sites past the skull rim."""

DEFAULT_ROBOTS = {"durectomy": "R1-2024", "transdural": "next-gen"}
"""The robot simulated for each dura mode unless ``--robot`` is given."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="plan and simulate a synthetic cortex; write plan.json, plan.png, report.html",
        description=(
            "Generate a synthetic cortex, plan the insertions in both dura modes (or one), "
            "simulate the robot, and write plan.json, plan.png and a self-contained report.html."
        ),
    )
    p.add_argument("--out", default="out", metavar="DIR", help="output folder (default: out)")
    p.add_argument(
        "--seed",
        type=int_in(0, SEED_MAX),
        default=0,
        metavar="N",
        help="seed of the synthetic cortex (default 0)",
    )
    p.add_argument(
        "--dura-mode",
        default="both",
        choices=("both", *(m.value for m in DuraMode)),
        help="dura mode(s) to run (default: both, durectomy first)",
    )
    p.add_argument(
        "--threads",
        type=int_in(1, MAX_THREADS),
        default=MAX_THREADS,
        metavar="N",
        help=f"threads to place, 1 to {MAX_THREADS} (default {MAX_THREADS})",
    )
    p.add_argument(
        "--robot",
        type=robot_choice,
        default=None,
        metavar="NAME",
        help="robot preset or JSON file (default: R1-2024 durectomy, next-gen transdural)",
    )
    p.add_argument(
        "--size",
        type=int_in(128, 4096),
        default=DEFAULT_SIZE,
        metavar="PX",
        help=f"side of the synthetic image in pixels, 128 to 4096 (default {DEFAULT_SIZE})",
    )
    p.add_argument(
        "--pixel-size-um",
        type=float_in(*PIXEL_SIZE_RANGE_UM),
        default=12.0,
        metavar="F",
        help="pixel side of the synthetic image, micrometres (default 12)",
    )
    p.add_argument(
        "--scene", action="store_true", help="also write scene.html (3-D, plotly, ~5 MB)"
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite the files of an earlier demo in DIR"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .._io import check_out_dir

    modes = ["durectomy", "transdural"] if args.dura_mode == "both" else [args.dura_mode]
    check_out_dir(
        args.out, ("plan.json", "plan.png", "report.html", "scene.html"), force=args.force
    )
    for mode in modes[1:]:
        check_out_dir(Path(args.out) / mode, ("plan.json", "plan.png"), force=args.force,
                      name=f"--out {mode}/")  # fmt: skip
    written = run_demo(
        args.out,
        seed=args.seed,
        modes=modes,
        n_threads=args.threads,
        robot=args.robot,
        size=args.size,
        pixel_size_um=args.pixel_size_um,
        scene=args.scene,
        progress=sys.stderr.isatty(),
    )
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    return 0


def _check(
    out: str | Path,
    seed: int,
    modes: list[str],
    n_threads: int,
    robot: str | None,
    size: int,
    pixel_size_um: float,
) -> Path:
    from .._validation import check_positive
    from ..robots import get_robot

    check_int_range(seed, name="seed", low=0, high=2**32 - 1)
    check_int_range(n_threads, name="threads", low=1, high=MAX_THREADS)
    check_int_range(size, name="size", low=128, high=4096)
    check_positive(pixel_size_um, name="pixel_size_um")
    if not modes:
        raise ValueError("modes must name at least one dura mode, got none")
    for m in modes:
        DuraMode.parse(m)
    if robot is not None:
        get_robot(robot)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out {str(out_dir)!r} exists and is not a folder")
    return out_dir


def run_demo(
    out: str | Path,
    *,
    seed: int = 0,
    modes: list[str] | tuple[str, ...] = ("durectomy", "transdural"),
    n_threads: int = MAX_THREADS,
    robot: str | None = None,
    size: int = DEFAULT_SIZE,
    pixel_size_um: float = 12.0,
    scene: bool = False,
    progress: bool = False,
) -> list[Path]:
    """Plan and simulate the synthetic cortex in each mode and write the demo files.

    Parameters
    ----------
    out : path
        Output folder (created if missing).
    seed : int
        Seed of the synthetic cortex.
    modes : sequence of str
        Dura modes, the first written at the top of ``out``, the others in sub-folders.
    n_threads : int
    robot : str, optional
        Robot for every mode; defaults per mode (:data:`DEFAULT_ROBOTS`).
    size : int
        Image side, pixels.
    pixel_size_um : float
    scene : bool
        Also write ``scene.html`` (3-D) for the first mode.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError, TypeError
        Bad settings (checked before any work), naming the setting.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = run_demo(d, modes=["durectomy"], n_threads=2, size=128)
    ...     sorted(p.name for p in files)
    ['plan.json', 'plan.png', 'report.html']
    """
    modes = list(modes)
    out_dir = _check(out, seed, modes, n_threads, robot, size, pixel_size_um)
    from tqdm.auto import tqdm

    from .. import viz
    from ..pipeline import plan_insertions
    from ..robot import simulate
    from ..synthetic import synthetic_cortex

    steps = tqdm(total=4 * len(modes), desc="demo", disable=not progress, leave=False)
    runs: list[viz.ReportRun] = []
    files: dict[Path, bytes] = {}
    t_start = time.perf_counter()
    for k, mode in enumerate(modes):
        timing: dict[str, float] = {}
        rb = robot or DEFAULT_ROBOTS[mode]
        t0 = time.perf_counter()
        steps.set_postfix_str(f"{mode}: synthetic cortex")
        case = synthetic_cortex(
            seed, shape=(size, size), pixel_size_um=pixel_size_um, dura_mode=mode
        )
        timing["synthetic"] = time.perf_counter() - t0
        steps.update()
        t0 = time.perf_counter()
        steps.set_postfix_str(f"{mode}: planning")
        plan = plan_insertions(
            case.image,
            pixel_size_um=case.pixel_size_um,
            dura_mode=mode,
            n_threads=n_threads,
            region=case.region,
            robot=rb,
            weight=case.functional_weight,
            surface_height_um=case.grid.surface_z_um,
            craniectomy=case.craniectomy,
            rng=seed,
        )
        timing["plan"] = time.perf_counter() - t0
        steps.update()
        t0 = time.perf_counter()
        steps.set_postfix_str(f"{mode}: simulation")
        report = simulate(plan, robot=rb, rng=seed, failure_rate="robot")
        plan = report.apply()
        timing["simulate"] = time.perf_counter() - t0
        steps.update()
        t0 = time.perf_counter()
        steps.set_postfix_str(f"{mode}: figures")
        folder = out_dir if k == 0 else out_dir / mode
        files[folder / "plan.json"] = plan.to_json_text().encode("utf-8")
        plan_png = viz.figure_png(viz.plot_plan(plan, case.image), dpi=110)
        files[folder / "plan.png"] = plan_png
        if scene and k == 0:
            fig3d = viz.plot_scene(plan)
            files[folder / "scene.html"] = fig3d.to_html(
                include_plotlyjs=True, full_html=True
            ).encode("utf-8")
        timing["figures"] = time.perf_counter() - t0
        steps.update()
        runs.append(
            viz.ReportRun(plan, image=case.image, label=mode, timing_s=timing, plan_png=plan_png)
        )
    notes = {
        "seed": seed,
        "image": f"{size} x {size} px at {pixel_size_um:g} \u00b5m "
        f"({size * pixel_size_um / 1000:.1f} mm field)",
        "modes": ", ".join(modes),
        "total computing time (s)": round(time.perf_counter() - t_start, 2),
    }
    page = viz.build_report(runs, title="insertion_planner demo report", notes=notes)
    files[out_dir / "report.html"] = page.encode("utf-8")
    steps.close()
    return _write_all(files)


def _write_all(files: dict[Path, bytes]) -> list[Path]:
    """Every file, or none (``atomic_write_all``), in folders made first."""
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_all(files)
