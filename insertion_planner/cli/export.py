"""``insertion-planner export``: write a plan as a 3D Slicer markups file or a CSV table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]

FORMATS = ("slicer", "csv")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``export`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export a plan as a 3D Slicer markups file or a CSV table of threads",
        description=(
            "Write the threads of PLAN.json, in insertion order (T01 first), as a 3D Slicer "
            "markups file (.mrk.json: entry and target fiducials, the target region as a closed "
            "curve, in mm) or as a CSV table (one row per thread, in um)."
        ),
    )
    p.add_argument(
        "plan", metavar="PLAN.json", help="plan file written by 'insertion-planner plan'"
    )
    p.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="slicer: 3D Slicer markups JSON (.mrk.json); csv: one row per thread",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="file to write")
    p.add_argument(
        "--coordinate-system",
        default=None,
        choices=("LPS", "RAS"),
        help=(
            "patient frame of a slicer export (default LPS): LPS = (x, y, z) / 1000, "
            "RAS = (-x, -y, z) / 1000 from the plan frame in um"
        ),
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Load the plan, then write the export; nothing is written on error."""
    from .._io import check_output_path, check_outputs
    from ..export import write_csv, write_slicer_markups
    from ..plan_file import load_plan

    if args.coordinate_system is not None and args.format != "slicer":
        raise ValueError(
            f"--coordinate-system applies to --format slicer only, got --format {args.format} "
            "(a CSV is in the plan frame, in um)"
        )
    out = check_output_path(args.out, name="--out")
    check_outputs({"PLAN.json": args.plan}, {"--out": args.out}, force=args.force)
    plan = load_plan(args.plan)
    if args.format == "slicer":
        frame = args.coordinate_system or "LPS"
        write_slicer_markups(plan, out, coordinate_system=frame)
        what = f"3D Slicer markups, {frame}, mm"
    else:
        write_csv(plan, out)
        what = "CSV, um"
    sys.stdout.write(f"wrote {len(plan.threads)} threads to {out} ({what})\n")
    return 0
