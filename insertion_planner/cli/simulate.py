"""``insertion-planner simulate``: simulate a plan on a robot and write the report JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._options import SEED_MAX, float_in, int_in, robot_choice

__all__ = ["add_parser", "run"]

MAX_MONTE_CARLO = 100_000
"""Most Monte Carlo samples per thread on the command line (64 threads x 100,000 samples
take about 150 MiB; 1,000 already resolve a breach probability of 1 % to +-0.6 %)."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``simulate`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="simulate inserting a plan on a robot and validate every insertion",
        description=(
            "Check every thread of PLAN.json on the robot (reach, tilt, collision, 3-D vessel "
            "clearance, tethers), time the insertion cycles, and write the simulation report."
        ),
    )
    p.add_argument(
        "plan", metavar="PLAN.json", help="plan file written by 'insertion-planner plan'"
    )
    p.add_argument(
        "--robot",
        type=robot_choice,
        default=None,
        help="robot preset (R1-2019, R1-2024, next-gen) or robot JSON file (default: the plan's)",
    )
    p.add_argument("--out", default=None, metavar="REPORT.json", help="report file to write")
    p.add_argument(
        "--plan-out",
        default=None,
        metavar="PLAN.json",
        help="also write the plan with its 'simulation' section and thread statuses",
    )
    p.add_argument(
        "--monte-carlo",
        type=int_in(0, MAX_MONTE_CARLO),
        default=0,
        metavar="N",
        help=(
            f"Monte Carlo samples per thread of positioning errors, 0 to {MAX_MONTE_CARLO:,} "
            "(default 0: none)"
        ),
    )
    p.add_argument(
        "--failures",
        action="store_true",
        help="sample insertion failures at the robot's published rate (12.9 %%) and retry",
    )
    p.add_argument(
        "--failure-rate",
        type=float_in(0.0, 0.99),
        default=None,
        metavar="F",
        help="sample insertion failures at this rate instead, 0 to 0.99",
    )
    p.add_argument(
        "--image",
        default=None,
        metavar="IMAGE",
        help=(
            "the image the plan was made from (checked by its SHA-256): its avoidance map is "
            "rebuilt and judges every site (never the plan's stored clearances), and a failed "
            "insertion is re-placed, not retried at the same site"
        ),
    )
    p.add_argument(
        "--seed", type=int_in(0, SEED_MAX), default=0, help="seed of the random parts (default 0)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Simulate, then write the report (and the plan); nothing is written on error.

    Returns 0 when every thread was validated, 1 when some thread was rejected or failed
    (the report is still written); bad input raises (exit status 2 from ``main``).
    With ``--image``, the avoidance map rebuilt from the image judges every site.
    """
    from .._io import atomic_write_text, check_output_path, check_outputs
    from ..imageio import read_image
    from ..pipeline import avoidance_for_plan
    from ..plan import load_plan
    from ..robot import simulate

    check_outputs(
        {"PLAN.json": args.plan, "--image": args.image},
        {"--out": args.out, "--plan-out": args.plan_out},
        force=args.force,
    )
    out = check_output_path(args.out, name="--out") if args.out else None
    plan_out = check_output_path(args.plan_out, name="--plan-out") if args.plan_out else None
    plan = load_plan(args.plan)
    avoidance = None
    if args.image is not None:
        avoidance = avoidance_for_plan(plan, read_image(args.image, name="--image")[0])
    rate: float | str | None = args.failure_rate
    if rate is None and args.failures:
        rate = "robot"
    report = simulate(plan, robot=args.robot, rng=args.seed, monte_carlo_samples=args.monte_carlo,
                      failure_rate=rate, avoidance=avoidance)  # fmt: skip
    report_text = report.to_json_text()
    plan_text = report.apply().to_json_text() if plan_out is not None else None
    if out is not None:
        atomic_write_text(out, report_text)
    if plan_out is not None and plan_text is not None:
        atomic_write_text(plan_out, plan_text)
    per = report.total_time_s / max(1, sum(1 for r in report.insertions if r.time_s > 0))
    worst = max((r.breach_probability or 0.0 for r in report.insertions), default=0.0)
    mc = f"; largest breach probability {100 * worst:.2f} %" if report.monte_carlo_samples else ""
    wrote = "".join(f"; wrote {p}" for p in (out, plan_out) if p is not None)
    sys.stdout.write(
        f"{report.robot}: {report.n_validated} of {report.n_threads} threads validated, "
        f"{report.n_rejected} rejected, {report.n_failed} failed, {report.n_retries} retries; "
        f"total {report.total_time_s:.1f} s ({per:.1f} s per insertion){mc}{wrote}\n"
    )
    labels = {t.id: t.label for t in plan.threads}
    if report.n_rejected:
        for rec in report.insertions:
            if rec.status == "rejected":
                sys.stdout.write(f"  {labels[rec.thread_id]}: {'; '.join(rec.reasons)}\n")
    # exit status: 0 only when every thread was validated, 1 when any was not (docs/cli.md)
    return 0 if report.ok and report.n_threads > 0 else 1
