"""The 2-D plan figure (matplotlib): image, vessels, forbidden zone, region, sites, tethers."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._deps import require
from ._layers import PlanLayers, plan_layers

__all__ = ["plot_plan", "draw_layers", "figure_png", "nice_scale_um"]

_FEATURE = "the 2-D plan figure"
_FORBIDDEN_RGBA = (0.05, 0.05, 0.25, 0.45)


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
) -> Any:
    """Draw ``layers`` into the matplotlib axes ``ax``; returns the site scatter artist.

    Axes are in pixels (row down, col right); a scale bar gives millimetres.
    """
    mcolors = require("matplotlib.colors", feature=_FEATURE)
    mlines = require("matplotlib.lines", feature=_FEATURE)
    mpatches = require("matplotlib.patches", feature=_FEATURE)
    h, w = layers.shape
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    if image is not None:
        img = _image_for_display(image, layers.shape)
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
            layers.vessel_mask.astype(np.float32), levels=[0.5], colors=["#00bcd4"], linewidths=0.6
        )
        handles.append(mlines.Line2D([], [], color="#00bcd4", lw=1, label="vessel outline"))
    elif layers.vessel_segments_rc is not None and len(layers.vessel_segments_rc):
        mcoll = require("matplotlib.collections", feature=_FEATURE)
        seg = layers.vessel_segments_rc
        lines = np.stack([seg[:, [1, 0]], seg[:, [3, 2]]], axis=1)  # (m, 2, (x=col, y=row))
        # Line width in points from the radius in pixels at the axes' current scale.
        widths = np.clip(seg[:, 4] * 2.0 * 500.0 / max(h, w), 0.3, 6.0)
        ax.add_collection(mcoll.LineCollection(lines, colors="#00bcd4", linewidths=widths))
        handles.append(mlines.Line2D([], [], color="#00bcd4", lw=2, label="vessel centreline"))
    if layers.region is not None and layers.region.any():
        ax.contour(
            layers.region.astype(np.float32),
            levels=[0.5],
            colors=["#ffd54f"],
            linewidths=1.2,
            linestyles="--",
        )
        handles.append(
            mlines.Line2D([], [], color="#ffd54f", lw=1.2, ls="--", label="target region")
        )
    if layers.craniectomy is not None:
        r0, c0, rad = layers.craniectomy
        ax.add_patch(mpatches.Circle((c0, r0), rad, fill=False, ec="0.6", lw=0.8, ls=":"))
    if show_tethers and layers.tethers_rc:
        for k, t in enumerate(layers.tethers_rc):
            if len(t) >= 2:
                ax.plot(
                    t[:, 1], t[:, 0], color="white", lw=0.5, alpha=0.7, label="_tether" if k else ""
                )
        handles.append(mlines.Line2D([], [], color="0.5", lw=0.8, label="tether"))
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
    if n:
        m = layers.margin_um
        vmin = min(0.0, float(m.min()))
        vmax = max(float(m.max()), vmin + 1.0)
        norm = mcolors.Normalize(vmin=vmin, vmax=vmax)
        scatter = ax.scatter(
            layers.sites_rc[:, 1],
            layers.sites_rc[:, 0],
            c=m,
            cmap="viridis",
            norm=norm,
            s=28,
            edgecolors="k",
            linewidths=0.5,
            zorder=5,
        )
        handles.append(
            mlines.Line2D(
                [],
                [],
                marker="o",
                mfc="#7fbf7f",
                mec="k",
                ls="none",
                label="insertion site (order)",
            )
        )
        if numbers:
            fs = 7 if n <= 32 else 5.5
            for (r, c), o in zip(layers.sites_rc, layers.order, strict=True):
                ax.annotate(
                    str(int(o) + 1),
                    (c, r),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=fs,
                    color="white",
                    zorder=6,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "black", "alpha": 0.5, "lw": 0},
                )
        if layers.failed.any():
            f = layers.sites_rc[layers.failed]
            ax.scatter(f[:, 1], f[:, 0], marker="x", s=70, c="red", linewidths=1.8, zorder=7)
            handles.append(
                mlines.Line2D(
                    [], [], marker="x", color="red", mew=1.8, ls="none", label="failed / rejected"
                )
            )
        if colorbar:
            cb = ax.figure.colorbar(scatter, ax=ax, fraction=0.04, pad=0.02)
            cb.set_label("clearance margin (\u00b5m): achieved \u2212 required")
    _scale_bar(ax, layers)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
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


def _scale_bar(ax: Any, layers: PlanLayers) -> None:
    anchored = require("mpl_toolkits.axes_grid1.anchored_artists", feature=_FEATURE)
    fm = require("matplotlib.font_manager", feature=_FEATURE)
    width_um = layers.shape[1] * layers.pixel_size_um
    length_um = nice_scale_um(width_um)
    bar = anchored.AnchoredSizeBar(
        ax.transData,
        length_um / layers.pixel_size_um,
        _scale_label(length_um),
        "lower left",
        pad=0.3,
        color="white",
        frameon=True,
        size_vertical=max(layers.shape) / 150,
        fontproperties=fm.FontProperties(size=8),
    )
    bar.patch.set(facecolor="black", alpha=0.45, edgecolor="none")
    bar.set_gid("scale-bar")
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
) -> Any:
    """Draw a plan over its image: vessels, forbidden zone, target region, sites, tethers.

    Sites are numbered in insertion order (1 = first) and coloured by their clearance
    margin (achieved minus required clearance, um); failed or rejected threads carry a red
    cross; a scale bar gives millimetres.

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
        Draw the forbidden zone, the tethers, the order numbers.
    title : str, optional
        Defaults to a one-line summary of the plan.

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot: it shows once when returned in Jupyter, and
        ``fig.savefig(path)`` writes it.

    Raises
    ------
    ImportError
        When matplotlib is not installed.

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
    """
    layers = plan if isinstance(plan, PlanLayers) else plan_layers(plan)
    if image is None and not isinstance(plan, PlanLayers):
        image = getattr(plan, "image", None)
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
