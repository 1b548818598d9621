"""One thread numbering in every view, and thread labels that never overlap."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import insertion_planner as ip
from insertion_planner import viz
from insertion_planner.viz import PlanLayers, plot_plan
from insertion_planner.viz._layers import place_labels, thread_labels

from .conftest import SIMULATION


@pytest.fixture(scope="module")
def plan64():
    """64 threads on a 1024 x 1024 synthetic cortex (default region, under a second)."""
    case = ip.synthetic_cortex(0, shape=(1024, 1024))
    plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, n_threads=64, rng=0)
    assert len(plan.threads) == 64
    return plan, case.image


@pytest.fixture(scope="module")
def swapped_plan(example_plan):
    """The example plan with insertion order and id apart: thread id 1 goes in first."""
    threads = tuple(
        dataclasses.replace(t, order=1 - t.order) for t in example_plan.threads
    )  # id 0 -> order 1, id 1 -> order 0
    return dataclasses.replace(example_plan, threads=threads).with_simulation(
        SIMULATION, {0: "validated", 1: "failed"}
    )


def _draw(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _boxes(texts, renderer):
    return np.array([t.get_window_extent(renderer).extents for t in texts])


def _overlapping_pairs(boxes):
    x0, y0, x1, y1 = boxes.T
    dx = np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None])
    dy = np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None])
    overlap = (dx > 0) & (dy > 0)
    np.fill_diagonal(overlap, False)
    return np.argwhere(np.triu(overlap))


def _assert_no_overlap(ax, renderer, n):
    texts = list(ax.texts)
    assert sorted(t.get_text() for t in texts) == [f"T{k:02d}" for k in range(1, n + 1)]
    boxes = _boxes(texts, renderer)
    assert _overlapping_pairs(boxes).tolist() == []
    # every label inside the axes and off the inset
    ab = ax.bbox.extents
    assert (boxes[:, :2] >= ab[:2] - 0.5).all() and (boxes[:, 2:] <= ab[2:] + 0.5).all()
    for inset in ax.child_axes:
        ib = inset.get_tightbbox(renderer).extents
        assert _overlapping_pairs(np.vstack([ib, boxes]))[:, 0].tolist().count(0) == 0
    # no label covers a site
    sites = ax.transData.transform([t.get_position() for t in texts])
    inside = (
        (sites[:, None, 0] > boxes[None, :, 0]) & (sites[:, None, 0] < boxes[None, :, 2])
        & (sites[:, None, 1] > boxes[None, :, 1]) & (sites[:, None, 1] < boxes[None, :, 3])
    )  # fmt: skip
    assert not inside.any()
    return boxes, sites


def test_64_labels_do_not_overlap(plan64):
    plan, image = plan64
    fig = plot_plan(plan, image)
    ax = fig.axes[0]
    _assert_no_overlap(ax, _draw(fig), 64)
    placed = [t.get_transform() for t in ax.texts]
    _draw(fig)  # drawing again moves nothing (and so does not make the figure stale)
    assert all(a is t.get_transform() for a, t in zip(placed, ax.texts, strict=True))
    # placed at draw time: still apart in a smaller figure
    fig.set_size_inches(5.0, 5.5)
    _assert_no_overlap(ax, _draw(fig), 64)


def test_labels_of_a_dense_cluster_get_leader_lines():
    rng = np.random.default_rng(0)
    sites = np.array([[50.0 + 6 * i, 50.0 + 6 * j] for i in range(6) for j in range(6)])
    sites += rng.uniform(-1, 1, sites.shape)
    n = len(sites)
    layers = PlanLayers((200, 200), 10.0, sites, np.arange(n), np.full(n, 80.0), np.zeros(n, bool))
    fig = plot_plan(layers, zoom=False)
    ax = fig.axes[0]
    boxes, anchors = _assert_no_overlap(ax, _draw(fig), n)
    (leaders,) = [c for c in ax.collections if c.get_gid() == "label-leaders"]
    segs = leaders.get_segments()
    assert 0 < len(segs) < n
    # each leader runs from next to a site to the edge of a label box
    starts = ax.transData.transform(np.array([s[0] for s in segs]))
    ends = ax.transData.transform(np.array([s[1] for s in segs]))
    near_site = np.hypot(*(starts[:, None] - anchors[None]).transpose(2, 0, 1)).min(axis=1)
    assert (near_site < 10).all()
    gap_x = np.maximum(boxes[None, :, 0] - ends[:, None, 0], ends[:, None, 0] - boxes[None, :, 2])
    gap_y = np.maximum(boxes[None, :, 1] - ends[:, None, 1], ends[:, None, 1] - boxes[None, :, 3])
    to_box = np.hypot(np.clip(gap_x, 0, None), np.clip(gap_y, 0, None)).min(axis=1)
    assert (to_box < 3.0).all()  # at the rounded box drawn around the text
    fig.savefig("/tmp/dense_labels.png", dpi=100)


def test_place_labels_is_deterministic_and_apart():
    rng = np.random.default_rng(3)
    anchors = rng.uniform(0, 300, (40, 2))
    sizes = np.tile([18.0, 9.0], (40, 1))
    a = place_labels(anchors, sizes, bounds=(0, 0, 300, 300))
    b = place_labels(anchors, sizes, bounds=(0, 0, 300, 300))
    np.testing.assert_array_equal(a[0], b[0])
    boxes = np.hstack([a[0] - sizes / 2, a[0] + sizes / 2])
    assert _overlapping_pairs(boxes).tolist() == []
    with pytest.raises(ValueError, match="sizes_wh"):
        place_labels(anchors, sizes[:3], bounds=(0, 0, 300, 300))


# -- one numbering ---------------------------------------------------------------------------


def test_thread_labels_map_ids_through_the_plan(swapped_plan):
    assert thread_labels(swapped_plan) == {0: "T02", 1: "T01"}
    assert [t.label for t in sorted(swapped_plan.threads, key=lambda t: t.id)] == ["T02", "T01"]


def test_figure_and_timeline_name_threads_alike(swapped_plan):
    first = next(t for t in swapped_plan.threads if t.order == 0)
    ax = plot_plan(swapped_plan).axes[0]
    labels = {t.get_text(): t.get_position() for t in ax.texts}
    assert labels["T01"] == (first.pixel[1], first.pixel[0])  # thread id 1's site
    # the simulation's first record is thread id 0: inserted second, T02
    rows = [t.get_text() for t in viz.plot_timeline(swapped_plan).axes[0].get_yticklabels()]
    assert rows == ["T02", "T01 \u2717", "T01 (retry 1) \u2717"]
    assert [b.label for b in viz.timeline_bars(swapped_plan)][::2] == ["T02", "T01", "T01"]


def test_timeline_of_a_bare_simulation(swapped_plan):
    rows = viz.plot_timeline(SIMULATION).axes[0].get_yticklabels()
    assert rows[0].get_text() == "thread id 0"  # no plan: the id, never mistaken for T01
    rows = viz.plot_timeline(SIMULATION, plan=swapped_plan).axes[0].get_yticklabels()
    assert rows[0].get_text() == "T02"


def test_timeline_of_a_simulation_report_uses_its_plan(swapped_plan):
    class Report:  # what SimulationReport offers the views
        plan = swapped_plan

        def to_plan_section(self):
            return SIMULATION

    rows = viz.plot_timeline(Report()).axes[0].get_yticklabels()
    assert [t.get_text() for t in rows][:2] == ["T02", "T01 \u2717"]
    page = viz.report_html(Report(), figure=False)
    assert "<tr><td>T02</td>" in page and "<tr><td>T01</td>" in page


def test_report_thread_table_and_scene_use_labels(swapped_plan):
    page = viz.build_report([viz.ReportRun(swapped_plan, label="x", plan_png=b"")])
    rows = page.split('<tr class="thread">')[1:]
    assert [r.split("</td>")[0] for r in rows] == ['<td class="label">T01', '<td class="label">T02']
    assert "<td>1</td>" in rows[0].split("</td>", 1)[1][:12]  # T01 is thread id 1
    fig = viz.plot_scene(swapped_plan)
    (entries,) = [t for t in fig.data if t.name == "entry points (order)"]
    by_label = dict(zip(entries.text, entries.x, strict=True))
    first = next(t for t in swapped_plan.threads if t.order == 0)
    assert by_label["T01"] == first.entry_um[0]


def test_no_view_numbers_threads_otherwise(plan64):
    plan, image = plan64
    fig = Figure()
    plot_plan(plan, image, ax=fig.add_subplot())
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert texts == {t.label for t in plan.threads}


def test_a_figure_with_labels_still_pickles(example_plan):
    import pickle

    fig = pickle.loads(pickle.dumps(plot_plan(example_plan)))
    ax = fig.axes[0]
    renderer = _draw(fig)
    assert sorted(t.get_text() for t in ax.texts) == ["T01", "T02"]
    assert _overlapping_pairs(_boxes(ax.texts, renderer)).tolist() == []
