"""The retraction figure (matplotlib): how deep each thread sits, and what it keeps.

Shows a :class:`~insertion_planner.retraction.RetractionReport` thread by thread, in
insertion order (``T01`` is inserted first, the :attr:`~insertion_planner.plan.Thread.label`
every view uses): above, each thread's insertion depth, the span of its electrodes, the
local cortical thickness and where its tip ends up after retraction; below, the electrodes
in cortex at insertion, expected in cortex and retained at the report's day, and the
probability that the thread is pulled out. The title gives the plan's retained fraction.
The model and its sources: ``docs/retraction.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plan import InsertionPlan
from ..retraction import RetractionReport
from ._deps import require

__all__ = ["plot_retraction", "RETRACTION_COLOURS"]

_FEATURE = "the retraction figure"

RETRACTION_COLOURS = {
    "shaft": "0.65",
    "electrodes": "#4090c5",
    "thickness": "#b2182b",
    "white_matter": "#f2e6d9",
    "tip": "0.1",
    "at_insertion": "0.3",
    "in_cortex": "#b7d4ea",
    "retained": "#0d57a1",
    "pull_out": "#b2182b",
    "inactive": "0.6",
}
"""Colours of the figure: blues for electrodes, red for the cortex boundary and pull-out."""


@dataclass(frozen=True)
class _Column:
    """One thread of the figure: its position, label and the report's numbers (um)."""

    x: int
    label: str
    active: bool
    depth_um: float = float("nan")
    top_electrode_um: float = float("nan")
    thickness_um: float = float("nan")
    tip_median_um: float = float("nan")
    tip_p95_um: float = float("nan")
    at_insertion: float = float("nan")
    in_cortex: float = float("nan")
    retained: float = float("nan")
    pull_out: float = float("nan")


def _columns(report: RetractionReport, plan: InsertionPlan | None) -> list[_Column]:
    """The columns of the figure, in insertion order (layout, apart from drawing).

    Without a plan, one column per thread of the report (its active threads, already in
    insertion order). With a plan, one per thread of the plan; threads the report does not
    cover (removed or failed) are inactive columns, drawn as a grey label only.
    """
    span_um = (report.settings.n_electrodes - 1) * report.settings.electrode_pitch_um
    fates = {t.thread_id: t for t in report.threads}
    if plan is None:
        order = [(t.thread_id, t.label) for t in report.threads]
    else:
        order = [(t.id, t.label) for t in sorted(plan.threads, key=lambda t: (t.order, t.id))]
        named = dict(order)
        for t in report.threads:
            if named.get(t.thread_id) != t.label:
                where = f"is {named[t.thread_id]}" if t.thread_id in named else "is absent"
                raise ValueError(
                    f"plan must be the plan the report was made for: the report's {t.label} "
                    f"(thread id {t.thread_id}) {where} in the plan given"
                )
        missing = [t.label for t in plan.active_threads if t.id not in fates]
        if missing:
            raise ValueError(
                f"plan must be the plan the report was made for: its active threads "
                f"{missing} are not in the report"
            )
    out = []
    for x, (tid, label) in enumerate(order):
        fate = fates.get(tid)
        if fate is None:
            out.append(_Column(x, label, False))
            continue
        out.append(
            _Column(
                x, label, True, depth_um=fate.depth_um, top_electrode_um=fate.depth_um - span_um,
                thickness_um=fate.cortex_thickness_um,
                tip_median_um=fate.depth_um - fate.retraction_um_median,
                tip_p95_um=fate.depth_um - fate.retraction_um_p95,
                at_insertion=float(fate.electrodes_in_cortex_at_insertion),
                in_cortex=fate.electrodes_in_cortex, retained=fate.electrodes_retained,
                pull_out=fate.pull_out_probability,
            )
        )  # fmt: skip
    return out


def _title(report: RetractionReport) -> str:
    term = report.binding_term or "none"
    return (
        f"electrodes retained at day {report.days:g}: "
        f"{100 * report.electrodes_retained_fraction:.1f} % "
        f"(gap {report.implant_gap_um:g} um; binding term: {term})"
    )


def _axes_pair(ax: Any, n: int) -> tuple[Any, Any]:
    """The (depth, electrodes) axes: new, given as a pair, or one Axes split in two."""
    if ax is None:
        mfig = require("matplotlib.figure", feature=_FEATURE)
        fig = mfig.Figure(figsize=(min(max(7.0, 3.0 + 0.17 * n), 16.0), 6.5), layout="constrained")
        grid = fig.add_gridspec(2, 1, height_ratios=(3, 2))
        top = fig.add_subplot(grid[0])
        return top, fig.add_subplot(grid[1], sharex=top)
    if isinstance(ax, (Sequence, np.ndarray)) and not isinstance(ax, str):
        if len(ax) != 2 or not all(hasattr(a, "figure") for a in ax):
            raise TypeError(
                f"ax must be a matplotlib Axes or a pair (depth, electrodes) of them, got "
                f"a sequence of {len(ax)} items"
            )
        return ax[0], ax[1]
    if not hasattr(ax, "figure") or not hasattr(ax, "get_subplotspec"):
        raise TypeError(
            f"ax must be a matplotlib Axes or a pair (depth, electrodes) of them, got "
            f"{type(ax).__name__}"
        )
    fig, spec = ax.figure, ax.get_subplotspec()
    if spec is None:  # an Axes placed by hand: split its box
        x0, y0, w, h = ax.get_position().bounds
        ax.remove()
        top = fig.add_axes((x0, y0 + 0.45 * h, w, 0.55 * h))
        return top, fig.add_axes((x0, y0, w, 0.4 * h), sharex=top)
    ax.remove()
    grid = spec.subgridspec(2, 1, height_ratios=(3, 2))
    top = fig.add_subplot(grid[0])
    return top, fig.add_subplot(grid[1], sharex=top)


def _draw_depths(ax: Any, cols: list[_Column], report: RetractionReport) -> None:
    c = RETRACTION_COLOURS
    act = [k for k in cols if k.active]
    x = np.array([k.x for k in act], dtype=float)
    depth = np.array([k.depth_um for k in act])
    top = np.array([k.top_electrode_um for k in act])
    thick = np.array([k.thickness_um for k in act])
    med = np.array([k.tip_median_um for k in act])
    p95 = np.array([k.tip_p95_um for k in act])
    bottom = max(float(depth.max()), float(thick.max())) * 1.06
    st = report.settings
    ax.bar(x, bottom - thick, bottom=thick, width=1.0, color=c["white_matter"], linewidth=0,
           label="below the cortex", zorder=0)  # fmt: skip
    shaft_top = np.minimum(top, 0.0)
    ax.bar(x, depth - shaft_top, bottom=shaft_top, width=0.16, color=c["shaft"],
           label="thread (to its insertion depth)", zorder=1)  # fmt: skip
    ax.bar(x, depth - top, bottom=top, width=0.55, color=c["electrodes"], zorder=2,
           label=f"electrodes ({st.n_electrodes} every {st.electrode_pitch_um:g} um)")  # fmt: skip
    ax.hlines(thick, x - 0.5, x + 0.5, colors=c["thickness"], linewidth=1.6, zorder=3,
              label="local cortical thickness")  # fmt: skip
    ax.errorbar(x, med, yerr=np.vstack([med - p95, np.zeros_like(med)]), fmt="v",
                color=c["tip"], markersize=4, elinewidth=0.8, capsize=2, zorder=4,
                label=f"tip at day {report.days:g} (median; bar to 95th percentile)")  # fmt: skip
    ax.axhline(0.0, color="0.2", linewidth=0.8, zorder=3)
    ax.text(1.0, 0.0, " pia", transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    ax.set_ylim(bottom, min(float(top.min()), float(p95.min()), 0.0) - 0.04 * bottom)
    ax.set_ylabel("depth below the pia (um)")
    ax.tick_params(labelbottom=False)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.04, 1.0), frameon=False)


def _draw_electrodes(ax: Any, cols: list[_Column], report: RetractionReport) -> None:
    c = RETRACTION_COLOURS
    act = [k for k in cols if k.active]
    x = np.array([k.x for k in act], dtype=float)
    n_e = report.settings.n_electrodes
    ax.bar(x, [k.in_cortex for k in act], width=0.8, color=c["in_cortex"],
           label=f"expected in cortex at day {report.days:g}")  # fmt: skip
    ax.bar(x, [k.retained for k in act], width=0.45, color=c["retained"],
           label="of which retained (in cortex at insertion)")  # fmt: skip
    ax.bar(x, [k.at_insertion for k in act], width=0.8, fill=False, edgecolor=c["at_insertion"],
           linewidth=0.8, label="in cortex at insertion")  # fmt: skip
    ax.set_ylim(0.0, n_e + 0.5)
    ax.set_ylabel(f"electrodes in cortex (of {n_e})")
    twin = ax.twinx()
    twin.plot(x, [k.pull_out for k in act], "o", color=c["pull_out"], markersize=4,
              label="pull-out probability (right)")  # fmt: skip
    twin.set_ylim(0.0, 1.0 * (n_e + 0.5) / n_e)
    twin.set_ylabel("pull-out probability", color=c["pull_out"])
    twin.tick_params(axis="y", colors=c["pull_out"])
    handles, labels = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(handles + more[0], labels + more[1], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.12, 1.0), frameon=False)  # fmt: skip
    small = len(cols) > 24
    ax.set_xticks([k.x for k in cols], [k.label for k in cols], fontsize=6 if small else 8,
                  rotation=90 if small else 0)  # fmt: skip
    for tick, k in zip(ax.get_xticklabels(), cols, strict=True):
        if not k.active:
            tick.set_color(RETRACTION_COLOURS["inactive"])
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_xlabel("thread, in insertion order (grey: removed or failed, not assessed)"
                  if len(act) < len(cols) else "thread, in insertion order")  # fmt: skip


def plot_retraction(report: RetractionReport, *, plan: InsertionPlan | None = None,
                    ax: Any = None) -> Any:  # fmt: skip
    """Draw a retraction report: depth, electrodes and pull-out of each thread (matplotlib).

    Threads run along x in insertion order, named by their label (``T01`` is inserted
    first, as in the plan figure, the timeline and the report). The upper panel shows
    each thread's insertion depth below the pia (along the needle), the span of its
    electrodes (electrode ``k`` sits ``k * electrode_pitch_um`` above the tip), the local
    cortical thickness it was assessed with (grey matter ends there; below, shaded, the
    electrodes are not counted) and where its tip ends up after retraction (median, with
    a bar to the 95th percentile of how far it slid out). The lower panel shows, of the
    ``n_electrodes`` (16) of each thread, those in cortex at insertion (outline), the
    expected number in cortex at the report's day and how many of those were in cortex
    at insertion (retained), and on the right axis the probability that the thread is
    pulled out. The title gives the plan's retained fraction
    (``report.electrodes_retained_fraction``), the day, the implant-brain gap and the
    binding term. The model: ``docs/retraction.md``.

    Parameters
    ----------
    report : RetractionReport
        From :func:`~insertion_planner.retraction_risk`.
    plan : InsertionPlan, optional
        The plan the report was made for. When given, every thread of the plan gets a
        column, in insertion order; threads the report does not cover (removed or failed)
        show as a grey label without bars.
    ax : matplotlib Axes or (Axes, Axes), optional
        Where to draw: a pair (depth axes, electrodes axes), or one Axes whose place is
        split in two (depth above, electrodes below). A new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot: it shows once when returned in Jupyter, and
        ``fig.savefig(path)`` writes it. ``fig.axes`` holds the depth axes, the
        electrodes axes and the pull-out probability axes (the electrodes axes' twin).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    TypeError
        ``report`` not a RetractionReport, ``plan`` not an InsertionPlan, or ``ax`` not
        an Axes or a pair of them.
    ValueError
        ``plan`` is not the plan the report was made for (a thread of the report is
        absent from it or carries another label, or an active thread of the plan is not
        in the report).

    Examples
    --------
    >>> import io
    >>> import insertion_planner as ip
    >>> from matplotlib.backends.backend_agg import FigureCanvasAgg
    >>> from insertion_planner.plan import _example_plan
    >>> report = ip.retraction_risk(_example_plan(), implant_gap_um=3000.0, rng=0)
    >>> fig = plot_retraction(report)
    >>> fig.axes[0].get_title()
    'electrodes retained at day 30: 38.8 % (gap 3000 um; binding term: gap)'
    >>> [t.get_text() for t in fig.axes[1].get_xticklabels()]
    ['T01', 'T02']
    >>> FigureCanvasAgg(fig).print_png(io.BytesIO())  # drawn with the Agg backend
    """
    if not isinstance(report, RetractionReport):
        raise TypeError(
            f"report must be a RetractionReport (from insertion_planner.retraction_risk), "
            f"got {type(report).__name__}"
        )
    if plan is not None and not isinstance(plan, InsertionPlan):
        raise TypeError(f"plan must be an InsertionPlan or None, got {type(plan).__name__}")
    cols = _columns(report, plan)
    ax_depth, ax_electrodes = _axes_pair(ax, len(cols))
    _draw_depths(ax_depth, cols, report)
    _draw_electrodes(ax_electrodes, cols, report)
    ax_depth.set_title(_title(report), fontsize=10)
    return ax_depth.figure
