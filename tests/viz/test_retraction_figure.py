"""The retraction figure: one column per thread in insertion order, the report's numbers."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import insertion_planner as ip
from insertion_planner.plan import Thread, _example_plan
from insertion_planner.viz import plot_retraction

N = 12
ORDER = [5, 0, 9, 2, 11, 7, 1, 10, 3, 8, 4, 6]  # ORDER[i]: insertion order of thread id i


@pytest.fixture(scope="module")
def plan():
    """12 threads whose ids are not their insertion order, at depths 2600-4800 um."""
    base = _example_plan()
    exit_um = base.geometry.thread_exit_um
    threads = []
    for i in range(N):
        x = 600.0 + 150.0 * i
        threads.append(
            Thread(i, ORDER[i], (100.0, x / 12.0), (x, 1200.0, 0.0), (0.0, 0.0, -1.0),
                   2600.0 + 200.0 * i, 200.0, 86.5, "planned",
                   (tuple(exit_um), (exit_um[0], 1200.0, 0.0), (x, 1200.0, 0.0)), 1.0)
        )  # fmt: skip
    return dataclasses.replace(base, threads=tuple(threads), n_requested=N)


@pytest.fixture(scope="module")
def thickness():
    """A cortex 3000 um thick on the left of the image, 4500 um on the right."""
    return np.repeat(np.linspace(3000.0, 4500.0, 200)[None, :], 200, axis=0)


@pytest.fixture(scope="module")
def report(plan, thickness):
    return ip.retraction_risk(plan, implant_gap_um=2500.0, slack_um=0.0,
                              cortex_thickness_um=thickness, rng=3)  # fmt: skip


def _container(ax, start):
    found = [c for c in ax.containers if str(c.get_label()).startswith(start)]
    assert len(found) == 1, [c.get_label() for c in ax.containers]
    return found[0]


def _ticks(ax):
    return [t.get_text() for t in ax.get_xticklabels()]


def test_labels_run_in_insertion_order_and_match_the_plan(plan, report):
    fig = plot_retraction(report, plan=plan)
    expected = [t.label for t in sorted(plan.threads, key=lambda t: t.order)]
    assert expected == [f"T{k:02d}" for k in range(1, N + 1)]
    assert _ticks(fig.axes[1]) == expected
    assert _ticks(plot_retraction(report).axes[1]) == expected  # without the plan too
    # the column of T01 is thread id 1 (inserted first): its electrodes end at its depth
    by_label = {t.label: t for t in plan.threads}
    spans = _container(fig.axes[0], "electrodes")
    bottoms = [p.get_y() + p.get_height() for p in spans.patches]
    assert bottoms == pytest.approx([by_label[lab].depth_um for lab in expected])
    assert [p.get_x() + p.get_width() / 2 for p in spans.patches] == pytest.approx(range(N))


def test_retained_fraction_in_the_title_is_the_reports(report):
    title = plot_retraction(report).axes[0].get_title()
    m = re.fullmatch(
        r"electrodes retained at day (\S+): (\S+) % \(gap (\S+) um; binding term: (\w+)\)", title
    )
    assert m is not None, title
    assert float(m.group(1)) == report.days == 30.0
    assert float(m.group(2)) == round(100 * report.electrodes_retained_fraction, 1)
    assert 0.0 < report.electrodes_retained_fraction < 1.0
    assert float(m.group(3)) == 2500.0
    assert m.group(4) == report.binding_term == "tether_reach"


def test_one_bar_and_one_marker_per_thread_with_the_reports_numbers(report):
    fig = plot_retraction(report)
    depth_ax, electrodes_ax, pull_ax = fig.axes
    fates = report.threads
    for start, values in [
        ("expected in cortex", [t.electrodes_in_cortex for t in fates]),
        ("of which retained", [t.electrodes_retained for t in fates]),
        ("in cortex at insertion", [t.electrodes_in_cortex_at_insertion for t in fates]),
    ]:
        bars = _container(electrodes_ax, start)
        assert len(bars.patches) == N
        assert [p.get_height() for p in bars.patches] == pytest.approx(values)
    (markers,) = pull_ax.get_lines()
    assert len(markers.get_xdata()) == N
    assert list(markers.get_ydata()) == pytest.approx([t.pull_out_probability for t in fates])
    assert len(_container(depth_ax, "electrodes").patches) == N
    (thick,) = [c for c in depth_ax.collections if c.get_label() == "local cortical thickness"]
    levels = [seg[0][1] for seg in thick.get_segments()]
    assert levels == pytest.approx([t.cortex_thickness_um for t in fates])
    assert len(set(np.round(levels))) > 3  # the map varies under the threads
    # electrode span: 15 pitches of 200 um above the tip
    spans = _container(depth_ax, "electrodes")
    assert [p.get_height() for p in spans.patches] == pytest.approx([3000.0] * N)
    # the tip after retraction: median marker at depth - median retraction
    tips = _container(depth_ax, "tip at day 30")
    assert list(tips.lines[0].get_ydata()) == pytest.approx(
        [t.depth_um - t.retraction_um_median for t in fates]
    )
    assert depth_ax.yaxis_inverted()


def test_inactive_threads_are_grey_columns_without_bars(plan, thickness):
    failed = dataclasses.replace(
        plan,
        threads=tuple(
            dataclasses.replace(t, status="failed") if t.order in (2, 5) else t
            for t in plan.threads
        ),
    )
    rep = ip.retraction_risk(failed, implant_gap_um=2500.0, cortex_thickness_um=thickness, rng=3)
    assert [t.label for t in rep.threads] == [
        f"T{k:02d}" for k in range(1, N + 1) if k not in (3, 6)
    ]
    fig = plot_retraction(rep, plan=failed)
    ax = fig.axes[1]
    assert _ticks(ax) == [f"T{k:02d}" for k in range(1, N + 1)]
    grey = [t.get_text() for t in ax.get_xticklabels() if t.get_color() == "0.6"]
    assert grey == ["T03", "T06"]
    bars = _container(ax, "expected in cortex")
    assert len(bars.patches) == N - 2
    assert 2.0 not in [p.get_x() + p.get_width() / 2 for p in bars.patches]
    assert _ticks(plot_retraction(rep).axes[1]) == [t.label for t in rep.threads]


def test_a_plan_the_report_was_not_made_for_is_refused(plan, report):
    with pytest.raises(ValueError, match=r"^plan must be the plan the report was made for"):
        plot_retraction(report, plan=_example_plan())
    reordered = dataclasses.replace(
        plan, threads=tuple(dataclasses.replace(t, order=N - 1 - t.order) for t in plan.threads)
    )
    with pytest.raises(ValueError, match=r"report's T01 \(thread id 1\) is T12 in the plan"):
        plot_retraction(report, plan=reordered)
    with pytest.raises(TypeError, match=r"^report must be a RetractionReport"):
        plot_retraction({"threads": []})
    with pytest.raises(TypeError, match=r"^plan must be an InsertionPlan"):
        plot_retraction(report, plan="plan.json")
    with pytest.raises(TypeError, match=r"^ax must be a matplotlib Axes"):
        plot_retraction(report, ax="left")


def test_draws_into_given_axes_and_renders_with_agg(report):
    fig = Figure(figsize=(10, 5))
    left, right = fig.subplots(1, 2)
    out = plot_retraction(report, ax=right)  # one Axes: its place is split in two
    assert out is fig and left in fig.axes and right not in fig.axes
    assert len(fig.axes) == 4  # left, depth, electrodes, pull-out probability
    pair = Figure().subplots(2, 1)
    assert plot_retraction(report, ax=pair) is pair[0].figure
    assert _ticks(pair[1])[0] == "T01"
    buf = io.BytesIO()
    FigureCanvasAgg(out).print_png(buf)
    assert buf.getvalue().startswith(b"\x89PNG")
