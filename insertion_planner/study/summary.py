"""The study's summary: ``summary.md`` (tables, worst cases with their seeds) and ``summary.png``.

The figure needs matplotlib (the ``viz`` extra); it is imported here, only when the
summary is written, and without it ``summary.md`` says the figure was left out.
"""

from __future__ import annotations

import io
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._io import atomic_write_all

__all__ = ["write_summary", "worst_cases", "summary_markdown"]

_N_WORST = 10


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _fmt(v: Any, spec: str = ".0f") -> str:
    x = _num(v)
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def _values(rows: Sequence[dict[str, Any]], key: str) -> list[float]:
    out = []
    for r in rows:
        x = _num(r.get(key))
        if x is not None and math.isfinite(x):
            out.append(x)
    return out


def _mmm(values: list[float], spec: str) -> str:
    if not values:
        return "-"
    return f"{min(values):{spec}} / {statistics.median(values):{spec}} / {max(values):{spec}}"


def _scored(r: dict[str, Any]) -> bool:
    return r["status"] == "planned" and _num(r.get("dice")) is not None


def worst_cases(rows: Sequence[dict[str, Any]], k: int = _N_WORST) -> list[dict[str, Any]]:
    """The ``k`` worst planned cases with a ground truth.

    Ranked by threads too close to a hazard-sized true vessel (most first), then the
    smallest margin beyond the required clearance (smallest first), then Dice (lowest first).
    """

    def key(r: dict[str, Any]) -> tuple[float, float, float]:
        margin = _num(r.get("min_margin_to_truth_um"))
        return (
            -float(r.get("threads_too_close") or 0),
            margin if margin is not None else math.inf,
            _num(r.get("dice")) or 0.0,
        )

    return sorted((r for r in rows if _scored(r)), key=key)[:k]


def _case_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| case | seed | dura mode | threads placed | too close (any vessel) | closest thread to a true vessel (um) | margin beyond required (um) | worst site (row,col) | Dice | allowed share | binding constraint |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seed = "-" if r.get("seed") is None else str(r["seed"])
        lines.append(
            f"| {r['case']} | {seed} | {r['dura_mode']} | {r['threads_placed']} | "
            f"{r['threads_too_close']} ({r['threads_too_close_any']}) | "
            f"{_fmt(r['min_clearance_to_truth_um'])} | {_fmt(r['min_margin_to_truth_um'])} | "
            f"{r.get('worst_site') or '-'} | {_fmt(r['dice'], '.3f')} | "
            f"{_fmt(r['allowed_share'], '.1%')} | {r.get('binding_constraint') or '-'} |"
        )
    return lines


def summary_markdown(rows: Sequence[dict[str, Any]], *, run: dict[str, Any] | None = None) -> str:
    """The text of ``summary.md`` for the table ``rows`` (one per case)."""
    n = len(rows)
    status = Counter(r["status"] for r in rows)
    sources = Counter(r["source"] for r in rows)
    modes = sorted({r["dura_mode"] for r in rows})
    out = ["# Study summary", ""]
    out.append(
        f"{n} cases ({', '.join(f'{v} {k}' for k, v in sorted(sources.items()))}; "
        f"{', '.join(modes)}): {status.get('planned', 0)} planned, "
        f"{status.get('refused', 0)} refused (the image could not support a plan: a safe "
        f"outcome), {status.get('error', 0)} errors."
    )
    if run:
        cpm = run.get("cases_per_minute")
        speed = f", {cpm:.1f} cases per minute" if cpm else ""
        where = run.get("scheduler") or "no cluster needed"
        out += [
            "",
            f"Last run ({run.get('started_at', '?')}): {run.get('executed', 0)} cases run in "
            f"{_fmt(run.get('compute_time_s'), '.1f')} s on {run.get('workers', 0)} workers "
            f"({where}){speed}; {run.get('skipped', 0)} already in the table"
            + ("; interrupted" if run.get("interrupted") else "")
            + ".",
        ]
    out += [
        "",
        "Distances: from the site's pixel centre to the nearest true vessel pixel centre, minus "
        "one pixel, times the pixel size. *Too close*: nearer than the thread's own required "
        "clearance to a true vessel of at least the hazard diameter (30 um), and (in brackets) to "
        "any true vessel. Dice: the segmented vessels against the truth (over the craniectomy of "
        "a synthetic case).",
        "",
        "## Per dura mode",
        "",
        "| dura mode | cases | planned | refused | errors | threads placed min / median / max | cases with a thread too close (threads) | closest thread to a true vessel, um: min / median / max | margin beyond required, um: min / median | Dice min / median / max | allowed share median | plan time median, s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        rs = [r for r in rows if r["dura_mode"] == mode]
        planned = [r for r in rs if r["status"] == "planned"]
        scored = [r for r in planned if _scored(r)]
        close = [r for r in scored if (r["threads_too_close"] or 0) > 0]
        margins = _values(scored, "min_margin_to_truth_um")
        allowed = _values(planned, "allowed_share")
        t_plan = _values(planned, "t_plan_s")
        out.append(
            f"| {mode} | {len(rs)} | {len(planned)} | {sum(r['status'] == 'refused' for r in rs)} | "
            f"{sum(r['status'] == 'error' for r in rs)} | "
            f"{_mmm([float(r['threads_placed']) for r in planned], '.0f')} | "
            f"{len(close)} ({sum(r['threads_too_close'] for r in close)}) | "
            f"{_mmm(_values(scored, 'min_clearance_to_truth_um'), '.0f')} | "
            + (f"{min(margins):.0f} / {statistics.median(margins):.0f}" if margins else "-")
            + f" | {_mmm(_values(scored, 'dice'), '.3f')} | "
            + (f"{statistics.median(allowed):.1%}" if allowed else "-")
            + " | "
            + (f"{statistics.median(t_plan):.2f}" if t_plan else "-")
            + " |"
        )
    worst = worst_cases(rows)
    out += ["", "## Worst cases", ""]
    if worst:
        out += [
            "Ranked by threads too close, then the smallest margin beyond the required "
            "clearance, then Dice. Rerun one with `insertion-planner demo --seed SEED "
            "--dura-mode MODE` or `ip.synthetic_cortex(SEED, ...)`.",
            "",
            *_case_table(worst),
        ]
    else:
        out.append("No planned case with a ground truth.")
    scored_all = [r for r in rows if _scored(r)]
    if scored_all:
        low = sorted(scored_all, key=lambda r: _num(r["dice"]) or 0.0)[:5]
        out += ["", "## Lowest Dice", "", *_case_table(low)]
    planned_all = [r for r in rows if r["status"] == "planned"]
    if planned_all:
        few = sorted(planned_all, key=lambda r: r["threads_placed"])[:5]
        out += [
            "",
            "## Fewest threads placed",
            "",
            "| case | seed | dura mode | threads placed of | binding constraint | region share undetectable |",
            "|---|---|---|---|---|---|",
        ]
        for r in few:
            seed = "-" if r.get("seed") is None else str(r["seed"])
            out.append(
                f"| {r['case']} | {seed} | {r['dura_mode']} | {r['threads_placed']} of "
                f"{r['n_threads']} | {r.get('binding_constraint') or '-'} | "
                f"{_fmt(r.get('region_undetectable_fraction'), '.1%')} |"
            )
    refused = [r for r in rows if r["status"] == "refused"]
    if refused:
        out += ["", "## Refusals", "", "| reason | cases | e.g. |", "|---|---|---|"]
        reasons = Counter(_first(r["refusal"]) for r in refused)
        for reason, k in reasons.most_common(10):
            eg = ", ".join(r["case"] for r in refused if _first(r["refusal"]) == reason)
            out.append(f"| {reason} | {k} | {_short(eg)} |")
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        out += ["", "## Errors", "", "| case | error |", "|---|---|"]
        for r in errors[:50]:
            out.append(f"| {r['case']} | {_short(r['error'], 300).replace('|', '/')} |")
        if len(errors) > 50:
            out.append(f"| ... | {len(errors) - 50} more in results.csv |")
    return "\n".join(out) + "\n"


def _first(refusal: str) -> str:
    return (refusal or "").split(";")[0].strip()


def _short(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def write_summary(
    rows: Sequence[dict[str, Any]], out_dir: Path, *, run: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write ``summary.md`` and, with matplotlib, ``summary.png`` into ``out_dir``."""
    text = summary_markdown(rows, run=run)
    png: bytes | None = None
    try:
        png = summary_figure(rows)
    except ImportError as exc:
        text += f"\n(summary.png not written: {exc}; install the viz extra)\n"
    else:
        text += "\n![distributions and worst cases](summary.png)\n"
    staged: dict[str, tuple[Path, bytes]] = {"summary_md": (out_dir / "summary.md", text.encode())}
    if png is not None:
        staged["summary_png"] = (out_dir / "summary.png", png)
    paths = atomic_write_all(dict(staged.values()))  # the page and its figure, or neither
    return dict(zip(staged, paths, strict=True))


def summary_figure(rows: Sequence[dict[str, Any]]) -> bytes:
    """PNG of the distributions per dura mode and the worst cases with their seeds.

    Raises
    ------
    ImportError
        Without matplotlib.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    modes = sorted({r["dura_mode"] for r in rows})
    colours = {"durectomy": "tab:blue", "transdural": "tab:orange"}
    planned = [r for r in rows if r["status"] == "planned"]
    panels: list[tuple[Any, str, str, Callable[[dict[str, Any]], bool]]] = [
        (axes[0, 0], "threads_placed", "threads placed", lambda r: True),
        (axes[0, 1], "dice", "Dice of the segmented vessels vs truth", _scored),
        (axes[0, 2], "min_clearance_to_truth_um", "closest thread to a true vessel (um)", _scored),
        (
            axes[1, 0],
            "min_margin_to_truth_um",
            "margin beyond the required clearance (um)",
            _scored,
        ),
        (axes[1, 1], "allowed_share", "share of the region allowed", lambda r: True),
    ]
    for ax, key, label, keep in panels:
        data = [
            _values([r for r in planned if r["dura_mode"] == m and keep(r)], key) for m in modes
        ]
        if any(data):
            ax.hist(
                [d for d in data], bins=20, label=[f"{m} ({len(d)})" for m, d in zip(modes, data, strict=True)],
                color=[colours.get(m, "grey") for m in modes], histtype="stepfilled", alpha=0.55,
            )  # fmt: skip
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        if key == "min_margin_to_truth_um":
            ax.axvline(0.0, color="red", lw=1)
        ax.set_xlabel(label)
        ax.set_ylabel("cases")
    ax = axes[1, 2]
    ax.axis("off")
    status = Counter(r["status"] for r in rows)
    lines = [
        f"{len(rows)} cases: {status.get('planned', 0)} planned, {status.get('refused', 0)} refused, "
        f"{status.get('error', 0)} errors",
        "",
        "worst cases (too close / margin um / Dice):",
    ]
    for r in worst_cases(rows, 8):
        seed = "-" if r.get("seed") is None else r["seed"]
        lines.append(
            f"seed {seed} {r['dura_mode'][:5]}: {r['threads_too_close']} / "
            f"{_fmt(r['min_margin_to_truth_um'])} / {_fmt(r['dice'], '.3f')}"
        )
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=9,
            transform=ax.transAxes)  # fmt: skip
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
