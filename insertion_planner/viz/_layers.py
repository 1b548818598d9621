"""What a figure draws, pulled out of a plan once: plain arrays in pixel coordinates.

Figures never reach into the plan themselves; they take a :class:`PlanLayers`, so the
drawing code also works on arrays that did not come from a plan (tests, custom figures).
The layout a figure needs (which part of the field to show, where thread labels go) is
computed here too, on plain arrays, apart from drawing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PlanLayers",
    "plan_layers",
    "simulation_dict",
    "final_outcomes",
    "thread_labels",
    "view_box_rc",
    "inset_corner",
    "place_labels",
    "FAILED_STATUSES",
]

FAILED_STATUSES = ("failed", "rejected", "removed")
"""Thread statuses a figure marks as not (or no longer) inserted."""


@dataclass(frozen=True, eq=False)
class PlanLayers:
    """The drawable content of a plan, in pixel (row, col) coordinates.

    Parameters
    ----------
    shape : (int, int)
        Image shape (H, W).
    pixel_size_um : float
        Side of a pixel, micrometres (for the scale bar).
    sites_rc : (n, 2) float
        Insertion sites (row, col), sorted by insertion order.
    order : (n,) int
        0-based insertion order of each site.
    margin_um : (n,) float
        Clearance achieved minus clearance required at each site (um).
    failed : (n,) bool
        Threads that failed, were rejected or removed.
    tethers_rc : list of (k, 2) float
        Tether polylines (row, col), one per site.
    vessel_mask : (H, W) bool or None
        Vessel lumen, drawn as outlines.
    vessel_segments_rc : (m, 5) float or None
        Centreline segments r0, c0, r1, c1, radius_px, drawn when no mask is known.
    forbidden : (H, W) bool or None
        Where no needle may go (shaded).
    region : (H, W) bool or None
        Target region (outlined).
    craniectomy : (row, col, radius_px) or None
    thread_exit_rc : (row, col) or None
    """

    shape: tuple[int, int]
    pixel_size_um: float
    sites_rc: NDArray[np.float64]
    order: NDArray[np.int64]
    margin_um: NDArray[np.float64]
    failed: NDArray[np.bool_]
    tethers_rc: list[NDArray[np.float64]] = field(default_factory=list)
    vessel_mask: NDArray[np.bool_] | None = None
    vessel_segments_rc: NDArray[np.float64] | None = None
    forbidden: NDArray[np.bool_] | None = None
    region: NDArray[np.bool_] | None = None
    craniectomy: tuple[float, float, float] | None = None
    thread_exit_rc: tuple[float, float] | None = None


def simulation_dict(obj: Any) -> dict[str, Any] | None:
    """The JSON ``simulation`` section of a plan, a simulation report, or a dict.

    Examples
    --------
    >>> simulation_dict({"total_time_s": 12.0, "insertions": []})["total_time_s"]
    12.0
    >>> simulation_dict(None) is None
    True
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    for attr in ("to_plan_section", "to_dict"):
        fn = getattr(obj, attr, None)
        if callable(fn) and not hasattr(obj, "threads"):
            out = fn()
            if isinstance(out, dict):
                return out
    sim = getattr(obj, "simulation", None)
    if isinstance(sim, dict):
        return sim
    return None


def final_outcomes(simulation: Any) -> dict[int, bool]:
    """Whether each thread's last insertion attempt succeeded, by thread id.

    Examples
    --------
    >>> final_outcomes({"insertions": [{"thread_id": 4, "ok": False}, {"thread_id": 4, "ok": True},
    ...                                {"thread_id": 2, "ok": False}]})
    {4: True, 2: False}
    """
    sim = simulation_dict(simulation)
    out: dict[int, bool] = {}
    for ins in (sim or {}).get("insertions", ()):
        out[int(ins["thread_id"])] = bool(ins.get("ok", False))
    return out


def plan_layers(plan: Any) -> PlanLayers:
    """Pull the drawable layers out of an :class:`~insertion_planner.InsertionPlan`.

    Works on a freshly planned plan (vessel mask, avoidance map and region known) and on
    one loaded from JSON (vessels drawn from the centreline segments of its geometry).
    """
    px = float(plan.pixel_size_um)
    shape = (int(plan.image_shape[0]), int(plan.image_shape[1]))
    threads = sorted(plan.threads, key=lambda t: t.order)
    sim = simulation_dict(plan)
    final_ok = final_outcomes(sim)
    sites = np.array([t.pixel for t in threads], dtype=np.float64).reshape(-1, 2)
    margin = np.array(
        [float(t.clearance_um) - float(t.required_clearance_um) for t in threads], dtype=np.float64
    )
    failed = np.array(
        [t.status in FAILED_STATUSES or final_ok.get(t.id) is False for t in threads], dtype=bool
    )
    tethers = []
    for t in threads:
        pts = np.asarray(t.tether_um, dtype=np.float64).reshape(-1, 3)
        tethers.append(pts[:, [1, 0]] / px)

    geom = getattr(plan, "geometry", None)
    vessels = getattr(plan, "vessels", None)
    amap = getattr(plan, "avoidance", None)
    region = getattr(plan, "region", None)
    mask = None if vessels is None else np.asarray(vessels.mask, dtype=bool)
    segments = None
    if mask is None and geom is not None:
        seg = np.asarray(geom.vessel_segments_um, dtype=np.float64).reshape(-1, 7)
        segments = np.stack([seg[:, 1], seg[:, 0], seg[:, 4], seg[:, 3], seg[:, 6]], axis=1) / px
    forbidden = None if amap is None else ~np.asarray(amap.allowed, dtype=bool)
    cran = exit_rc = None
    if geom is not None:
        cx, cy = geom.craniectomy_center_um[:2]
        cran = (float(cy) / px, float(cx) / px, float(geom.craniectomy_radius_um) / px)
        ex, ey = geom.thread_exit_um[:2]
        exit_rc = (float(ey) / px, float(ex) / px)
    return PlanLayers(
        shape=shape,
        pixel_size_um=px,
        sites_rc=sites,
        order=np.array([t.order for t in threads], dtype=np.int64),
        margin_um=margin,
        failed=failed,
        tethers_rc=tethers,
        vessel_mask=mask,
        vessel_segments_rc=segments,
        forbidden=forbidden,
        region=None if region is None else np.asarray(region, dtype=bool),
        craniectomy=cran,
        thread_exit_rc=exit_rc,
    )


def thread_labels(obj: Any) -> dict[int, str]:
    """The display label of each thread, by thread id: ``T01`` is inserted first.

    Every view names a thread by :attr:`~insertion_planner.plan.Thread.label`. A simulation
    record only carries ``thread_id``; its label comes from the plan: the plan itself, the
    ``plan`` of a simulation report, or else a ``label`` stored in the records.

    Parameters
    ----------
    obj : InsertionPlan, SimulationReport, dict or None

    Returns
    -------
    dict of int to str
        Empty when ``obj`` names no thread.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> thread_labels(_example_plan())
    {0: 'T01', 1: 'T02'}
    >>> thread_labels({"insertions": [{"thread_id": 7, "label": "T03"}]})
    {7: 'T03'}
    """
    threads = getattr(obj, "threads", None)
    if threads is None:
        threads = getattr(getattr(obj, "plan", None), "threads", None)
    if threads is not None:
        return {int(t.id): str(t.label) for t in threads}
    out: dict[int, str] = {}
    for ins in (simulation_dict(obj) or {}).get("insertions", ()):
        if "label" in ins and "thread_id" in ins:
            out[int(ins["thread_id"])] = str(ins["label"])
    return out


def label_of(labels: Mapping[int, str], thread_id: int) -> str:
    """The label of ``thread_id``, or ``"thread id N"`` for a thread the plan does not hold.

    The fallback names the identifier explicitly, so it is never mistaken for a ``T``
    label (a thread replanned away, or a simulation shown without its plan).

    Examples
    --------
    >>> label_of({0: "T02"}, 0), label_of({}, 5)
    ('T02', 'thread id 5')
    """
    return labels.get(int(thread_id), f"thread id {int(thread_id)}")


def view_box_rc(
    layers: PlanLayers, *, pad_fraction: float = 0.08, min_span_um: float = 1000.0
) -> tuple[float, float, float, float]:
    """The part of the field a plan figure shows: the target region and the sites, padded.

    Parameters
    ----------
    layers : PlanLayers
    pad_fraction : float
        Pad on every side, as a fraction of the larger side of the box (room for the
        labels of the outermost sites).
    min_span_um : float
        Smallest side of the box (a single site still shows its neighbourhood).

    Returns
    -------
    (row0, row1, col0, col1) : float
        Pixel-edge limits (``row0 < row1``), inside the field ``(-0.5, H - 0.5)`` x
        ``(-0.5, W - 0.5)``; the whole field when there is neither region nor site.

    Examples
    --------
    >>> import numpy as np
    >>> region = np.zeros((1000, 1000), bool); region[400:500, 300:450] = True
    >>> layers = PlanLayers((1000, 1000), 10.0, np.zeros((0, 2)), np.zeros(0, int),
    ...                     np.zeros(0), np.zeros(0, bool), region=region)
    >>> view_box_rc(layers)
    (387.5, 511.5, 287.5, 461.5)
    """
    h, w = layers.shape
    lo: list[NDArray[np.float64]] = []
    hi: list[NDArray[np.float64]] = []
    if layers.region is not None and layers.region.any():
        rows = np.flatnonzero(layers.region.any(axis=1))
        cols = np.flatnonzero(layers.region.any(axis=0))
        lo.append(np.array([rows[0] - 0.5, cols[0] - 0.5]))
        hi.append(np.array([rows[-1] + 0.5, cols[-1] + 0.5]))
    if len(layers.sites_rc):
        lo.append(layers.sites_rc.min(axis=0))
        hi.append(layers.sites_rc.max(axis=0))
    if not lo:
        return (-0.5, h - 0.5, -0.5, w - 0.5)
    a = np.min(lo, axis=0)
    b = np.max(hi, axis=0)
    pad = pad_fraction * float(np.max(b - a))
    centre = (a + b) / 2.0
    half = np.maximum((b - a) / 2.0 + pad, min_span_um / layers.pixel_size_um / 2.0)
    a, b = centre - half, centre + half
    limits = np.array([h, w], dtype=np.float64) - 0.5
    a, b = np.maximum(a, -0.5), np.minimum(b, limits)
    return (float(a[0]), float(b[0]), float(a[1]), float(b[1]))


def inset_corner(
    view: tuple[float, float, float, float], layers: PlanLayers, *, fraction: float = 0.3
) -> tuple[tuple[float, float, float, float], str]:
    """The corner of a zoomed plan figure for the whole-field inset, and the view to show.

    Tries the upper right, upper left and lower right corners (a scale bar holds the
    lower left); for each, grows the view away from the inset (along rows or along
    columns, within the field) until no site lies under the inset, with room for a label.
    Takes the choice hiding the fewest sites, then the one growing the view least.

    Parameters
    ----------
    view : (row0, row1, col0, col1)
        Limits from :func:`view_box_rc`.
    layers : PlanLayers
    fraction : float
        Side of the inset, as a fraction of the axes.

    Returns
    -------
    view : (row0, row1, col0, col1)
        The view, grown when needed.
    corner : str
        ``"NE"``, ``"NW"`` or ``"SE"`` (row 0 is north).

    Examples
    --------
    >>> import numpy as np
    >>> def sites(*rc):
    ...     n = len(rc)
    ...     return PlanLayers((1000, 1000), 10.0, np.array(rc, float), np.arange(n),
    ...                       np.zeros(n), np.zeros(n, bool))
    >>> inset_corner((50.0, 350.0, 50.0, 350.0), sites((100, 100), (300, 100), (300, 300)))
    ((50.0, 350.0, 50.0, 350.0), 'NE')
    >>> inset_corner((50.0, 350.0, 50.0, 350.0),  # a site in every corner: grow the view
    ...              sites((100, 100), (100, 300), (300, 100), (300, 300)))
    ((50.0, 350.0, 50.0, 410.5), 'NE')
    """
    h, w = layers.shape
    sites = layers.sites_rc
    best: tuple[float, int, tuple[float, float, float, float], str] | None = None
    for corner in ("NE", "NW", "SE"):
        for axis in (0, 1):
            v = list(view)
            for _ in range(8):
                hidden = _under_inset(v, corner, sites, (h, w), fraction)
                if not hidden.any():
                    break
                _grow(v, corner, axis, sites[hidden], (h, w), fraction)
            n_hidden = int(_under_inset(v, corner, sites, (h, w), fraction).sum())
            area = (v[1] - v[0]) * (v[3] - v[2])
            key = (n_hidden, area)
            if best is None or key < (best[1], best[0]):
                best = (
                    area,
                    n_hidden,
                    (float(v[0]), float(v[1]), float(v[2]), float(v[3])),
                    corner,
                )
    assert best is not None
    return best[2], best[3]


def _inset_box(
    v: list[float], corner: str, shape: tuple[int, int], fraction: float
) -> tuple[float, float, float, float]:
    """(row0, row1, col0, col1) the inset covers in data units, with room for a label."""
    height, width = v[1] - v[0], v[3] - v[2]
    scale = fraction * min(height / shape[0], width / shape[1])
    room = 0.05 * max(height, width)
    ih, iw = shape[0] * scale + room, shape[1] * scale + room
    r0, r1 = (v[0], v[0] + ih) if corner[0] == "N" else (v[1] - ih, v[1])
    c0, c1 = (v[3] - iw, v[3]) if corner[1] == "E" else (v[2], v[2] + iw)
    return r0, r1, c0, c1


def _under_inset(
    v: list[float],
    corner: str,
    sites: NDArray[np.float64],
    shape: tuple[int, int],
    fraction: float,
) -> NDArray[np.bool_]:
    r0, r1, c0, c1 = _inset_box(v, corner, shape, fraction)
    return (sites[:, 0] >= r0) & (sites[:, 0] <= r1) & (sites[:, 1] >= c0) & (sites[:, 1] <= c1)


def _grow(
    v: list[float],
    corner: str,
    axis: int,
    hidden: NDArray[np.float64],
    shape: tuple[int, int],
    fraction: float,
) -> None:
    """Grow the view ``v`` in place along ``axis`` (0 rows, 1 cols) away from the inset."""
    r0, r1, c0, c1 = _inset_box(v, corner, shape, fraction)
    if axis == 0:
        if corner[0] == "N":  # push the inset up: extend the top
            v[0] = max(-0.5, v[0] - (r1 - hidden[:, 0].min()) * 1.1)
        else:
            v[1] = min(shape[0] - 0.5, v[1] + (hidden[:, 0].max() - r0) * 1.1)
    elif corner[1] == "E":
        v[3] = min(shape[1] - 0.5, v[3] + (hidden[:, 1].max() - c0) * 1.1)
    else:
        v[2] = max(-0.5, v[2] - (c1 - hidden[:, 1].min()) * 1.1)


# Where a label may sit around its site, first choice first: beside the marker (upper
# right, upper left, lower right, lower left, right, left, above, below), then on rings
# further out, joined to the site by a leader line.
_COMPASS = np.array([(1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)])
_RING_ANGLES = np.deg2rad(45.0 + 22.5 * np.arange(16))


_LEADER_SAMPLES = np.linspace(0.1, 0.9, 9)


def _points_in(points: NDArray[np.float64], boxes: NDArray[np.float64]) -> NDArray[np.int64]:
    """How many of ``boxes`` (m, 4) hold each of ``points`` (p, 2)."""
    x, y = points[:, 0:1], points[:, 1:2]
    inside = (x > boxes[:, 0]) & (x < boxes[:, 2]) & (y > boxes[:, 1]) & (y < boxes[:, 3])
    return inside.sum(axis=1)


def _overlap_area(boxes: NDArray[np.float64], others: NDArray[np.float64]) -> NDArray[np.float64]:
    """Total area each of ``boxes`` (c, 4) shares with ``others`` (m, 4); boxes x0, y0, x1, y1."""
    if not len(others):
        return np.zeros(len(boxes))
    dx = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(
        boxes[:, None, 0], others[None, :, 0]
    )
    dy = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(
        boxes[:, None, 1], others[None, :, 1]
    )
    return (np.clip(dx, 0, None) * np.clip(dy, 0, None)).sum(axis=1)


def place_labels(
    anchors_xy: Any,
    sizes_wh: Any,
    *,
    bounds: tuple[float, float, float, float],
    obstacles: Any = (),
    marker_radius: float = 3.0,
    gap: float = 2.0,
    rings: int = 10,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Place one label per site so that no two labels, and no label and site, overlap.

    A greedy, deterministic scheme in display units (y up): labels are placed one at a
    time, the most crowded site first; each takes the first free position among eight
    beside its marker, then among 16 on each of ``rings`` rings further out (those get a
    leader line). A free position overlaps no label already placed, no site marker and no
    obstacle, and lies inside ``bounds``. When none is free the least-overlapping one is
    taken, so the result is always complete.

    Parameters
    ----------
    anchors_xy : (n, 2) float
        Sites, display units.
    sizes_wh : (n, 2) float
        Width and height of each label's box, display units.
    bounds : (x0, y0, x1, y1)
        Labels stay inside this box (the axes).
    obstacles : (m, 4) float
        Boxes ``x0, y0, x1, y1`` no label may cover (an inset, a scale bar).
    marker_radius : float
        Half the side of the box kept free around every site.
    gap : float
        Space kept between a label and anything else.
    rings : int
        Rings tried beyond the positions beside the marker, each one label height further.

    Returns
    -------
    centres : (n, 2) float
        Centre of each label's box.
    leader : (n,) bool
        Labels placed away from their site (draw a line to it).

    Examples
    --------
    >>> import numpy as np
    >>> c, lead = place_labels([[50.0, 50.0], [56.0, 50.0]], [[20.0, 10.0], [20.0, 10.0]],
    ...                        bounds=(0.0, 0.0, 200.0, 200.0))
    >>> c.round(1).tolist(), lead.tolist()
    ([[66.0, 61.0], [40.0, 61.0]], [False, False])
    """
    anchors = np.asarray(anchors_xy, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes_wh, dtype=np.float64).reshape(-1, 2)
    if sizes.shape != anchors.shape:
        raise ValueError(
            f"sizes_wh must have shape {anchors.shape} (one per anchor), got {sizes.shape}"
        )
    n = len(anchors)
    centres = anchors.copy()
    leader = np.zeros(n, dtype=bool)
    if n == 0:
        return centres, leader
    obst = np.asarray(obstacles, dtype=np.float64).reshape(-1, 4)
    r = float(marker_radius)
    markers = np.concatenate([anchors - r, anchors + r], axis=1)
    blocked = np.concatenate([markers, obst], axis=0)
    placed = np.zeros((0, 4))
    x0, y0, x1, y1 = bounds
    reach = 3.0 * float(np.max(sizes))
    dist = np.hypot(*(anchors[:, None, :] - anchors[None, :, :]).transpose(2, 0, 1))
    crowding = (dist < reach).sum(axis=1)
    for i in np.lexsort((np.arange(n), -crowding)):
        half = sizes[i] / 2.0 + gap / 2.0
        d = r + gap
        near = anchors[i] + _COMPASS * (d + half)
        steps = d + sizes[i, 1] * np.arange(1, rings + 1)[:, None]
        ring = np.stack(
            [
                (steps + half[0]) * np.cos(_RING_ANGLES)[None, :],
                (steps + half[1]) * np.sin(_RING_ANGLES)[None, :],
            ],
            axis=-1,
        ).reshape(-1, 2)
        cand = np.concatenate([near, anchors[i] + ring], axis=0)
        boxes = np.concatenate([cand - half, cand + half], axis=1)
        outside = (
            np.clip(x0 - boxes[:, 0], 0, None)
            + np.clip(boxes[:, 2] - x1, 0, None)
            + np.clip(y0 - boxes[:, 1], 0, None)
            + np.clip(boxes[:, 3] - y1, 0, None)
        ) * float(np.max(sizes[i]))
        cost = _overlap_area(boxes, blocked) + _overlap_area(boxes, placed) + outside
        # A leader crossing a label or another site costs a little: taken before an overlap.
        others = np.concatenate([np.delete(markers, i, axis=0), placed], axis=0)
        along = anchors[i] + (cand[len(near) :, None, :] - anchors[i]) * _LEADER_SAMPLES[:, None]
        cost[len(near) :] += 1e-3 * _points_in(along.reshape(-1, 2), others).reshape(
            len(cand) - len(near), -1
        ).sum(axis=1)
        k = int(np.argmin(cost > 0)) if (cost == 0).any() else int(np.argmin(cost))
        centres[i] = cand[k]
        leader[i] = k >= len(near)
        placed = np.concatenate([placed, boxes[k : k + 1]], axis=0)
    return centres, leader
