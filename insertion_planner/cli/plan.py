"""``insertion-planner plan``: plan thread insertions on an image and write the plan JSON."""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

import numpy as np

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``plan`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "plan",
        help="plan vessel-avoiding thread insertions on an image",
        description=(
            "Segment the vessels of IMAGE (PNG, TIFF, JPEG or NPY), place up to 64 threads away "
            "from them inside the target region, order them, and write the plan as JSON."
        ),
    )
    p.add_argument("image", metavar="IMAGE", help="image of the cortex (.png, .tif, .jpg or .npy)")
    p.add_argument("--pixel-size-um", type=float, required=True, help="pixel side in micrometres")
    p.add_argument(
        "--dura-mode",
        default="durectomy",
        choices=("durectomy", "transdural"),
        help="dura removed (durectomy, default) or intact (transdural)",
    )
    p.add_argument("--threads", type=int, default=64, help="threads to place, 1 to 64 (default 64)")
    p.add_argument(
        "--region",
        metavar="MASK",
        default=None,
        help="image whose non-zero pixels mark the target region (default: 6 mm disc at the centre)",
    )
    p.add_argument(
        "--margin-um", type=float, default=None, help="base vessel margin (default 50 um)"
    )
    p.add_argument(
        "--spacing-um", type=float, default=250.0, help="minimum site spacing (default 250 um)"
    )
    p.add_argument(
        "--robot", default="R1-2019", help="robot preset or a robot JSON file (default R1-2019)"
    )
    p.add_argument("--strict", action="store_true", help="fail unless every thread asked for fits")
    p.add_argument("--out", required=True, metavar="PLAN.json", help="plan file to write")
    p.add_argument(
        "--figure", default=None, metavar="PLAN.png", help="also write a figure of the plan"
    )
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Plan, then write the JSON (and the figure); nothing is written on error."""
    from .._io import atomic_write_bytes, check_output_path, read_image
    from ..pipeline import plan_insertions

    out = check_output_path(args.out, name="--out")
    fig_path = check_output_path(args.figure, name="--figure") if args.figure else None
    image = read_image(args.image, name="image")
    region = None
    if args.region is not None:
        mask = read_image(args.region, name="region")
        region = (mask != 0) if mask.ndim == 2 else (mask != 0).any(axis=2)
        if region.shape != image.shape[:2]:
            raise ValueError(
                f"region mask must have the image's shape {image.shape[:2]}, got {region.shape}"
            )
    plan = plan_insertions(
        image, pixel_size_um=args.pixel_size_um, dura_mode=args.dura_mode, n_threads=args.threads,
        region=region, robot=args.robot, margin_um=args.margin_um, min_spacing_um=args.spacing_um,
        strict=args.strict,
    )  # fmt: skip
    png = None
    if fig_path is not None:
        png = _figure_png(plan, image)
    text = plan.to_json_text()
    atomic_write_bytes(out, text.encode("utf-8"))
    if png is not None and fig_path is not None:
        atomic_write_bytes(fig_path, png)
    n = len(plan.active_threads)
    why = f"; bound by {plan.binding_constraint}" if plan.binding_constraint else ""
    worst = min(
        (t.clearance_um - t.required_clearance_um for t in plan.active_threads),
        default=float("nan"),
    )
    sys.stdout.write(
        f"placed {n} of {plan.n_requested} threads{why}; objective {plan.objective:.3f}, "
        f"bound {plan.bound:.3f}, gap {100 * plan.gap:.2f} %; smallest clearance beyond required "
        f"{worst:.1f} um; wrote {out}\n"
    )
    return 0


def _figure_png(plan: Any, image: np.ndarray) -> bytes:
    try:
        from ..viz import plot_plan
    except ImportError as exc:
        raise ValueError(
            f"--figure needs the viz extra (pip install insertion_planner[viz]): {exc}"
        ) from None
    fig = plot_plan(plan, image)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    return buf.getvalue()
