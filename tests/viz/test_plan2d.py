"""The 2-D plan figure: what is drawn where, from layers and from plans."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from matplotlib.collections import PathCollection

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
    labels = {t.get_text(): t.get_position() for t in ax.texts}  # T01 is inserted first (order 0)
    assert labels == {"T03": (20.0, 20.0), "T01": (30.0, 70.0), "T02": (70.0, 70.0)}
    # the colour bar spans the margins
    assert fig.axes[1].get_ylabel().startswith("clearance margin")


def test_failed_marked_and_legend_complete():
    fig = plot_plan(_layers())
    ax = fig.axes[0]
    crosses = [
        c
        for c in ax.collections
        if isinstance(c, PathCollection) and len(c.get_offsets()) == 1 and c.get_array() is None
    ]
    assert len(crosses) == 1
    np.testing.assert_allclose(crosses[0].get_offsets(), [[70.0, 70.0]])
    assert set(_legend_labels(ax)) == {
        "forbidden zone",
        "vessel outline",
        "target region",
        "tether",
        "thread exit",
        "insertion site (T01 = first)",
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
    np.testing.assert_allclose(layers.craniectomy, (100.0, 100.0, 12500.0 / 12.0))


def test_figure_png_is_png(example_plan):
    png = viz.figure_png(plot_plan(example_plan), dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'insertion_planner\[viz\]'"):
        plot_plan(_layers())


# -- zoom, inset, margin colours, tethers ---------------------------------------------------


def _small_region_layers(**kw):
    """A 1000 x 1000 px field (12 mm) with a 100 x 150 px target region and three sites."""
    region = np.zeros((1000, 1000), bool)
    region[400:500, 300:450] = True
    base = dict(
        shape=(1000, 1000),
        pixel_size_um=12.0,
        sites_rc=np.array([[420.0, 320.0], [450.0, 400.0], [480.0, 440.0]]),
        order=np.array([0, 1, 2]),
        margin_um=np.array([-10.0, 25.0, 150.0]),
        failed=np.array([False, False, False]),
        tethers_rc=[np.array([[990.0, 500.0], [420.0, 320.0]])] * 3,
        region=region,
    )
    base.update(kw)
    return PlanLayers(**base)


def _inset(ax):
    found = [a for a in ax.child_axes if a.get_gid() == "overview-inset"]
    assert len(found) <= 1
    return found[0] if found else None


def _sites(ax):
    (sites,) = [
        c for c in ax.collections if isinstance(c, PathCollection) and c.get_array() is not None
    ]
    return sites


def test_zoom_shows_the_region_with_a_small_pad():
    ax = plot_plan(_small_region_layers()).axes[0]
    (c0, c1), (r1, r0) = ax.get_xlim(), ax.get_ylim()
    # the region's pixel edges are rows 399.5..499.5, cols 299.5..449.5
    assert c0 < 299.5 and c1 > 449.5 and r0 < 399.5 and r1 > 499.5
    # a small pad: 8 % of the larger side (12 px) on each side, more only on the side the
    # inset pushes away from the sites
    pads = sorted([299.5 - c0, c1 - 449.5, 399.5 - r0, r1 - 499.5])
    assert pads[:3] == pytest.approx([12.0, 12.0, 12.0])
    assert pads[3] < 0.6 * 150
    assert (c1 - c0) < 0.3 * 1000 and (r1 - r0) < 0.3 * 1000
    # 100 um of margin is now about 3 % of the axes width, not 0.8 %
    assert 100.0 / 12.0 / (c1 - c0) > 0.03


def test_inset_shows_the_whole_field_and_the_shown_box():
    ax = plot_plan(_small_region_layers()).axes[0]
    inset = _inset(ax)
    assert inset is not None
    assert inset.get_xlim() == (-0.5, 999.5) and inset.get_ylim() == (999.5, -0.5)
    (box,) = [p for p in inset.patches if p.get_gid() == "view-box"]
    (c0, c1), (r1, r0) = ax.get_xlim(), ax.get_ylim()
    np.testing.assert_allclose(
        [box.get_x(), box.get_y(), box.get_width(), box.get_height()], [c0, r0, c1 - c0, r1 - r0]
    )
    # the inset hides no site
    fig = ax.figure
    fig.draw_without_rendering()
    pts = ax.transData.transform(_sites(ax).get_offsets())
    assert not any(inset.bbox.contains(x, y) for x, y in pts)


def test_whole_field_on_request_and_without_inset():
    ax = plot_plan(_small_region_layers(), zoom=False).axes[0]
    assert ax.get_xlim() == (-0.5, 999.5) and ax.get_ylim() == (999.5, -0.5)
    assert _inset(ax) is None
    assert _inset(plot_plan(_small_region_layers(), inset=False).axes[0]) is None


def test_scale_bar_fits_the_zoomed_view():
    bars = [
        a for a in plot_plan(_small_region_layers()).axes[0].artists if a.get_gid() == "scale-bar"
    ]
    assert bars[0].txt_label.get_text() == "250 \u00b5m"  # of a view about 2 mm wide


def test_margin_colours_capped_with_critical_and_violation_apart():
    fig = plot_plan(_small_region_layers())
    sites = _sites(fig.axes[0])
    cb = sites.colorbar
    assert cb.norm.vmax == 200.0 and cb.ax.get_ylim()[1] == 200.0
    assert cb.extend == "max"
    assert cb.ax.get_ylabel().startswith("clearance margin")

    def rgb(margin):
        return np.array(sites.cmap(sites.norm(margin))[:3])

    assert np.linalg.norm(rgb(25.0) - rgb(150.0)) > 0.5  # critical amber vs safe blue
    assert np.linalg.norm(rgb(25.0) - rgb(-10.0)) > 0.4  # critical vs violation
    for bad in (-1.0, -10.0, -400.0):  # every violation red, however deep
        r, g, b = rgb(bad)
        assert r > 0.6 and g < 0.2 and b < 0.25
    np.testing.assert_allclose(rgb(250.0), rgb(5000.0))  # beyond the cap: one colour
    np.testing.assert_allclose(rgb(0.0), rgb(49.0))  # 0-50 um: one critical colour
    # the sites carry their colour: the violation red, the critical one amber
    drawn = sites.to_rgba(sites.get_array())[:, :3]
    np.testing.assert_allclose(drawn, [rgb(-10.0), rgb(25.0), rgb(150.0)])
    texts = {t.get_text() for t in cb.ax.texts}
    assert texts == {"violation", "critical"}


def test_margin_cap_is_an_option_and_checked():
    fig = plot_plan(_small_region_layers(), margin_cap_um=500.0, critical_margin_um=100.0)
    sites = _sites(fig.axes[0])
    assert sites.colorbar.norm.vmax == 500.0
    np.testing.assert_allclose(sites.cmap(sites.norm(0.0)), sites.cmap(sites.norm(99.0)))
    with pytest.raises(ValueError, match="margin_cap_um"):
        plot_plan(_small_region_layers(), margin_cap_um=40.0)
    with pytest.raises(ValueError, match="critical_margin_um"):
        plot_plan(_small_region_layers(), critical_margin_um=-5.0)


def _stroke(artist):
    from matplotlib.patheffects import withStroke

    effects = artist.get_path_effects()
    return [e for e in effects if isinstance(e, withStroke)]


@pytest.mark.parametrize("background", ["white", "dark image"])
def test_tethers_have_a_dark_outline_on_any_background(example_plan, background):
    image = None if background == "white" else np.zeros((200, 200), np.uint8)
    ax = plot_plan(example_plan, image).axes[0]
    (tethers,) = [c for c in ax.collections if c.get_gid() == "tethers"]
    assert len(tethers.get_segments()) == 2
    (stroke,) = _stroke(tethers)
    core = tethers.get_colors()[0]
    assert core.tolist() == [1.0, 1.0, 1.0, 1.0]  # light core shows on a dark image
    outline = np.array(stroke._gc["foreground"][:3], float)
    assert outline.max() < 0.3  # dark outline shows on white
    assert stroke._gc["linewidth"] > tethers.get_linewidths()[0]
    # the legend's swatch is drawn the same way
    (swatch,) = [h for h in ax.get_legend().legend_handles if h.get_label() == "tether"]
    assert swatch.get_color() == "white" and swatch.get_linewidth() == tethers.get_linewidths()[0]
    (swatch_stroke,) = _stroke(swatch)
    assert swatch_stroke._gc == stroke._gc
