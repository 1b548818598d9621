"""The 2-D plan figure: what is drawn where, from layers and from plans."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from insertion_planner import viz
from insertion_planner.viz import PlanLayers, nice_scale_um, plot_plan


def _layers(**kw):
    h = w = 96
    mask = np.zeros((h, w), bool)
    mask[40:44, :] = True
    forbidden = np.zeros((h, w), bool)
    forbidden[34:50, :] = True
    region = np.zeros((h, w), bool)
    region[10:90, 10:90] = True
    base = dict(
        shape=(h, w),
        pixel_size_um=10.0,
        sites_rc=np.array([[20.0, 20.0], [70.0, 30.0], [70.0, 70.0]]),
        order=np.array([0, 1, 2]),
        margin_um=np.array([12.0, 55.0, 3.0]),
        failed=np.array([False, False, True]),
        tethers_rc=[np.array([[95.0, 48.0], [20.0, 20.0]])] * 3,
        vessel_mask=mask,
        forbidden=forbidden,
        region=region,
        craniectomy=(48.0, 48.0, 45.0),
        thread_exit_rc=(95.0, 48.0),
    )
    base.update(kw)
    return PlanLayers(**base)


def _legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize(
    ("width", "bar"), [(960.0, 100.0), (12288.0, 2000.0), (24576.0, 2500.0), (2000.0, 250.0)]
)
def test_scale_bar_length_is_round_and_about_a_fifth(width, bar):
    assert nice_scale_um(width) == bar
    assert 0.1 * width <= bar <= 0.2 * width


def test_nice_scale_rejects_nonpositive():
    with pytest.raises(ValueError, match="width_um"):
        nice_scale_um(0.0)


def test_sites_coloured_by_margin_and_numbered_in_order():
    layers = _layers(order=np.array([2, 0, 1]))
    fig = plot_plan(layers, np.zeros((96, 96), np.uint8))
    ax = fig.axes[0]
    sites = [c for c in ax.collections if c.get_array() is not None and len(c.get_offsets()) == 3]
    assert len(sites) == 1
    np.testing.assert_allclose(sites[0].get_array(), [12.0, 55.0, 3.0])
    np.testing.assert_allclose(
        sites[0].get_offsets(), [[20, 20], [30, 70], [70, 70]]
    )  # (x=col, y=row)
    labels = {t.get_text(): t.xy for t in ax.texts}
    assert labels == {"3": (20.0, 20.0), "1": (30.0, 70.0), "2": (70.0, 70.0)}
    # the colour bar spans the margins
    assert fig.axes[1].get_ylabel().startswith("clearance margin")


def test_failed_marked_and_legend_complete():
    fig = plot_plan(_layers())
    ax = fig.axes[0]
    crosses = [c for c in ax.collections if len(c.get_offsets()) == 1 and c.get_array() is None]
    assert len(crosses) == 1
    np.testing.assert_allclose(crosses[0].get_offsets(), [[70.0, 70.0]])
    assert set(_legend_labels(ax)) == {
        "forbidden zone",
        "vessel outline",
        "target region",
        "tether",
        "thread exit",
        "insertion site (order)",
        "failed / rejected",
    }


def test_forbidden_overlay_matches_mask():
    layers = _layers()
    ax = plot_plan(layers).axes[0]
    overlays = [
        im for im in ax.get_images() if im.get_array().ndim == 3 and im.get_array().shape[2] == 4
    ]
    assert len(overlays) == 1
    alpha = np.asarray(overlays[0].get_array())[..., 3] > 0
    np.testing.assert_array_equal(alpha, layers.forbidden)


def test_scale_bar_label_in_mm_or_um():
    def scale_text(fig):
        bars = [a for a in fig.axes[0].artists if a.get_gid() == "scale-bar"]
        assert len(bars) == 1
        return bars[0].txt_label.get_text()

    assert scale_text(plot_plan(_layers())) == "100 \u00b5m"
    assert scale_text(plot_plan(_layers(pixel_size_um=100.0))) == "1 mm"


def test_no_sites_no_colour_bar():
    fig = plot_plan(
        _layers(
            sites_rc=np.zeros((0, 2)),
            order=np.zeros(0, int),
            margin_um=np.zeros(0),
            failed=np.zeros(0, bool),
            tethers_rc=[],
        )
    )
    assert len(fig.axes) == 1


def test_image_shape_must_match():
    with pytest.raises(ValueError, match=r"image must have shape \(96, 96\)"):
        plot_plan(_layers(), np.zeros((50, 50)))


def test_plan_figure_from_plan_uses_segments_and_title(simulated_plan):
    fig = plot_plan(simulated_plan)
    ax = fig.axes[0]
    assert ax.get_title() == "durectomy: 2 of 2 threads, min margin 114 \u00b5m"
    assert "vessel centreline" in _legend_labels(ax)
    assert "failed / rejected" in _legend_labels(ax)  # thread 1 failed in the simulation
    layers = viz.plan_layers(simulated_plan)
    np.testing.assert_allclose(layers.vessel_segments_rc[0], [50.0, 0.0, 50.0, 200.0, 40.0 / 12.0])
    np.testing.assert_array_equal(layers.failed, [False, True])
    np.testing.assert_allclose(layers.craniectomy, (100.0, 100.0, 100.0))


def test_figure_png_is_png(example_plan):
    png = viz.figure_png(plot_plan(example_plan), dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'insertion_planner\[viz\]'"):
        plot_plan(_layers())
