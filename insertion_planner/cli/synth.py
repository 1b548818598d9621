"""``insertion-planner synth``: write a synthetic cortex image and its ground truth."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``synth`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "synth",
        help="generate a synthetic cortex image with exact ground truth",
        description=(
            "Generate a synthetic image of cortex exposed by a round craniectomy and write "
            "image.png, region.png, truth.npz (ground-truth arrays), graph.json (vessel "
            "centreline graph) and README.md into DIR."
        ),
    )
    p.add_argument("--seed", type=int, required=True, help="non-negative random seed")
    p.add_argument(
        "--dura-mode",
        default="durectomy",
        choices=("durectomy", "transdural"),
        help="dura removed (durectomy, default) or intact (transdural)",
    )
    p.add_argument(
        "--shape",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        default=(2048, 2048),
        help="image shape in pixels (default 2048 2048)",
    )
    p.add_argument(
        "--pixel-size-um", type=float, default=12.0, help="pixel side in micrometres (default 12)"
    )
    p.add_argument(
        "--imaging",
        default="default",
        choices=("default", "random"),
        help=(
            "camera model: default (the original appearance) or random (an Imaging drawn "
            "from the seed, with abundant 20-40 um vessels; recorded in truth.npz)"
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Generate the case and write its files; returns the exit status."""
    from ..synthetic import synthetic_cortex
    from ..synthetic.io import write_case

    case = synthetic_cortex(
        args.seed,
        shape=tuple(args.shape),
        pixel_size_um=args.pixel_size_um,
        dura_mode=args.dura_mode,
        imaging="random" if args.imaging == "random" else None,
    )
    written = write_case(case, args.out)
    t = case.truth
    sys.stdout.write(
        f"wrote {len(written)} files to {args.out}: {case.shape[0]}x{case.shape[1]} px, "
        f"{t.graph.number_of_nodes()} vessel nodes, {len(t.penetrating)} penetrating vessels\n"
    )
    return 0
