"""``insertion-planner plan``: plan thread insertions on an image and write the plan JSON."""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import Any

import numpy as np

from ..config import MAX_THREADS, VESSEL_POLARITIES, PlannerConfig
from ..quality import PIXEL_SIZE_RANGE_UM
from ._options import SEED_MAX, float_in, int_in, robot_choice

__all__ = ["add_parser", "run"]

_SETTINGS = PlannerConfig()
"""The planner's defaults, which the options show and keep."""
MAX_MARGIN_UM = 1000.0
"""Largest base vessel margin accepted (20x the 50 um default; beyond, no site is left)."""
MAX_SPACING_UM = 10_000.0
"""Largest site spacing accepted (64 sites 10 mm apart do not fit any craniectomy)."""
THICKNESS_RANGE_UM = (500.0, 8000.0)
"""Cortical thickness accepted: human cortex is 1.5-4.5 mm (Fischl & Dale 2000,
doi:10.1073/pnas.200033797); the range leaves room for other species and for maps with
smoothed edges, and refuses a map in mm (values of a few units)."""
MAX_HEIGHT_UM = 50_000.0
"""Largest surface height magnitude accepted (5 cm: beyond, the map is not in micrometres)."""
DEPTH_RANGE_UM = (200.0, 8000.0)
"""Insertion depths accepted: at least one electrode pitch, at most about twice the
thickest human cortex (4.5 mm, Fischl & Dale 2000, doi:10.1073/pnas.200033797)."""


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
    p.add_argument(
        "image", metavar="IMAGE", help="image of the cortex (PNG, TIFF, JPEG, NPY, BMP, WebP)"
    )
    p.add_argument(
        "--pixel-size-um",
        type=float_in(*PIXEL_SIZE_RANGE_UM),
        default=None,
        help=(
            f"pixel side in micrometres, {PIXEL_SIZE_RANGE_UM[0]:g} to {PIXEL_SIZE_RANGE_UM[1]:g} "
            "(default: from the TIFF / OME-TIFF metadata)"
        ),
    )
    p.add_argument(
        "--dura-mode",
        default="durectomy",
        choices=("durectomy", "transdural"),
        help="dura removed (durectomy, default) or intact (transdural)",
    )
    p.add_argument(
        "--threads", type=int_in(1, MAX_THREADS), default=_SETTINGS.n_threads,
        help=f"threads to place, 1 to {MAX_THREADS} (default {MAX_THREADS})",
    )  # fmt: skip
    p.add_argument(
        "--region",
        metavar="MASK",
        default=None,
        help=(
            "mask of the target region: the opaque pixels of an RGBA layer, else the pixels "
            "brighter than half (default: 6 mm disc at the centre)"
        ),
    )
    p.add_argument(
        "--craniectomy",
        metavar="MASK",
        default=None,
        help="mask of the skull opening, read as --region (default: the whole image)",
    )
    p.add_argument(
        "--region-polygon",
        metavar="FILE",
        default=None,
        help="target region as a polygon of (row, col) vertices: JSON list or two-column CSV",
    )
    p.add_argument(
        "--surface",
        metavar="HEIGHT",
        default=None,
        help="surface height in micrometres per pixel, .npy or .tif (default: flat)",
    )
    p.add_argument(
        "--weight",
        metavar="MAP",
        default=None,
        help="functional weight per pixel in [0, 1], .npy or .tif (default: uniform)",
    )
    p.add_argument(
        "--vessel-polarity",
        default=_SETTINGS.vessel_polarity,
        choices=VESSEL_POLARITIES,
        help="vessels darker than tissue (dark, default) or brighter (bright: fluorescence)",
    )
    p.add_argument(
        "--margin-um",
        type=float_in(0.0, MAX_MARGIN_UM),
        default=None,
        help=f"base vessel margin, 0 to {MAX_MARGIN_UM:g} um (default 50 um)",
    )
    p.add_argument(
        "--spacing-um",
        type=float_in(0.0, MAX_SPACING_UM, low_open=True),
        default=_SETTINGS.min_spacing_um,
        help=f"minimum site spacing, above 0 to {MAX_SPACING_UM:g} um (default {_SETTINGS.min_spacing_um:g} um)",
    )
    p.add_argument(
        "--depth-um",
        type=float_in(*DEPTH_RANGE_UM),
        nargs="+",
        metavar="UM",
        default=[_SETTINGS.depth_um],
        help=(
            f"insertion depth below the pia, {DEPTH_RANGE_UM[0]:g} to {DEPTH_RANGE_UM[1]:g} um "
            f"(default {_SETTINGS.depth_um:g} um); two numbers MIN MAX let the planner choose each thread's "
            "depth in that range, keeping its 16 electrodes in the cortex"
        ),
    )
    p.add_argument(
        "--cortex-thickness",
        metavar="UM|MAP",
        default=None,
        help=(
            "cortical thickness in um: one number, or a map (.npy or .tif, the image's shape) "
            f"with values {THICKNESS_RANGE_UM[0]:g} to {THICKNESS_RANGE_UM[1]:g} (default: "
            "4000 um with a depth range, none with one depth)"
        ),
    )
    p.add_argument(
        "--max-retraction-risk",
        type=float_in(0.0, 1.0, low_open=True),
        default=None,
        metavar="P",
        help=(
            "lay tether slack so that each thread's predicted pull-out probability stays at "
            "or under P, above 0 to 1 (docs/retraction.md); default: no slack planned"
        ),
    )
    p.add_argument(
        "--implant-gap-um", type=float_in(0.0, 20_000.0), default=_SETTINGS.implant_gap_um,
        help=f"implant-brain gap the retraction prediction assumes, 0 to 20000 um (default {_SETTINGS.implant_gap_um:g})",
    )  # fmt: skip
    p.add_argument(
        "--robot",
        type=robot_choice,
        default="R1-2019",
        help="robot preset or a robot JSON file (default R1-2019)",
    )
    p.add_argument(
        "--seed", type=int_in(0, SEED_MAX), default=0,
        help="seed of the placement's random tie-breaks (default 0)",
    )  # fmt: skip
    p.add_argument("--strict", action="store_true", help="fail unless every thread asked for fits")
    p.add_argument("--out", required=True, metavar="PLAN.json", help="plan file to write")
    p.add_argument(
        "--figure", default=None, metavar="PLAN.png", help="also write a figure of the plan"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Plan, then write the JSON (and the figure); nothing is written on error."""
    from .._io import atomic_write_all, check_output_path
    from ..imageio import read_image, read_mask
    from ..pipeline import plan_insertions
    from ..readers import read_value_map
    from ._progress import Stages

    out = check_output_path(args.out, name="--out")
    fig_path = check_output_path(args.figure, name="--figure") if args.figure else None
    _check_outputs(args)
    with Stages("plan") as stages:  # a bar on a terminal: a large image takes a while
        stages.stage("reading the image")
        image, meta = read_image(args.image, name="IMAGE")
        pixel_size_um, source = _pixel_size(args.pixel_size_um, meta)
        shape = image.shape[:2]
        region = _region(args, shape)
        craniectomy = (
            read_mask(args.craniectomy, shape=shape, name="--craniectomy")
            if args.craniectomy
            else None
        )
        surface = (
            read_value_map(args.surface, shape=shape, name="--surface", low=-MAX_HEIGHT_UM,
                           high=MAX_HEIGHT_UM) if args.surface else None
        )  # fmt: skip
        weight = (
            read_value_map(args.weight, shape=shape, name="--weight", low=0.0, high=1.0)
            if args.weight
            else None
        )
        stages.stage("segmenting the vessels and placing the threads")
        plan = plan_insertions(
            image, pixel_size_um=pixel_size_um, dura_mode=args.dura_mode, n_threads=args.threads,
            region=region, robot=args.robot, margin_um=args.margin_um, min_spacing_um=args.spacing_um,
            depth_um=_depth(args.depth_um), cortex_thickness_um=_thickness(args, shape),
            max_retraction_risk=args.max_retraction_risk, implant_gap_um=args.implant_gap_um,
            strict=args.strict, craniectomy=craniectomy,
            surface_height_um=surface, weight=weight, rng=args.seed,
            vessel_polarity=args.vessel_polarity, pixel_size_source=source,
        )  # fmt: skip
        png = None
        if fig_path is not None:
            stages.stage("drawing the figure")
            png = _figure_png(plan, _for_display(image, meta))
        files: dict[os.PathLike[str], bytes] = {out: plan.to_json_text().encode("utf-8")}
        if png is not None and fig_path is not None:
            files[fig_path] = png
        atomic_write_all(files)  # both or neither
    sys.stdout.write(f"{plan_summary(plan)}; wrote {out}\n")
    return 0


def plan_summary(plan: Any) -> str:
    """One line: threads placed, what bound the plan, and the tightest thread by its label."""
    active = plan.active_threads
    why = f"; bound by {plan.binding_constraint}" if plan.binding_constraint else ""
    params = (plan.provenance or {}).get("parameters") or {}
    blind = params.get("region_undetectable_fraction")
    if plan.binding_constraint == "detectability" and blind is not None:
        # what the floor did, in the surgeon's terms (docs/margin-model.md)
        why += (
            f" (the image could not have shown a {params.get('hazard_diameter_um', 30.0):g} um"
            f" vessel on {100 * blind:.0f} % of the target region: insertion forbidden there)"
        )
    head = f"placed {len(active)} of {plan.n_requested} threads{why}"
    if not active:
        return f"{head}; no thread placed"
    tight = min(active, key=lambda t: (t.clearance_um - t.required_clearance_um, t.order))
    return (
        f"{head}; objective {plan.objective:.3f}, bound {plan.bound:.3f}, gap "
        f"{100 * plan.gap:.2f} %; smallest clearance beyond required "
        f"{tight.clearance_um - tight.required_clearance_um:.1f} um ({tight.label})"
    )


def _depth(values: list[float]) -> float | tuple[float, float]:
    """One depth, or a (min, max) range from two numbers."""
    if len(values) == 1:
        return values[0]
    if len(values) != 2 or values[0] >= values[1]:
        raise ValueError(
            f"--depth-um takes one depth or MIN MAX with MIN < MAX, got {' '.join(map(str, values))}"
        )
    return (values[0], values[1])


def _thickness(args: argparse.Namespace, shape: tuple[int, ...]) -> Any:
    """--cortex-thickness as a number, or as a map read from a file."""
    from ..readers import read_value_map

    text = args.cortex_thickness
    if text is None:
        return None
    lo, hi = THICKNESS_RANGE_UM
    try:
        value = float(text)
    except ValueError:
        return read_value_map(text, shape=shape, name="--cortex-thickness", low=lo, high=hi)
    if not lo <= value <= hi:
        raise ValueError(
            f"--cortex-thickness must be a number from {lo:g} to {hi:g} um, got {text}"
        )
    return value


def _region(args: argparse.Namespace, shape: tuple[int, ...]) -> Any:
    """The target region from --region (a mask) or --region-polygon; at most one of them."""
    from ..imageio import read_mask
    from ..readers import read_polygon

    if args.region and args.region_polygon:
        raise ValueError("--region and --region-polygon both give the target region; give one")
    if args.region_polygon:
        return read_polygon(args.region_polygon, shape=shape, name="--region-polygon")
    return read_mask(args.region, shape=shape, name="--region") if args.region else None


def _pixel_size(given: float | None, meta: dict[str, Any]) -> tuple[float, str]:
    """The pixel size and where it came from: the option, else the file's metadata."""
    found, source = meta["pixel_size_um"], meta["pixel_size_source"]
    if given is None:
        if found is None:
            raise ValueError(
                "--pixel-size-um is needed: IMAGE records no pixel size (no OME-TIFF "
                "PhysicalSizeX, no TIFF resolution in cm or um)"
            )
        return float(found), str(source)
    if found is not None and abs(given - found) > 0.01 * found:
        raise ValueError(
            f"--pixel-size-um {given:g} differs from the {found:g} um per pixel recorded in "
            f"IMAGE ({source}); give the right one, or leave --pixel-size-um out"
        )
    return given, "--pixel-size-um"


def _check_outputs(args: argparse.Namespace) -> None:
    """Outputs never overwrite an input or each other, nor an existing file without --force."""
    from .._io import check_outputs

    inputs = {"IMAGE": args.image, "--region": args.region, "--craniectomy": args.craniectomy,
              "--region-polygon": args.region_polygon, "--surface": args.surface,
              "--weight": args.weight,
              "--cortex-thickness": args.cortex_thickness if args.cortex_thickness
              and os.path.isfile(args.cortex_thickness) else None,
              "--robot": args.robot if os.path.isfile(args.robot) else None}  # fmt: skip
    check_outputs(inputs, {"--out": args.out, "--figure": args.figure}, force=args.force)


def _for_display(image: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """The image as the figure shows it: float in [0, 1] at its bit depth, alpha left out."""
    if image.ndim == 3 and image.shape[2] in (2, 4):
        image = image[..., 0] if image.shape[2] == 2 else image[..., :3]
    if meta["bit_depth"] is None:
        return image
    return image.astype(np.float32) / np.float32(2 ** meta["bit_depth"] - 1)


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
