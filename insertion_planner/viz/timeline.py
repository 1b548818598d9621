"""Timeline of the simulated surgery: one row per insertion, phases as coloured bars.

Rows are named by the thread's label (``T01`` is inserted first), as in every other view:
a simulation record carries ``thread_id``, mapped through the plan to its thread's label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._deps import require
from ._layers import label_of, simulation_dict, thread_labels

__all__ = ["TimelineBar", "timeline_bars", "plot_timeline", "PHASE_COLOURS"]

_FEATURE = "the surgery timeline"

PHASE_COLOURS = {
    "load": "#8d6e63",
    "travel": "#42a5f5",
    "align": "#26c6da",
    "touchdown": "#66bb6a",
    "touch_down": "#66bb6a",
    "puncture": "#ab47bc",
    "insert": "#ef5350",
    "release": "#ffa726",
    "retract": "#ffee58",
    "verify": "#78909c",
    "return": "#9575cd",
    "replan": "#000000",
}


@dataclass(frozen=True)
class TimelineBar:
    """One phase of one insertion attempt (times in s from the start of the surgery).

    ``attempt`` is 0 for the first attempt at a thread, 1 for its first retry, ...
    ``label`` is the thread's label (``T01`` = inserted first), or ``"thread id N"`` when
    the plan holding thread N is not known.
    """

    row: int
    thread_id: int
    phase: str
    start_s: float
    duration_s: float
    attempt: int
    ok: bool
    label: str = ""


def timeline_bars(simulation: Any, *, plan: Any = None) -> list[TimelineBar]:
    """The bars of the timeline from a simulation section, report or simulated plan.

    Each insertion attempt is a row (in the order performed; ``insertions[i]["attempt"]``
    is 0 for a first attempt, 1 for the first retry). Its phases are taken from
    ``insertions[i]["phases"]`` (each ``{"name", "duration_s"}`` with an optional
    ``"start_s"``); an attempt without phases is one bar of ``time_s``. Bars without a
    start follow one another.

    Parameters
    ----------
    simulation : SimulationReport, InsertionPlan with a simulation, or dict
    plan : InsertionPlan, optional
        The plan that names the threads; defaults to ``simulation`` itself (a simulated
        plan) or its ``plan`` (a simulation report).

    Examples
    --------
    >>> sim = {"insertions": [
    ...     {"thread_id": 3, "ok": True, "time_s": 10.0,
    ...      "phases": [{"name": "travel", "duration_s": 4.0},
    ...                 {"name": "insert", "duration_s": 6.0}]},
    ...     {"thread_id": 1, "ok": False, "time_s": 5.0}]}
    >>> [(b.row, b.phase, b.start_s, b.duration_s) for b in timeline_bars(sim)]
    [(0, 'travel', 0.0, 4.0), (0, 'insert', 4.0, 6.0), (1, 'insertion', 10.0, 5.0)]
    >>> from insertion_planner.plan import _example_plan  # thread 1 is inserted second
    >>> [b.label for b in timeline_bars(sim, plan=_example_plan())]
    ['thread id 3', 'thread id 3', 'T02']
    """
    sim = simulation_dict(simulation)
    if sim is None:
        raise ValueError(
            "simulation must be a simulation report, a simulated plan or its dict; "
            "got no simulation"
        )
    labels = thread_labels(simulation if plan is None else plan)
    bars: list[TimelineBar] = []
    clock = 0.0
    for row, ins in enumerate(sim.get("insertions", ())):
        tid = int(ins.get("thread_id", row))
        label = label_of(labels, tid)
        ok = bool(ins.get("ok", True))
        attempt = int(ins.get("attempt", 0))
        phases = ins.get("phases") or []
        if not phases:
            dur = float(ins.get("time_s") or 0.0)
            start = float(ins["start_s"]) if ins.get("start_s") is not None else clock
            bars.append(TimelineBar(row, tid, "insertion", start, dur, attempt, ok, label))
            clock = start + dur
            continue
        for ph in phases:
            dur = float(ph.get("duration_s") or 0.0)
            start = float(ph["start_s"]) if ph.get("start_s") is not None else clock
            name = str(ph.get("name", "phase"))
            bars.append(TimelineBar(row, tid, name, start, dur, attempt, ok, label))
            clock = start + dur
    return bars


def plot_timeline(
    simulation: Any,
    *,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
    plan: Any = None,
) -> Any:
    """Draw the timeline of a simulated surgery (matplotlib).

    One row per insertion attempt, labelled with its thread's label (``T01`` is inserted
    first, as in the plan figure and the report); phases are coloured bars; retries are
    hatched; failed or rejected attempts are labelled in red with a cross (a rejected
    thread is never attempted: its row is empty).

    Parameters
    ----------
    simulation : SimulationReport, InsertionPlan with a simulation, or dict
    ax : matplotlib Axes, optional
    figsize : (float, float), optional
    plan : InsertionPlan, optional
        The plan that names the threads, when ``simulation`` is a bare dict; a thread no
        plan names shows as ``thread id N``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> sim = {"insertions": [{"thread_id": 0, "ok": True, "time_s": 9.5},
    ...                       {"thread_id": 1, "ok": False, "time_s": 12.0, "attempt": 1}]}
    >>> fig = plot_timeline(sim, plan=_example_plan())
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['T01', 'T02 (retry 1) \u2717']
    """
    bars = timeline_bars(simulation, plan=plan)
    mpatches = require("matplotlib.patches", feature=_FEATURE)
    rows = sorted({b.row for b in bars})
    if ax is None:
        mfig = require("matplotlib.figure", feature=_FEATURE)
        height = figsize[1] if figsize else min(2.0 + 0.16 * len(rows), 12.0)
        fig = mfig.Figure(figsize=(figsize[0] if figsize else 8.0, height), layout="constrained")
        ax = fig.add_subplot()
    seen: dict[str, Any] = {}
    for b in bars:
        colour = PHASE_COLOURS.get(b.phase, "#bdbdbd")
        ax.broken_barh(
            [(b.start_s, b.duration_s)],
            (b.row - 0.4, 0.8),
            facecolors=colour,
            edgecolor="k" if b.attempt > 0 else "none",
            linewidth=0.3,
            hatch="///" if b.attempt > 0 else None,
        )
        if b.duration_s > 0:
            seen.setdefault(b.phase, mpatches.Patch(color=colour, label=b.phase))
    if any(b.attempt > 0 for b in bars):
        seen["retry"] = mpatches.Patch(facecolor="white", edgecolor="k", hatch="///", label="retry")
    labels = {}
    for b in bars:
        retry = f" (retry {b.attempt})" if b.attempt else ""
        labels[b.row] = f"{b.label}{retry}" + ("" if b.ok else " \u2717")
    ax.set_yticks(rows, [labels[r] for r in rows], fontsize=6 if len(rows) > 24 else 8)
    for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
        if labels[r].endswith("\u2717"):
            tick.set_color("red")
    ax.set_ylim(len(rows) - 0.5 if rows else 0.5, -0.5)
    ax.set_xlabel("time from the first insertion (s)")
    ax.set_xlim(0, max((b.start_s + b.duration_s for b in bars), default=1.0) * 1.01 or 1.0)
    if seen:
        ax.legend(
            handles=list(seen.values()), fontsize=7, loc="lower center", ncol=6,
            bbox_to_anchor=(0.5, 1.0), frameon=False,
        )  # fmt: skip
    return ax.figure
