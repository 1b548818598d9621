"""Self-contained HTML: rich Jupyter display of plans and reports, and the demo report page.

Figures are embedded as base64 PNGs, so a page is one file that opens offline. Key numbers
carry element ids (``n-threads``, ``total-time-s``, ...) so tools can read them back.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

import numpy as np

from ._layers import final_outcomes, label_of, simulation_dict, thread_labels

__all__ = [
    "ReportRun",
    "plan_summary",
    "simulation_counts",
    "plan_html",
    "report_html",
    "build_report",
    "png_img_tag",
]


@dataclass(frozen=True, eq=False)
class ReportRun:
    """One planned (and usually simulated) case shown in the report page.

    Parameters
    ----------
    plan : InsertionPlan
        Carries the simulation section when simulated.
    image : (H, W) or (H, W, 3) array, optional
        The image planned on (drawn under the plan).
    label : str, optional
        Section heading and id suffix; defaults to the dura mode.
    timing_s : mapping of str to float
        Wall-clock seconds of each computing stage (e.g. ``{"plan": 3.1}``).
    plan_png : bytes, optional
        The plan figure already rendered (saves drawing it again).
    """

    plan: Any
    image: Any = None
    label: str | None = None
    timing_s: Mapping[str, float] = field(default_factory=dict)
    plan_png: bytes | None = None

    @property
    def key(self) -> str:
        text = self.label or str(getattr(self.plan.dura_mode, "value", self.plan.dura_mode))
        return "".join(ch if ch.isalnum() else "-" for ch in text.lower())


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "\u2014"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return "\u2014" if not math.isfinite(float(x)) else f"{float(x):.{digits}f}"
    return html.escape(str(x))


def plan_summary(plan: Any) -> dict[str, Any]:
    """Key numbers of a plan (and of its simulation, when it has one).

    Returns
    -------
    dict
        ``n_threads`` placed, ``n_requested``, ``dura_mode``, ``robot``,
        ``binding_constraint``, ``min_margin_um``, ``mean_margin_um``,
        ``min_clearance_um``, and when simulated the :func:`simulation_counts`.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> s = plan_summary(_example_plan())
    >>> s["n_threads"], s["min_margin_um"]
    (2, 113.5)
    """
    threads = list(plan.threads)
    margins = np.array([t.clearance_um - t.required_clearance_um for t in threads], dtype=float)
    out: dict[str, Any] = {
        "dura_mode": str(getattr(plan.dura_mode, "value", plan.dura_mode)),
        "robot": str(plan.robot),
        "n_threads": len(threads),
        "n_requested": int(plan.n_requested),
        "binding_constraint": plan.binding_constraint,
        "min_margin_um": float(margins.min()) if len(margins) else None,
        "mean_margin_um": float(margins.mean()) if len(margins) else None,
        "min_clearance_um": min((float(t.clearance_um) for t in threads), default=None),
    }
    sim = simulation_dict(plan)
    if sim:
        out.update(simulation_counts(sim))
    return out


def simulation_counts(simulation: Any) -> dict[str, Any]:
    """Totals of a simulation, counted per thread (its last attempt decides).

    Returns
    -------
    dict
        ``total_time_s``, ``time_per_thread_s`` (over the threads simulated), ``n_ok``
        (threads validated), ``n_failed`` (threads failed or rejected), ``n_retries``,
        ``success_rate``.

    Examples
    --------
    >>> simulation_counts({"total_time_s": 30.0, "insertions": [
    ...     {"thread_id": 0, "ok": False, "attempt": 0}, {"thread_id": 0, "ok": True, "attempt": 1},
    ...     {"thread_id": 1, "ok": True, "attempt": 0}]})["n_retries"]
    1
    """
    sim = simulation_dict(simulation) or {}
    ins = list(sim.get("insertions", ()))
    final = final_outcomes(sim)
    n_ok = sum(final.values())
    total = float(sim.get("total_time_s") or sum(float(i.get("time_s") or 0.0) for i in ins))
    return {
        "total_time_s": total,
        "time_per_thread_s": total / len(final) if final else None,
        "n_ok": n_ok,
        "n_failed": len(final) - n_ok,
        "n_retries": sum(int(i.get("attempt", 0)) > 0 for i in ins),
        "success_rate": n_ok / len(final) if final else None,
    }


def png_img_tag(png: bytes, *, alt: str, element_id: str | None = None, width: str = "100%") -> str:
    """An ``<img>`` tag embedding PNG bytes as base64.

    Examples
    --------
    >>> png_img_tag(b"\\x89PNG", alt="x")[:42]
    '<img alt="x" style="max-width:100%" src="d'
    """
    data = base64.b64encode(png).decode("ascii")
    ident = f' id="{html.escape(element_id)}"' if element_id else ""
    src = f"data:image/png;base64,{data}"
    return f'<img alt="{html.escape(alt)}"{ident} style="max-width:{width}" src="{src}">'


def _figure_tag(
    kind: str,
    obj: Any,
    *,
    image: Any = None,
    alt: str,
    element_id: str | None = None,
    dpi: int = 90,
) -> str:
    try:
        from .plan2d import figure_png, plot_plan
        from .timeline import plot_timeline

        fig = plot_plan(obj, image) if kind == "plan" else plot_timeline(obj)
        return png_img_tag(figure_png(fig, dpi=dpi), alt=alt, element_id=element_id)
    except ImportError as exc:
        return f"<p><em>{html.escape(str(exc))}</em></p>"


_SUMMARY_ROWS = (
    ("n_threads", "threads placed", "n-threads", 0),
    ("n_requested", "threads requested", "n-requested", 0),
    ("binding_constraint", "binding constraint", "binding-constraint", 0),
    ("min_margin_um", "smallest clearance margin (\u00b5m)", "min-margin-um", 1),
    ("mean_margin_um", "mean clearance margin (\u00b5m)", "mean-margin-um", 1),
    ("min_clearance_um", "smallest clearance (\u00b5m)", "min-clearance-um", 1),
    ("total_time_s", "simulated surgery time (s)", "total-time-s", 1),
    ("time_per_thread_s", "time per thread (s)", "time-per-thread-s", 2),
    ("n_ok", "threads validated", "n-ok", 0),
    ("n_failed", "threads failed or rejected", "n-failed", 0),
    ("n_retries", "retries", "n-retries", 0),
)


def _summary_table(
    summary: Mapping[str, Any], *, suffix: str | None, extra_ids: bool = False
) -> str:
    rows = [
        f"<tr><th>dura mode</th><td>{_fmt(summary['dura_mode'])}</td></tr>",
        f"<tr><th>robot</th><td>{_fmt(summary['robot'])}</td></tr>",
    ]
    for key, label, ident, digits in _SUMMARY_ROWS:
        if key not in summary:
            continue
        ids = []
        if suffix:
            ids.append(f"{ident}-{suffix}")
        if extra_ids or not suffix:
            ids.append(ident)
        value = _fmt(summary[key], digits)
        cell = value
        for i in ids[1:]:
            cell = f'<span id="{i}">{cell}</span>'
        rows.append(f'<tr><th>{label}</th><td id="{ids[0]}">{cell}</td></tr>')
    return '<table class="summary">' + "".join(rows) + "</table>"


def plan_html(plan: Any, image: Any = None, *, figure: bool = True) -> str:
    """HTML for a plan: its key numbers and (with matplotlib) the 2-D plan figure.

    This is what Jupyter shows for an ``InsertionPlan`` once ``viz`` is imported.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> page = plan_html(_example_plan(), figure=False)
    >>> '<td id="n-threads">2</td>' in page
    True
    """
    parts = ['<div class="insertion-plan">', _summary_table(plan_summary(plan), suffix=None)]
    if figure:
        parts.append(_figure_tag("plan", plan, image=image, alt="plan figure"))
    parts.append("</div>")
    return "".join(parts)


def report_html(report: Any, *, figure: bool = True) -> str:
    """HTML for a simulation report: per-insertion outcomes and (with matplotlib) the timeline.

    This is what Jupyter shows for a ``SimulationReport`` once ``viz`` is imported.

    Examples
    --------
    >>> sim = {"robot": "R1-2019", "total_time_s": 9.5,
    ...        "insertions": [{"thread_id": 0, "ok": True, "time_s": 9.5}]}
    >>> '<td id="n-ok">1 of 1</td>' in report_html(sim, figure=False)
    True
    """
    sim = simulation_dict(report)
    if sim is None:
        raise ValueError(
            f"report must be a simulation report or its dict, got {type(report).__name__}"
        )
    ins = list(sim.get("insertions", ()))
    c = simulation_counts(sim)
    n_threads = c["n_ok"] + c["n_failed"]
    head = (
        '<table class="summary">'
        f"<tr><th>robot</th><td>{_fmt(sim.get('robot'))}</td></tr>"
        f'<tr><th>threads validated</th><td id="n-ok">{c["n_ok"]} of {n_threads}</td></tr>'
        f'<tr><th>retries</th><td id="n-retries">{c["n_retries"]}</td></tr>'
        "<tr><th>simulated surgery time (s)</th>"
        f'<td id="total-time-s">{_fmt(c["total_time_s"])}</td></tr>'
        "</table>"
    )
    labels = thread_labels(report)
    parts = ['<div class="simulation-report">', head, _insertions_table(ins, labels)]
    if figure and ins:
        parts.append(_figure_tag("timeline", report, alt="timeline"))
    parts.append("</div>")
    return "".join(parts)


def _insertions_table(ins: Sequence[Mapping[str, Any]], labels: Mapping[int, str]) -> str:
    """One row per attempt, the thread named by its label (``T01`` = inserted first)."""
    rows = "".join(
        f"<tr><td>{_fmt(label_of(labels, int(i['thread_id'])))}</td>"
        f"<td>{_fmt(i.get('attempt', 0))}</td>"
        f"<td>{_fmt(bool(i.get('ok')))}</td>"
        f"<td>{_fmt(i.get('time_s'), 2)}</td><td>{_reasons(i)}</td></tr>"
        for i in ins
    )
    return (
        "<table><thead><tr><th>thread</th><th>attempt</th><th>ok</th><th>time (s)</th>"
        f"<th>reasons</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _reasons(insertion: Mapping[str, Any]) -> str:
    return html.escape(", ".join(map(str, insertion.get("reasons", ()))))


def _thread_table(plan: Any, key: str) -> str:
    sim = simulation_dict(plan) or {}
    last: dict[int, Mapping[str, Any]] = {}  # the last attempt decides
    time_s: dict[int, float] = {}
    attempts: dict[int, int] = {}
    for i in sim.get("insertions", ()):
        tid = int(i["thread_id"])
        last[tid] = i
        time_s[tid] = time_s.get(tid, 0.0) + float(i.get("time_s") or 0.0)
        attempts[tid] = attempts.get(tid, 0) + 1
    head = (
        "<tr><th>thread</th><th>JSON id</th><th>row, col (px)</th><th>x, y, z (\u00b5m)</th>"
        "<th>depth (\u00b5m)</th><th>clearance (\u00b5m)</th><th>required (\u00b5m)</th>"
        "<th>margin (\u00b5m)</th><th>status</th><th>attempts</th><th>time (s)</th>"
        "<th>reasons</th></tr>"
    )
    rows = []
    for t in sorted(plan.threads, key=lambda t: t.order):
        ins = last.get(int(t.id), {})
        margin = float(t.clearance_um) - float(t.required_clearance_um)
        rows.append(
            f'<tr class="thread"><td class="label">{t.label}</td><td>{t.id}</td>'
            f"<td>{t.pixel[0]:.1f}, {t.pixel[1]:.1f}</td>"
            f"<td>{', '.join(f'{v:.0f}' for v in t.entry_um)}</td>"
            f"<td>{_fmt(float(t.depth_um), 0)}</td>"
            f"<td>{_fmt(float(t.clearance_um))}</td><td>{_fmt(float(t.required_clearance_um))}</td>"
            f'<td class="margin">{_fmt(margin)}</td>'
            f'<td class="status-{html.escape(t.status)}">{_fmt(t.status)}</td>'
            f"<td>{_fmt(attempts.get(int(t.id)))}</td><td>{_fmt(time_s.get(int(t.id)), 2)}</td>"
            f"<td>{_reasons(ins)}</td></tr>"
        )
    body = "".join(rows)
    table = f'<table id="threads-{key}" class="threads">'
    return f"{table}<thead>{head}</thead><tbody>{body}</tbody></table>"


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    return {"value": obj}


def _kv_table(title: str, data: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v, 3)}</td></tr>" for k, v in data.items()
    )
    return f'<h4>{html.escape(title)}</h4><table class="params">{rows}</table>'


def _run_section(run: ReportRun, *, primary: bool) -> str:
    plan, key = run.plan, run.key
    summary = plan_summary(plan)
    title = run.label or f"{summary['dura_mode']} \u2014 robot {summary['robot']}"
    parts = [
        f'<section id="run-{key}"><h2>{html.escape(title)}</h2>',
        '<div class="row"><div class="col">',
        _summary_table(summary, suffix=key, extra_ids=primary),
    ]
    if run.timing_s:
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th>"
            f'<td id="compute-{html.escape(k)}-s-{key}">{v:.2f}</td></tr>'
            for k, v in run.timing_s.items()
        )
        parts.append(f"<h4>computing time (s, wall clock)</h4><table>{rows}</table>")
    parts.append('</div><div class="col">')
    if run.plan_png is not None:
        parts.append(png_img_tag(run.plan_png, alt=f"plan {key}", element_id=f"plan-figure-{key}"))
    else:
        parts.append(
            _figure_tag(
                "plan", plan, image=run.image, alt=f"plan {key}", element_id=f"plan-figure-{key}"
            )
        )
    parts.append("</div></div>")
    if simulation_dict(plan):
        parts.append("<h3>Simulated surgery</h3>")
        parts.append(
            _figure_tag("timeline", plan, alt=f"timeline {key}", element_id=f"timeline-{key}")
        )
    parts.append("<h3>Threads</h3>")
    parts.append(_thread_table(plan, key))
    parts.append('<h3>Margins and parameters</h3><div class="row">')
    margins = _as_dict(getattr(plan, "margins", None))
    if margins:
        try:
            margins["required (no large vessel)"] = plan.margins.required_um(plan.dura_mode)
        except (AttributeError, TypeError, ValueError):
            pass
    for name, obj in (
        ("safety margins (\u00b5m)", margins),
        ("planner settings", getattr(plan, "config", None)),
        ("robot", getattr(plan, "robot_spec", None)),
        ("provenance", (getattr(plan, "provenance", None) or {}).get("parameters")),
    ):
        data = _as_dict(obj)
        if data:
            parts.append(f'<div class="col">{_kv_table(name, data)}</div>')
    parts.append("</div></section>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
.row{display:flex;flex-wrap:wrap;gap:2em}.col{flex:1;min-width:320px}
.status-failed,.status-rejected{color:#c62828;font-weight:bold}
section{border-top:2px solid #555;margin-top:2em}
"""


def build_report(
    runs: Sequence[ReportRun],
    *,
    title: str = "insertion_planner report",
    notes: Mapping[str, Any] | None = None,
) -> str:
    """One self-contained HTML page for one or more planned and simulated cases.

    The first run's key numbers also carry unsuffixed ids (``n-threads``,
    ``total-time-s``, ``min-margin-um``, ...); every run's carry ids suffixed with its
    key (``n-threads-transdural``). Figures are embedded PNGs; nothing is fetched.

    Parameters
    ----------
    runs : sequence of ReportRun
    title : str
    notes : mapping, optional
        Extra facts shown at the top (seed, total wall-clock time, ...).

    Returns
    -------
    str
        The HTML page.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> page = build_report([ReportRun(_example_plan(), label="example")])
    >>> page.startswith("<!DOCTYPE html>"), 'id="n-threads-example"' in page
    (True, True)
    """
    if not runs:
        raise ValueError("runs must hold at least one ReportRun, got none")
    from .._version import __version__

    head = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p>insertion_planner <span id="package-version">{html.escape(__version__)}</span></p>',
    ]
    if notes:
        head.append(_kv_table("run", notes))
    comp = [
        '<h2>Comparison</h2><table id="comparison"><thead><tr><th>case</th><th>threads</th>'
        "<th>binding constraint</th><th>min margin (\u00b5m)</th><th>mean margin (\u00b5m)</th>"
        "<th>surgery time (s)</th><th>per thread (s)</th><th>failed</th></tr></thead><tbody>"
    ]
    for run in runs:
        s = plan_summary(run.plan)
        comp.append(
            f"<tr><td>{html.escape(run.label or s['dura_mode'])}</td>"
            f"<td>{s['n_threads']} / {s['n_requested']}</td>"
            f"<td>{_fmt(s['binding_constraint'])}</td><td>{_fmt(s['min_margin_um'])}</td>"
            f"<td>{_fmt(s['mean_margin_um'])}</td><td>{_fmt(s.get('total_time_s'))}</td>"
            f"<td>{_fmt(s.get('time_per_thread_s'), 2)}</td><td>{_fmt(s.get('n_failed'))}</td></tr>"
        )
    comp.append("</tbody></table>")
    body = [_run_section(run, primary=(k == 0)) for k, run in enumerate(runs)]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(head)
        + "".join(comp)
        + "".join(body)
        + "</body></html>\n"
    )
