"""``insertion-planner synth``: write a synthetic cortex image and its ground truth."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..quality import PIXEL_SIZE_RANGE_UM
from ._options import SEED_MAX, float_in, int_in

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
    p.add_argument(
        "--seed", type=int_in(0, SEED_MAX), required=True, help="non-negative random seed"
    )
    p.add_argument(
        "--dura-mode",
        default="durectomy",
        choices=("durectomy", "transdural"),
        help="dura removed (durectomy, default) or intact (transdural)",
    )
    p.add_argument(
        "--shape",
        type=int_in(64, 8192),
        nargs=2,
        metavar=("H", "W"),
        default=(2048, 2048),
        help="image shape in pixels, each side 64 to 8192 (default 2048 2048)",
    )
    p.add_argument(
        "--pixel-size-um",
        type=float_in(*PIXEL_SIZE_RANGE_UM),
        default=12.0,
        help=f"pixel side in micrometres, {PIXEL_SIZE_RANGE_UM[0]:g} to "
        f"{PIXEL_SIZE_RANGE_UM[1]:g} (default 12)",
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
    p.add_argument("--force", action="store_true", help="overwrite the case files in DIR")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Generate the case and write its files; returns the exit status."""
    from .._io import check_out_dir
    from ..synthetic import synthetic_cortex
    from ..synthetic.io import CASE_FILES, write_case

    check_out_dir(args.out, CASE_FILES, force=args.force)

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
