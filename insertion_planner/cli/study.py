"""``insertion-planner study``: plan, simulate and score many cases on Dask; one results table."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..config import MAX_THREADS
from ..quality import PIXEL_SIZE_RANGE_UM
from ._options import SEED_MAX, float_in, int_in, robot_choice
from .plan import MAX_MARGIN_UM

__all__ = ["add_parser", "run"]

_DEFAULT_SHAPE = (1024, 1024)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``study`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "study",
        help="plan, simulate and score many cases on Dask (resumable results table)",
        description=(
            "Run one Dask task per case (make or read the image, plan, simulate, score against "
            "the ground truth where there is one) on a LocalCluster of this machine's cores or "
            "an existing cluster, and write DIR/results.parquet, results.csv, study.json, "
            "summary.md and summary.png. A rerun into the same DIR skips the cases already in "
            "the table. Exit 0 when every case planned or was refused, 1 when some case ended "
            "in an error (recorded in the table), 2 on bad input."
        ),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--synthetic", type=int_in(1, 1_000_000), metavar="N",
        help="synthetic cortices of seeds FIRST..FIRST+N-1, each in every dura mode asked",
    )  # fmt: skip
    src.add_argument(
        "--images", metavar="DIR",
        help="one case per image file in DIR (PNG, TIFF, JPEG, NPY...), in name order",
    )  # fmt: skip
    p.add_argument(
        "--truth", metavar="DIR",
        help="with --images: true vessel masks DIR/<image stem>.npy or .png, to score against",
    )  # fmt: skip
    p.add_argument(
        "--dura-mode", choices=("durectomy", "transdural", "both"), default=None,
        help="dura mode of every case (default: both for --synthetic, durectomy for --images)",
    )  # fmt: skip
    p.add_argument(
        "--imaging", choices=("default", "random"), default=None,
        help="--synthetic camera: default (the original appearance) or random (drawn per seed, "
        "with abundant 20-40 um vessels)",
    )  # fmt: skip
    p.add_argument(
        "--shape", type=int_in(64, 8192), nargs=2, metavar=("H", "W"), default=None,
        help="--synthetic image shape in pixels (default 1024 1024)",
    )  # fmt: skip
    p.add_argument(
        "--first-seed",
        type=int_in(0, SEED_MAX),
        default=None,
        metavar="S",
        help="--synthetic first seed (default 0)",
    )
    p.add_argument(
        "--pixel-size-um", type=float_in(*PIXEL_SIZE_RANGE_UM), default=None,
        help="pixel side in um (--synthetic: default 12; --images: default from the TIFF metadata)",
    )  # fmt: skip
    p.add_argument(
        "--robot", type=robot_choice, default="R1-2019", help="robot preset (default R1-2019)"
    )
    p.add_argument(
        "--threads",
        type=int_in(1, MAX_THREADS),
        default=MAX_THREADS,
        help=f"threads per case, 1 to {MAX_THREADS} (default {MAX_THREADS})",
    )
    p.add_argument(
        "--margin-um", type=float_in(0.0, MAX_MARGIN_UM), default=None,
        help=f"base vessel margin, 0 to {MAX_MARGIN_UM:g} um (default 50 um)",
    )  # fmt: skip
    p.add_argument(
        "--vessel-polarity", choices=("dark", "bright"), default="dark",
        help="vessels darker than tissue (dark, default) or brighter (bright: fluorescence)",
    )  # fmt: skip
    p.add_argument(
        "--out", required=True, metavar="DIR",
        help="study folder: created, or an earlier study's to resume it",
    )  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run on an existing Dask cluster (e.g. tcp://10.0.0.5:8786) instead of this machine",
    )  # fmt: skip
    where.add_argument(
        "--workers", type=int_in(1, 256), metavar="N",
        help="worker processes of the local cluster (default: this machine's cores)",
    )  # fmt: skip
    p.add_argument(
        "--memory-limit", default=None, metavar="SIZE",
        help="memory limit per local worker (default 4GiB)",
    )  # fmt: skip
    p.add_argument(
        "--retry-errors", action="store_true", help="run again the cases recorded with an error"
    )
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Check everything, run the study, print one line; nothing is written on bad input."""
    from ..study import run_study
    from ..study.run import (
        DEFAULT_MEMORY_LIMIT,
        check_memory_limit,
        check_scheduler_address,
        check_study,
    )

    cases = _cases(args)
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.scheduler is not None and args.memory_limit is not None:
        raise ValueError(
            "--memory-limit is for the local cluster; the --scheduler's workers have their own"
        )
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler, name="--scheduler")
    memory = args.memory_limit or DEFAULT_MEMORY_LIMIT
    check_memory_limit(memory, name="--memory-limit")
    check_study(cases, args.out, name="--out")
    params = {k: v for k, v in vars(args).items() if k not in ("run", "command")}
    params.update(  # the defaults as resolved, so study.json says what ran
        dura_mode=args.dura_mode or ("both" if args.synthetic else "durectomy"),
        memory_limit=None if args.scheduler else memory,
    )
    if args.synthetic:
        params.update(
            shape=list(args.shape or _DEFAULT_SHAPE), first_seed=args.first_seed or 0,
            imaging=args.imaging or "default",
            pixel_size_um=12.0 if args.pixel_size_um is None else args.pixel_size_um,
        )  # fmt: skip
    result = run_study(
        cases, out_dir=args.out, scheduler=args.scheduler, n_workers=args.workers,
        memory_limit=memory, retry_errors=args.retry_errors, parameters=params,
    )  # fmt: skip
    sys.stdout.write(_report(result, memory if args.scheduler is None else None) + "\n")
    return 1 if result.n_errors else 0


def _cases(args: argparse.Namespace) -> list[Any]:
    """The cases the options ask for, each option checked and named."""
    from .._validation import check_int_range, check_positive
    from ..robots import get_robot
    from ..study import image_cases, synthetic_cases

    check_int_range(args.threads, name="--threads", low=1, high=64)
    if args.pixel_size_um is not None:
        check_positive(args.pixel_size_um, name="--pixel-size-um")
    if args.margin_um is not None:
        check_positive(args.margin_um, name="--margin-um", allow_zero=True)
    try:
        get_robot(args.robot)
    except (ValueError, TypeError, OSError) as exc:
        raise ValueError(f"--robot {args.robot!r}: {exc}") from None
    common = {
        "robot": args.robot, "n_threads": args.threads, "margin_um": args.margin_um,
        "vessel_polarity": args.vessel_polarity,
    }  # fmt: skip
    if args.images is not None:
        for flag in ("imaging", "shape", "first_seed"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} is for --synthetic, not --images")
        try:
            return image_cases(
                args.images, truth=args.truth, dura_modes=args.dura_mode or "durectomy",
                pixel_size_um=args.pixel_size_um, **common,
            )  # fmt: skip
        except ValueError as exc:
            msg = str(exc)
            for word in ("images", "truth"):  # the library names its parameters, not flags
                if msg.startswith(word + " "):
                    raise ValueError(f"--{word}{msg[len(word) :]}") from None
            raise
    if args.truth is not None:
        raise ValueError("--truth goes with --images (a synthetic case has its own ground truth)")
    if args.synthetic < 1:
        raise ValueError(f"--synthetic must be at least 1, got {args.synthetic}")
    shape = tuple(args.shape) if args.shape else _DEFAULT_SHAPE
    for side in shape:
        check_int_range(side, name="--shape", low=64, high=8192)
    first = 0 if args.first_seed is None else args.first_seed
    check_int_range(first, name="--first-seed", low=0, high=2**32 - 1)
    if first + args.synthetic - 1 > 2**32 - 1:
        raise ValueError(
            f"--first-seed {first} + --synthetic {args.synthetic} goes past seed 2**32 - 1"
        )
    return synthetic_cases(
        args.synthetic, dura_modes=args.dura_mode or "both", first_seed=first, shape=shape,
        pixel_size_um=12.0 if args.pixel_size_um is None else args.pixel_size_um,
        imaging=args.imaging or "default", **common,
    )  # fmt: skip


def _report(result: Any, memory: str | None) -> str:
    """One line: what ran, how fast, the outcomes, the worst case, where the files are."""
    from ..study.summary import worst_cases

    r = result
    where = f"{r.n_workers} workers" + (f" ({memory} each)" if memory and r.n_workers else "")
    speed = (
        f" in {r.compute_time_s:.1f} s on {where}, {r.cases_per_minute:.1f} cases/min"
        if r.n_executed and math.isfinite(r.cases_per_minute)
        else ""
    )
    worst = worst_cases(list(r.rows), 1)
    w = ""
    if worst:
        x = worst[0]
        seed = f"seed {x['seed']} " if x.get("seed") is not None else ""
        margin = x["min_margin_to_truth_um"]
        w = (
            f"; worst {x['case']} ({seed}{x['dura_mode']}): {x['threads_too_close']} threads too "
            f"close, margin {margin:.1f} um beyond required, Dice {x['dice']:.3f}"
            if margin is not None and math.isfinite(margin)
            else f"; worst {x['case']}: {x['threads_too_close']} threads too close, Dice {x['dice']:.3f}"
        )
    return (
        f"study {r.out_dir}: {r.n_cases} cases ({r.n_executed} run now{speed}; {r.n_skipped} "
        f"already done): {r.n_planned} planned, {r.n_refused} refused, {r.n_errors} errors{w}; "
        f"wrote {r.out_dir}/results.parquet, results.csv, summary.md"
    )
