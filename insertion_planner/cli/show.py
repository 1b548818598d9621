"""``insertion-planner show``: print a plan's threads as a table, then its summary."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plan import InsertionPlan

__all__ = ["add_parser", "run", "plan_text"]

_COLUMNS = ("label", "status", "pixel (row, col)", "clearance_um", "required_um", "margin_um",
            "depth_um")  # fmt: skip


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``show`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "show",
        help="print a plan's threads and summary",
        description=(
            "Check PLAN.json like every command that reads a plan, then print one row per "
            "thread in insertion order (T01 first) and the plan's summary."
        ),
    )
    p.add_argument(
        "plan", metavar="PLAN.json", help="plan file written by 'insertion-planner plan'"
    )
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Load the plan and print it; returns 0."""
    from ..plan_file import load_plan

    sys.stdout.write(plan_text(load_plan(args.plan)))
    return 0


def plan_text(plan: InsertionPlan) -> str:
    """The text ``show`` prints: the thread table, a blank line, the summary.

    One row per thread in insertion order (label, status, site pixel (row, col), clearance
    achieved, clearance required, their difference the margin, depth; lengths in um, one
    decimal), or ``no threads``; then dura mode, threads placed (occupying a site) of those
    requested, binding constraint, robot, image shape and pixel size, the smallest margin
    over the placed threads (``no threads`` when none) and the simulation, if any.

    Parameters
    ----------
    plan : InsertionPlan
        The plan, e.g. from :func:`~insertion_planner.load_plan`.

    Returns
    -------
    str
        Lines ending with a newline.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> print(plan_text(_example_plan()))  # doctest: +NORMALIZE_WHITESPACE
    label  status   pixel (row, col)  clearance_um  required_um  margin_um  depth_um
    T01    planned  (100, 100)               200.0         86.5      113.5    3500.0
    T02    planned  (130, 100)               200.0         86.5      113.5    3500.0
    <BLANKLINE>
    dura mode           durectomy
    threads             2 placed of 2 requested
    binding constraint  none
    robot               R1-2019
    image               200 x 200 px, 12 um per pixel (2.4 x 2.4 mm)
    min margin          113.5 um (T01)
    simulation          not simulated
    """
    threads = plan.threads
    if threads:
        rows = [_COLUMNS] + [
            (t.label, t.status, f"({t.pixel[0]:g}, {t.pixel[1]:g})", f"{t.clearance_um:.1f}",
             f"{t.required_clearance_um:.1f}", f"{t.clearance_um - t.required_clearance_um:.1f}",
             f"{t.depth_um:.1f}")
            for t in threads
        ]  # fmt: skip
        widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
        lines = []
        for r in rows:
            # text columns (label, status, pixel) flush left, numbers flush right
            cells = [c.ljust(widths[i]) if i < 3 else c.rjust(widths[i]) for i, c in enumerate(r)]
            lines.append("  ".join(cells).rstrip())
        table = "\n".join(lines)
    else:
        table = "no threads"
    active = plan.active_threads
    if active:
        worst = min(active, key=lambda t: (t.clearance_um - t.required_clearance_um, t.order))
        margin = f"{worst.clearance_um - worst.required_clearance_um:.1f} um ({worst.label})"
    else:
        margin = "no threads"
    n_off = len(threads) - len(active)
    inactive = f"; {n_off} more removed or failed" if n_off else ""
    h, w = plan.image_shape
    px = plan.pixel_size_um
    sim = plan.simulation
    simulated = (
        f"robot {sim.get('robot')}, total {float(sim.get('total_time_s', 0.0)):.1f} s"
        if sim is not None
        else "not simulated"
    )
    summary = [
        ("dura mode", plan.dura_mode.value),
        ("threads", f"{len(active)} placed of {plan.n_requested} requested{inactive}"),
        ("binding constraint", plan.binding_constraint or "none"),
        ("robot", plan.robot),
        ("image", f"{h} x {w} px, {px:g} um per pixel ({h * px / 1000:g} x {w * px / 1000:g} mm)"),
        ("min margin", margin),
        ("simulation", simulated),
    ]  # fmt: skip
    key_width = max(len(k) for k, _ in summary)
    return table + "\n\n" + "".join(f"{k.ljust(key_width)}  {v}\n" for k, v in summary)
