"""``insertion-planner simulate``: simulate a plan on a robot and write the report JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ._options import SEED_MAX, float_in, int_in, robot_choice

if TYPE_CHECKING:
    from ..plan import InsertionPlan
    from ..retraction import RetractionReport

__all__ = ["add_parser", "run", "retraction_line", "retraction_summary"]

MAX_MONTE_CARLO = 100_000
"""Most Monte Carlo samples per thread on the command line (64 threads x 100,000 samples
take about 150 MiB; 1,000 already resolve a breach probability of 1 % to +-0.6 %)."""
MAX_GAP_UM = 20000.0
"""Largest implant-brain gap on the command line: the ~20 mm thread (the retraction model's
bound on every length, ``docs/retraction.md``)."""


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
        "--retraction-days",
        type=float_in(1.0, 3650.0),
        default=None,
        metavar="D",
        help=(
            "also predict the electrodes still in cortex D days after surgery, 1 to 3650 "
            "(thread retraction, docs/retraction.md; default: no retraction report)"
        ),
    )
    p.add_argument(
        "--implant-gap-um",
        type=float_in(0.0, MAX_GAP_UM),
        default=None,
        metavar="G",
        help=(
            f"gap between the implant and the brain for --retraction-days, 0 to "
            f"{MAX_GAP_UM:,.0f} um (default 0: an implant flush with the skull)"
        ),
    )
    p.add_argument(
        "--retraction-out",
        default=None,
        metavar="RETRACTION.json",
        help="write the retraction summary of --retraction-days to this JSON file",
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
    With ``--image``, the avoidance map rebuilt from the image judges every site. With
    ``--retraction-days``, the plan's retraction risk is predicted too (one more line,
    and ``--retraction-out``); it does not change the exit status.
    """
    from .._io import atomic_write_all, check_output_path, check_outputs
    from ..imageio import read_image
    from ..pipeline import avoidance_for_plan
    from ..plan_file import load_plan
    from ..robot import simulate

    _check_retraction_options(args)
    check_outputs(
        {"PLAN.json": args.plan, "--image": args.image},
        {"--out": args.out, "--plan-out": args.plan_out, "--retraction-out": args.retraction_out},
        force=args.force,
    )
    out = check_output_path(args.out, name="--out") if args.out else None
    plan_out = check_output_path(args.plan_out, name="--plan-out") if args.plan_out else None
    retraction_out = (
        check_output_path(args.retraction_out, name="--retraction-out")
        if args.retraction_out
        else None
    )
    plan = load_plan(args.plan)
    retraction = _retraction(plan, args) if args.retraction_days is not None else None
    avoidance = None
    if args.image is not None:
        image = read_image(args.image, name="--image")[0]
        try:
            avoidance = avoidance_for_plan(plan, image)
        except ValueError as exc:  # named by the option the image came from
            raise ValueError(f"--image {args.image!r}: {exc}") from None
    rate: float | str | None = args.failure_rate
    if rate is None and args.failures:
        rate = "robot"
    report = simulate(plan, robot=args.robot, rng=args.seed, monte_carlo_samples=args.monte_carlo,
                      failure_rate=rate, avoidance=avoidance)  # fmt: skip
    report_text = report.to_json_text()
    plan_text = report.apply().to_json_text() if plan_out is not None else None
    files: dict[os.PathLike[str], bytes] = {}
    if out is not None:
        files[out] = report_text.encode("utf-8")
    if plan_out is not None and plan_text is not None:
        files[plan_out] = plan_text.encode("utf-8")
    if retraction_out is not None and retraction is not None:
        text = json.dumps(retraction_summary(retraction), sort_keys=True, indent=2, allow_nan=False)
        files[retraction_out] = (text + "\n").encode("utf-8")
    atomic_write_all(files)  # all or none
    per = report.total_time_s / max(1, sum(1 for r in report.insertions if r.time_s > 0))
    worst = max((r.breach_probability or 0.0 for r in report.insertions), default=0.0)
    mc = f"; largest breach probability {100 * worst:.2f} %" if report.monte_carlo_samples else ""
    wrote = "".join(f"; wrote {p}" for p in (out, plan_out, retraction_out) if p is not None)
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
    if retraction is not None:
        sys.stdout.write(retraction_line(retraction) + "\n")
    # exit status: 0 only when every thread was validated, 1 when any was not (docs/cli.md)
    return 0 if report.ok and report.n_threads > 0 else 1


def _check_retraction_options(args: argparse.Namespace) -> None:
    """Refuse retraction options that would be ignored (no ``--retraction-days``)."""
    if args.retraction_days is not None:
        return
    for flag, value in (("--implant-gap-um", args.implant_gap_um),
                        ("--retraction-out", args.retraction_out)):  # fmt: skip
        if value is not None:
            raise ValueError(
                f"{flag} needs --retraction-days D (the day after surgery at which to count "
                f"the electrodes still in cortex)"
            )


def _retraction(plan: InsertionPlan, args: argparse.Namespace) -> RetractionReport:
    """``ip.retraction_risk`` of the plan as loaded, at ``--retraction-days``."""
    from ..retraction import retraction_risk

    gap = 0.0 if args.implant_gap_um is None else args.implant_gap_um
    if not plan.active_threads:
        raise ValueError(
            "--retraction-days: the plan has no active thread whose retraction to predict"
        )
    return retraction_risk(plan, implant_gap_um=gap, days=args.retraction_days, rng=args.seed)


def retraction_line(report: RetractionReport) -> str:
    """The line ``simulate --retraction-days`` prints.

    Examples
    --------
    >>> import insertion_planner as ip
    >>> from insertion_planner.plan import _example_plan
    >>> retraction_line(ip.retraction_risk(_example_plan(), implant_gap_um=3000.0, rng=0))
    'electrodes retained at day 30: 38.8 % (gap 3000 um; binding term: gap)'
    """
    return (
        f"electrodes retained at day {report.days:g}: "
        f"{100 * report.electrodes_retained_fraction:.1f} % "
        f"(gap {report.implant_gap_um:g} um; binding term: {report.binding_term or 'none'})"
    )


def retraction_summary(report: RetractionReport) -> dict[str, Any]:
    """The JSON of ``--retraction-out``: the report without its sampled retractions.

    Keys: the plan's totals (``electrodes_retained_fraction``,
    ``electrodes_in_cortex_at_insertion``, ``expected_electrodes_in_cortex``,
    ``pulled_out_fraction``, ``retracted_fraction``, ``binding_term``, ``loss_without``),
    the inputs used (``days``, ``implant_gap_um``, ``n_samples``, ``seed``,
    ``brain_motion``, ``settings``) and ``threads``, one dict per active thread in
    insertion order with the fields of :class:`~insertion_planner.retraction.ThreadRetraction`.

    Examples
    --------
    >>> import insertion_planner as ip
    >>> from insertion_planner.plan import _example_plan
    >>> s = retraction_summary(ip.retraction_risk(_example_plan(), rng=0))
    >>> s["days"], s["implant_gap_um"], [t["label"] for t in s["threads"]]
    (30.0, 0.0, ['T01', 'T02'])
    """
    return {
        "days": report.days,
        "implant_gap_um": report.implant_gap_um,
        "n_samples": report.n_samples,
        "seed": report.seed,
        "electrodes_retained_fraction": report.electrodes_retained_fraction,
        "electrodes_in_cortex_at_insertion": report.electrodes_in_cortex_at_insertion,
        "expected_electrodes_in_cortex": report.expected_electrodes_in_cortex,
        "pulled_out_fraction": report.pulled_out_fraction,
        "retracted_fraction": report.retracted_fraction,
        "binding_term": report.binding_term,
        "loss_without": dict(report.loss_without),
        "brain_motion": asdict(report.brain_motion),
        "settings": report.settings.to_dict(),
        "threads": [asdict(t) for t in report.threads],
    }
