"""Thread labels on the 2-D plan figure: ``T01``, ``T02``, ... placed at draw time so that
no two overlap, none covers a site, the inset or the scale bar, whatever the figure's size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..plan import thread_label
from ._deps import require
from ._layers import PlanLayers, place_labels

__all__ = ["draw_labels", "CROSS_SIZE_PT2"]

_FEATURE = "the 2-D plan figure"
_LABEL_PAD = 0.15  # the round box around a label, fraction of its font size
CROSS_SIZE_PT2 = 70.0
"""Marker area (pt^2) of a failed site's cross: the largest marker a label must clear."""


def draw_labels(ax: Any, layers: PlanLayers, overview: Any) -> None:
    """One label per site (``T01`` = inserted first), placed without overlaps at draw time.

    Each label is a text at its site, shifted by an offset in points that the placer sets;
    a label shifted away from its site gets a leader line (one line collection).
    """
    mcoll = require("matplotlib.collections", feature=_FEATURE)
    pe = require("matplotlib.patheffects", feature=_FEATURE)
    fs = 7.0 if len(layers.sites_rc) <= 32 else 6.0
    texts = []
    for (r, c), o in zip(layers.sites_rc, layers.order, strict=True):
        text = ax.text(
            c, r, thread_label(int(o)), ha="center", va="center", fontsize=fs, color="white",
            zorder=6, clip_on=True,
            bbox={"boxstyle": f"round,pad={_LABEL_PAD}", "fc": "black", "alpha": 0.6, "lw": 0},
        )  # fmt: skip
        text.set_in_layout(False)
        texts.append(text)
    leaders = mcoll.LineCollection(
        [], colors="white", linewidths=0.7, zorder=5.995,
        path_effects=[pe.withStroke(linewidth=1.8, foreground="black")],
    )  # fmt: skip
    leaders.set_gid("label-leaders")
    ax.add_collection(leaders, autolim=False)
    ax.add_artist(_label_placer(texts, leaders, layers.sites_rc[:, [1, 0]], overview))


def _label_placer(
    texts: list[Any], leaders: Any, sites_xy: NDArray[np.float64], overview: Any
) -> Any:
    """An invisible artist, drawn just before the labels, that places them without overlaps.

    Placing at draw time uses the final axes size (after constrained layout, colour bars
    added later, any dpi), so the labels never overlap whatever the figure becomes.
    """
    martist = require("matplotlib.artist", feature=_FEATURE)

    state: dict[int | str, Any] = {}  # what was set last: a change only makes the figure stale

    class _LabelPlacer(martist.Artist):  # type: ignore[misc, name-defined]
        def draw(self, renderer: Any) -> None:
            _place(self.axes, renderer, texts, leaders, sites_xy, overview, state)

        def __reduce__(self) -> tuple[Any, ...]:  # a figure still pickles
            return (_label_placer, (texts, leaders, sites_xy, overview), self.__getstate__())

    placer = _LabelPlacer()
    placer.set_zorder(5.99)
    placer.set_in_layout(False)
    return placer


def _place(
    ax: Any,
    renderer: Any,
    texts: list[Any],
    leaders: Any,
    sites_xy: NDArray[np.float64],
    overview: Any,
    state: dict[int | str, Any],
) -> None:
    mtrans = require("matplotlib.transforms", feature=_FEATURE)
    px_per_pt = renderer.points_to_pixels(1.0)
    anchors = ax.transData.transform(sites_xy)
    box = ax.bbox
    inside = (
        (anchors[:, 0] >= box.x0) & (anchors[:, 0] <= box.x1)
        & (anchors[:, 1] >= box.y0) & (anchors[:, 1] <= box.y1)
    )  # fmt: skip
    idx = np.flatnonzero(inside)
    sizes = np.zeros((len(idx), 2))
    for k, i in enumerate(idx):
        ext = texts[i].get_window_extent(renderer)
        pad = 2.0 * _LABEL_PAD * texts[i].get_fontsize() * px_per_pt  # the box around it
        sizes[k] = (ext.width + pad, ext.height + pad)
    obstacles = []
    if overview is not None:
        locator = overview.get_axes_locator()
        overview.apply_aspect(locator(overview, renderer) if locator else None)
        obstacles.append(overview.get_tightbbox(renderer).extents)
    for artist in ax.artists:
        if artist.get_gid() == "scale-bar":
            obstacles.append(artist.get_window_extent(renderer).extents)
    radius = 0.5 * np.sqrt(CROSS_SIZE_PT2) * px_per_pt
    centres, leader = place_labels(
        anchors[idx], sizes, bounds=tuple(box.extents), obstacles=obstacles,
        marker_radius=radius, gap=1.5 * px_per_pt,
    )  # fmt: skip
    offsets_pt = np.round((centres - anchors[idx]) / px_per_pt, 3)
    for k, i in enumerate(idx):
        dx, dy = (float(v) for v in offsets_pt[k])
        if state.get(int(i)) != (dx, dy):
            state[int(i)] = (dx, dy)
            texts[i].set_transform(
                mtrans.offset_copy(ax.transData, fig=ax.figure, x=dx, y=dy, units="points")
            )
    lines = []
    for j in np.flatnonzero(leader):
        a, c, half = anchors[idx[j]], centres[j], sizes[j] / 2.0
        d = a - c
        reach = min(
            half[0] / abs(d[0]) if d[0] else np.inf, half[1] / abs(d[1]) if d[1] else np.inf
        )
        start = a - d / np.hypot(*d) * radius
        lines.append(ax.transData.inverted().transform(np.stack([start, c + d * reach])))
    key = np.round(np.asarray(lines), 6).tobytes()
    if state.get("leaders") != key:
        state["leaders"] = key
        leaders.set_segments(lines)
