"""The 2-D plan figure (matplotlib): image, vessels, forbidden zone, region, sites, tethers.

What a surgeon reads at a glance: the figure shows the target region, not the whole field
(the field is a small inset with the region's box on it), so a 100 um margin spans
several screen pixels; sites are coloured by their clearance margin on a scale that
stops where margins stop mattering; every site is labelled ``T01``, ``T02``, ... (the
:attr:`~insertion_planner.plan.Thread.label` every view uses) with no two labels
overlapping; tethers are light lines with a dark outline, visible on any background.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._deps import require
from ._labels import CROSS_SIZE_PT2, draw_labels
from ._layers import PlanLayers, inset_corner, plan_layers, view_box_rc

__all__ = ["plot_plan", "draw_layers", "figure_png", "nice_scale_um", "MARGIN_COLOURS"]

_FEATURE = "the 2-D plan figure"
_FORBIDDEN_RGBA = (0.05, 0.05, 0.25, 0.45)
_VESSEL = "#00bcd4"
_REGION = "#ffd54f"
_VIEW_BOX = "#d500f9"
_TETHER = {"color": "white", "lw": 0.7, "stroke_lw": 1.9, "stroke": "0.1"}
_SITE_SIZE_PT2 = 28.0
_INSET_FRACTION = 0.3

MARGIN_COLOURS = {
    "violation": "#b2182b",
    "critical": "#ffa726",
    "safe": ("#b7d4ea", "#91c3de", "#64a9d3", "#4090c5", "#2373b6", "#0d57a1"),
    "beyond": "#08306b",
}
"""Colours of the clearance-margin scale.

Red below 0 (a violation), amber from 0 to ``critical_margin_um`` (critical), six bands of
blue from light to dark up to ``margin_cap_um``, dark blue beyond (the colour bar's
``extend="max"`` triangle). Red, amber and blue differ in hue and lightness, so they also
read apart for red-green colour blindness and in greyscale.
"""


def nice_scale_um(width_um: float, *, fraction: float = 0.2) -> float:
    """A round scale-bar length (um) close to ``fraction`` of ``width_um``.

    Examples
    --------
    >>> nice_scale_um(12288.0)
    2000.0
    >>> nice_scale_um(5120.0)
    1000.0
    >>> nice_scale_um(300.0)
    50.0
    """
    if not np.isfinite(width_um) or width_um <= 0:
        raise ValueError(f"width_um must be positive, got {width_um}")
    target = width_um * fraction
    exp = 10.0 ** np.floor(np.log10(target))
    for step in (5.0, 2.5, 2.0, 1.0):
        if step * exp <= target:
            return float(step * exp)
    return float(exp)  # pragma: no cover - step 1 always fits


def _scale_label(length_um: float) -> str:
    return f"{length_um / 1000:g} mm" if length_um >= 1000 else f"{length_um:g} \u00b5m"


def _image_for_display(image: Any, shape: tuple[int, int]) -> NDArray[Any]:
    img = np.asarray(image)
    if img.shape[:2] != tuple(shape):
        raise ValueError(
            f"image must have shape {tuple(shape)} (the plan's), got shape {img.shape}"
        )
    if img.dtype == np.uint16:
        img = img.astype(np.float32) / 65535.0
    elif img.dtype != np.uint8:
        img = np.clip(img.astype(np.float32), 0.0, 1.0)
    return img


def margin_boundaries_um(margin_cap_um: float, critical_margin_um: float) -> NDArray[np.float64]:
    """Edges of the colour bands of the clearance margin (um), from ``-critical`` to the cap.

    Examples
    --------
    >>> margin_boundaries_um(200.0, 50.0).tolist()
    [-50.0, 0.0, 50.0, 75.0, 100.0, 125.0, 150.0, 175.0, 200.0]
    """
    if not np.isfinite(critical_margin_um) or critical_margin_um <= 0:
        raise ValueError(f"critical_margin_um must be positive, got {critical_margin_um}")
    if not np.isfinite(margin_cap_um) or margin_cap_um <= critical_margin_um:
        raise ValueError(
            f"margin_cap_um must exceed critical_margin_um ({critical_margin_um}), "
            f"got {margin_cap_um}"
        )
    safe = np.linspace(critical_margin_um, margin_cap_um, len(MARGIN_COLOURS["safe"]) + 1)
    return np.concatenate([[-critical_margin_um, 0.0], safe])


def _margin_scale(margin_cap_um: float, critical_margin_um: float) -> tuple[Any, Any]:
    mcolors = require("matplotlib.colors", feature=_FEATURE)
    bounds = margin_boundaries_um(margin_cap_um, critical_margin_um)
    colours = [MARGIN_COLOURS["violation"], MARGIN_COLOURS["critical"], *MARGIN_COLOURS["safe"]]
    cmap = mcolors.ListedColormap(colours, name="clearance_margin").with_extremes(
        under=MARGIN_COLOURS["violation"],  # every violation is red, however deep
        over=MARGIN_COLOURS["beyond"],
    )
    return cmap, mcolors.BoundaryNorm(bounds, cmap.N)


def _tether_style() -> dict[str, Any]:
    pe = require("matplotlib.patheffects", feature=_FEATURE)
    stroke = pe.withStroke(linewidth=_TETHER["stroke_lw"], foreground=_TETHER["stroke"])
    return {"color": _TETHER["color"], "lw": _TETHER["lw"], "path_effects": [stroke]}


def draw_layers(
    ax: Any,
    layers: PlanLayers,
    *,
    image: Any = None,
    show_forbidden: bool = True,
    show_tethers: bool = True,
    numbers: bool = True,
    legend: bool = True,
    colorbar: bool = True,
    zoom: bool = True,
    inset: bool = True,
    margin_cap_um: float = 200.0,
    critical_margin_um: float = 50.0,
) -> Any:
    """Draw ``layers`` into the matplotlib axes ``ax``; returns the site scatter artist.

    Axes are in pixels (row down, col right); a scale bar gives um or mm. The keyword
    options are those of :func:`plot_plan`.
    """
    mlines = require("matplotlib.lines", feature=_FEATURE)
    cmap, norm = _margin_scale(margin_cap_um, critical_margin_um)
    h, w = layers.shape
    view = view_box_rc(layers) if zoom else (-0.5, h - 0.5, -0.5, w - 0.5)
    img = None if image is None else _image_for_display(image, layers.shape)
    handles = _draw_field(ax, layers, img, view, show_forbidden=show_forbidden)
    if show_tethers and layers.tethers_rc:
        _draw_tethers(ax, layers.tethers_rc)
        handles.append(mlines.Line2D([], [], label="tether", **_tether_style()))
    if layers.thread_exit_rc is not None:
        er, ec = layers.thread_exit_rc
        ax.plot([ec], [er], marker="s", ms=7, mfc="#9e9e9e", mec="k", ls="none")
        handles.append(
            mlines.Line2D(
                [], [], marker="s", mfc="#9e9e9e", mec="k", ls="none", label="thread exit"
            )
        )
    scatter = None
    n = len(layers.sites_rc)
    overview = None
    if inset and zoom and _is_zoomed(view, layers.shape):
        view, corner = inset_corner(view, layers, fraction=_INSET_FRACTION)
        overview = _draw_overview(ax, layers, img, view, corner)
    if n:
        scatter = ax.scatter(
            layers.sites_rc[:, 1],
            layers.sites_rc[:, 0],
            c=layers.margin_um,
            cmap=cmap,
            norm=norm,
            s=_SITE_SIZE_PT2,
            edgecolors="k",
            linewidths=0.6,
            zorder=5,
        )
        handles.append(
            mlines.Line2D(
                [], [], marker="o", mfc=MARGIN_COLOURS["safe"][2], mec="k", ls="none",
                label="insertion site (T01 = first)",
            )
        )  # fmt: skip
        if numbers:
            draw_labels(ax, layers, overview)
        if layers.failed.any():
            f = layers.sites_rc[layers.failed]
            ax.scatter(
                f[:, 1], f[:, 0], marker="x", s=CROSS_SIZE_PT2, c="red", linewidths=1.8, zorder=7
            )
            handles.append(
                mlines.Line2D(
                    [], [], marker="x", color="red", mew=1.8, ls="none", label="failed / rejected"
                )
            )
        if colorbar:
            _colour_bar(ax, scatter, critical_margin_um)
    ax.set_xlim(view[2], view[3])
    ax.set_ylim(view[1], view[0])
    _scale_bar(ax, layers, view)
    ax.set_xlabel("column (px)")
    ax.set_ylabel("row (px)")
    if legend and handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncol=3,
            fontsize=7,
            frameon=False,
        )
    return scatter


def _draw_field(
    ax: Any,
    layers: PlanLayers,
    img: NDArray[Any] | None,
    view: tuple[float, float, float, float],
    *,
    show_forbidden: bool,
) -> list[Any]:
    """Image, forbidden zone, vessels, region and craniectomy; returns their legend handles."""
    mlines = require("matplotlib.lines", feature=_FEATURE)
    mpatches = require("matplotlib.patches", feature=_FEATURE)
    pe = require("matplotlib.patheffects", feature=_FEATURE)
    h, w = layers.shape
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    if img is not None:
        ax.imshow(
            img, cmap="gray" if img.ndim == 2 else None, extent=extent, interpolation="antialiased"
        )
    else:
        ax.imshow(np.ones((h, w, 3)), extent=extent)
    handles: list[Any] = []
    if show_forbidden and layers.forbidden is not None and layers.forbidden.any():
        rgba = np.zeros((h, w, 4), np.float32)
        rgba[layers.forbidden] = _FORBIDDEN_RGBA
        ax.imshow(rgba, extent=extent, interpolation="nearest")
        handles.append(mpatches.Patch(color=_FORBIDDEN_RGBA, label="forbidden zone"))
    if layers.vessel_mask is not None and layers.vessel_mask.any():
        ax.contour(
            layers.vessel_mask.astype(np.float32), levels=[0.5], colors=[_VESSEL], linewidths=0.6
        )
        handles.append(mlines.Line2D([], [], color=_VESSEL, lw=1, label="vessel outline"))
    elif layers.vessel_segments_rc is not None and len(layers.vessel_segments_rc):
        # Line width in points from the radius in pixels, for an axes about 450 pt wide.
        span = max(view[1] - view[0], view[3] - view[2])
        _draw_segments(ax, layers.vessel_segments_rc, points_per_px=450.0 / span)
        handles.append(mlines.Line2D([], [], color=_VESSEL, lw=2, label="vessel centreline"))
    if layers.region is not None and layers.region.any():
        outline = [pe.withStroke(linewidth=2.4, foreground="0.2")]  # shows on white too
        style = {"colors": [_REGION], "linewidths": 1.2, "linestyles": "--"}
        ax.contour(layers.region.astype(np.float32), levels=[0.5], **style).set_path_effects(
            outline
        )
        handles.append(
            mlines.Line2D(
                [], [], color=_REGION, lw=1.2, ls="--", path_effects=outline, label="target region"
            )
        )
    if layers.craniectomy is not None:
        r0, c0, rad = layers.craniectomy
        ax.add_patch(mpatches.Circle((c0, r0), rad, fill=False, ec="0.6", lw=0.8, ls=":"))
    return handles


def _draw_segments(ax: Any, seg: NDArray[np.float64], *, points_per_px: float) -> None:
    mcoll = require("matplotlib.collections", feature=_FEATURE)
    lines = np.stack([seg[:, [1, 0]], seg[:, [3, 2]]], axis=1)  # (m, 2, (x=col, y=row))
    widths = np.clip(seg[:, 4] * 2.0 * points_per_px, 0.3, 8.0)
    ax.add_collection(mcoll.LineCollection(lines, colors=_VESSEL, linewidths=widths))


def _draw_tethers(ax: Any, tethers_rc: list[NDArray[np.float64]]) -> None:
    """One line collection: a light line with a dark outline (visible on white and on dark)."""
    mcoll = require("matplotlib.collections", feature=_FEATURE)
    lines = [t[:, [1, 0]] for t in tethers_rc if len(t) >= 2]
    if not lines:
        return
    style = _tether_style()
    coll = mcoll.LineCollection(
        lines, colors=style["color"], linewidths=style["lw"], zorder=3, label="tether"
    )
    coll.set_path_effects(style["path_effects"])
    coll.set_gid("tethers")
    ax.add_collection(coll, autolim=False)


def _colour_bar(ax: Any, scatter: Any, critical_margin_um: float) -> None:
    mtrans = require("matplotlib.transforms", feature=_FEATURE)
    bounds = scatter.norm.boundaries
    ticks = [0.0, *(b for b in bounds[2:] if b % 50 == 0 or b == bounds[-1])]
    if critical_margin_um not in ticks:
        ticks.insert(1, critical_margin_um)
    cb = ax.figure.colorbar(
        scatter, ax=ax, fraction=0.04, pad=0.02, extend="max", spacing="proportional", ticks=ticks
    )
    cb.set_label("clearance margin (\u00b5m): achieved \u2212 required")
    cb.ax.tick_params(labelsize=7)
    along = mtrans.blended_transform_factory(cb.ax.transAxes, cb.ax.transData)
    for mid, text, colour in (
        (-critical_margin_um / 2.0, "violation", "white"),
        (critical_margin_um / 2.0, "critical", "black"),
    ):
        cb.ax.text(
            0.5, mid, text, transform=along, rotation=90, ha="center", va="center",
            fontsize=6, color=colour,
        )  # fmt: skip


def _is_zoomed(view: tuple[float, float, float, float], shape: tuple[int, int]) -> bool:
    return (view[1] - view[0]) < 0.9 * shape[0] or (view[3] - view[2]) < 0.9 * shape[1]


def _draw_overview(
    ax: Any,
    layers: PlanLayers,
    img: NDArray[Any] | None,
    view: tuple[float, float, float, float],
    corner: str,
) -> Any:
    """The whole field, small, in a corner of ``ax``, with the box ``ax`` shows on it."""
    mpatches = require("matplotlib.patches", feature=_FEATURE)
    pe = require("matplotlib.patheffects", feature=_FEATURE)
    h, w = layers.shape
    f = _INSET_FRACTION
    x0 = 1.0 - f - 0.01 if corner[1] == "E" else 0.01
    y0 = 1.0 - f - 0.01 if corner[0] == "N" else 0.01
    ins = ax.inset_axes([x0, y0, f, f], zorder=8)
    ins.set_gid("overview-inset")
    ins.set_anchor({"NE": "NE", "NW": "NW", "SE": "SE"}[corner])
    step = max(1, int(np.ceil(max(h, w) / 256)))
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    if img is not None:
        small = img[::step, ::step]
        ins.imshow(small, cmap="gray" if small.ndim == 2 else None, extent=extent)
    else:
        ins.imshow(np.ones((2, 2, 3)), extent=extent)
    rows, cols = np.arange(0, h, step), np.arange(0, w, step)
    if layers.vessel_mask is not None and layers.vessel_mask[::step, ::step].any():
        ins.contour(cols, rows, layers.vessel_mask[::step, ::step].astype(np.float32),
                    levels=[0.5], colors=[_VESSEL], linewidths=0.4)  # fmt: skip
    elif layers.vessel_segments_rc is not None and len(layers.vessel_segments_rc):
        _draw_segments(ins, layers.vessel_segments_rc, points_per_px=f * 450.0 / max(h, w))
    if layers.region is not None and layers.region[::step, ::step].any():
        ins.contour(cols, rows, layers.region[::step, ::step].astype(np.float32),
                    levels=[0.5], colors=[_REGION], linewidths=0.6)  # fmt: skip
    if layers.craniectomy is not None:
        r0, c0, rad = layers.craniectomy
        ins.add_patch(mpatches.Circle((c0, r0), rad, fill=False, ec="0.5", lw=0.5, ls=":"))
    if len(layers.sites_rc):
        ins.plot(layers.sites_rc[:, 1], layers.sites_rc[:, 0], ls="none", marker=".", ms=1.5,
                 color="k")  # fmt: skip
    box = mpatches.Rectangle(
        (view[2], view[0]), view[3] - view[2], view[1] - view[0], fill=False,
        ec=_VIEW_BOX, lw=1.2, path_effects=[pe.withStroke(linewidth=2.4, foreground="white")],
    )  # fmt: skip
    box.set_gid("view-box")
    ins.add_patch(box)
    ins.set_xlim(-0.5, w - 0.5)
    ins.set_ylim(h - 0.5, -0.5)
    ins.set_xticks([])
    ins.set_yticks([])
    ins.set_title("whole field", fontsize=6, pad=1.5)
    return ins


def _scale_bar(ax: Any, layers: PlanLayers, view: tuple[float, float, float, float]) -> None:
    anchored = require("mpl_toolkits.axes_grid1.anchored_artists", feature=_FEATURE)
    fm = require("matplotlib.font_manager", feature=_FEATURE)
    width_um = (view[3] - view[2]) * layers.pixel_size_um
    length_um = nice_scale_um(width_um)
    bar = anchored.AnchoredSizeBar(
        ax.transData,
        length_um / layers.pixel_size_um,
        _scale_label(length_um),
        "lower left",
        pad=0.3,
        color="white",
        frameon=True,
        size_vertical=max(view[1] - view[0], view[3] - view[2]) / 150,
        fontproperties=fm.FontProperties(size=8),
    )
    bar.patch.set(facecolor="black", alpha=0.45, edgecolor="none")
    bar.set_gid("scale-bar")
    bar.set_zorder(7)
    ax.add_artist(bar)


def plot_plan(
    plan: Any,
    image: Any = None,
    *,
    ax: Any = None,
    show_forbidden: bool = True,
    show_tethers: bool = True,
    numbers: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] = (7.0, 7.5),
    zoom: bool = True,
    inset: bool = True,
    margin_cap_um: float = 200.0,
    critical_margin_um: float = 50.0,
) -> Any:
    """Draw a plan over its image: vessels, forbidden zone, target region, sites, tethers.

    The axes show the target region and the sites (padded), not the whole field, so a
    100 um margin spans several screen pixels; the whole field is a small inset with the
    shown box on it, and a scale bar gives um or mm. Sites are labelled with their
    thread's label (``T01`` is inserted first, as in every other view), placed so that
    no two labels overlap, with a leader line when a label sits away from its site.
    Failed or rejected threads carry a red cross; tethers are light lines with a dark
    outline, visible on a white background and on a dark image.

    Sites are coloured by their clearance margin (achieved minus required clearance, um)
    in bands: red below 0 (a violation), amber from 0 to ``critical_margin_um``, blues up
    to ``margin_cap_um``, one dark blue beyond (the colour bar's ``extend="max"``). The
    scale stops at the cap because beyond it a margin no longer decides anything, and a
    scale running to the largest margin (often over 1 mm) would paint every critical
    margin the same colour.

    Parameters
    ----------
    plan : InsertionPlan or PlanLayers
        A plan (freshly planned or loaded from JSON) or layers built by hand.
    image : (H, W) or (H, W, 3) array, optional
        The image the plan was made on; defaults to the plan's own ``image`` (kept in
        memory by the planner, absent after loading JSON), else a white background.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure is made when omitted.
    show_forbidden, show_tethers, numbers : bool
        Draw the forbidden zone, the tethers, the thread labels.
    title : str, optional
        Defaults to a one-line summary of the plan.
    figsize : (float, float)
        Size of a new figure, inches.
    zoom : bool
        Show the target region and the sites (True) or the whole field (False).
    inset : bool
        When zoomed in, show the whole field as an inset.
    margin_cap_um : float
        Top of the colour scale (200 um: just above the largest clearance the default
        margin model requires, 190.5 um in transdural mode next to a large vessel seen
        with low confidence; see ``docs/margin-model.md``).
    critical_margin_um : float
        Margins from 0 to this are critical (50 um: the default ``base_margin_um``,
        Kozai et al. 2010, https://doi.org/10.1088/1741-2560/7/4/046011 -- less room to
        spare than the tissue the margin model keeps from a vessel wall).

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot: it shows once when returned in Jupyter, and
        ``fig.savefig(path)`` writes it.

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    ValueError
        When ``image`` does not match the plan's shape, or the margin scale is not
        ``0 < critical_margin_um < margin_cap_um``.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.viz import PlanLayers, plot_plan
    >>> layers = PlanLayers(shape=(64, 64), pixel_size_um=12.0,
    ...     sites_rc=np.array([[20.0, 20.0], [40.0, 44.0]]), order=np.array([0, 1]),
    ...     margin_um=np.array([30.0, 5.0]), failed=np.array([False, True]))
    >>> fig = plot_plan(layers, np.zeros((64, 64), np.uint8))
    >>> len(fig.axes)  # the plan and its colour bar
    2
    >>> sorted(t.get_text() for t in fig.axes[0].texts)
    ['T01', 'T02']
    """
    layers = plan if isinstance(plan, PlanLayers) else plan_layers(plan)
    if image is None and not isinstance(plan, PlanLayers):
        image = getattr(plan, "image", None)
    margin_boundaries_um(margin_cap_um, critical_margin_um)  # checked before drawing
    if ax is None:
        mfig = require("matplotlib.figure", feature=_FEATURE)
        fig = mfig.Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    draw_layers(
        ax,
        layers,
        image=image,
        show_forbidden=show_forbidden,
        show_tethers=show_tethers,
        numbers=numbers,
        zoom=zoom,
        inset=inset,
        margin_cap_um=margin_cap_um,
        critical_margin_um=critical_margin_um,
    )
    if title is None and not isinstance(plan, PlanLayers):
        title = _title(plan, layers)
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def _title(plan: Any, layers: PlanLayers) -> str:
    mode = getattr(plan.dura_mode, "value", plan.dura_mode)
    n = len(layers.sites_rc)
    text = f"{mode}: {n} of {plan.n_requested} threads"
    if n:
        text += f", min margin {layers.margin_um.min():.0f} \u00b5m"
    if getattr(plan, "binding_constraint", None):
        text += f" (bound by {plan.binding_constraint})"
    return text


def figure_png(fig: Any, *, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes (no file, no pyplot).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure_png(Figure(figsize=(1, 1)))[:4]
    b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
