"""Abundant thin pial vessels (20-40 um diameter) branching off the pial trees.

The trees of :mod:`.trees` stop splitting at 30 um; a real pial surface also carries many
thinner precortical arterioles and venules that leave the side of pial vessels of every
size, run a few hundred micrometres to a couple of millimetres over the cortex, may split
once more, and dive into it (Duvernoy, Delon & Vannson, *Brain Res Bull* 7:519, 1981;
human pial vessels down to cortical 30-40 um and finer, *Neuropathology* 2003). Issue 11
asks for them down to 20 um: they are what a detector misses first.

Each sprout starts on the wall of a parent pial segment (chosen in proportion to length),
leaves it at the Murray-optimal angle of a small daughter (about 90 degrees,
:func:`.trees.murray_angles`), walks as a persistent random walk in 50 um steps, and ends
by diving as a penetrating vessel when it has run its length, when it runs into another
vessel of its kind, or, half of the time when thick enough, splits by Murray's law first.
It leaves the opening without diving. A sprout is a separate graph component whose first
node lies on its parent's edge (like the penetrating stumps), so Murray's law still holds
exactly at every bifurcation node of the graph.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .trees import ARTERY, LAYER_PIA, VEIN, VesselNetwork, murray_angles, murray_daughters

__all__ = ["THIN_RADIUS_UM", "THIN_PER_MM2", "add_thin_vessels"]

THIN_RADIUS_UM = (10.0, 20.0)
"""Radius range of the sprouts, um (20-40 um diameter, issue 11)."""

THIN_PER_MM2 = 1.5
"""Sprouts per mm^2 of the opening (an assumption: about 1.5 mm of thin vessel per mm^2)."""

THIN_LENGTH_UM = (300.0, 2000.0)
"""Length of a sprout before it dives or splits, um (log-uniform; issue 11: some > 1 mm)."""

_STEP_UM = 50.0
_GAP_UM = 60.0  # free cortex kept between a sprout and other vessels of its kind
_TORTUOSITY_RAD = 0.22  # heading noise per sqrt(100 um) for a 15 um radius (as the trees)
_SPLIT_PROBABILITY = 0.5


def _blocked_grid(
    net: VesselNetwork, kind: int, shape: tuple[int, int], cell_um: float
) -> NDArray[np.bool_]:
    """Cells closer than ``_GAP_UM`` to the wall of a pial vessel of ``kind`` (coarse)."""
    xy = np.asarray(net.xy, dtype=np.float64).reshape(-1, 2)
    rad = np.asarray(net.radius, dtype=np.float64)
    layer = np.asarray(net.layer)
    e = np.asarray(net.edges, dtype=np.intp).reshape(-1, 2)
    ek = np.asarray(net.edge_kind)
    keep = (ek == kind) & (layer[e[:, 0]] == LAYER_PIA) & (layer[e[:, 1]] == LAYER_PIA)
    e = e[keep]
    centre = np.zeros(shape, np.float64)
    if not len(e):
        return np.zeros(shape, bool)
    length = np.hypot(*(xy[e[:, 1]] - xy[e[:, 0]]).T)
    n = np.ceil(length / (0.5 * cell_um)).astype(np.intp) + 1
    which = np.repeat(np.arange(len(e)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(np.maximum(n - 1, 1), n)
    a, b = e[which, 0], e[which, 1]
    p = xy[a] + t[:, None] * (xy[b] - xy[a])
    r = rad[a] + t * (rad[b] - rad[a])
    rows = np.clip((p[:, 1] / cell_um).astype(np.intp), 0, shape[0] - 1)
    cols = np.clip((p[:, 0] / cell_um).astype(np.intp), 0, shape[1] - 1)
    np.maximum.at(centre, (rows, cols), r)
    dist, (ir, ic) = ndimage.distance_transform_edt(centre == 0, return_indices=True)
    clearance = dist * cell_um - centre[ir, ic]
    return np.asarray(clearance < _GAP_UM + 0.5 * cell_um)


def add_thin_vessels(
    net: VesselNetwork,
    rng: np.random.Generator,
    *,
    extent_um: tuple[float, float],
    center_um: tuple[float, float],
    disk_r_um: float,
    per_mm2: float = THIN_PER_MM2,
) -> int:
    """Add thin sprouts to ``net`` in place; see the module docstring.

    Parameters
    ----------
    net : VesselNetwork
        The grown pial trees (arteries and veins on ``LAYER_PIA``).
    rng : numpy.random.Generator
    extent_um : (float, float)
        Field size (width along x, height along y), micrometres.
    center_um : (float, float)
        Centre (x, y) of the craniectomy, micrometres.
    disk_r_um : float
        Radius of the craniectomy, micrometres.
    per_mm2 : float
        Sprouts per mm^2 of the opening (Poisson).

    Returns
    -------
    int
        Number of sprouts grown.

    Examples
    --------
    >>> from insertion_planner.synthetic.trees import grow_network
    >>> rng = np.random.default_rng(0)
    >>> net = grow_network(rng, extent_um=(6000.0, 6000.0), center_um=(3000.0, 3000.0),
    ...                    disk_r_um=2800.0, dural=False)
    >>> n_nodes = len(net.xy)
    >>> add_thin_vessels(net, rng, extent_um=(6000.0, 6000.0), center_um=(3000.0, 3000.0),
    ...                  disk_r_um=2800.0) > 0 and len(net.xy) > n_nodes
    True
    """
    cell = max(50.0, max(extent_um) / 2000.0)
    shape = (int(extent_um[1] // cell) + 2, int(extent_um[0] // cell) + 2)
    blocked = {k: _blocked_grid(net, k, shape, cell) for k in (ARTERY, VEIN)}
    xy = np.asarray(net.xy, dtype=np.float64).reshape(-1, 2)
    rad = np.asarray(net.radius, dtype=np.float64)
    layer = np.asarray(net.layer)
    e = np.asarray(net.edges, dtype=np.intp).reshape(-1, 2)
    ek = np.asarray(net.edge_kind)
    pial = (
        np.isin(ek, (ARTERY, VEIN)) & (layer[e[:, 0]] == LAYER_PIA) & (layer[e[:, 1]] == LAYER_PIA)
    )
    e, ek = e[pial], ek[pial]
    seg = xy[e[:, 1]] - xy[e[:, 0]] if len(e) else np.zeros((0, 2))
    length = np.hypot(seg[:, 0], seg[:, 1])
    ok = length > 0
    e, ek, seg, length = e[ok], ek[ok], seg[ok], length[ok]
    n = int(rng.poisson(per_mm2 * np.pi * (disk_r_um / 1000.0) ** 2))
    if n == 0 or not len(e):
        return 0
    prob = length / length.sum()
    cx, cy = center_um
    grown = 0
    for _ in range(n):
        i = int(rng.choice(len(e), p=prob))
        t = float(rng.random())
        side = 1.0 if rng.random() < 0.5 else -1.0
        rp = (1.0 - t) * rad[e[i, 0]] + t * rad[e[i, 1]]
        r = float(rng.uniform(THIN_RADIUS_UM[0], min(THIN_RADIUS_UM[1], 0.8 * rp)))
        normal = np.array([-seg[i, 1], seg[i, 0]]) / length[i]
        p = xy[e[i, 0]] + t * seg[i] + side * rp * normal
        if (p[0] - cx) ** 2 + (p[1] - cy) ** 2 > (0.97 * disk_r_um) ** 2:
            continue
        angle = murray_angles(rp, (rp**3 - r**3) ** (1.0 / 3.0), r)[1]
        head = float(np.arctan2(seg[i, 1], seg[i, 0]) + side * (angle + rng.normal(0.0, 0.25)))
        kind = int(ek[i])
        start = net.add_node((float(p[0]), float(p[1])), r, kind, LAYER_PIA)
        nodes = _grow_sprout(
            net, rng, blocked[kind], cell, start, head, r, kind, rp, center_um, disk_r_um
        )
        _mark(blocked[kind], xy_nodes=np.asarray([net.xy[k] for k in nodes]), cell_um=cell)
        grown += 1
    return grown


def _grow_sprout(
    net: VesselNetwork,
    rng: np.random.Generator,
    blocked: NDArray[np.bool_],
    cell_um: float,
    start: int,
    heading: float,
    radius: float,
    kind: int,
    parent_radius_um: float,
    center_um: tuple[float, float],
    disk_r_um: float,
) -> list[int]:
    """Walk one sprout (and its daughters) from node ``start``; returns its nodes."""
    cx, cy = center_um
    nodes = [start]
    queue: deque[tuple[int, float, float, float, int]] = deque()
    skip0 = parent_radius_um + _GAP_UM + 2.0 * _STEP_UM
    queue.append((start, heading, radius, skip0, 0))
    while queue:
        prev, head, r, skip_um, generation = queue.popleft()
        target = head
        lo, hi = THIN_LENGTH_UM
        length = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) * (0.5**generation)
        sigma = _TORTUOSITY_RAD * np.sqrt(_STEP_UM / 100.0) * (15.0 / r) ** 0.35
        x, y = net.xy[prev]
        walked, blocked_hit, left = 0.0, False, False
        while walked < length:
            head += 0.15 * (target - head) + sigma * rng.standard_normal()
            x, y = x + _STEP_UM * np.cos(head), y + _STEP_UM * np.sin(head)
            walked += _STEP_UM
            node = net.add_node((x, y), r, kind, LAYER_PIA)
            net.add_edge(prev, node, kind)
            nodes.append(node)
            prev = node
            if (x - cx) ** 2 + (y - cy) ** 2 > (disk_r_um + 2.0 * r) ** 2:
                left = True
                break
            row, col = int(y // cell_um), int(x // cell_um)
            inside = 0 <= row < blocked.shape[0] and 0 <= col < blocked.shape[1]
            if walked > skip_um and inside and blocked[row, col]:
                blocked_hit = True
                break
        if left:
            continue
        can_split = r >= THIN_RADIUS_UM[0] * 2.0 ** (1.0 / 3.0) and generation == 0
        if not blocked_hit and can_split and rng.random() < _SPLIT_PROBABILITY:
            r1, r2 = murray_daughters(r, float(rng.uniform(0.5, 1.0)))
            if r2 < THIN_RADIUS_UM[0]:
                r2 = THIN_RADIUS_UM[0]
                r1 = (r**3 - r2**3) ** (1.0 / 3.0)
            t1, t2 = murray_angles(r, r1, r2)
            side = 1.0 if rng.random() < 0.5 else -1.0
            skip = r + _GAP_UM + 2.0 * _STEP_UM
            queue.append((prev, head + side * t1, r1, skip, generation + 1))
            queue.append((prev, head - side * t2, r2, skip, generation + 1))
            continue
        net.add_stump(prev, rng)
    return nodes


def _mark(blocked: NDArray[np.bool_], *, xy_nodes: NDArray[np.float64], cell_um: float) -> None:
    """Block the cells of a finished sprout and their neighbours for later sprouts."""
    if not len(xy_nodes):
        return
    rows = (xy_nodes[:, 1] // cell_um).astype(np.intp)
    cols = (xy_nodes[:, 0] // cell_um).astype(np.intp)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            rr, cc = rows + dr, cols + dc
            ok = (rr >= 0) & (rr < blocked.shape[0]) & (cc >= 0) & (cc < blocked.shape[1])
            blocked[rr[ok], cc[ok]] = True
