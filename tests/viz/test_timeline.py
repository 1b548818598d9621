"""The surgery timeline: bars from the simulation section, retries, failures."""

from __future__ import annotations

import pytest

from insertion_planner import viz


def test_bars_follow_one_another(simulated_plan):
    bars = viz.timeline_bars(simulated_plan)
    assert [(b.row, b.phase, b.attempt) for b in bars] == [
        (0, "travel", 0),
        (0, "insert", 0),
        (1, "travel", 0),
        (1, "insert", 0),
        (2, "insert", 1),
    ]
    assert [b.start_s for b in bars] == [0.0, 3.0, 10.0, 13.5, 17.5]
    assert bars[-1].start_s + bars[-1].duration_s == pytest.approx(23.5)
    assert [b.ok for b in bars] == [True, True, False, False, False]


def test_bars_without_starts_follow_one_another():
    sim = {"insertions": [
        {"thread_id": 3, "ok": True, "phases": [{"name": "a", "duration_s": 2.0},
                                                {"name": "b", "duration_s": 1.0}]},
        {"thread_id": 4, "ok": True, "time_s": 4.0},
    ]}  # fmt: skip
    assert [(b.start_s, b.duration_s) for b in viz.timeline_bars(sim)] == [
        (0.0, 2.0), (2.0, 1.0), (3.0, 4.0)]  # fmt: skip


def test_explicit_starts_are_kept():
    sim = {
        "insertions": [
            {
                "thread_id": 5,
                "ok": True,
                "phases": [{"name": "load", "start_s": 2.0, "duration_s": 1.0}],
            }
        ]
    }
    (bar,) = viz.timeline_bars(sim)
    assert (bar.thread_id, bar.start_s, bar.duration_s) == (5, 2.0, 1.0)


def test_no_simulation_is_an_error(example_plan):
    with pytest.raises(ValueError, match="no simulation"):
        viz.timeline_bars(example_plan)


def test_timeline_figure(simulated_plan):
    fig = viz.plot_timeline(simulated_plan)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["T01", "T02 \u2717", "T02 (retry 1) \u2717"]  # ids 0, 1 = orders 0, 1
    assert [t.get_color() for t in ax.get_yticklabels()][1:] == ["red", "red"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["travel", "insert", "retry"]
    assert len(ax.collections) == 5  # one bar per phase
    assert ax.get_xlim()[1] == pytest.approx(23.5 * 1.01)
