"""Growth of pial (and dural) vessel trees obeying Murray's law.

A tree enters the craniectomy from under the bone rim and grows as a persistent random
walk (tortuous centreline). After a length proportional to its radius a branch splits into
two daughters whose radii satisfy Murray's law, ``r0**3 = r1**3 + r2**3``, at the angles
that minimise the work of the flow (Murray 1926):

    cos(theta1) = (r0**4 + r1**4 - r2**4) / (2 r0**2 r1**2)
    cos(theta2) = (r0**4 + r2**4 - r1**4) / (2 r0**2 r2**2)

Branches stop when they leave the opening, when a small branch runs into another vessel
of its kind (space filling), or when they become too thin to split; a pial branch that
stops inside the opening dives into the cortex as a penetrating vessel.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ARTERY",
    "VEIN",
    "DURAL",
    "PENETRATING",
    "KIND_NAMES",
    "murray_daughters",
    "murray_angles",
    "VesselNetwork",
    "grow_network",
]

ARTERY, VEIN, DURAL, PENETRATING = 1, 2, 3, 4
KIND_NAMES = {ARTERY: "artery", VEIN: "vein", DURAL: "dural", PENETRATING: "penetrating"}

# Node layers (how z is assigned once the surface is known).
LAYER_PIA, LAYER_DURA, LAYER_STUMP_TOP, LAYER_STUMP_BOTTOM = 0, 1, 2, 3

MIN_RADIUS_UM = 15.0  # 30 um diameter: cortical vessels (Neuropathology 2003)
STUMP_RADIUS_UM = (10.0, 30.0)  # penetrating stumps, 20-60 um diameter
_CELL_UM = 100.0
_STEER_RADIUS_UM = 40.0  # larger branches turn away from other vessels, smaller ones stop
_CROSS_RADIUS_UM = 120.0  # branches this large run on (crossing) when they cannot turn away


def murray_daughters(r0: float, asymmetry: float) -> tuple[float, float]:
    """Daughter radii (r1 >= r2) with ``r1**3 + r2**3 == r0**3`` and ``r2 / r1 == asymmetry``.

    Examples
    --------
    >>> r1, r2 = murray_daughters(100.0, 0.5)
    >>> round(r1**3 + r2**3 - 100.0**3, 6), round(r2 / r1, 6)
    (0.0, 0.5)
    """
    r1 = r0 / (1.0 + asymmetry**3) ** (1.0 / 3.0)
    return r1, asymmetry * r1


def murray_angles(r0: float, r1: float, r2: float) -> tuple[float, float]:
    """Murray-optimal angles (rad) of the daughters from the parent's axis.

    Examples
    --------
    >>> import math
    >>> r1, r2 = murray_daughters(1.0, 1.0)
    >>> [round(math.degrees(a), 1) for a in murray_angles(1.0, r1, r2)]
    [37.5, 37.5]
    """

    def angle(a: float, b: float) -> float:
        c = (r0**4 + a**4 - b**4) / (2.0 * r0**2 * a**2)
        return float(np.arccos(np.clip(c, -1.0, 1.0)))

    return angle(r1, r2), angle(r2, r1)


@dataclass
class VesselNetwork:
    """Growing vessel graph in the plane: nodes (x, y) um with radius, kind and layer."""

    xy: list[tuple[float, float]] = field(default_factory=list)
    radius: list[float] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    layer: list[int] = field(default_factory=list)
    depth: list[float] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    edge_kind: list[int] = field(default_factory=list)

    def add_node(
        self, xy: tuple[float, float], radius: float, kind: int, layer: int, depth: float = 0.0
    ) -> int:
        self.xy.append((float(xy[0]), float(xy[1])))
        self.radius.append(float(radius))
        self.kind.append(int(kind))
        self.layer.append(int(layer))
        self.depth.append(float(depth))
        return len(self.xy) - 1

    def add_edge(self, a: int, b: int, kind: int) -> None:
        self.edges.append((a, b))
        self.edge_kind.append(int(kind))

    def add_stump(self, top: int, rng: np.random.Generator) -> None:
        """Make node ``top`` the surface end of a penetrating vessel and add its deep end."""
        self.kind[top] = PENETRATING
        self.layer[top] = LAYER_STUMP_TOP
        depth = float(rng.uniform(500.0, 2500.0))
        bottom = self.add_node(
            self.xy[top], self.radius[top], PENETRATING, LAYER_STUMP_BOTTOM, depth
        )
        self.depth[top] = depth
        self.add_edge(top, bottom, PENETRATING)


class _Occupancy:
    """Coarse grid remembering which branch covers each cell, one per vessel kind."""

    def __init__(self, extent_um: tuple[float, float]) -> None:
        self.shape = (int(extent_um[1] // _CELL_UM) + 2, int(extent_um[0] // _CELL_UM) + 2)
        self.owner: dict[int, NDArray[np.int32]] = {}

    def grid(self, kind: int) -> NDArray[np.int32]:
        if kind not in self.owner:
            self.owner[kind] = np.full(self.shape, -1, np.int32)
        return self.owner[kind]

    def _window(self, xy: tuple[float, float], reach_um: float) -> tuple[slice, slice]:
        c, r = xy[0] / _CELL_UM, xy[1] / _CELL_UM
        k = reach_um / _CELL_UM
        r0, r1 = max(int(np.floor(r - k)), 0), min(int(np.ceil(r + k)) + 1, self.shape[0])
        c0, c1 = max(int(np.floor(c - k)), 0), min(int(np.ceil(c + k)) + 1, self.shape[1])
        return slice(r0, max(r1, r0)), slice(c0, max(c1, c0))

    def mark(self, kind: int, xy: tuple[float, float], radius_um: float, branch: int) -> None:
        win = self._window(xy, radius_um)
        self.grid(kind)[win] = branch

    def hit(
        self,
        kinds: tuple[int, ...],
        xy: tuple[float, float],
        reach_um: float,
        ignore: tuple[int, ...],
    ) -> bool:
        win = self._window(xy, reach_um)
        for kind in kinds:
            cells = self.grid(kind)[win]
            if np.any((cells >= 0) & ~np.isin(cells, ignore)):
                return True
        return False


@dataclass(frozen=True)
class _TreeStyle:
    kind: int
    layer: int
    tortuosity_rad: float  # heading noise per sqrt(100 um) of walk, for a 15 um branch
    asymmetry: tuple[float, float]  # range of r2 / r1 at a split
    length_per_radius: tuple[float, float]
    gap_um: float  # free cortex kept between small branches of the same kind
    min_radius_um: float
    dives: bool  # whether terminal branches dive as penetrating vessels
    extra_length_um: tuple[float, float] = (400.0, 1200.0)


PIAL_STYLE = {
    ARTERY: _TreeStyle(
        ARTERY, LAYER_PIA, 0.22, (0.25, 0.9), (9.0, 18.0), 300.0, MIN_RADIUS_UM, True
    ),
    VEIN: _TreeStyle(VEIN, LAYER_PIA, 0.16, (0.2, 0.8), (10.0, 20.0), 300.0, MIN_RADIUS_UM, True),
}
DURAL_STYLE = _TreeStyle(DURAL, LAYER_DURA, 0.06, (0.3, 0.6), (25.0, 40.0), 400.0, 20.0, False)


def _free_turn(
    occ: _Occupancy,
    style: _TreeStyle,
    xy: tuple[float, float],
    head: float,
    r: float,
    ignore: tuple[int, ...],
) -> float | None:
    """A heading change (rad) that leads away from other vessels, or None."""
    ahead = 2.0 * (r + style.gap_um)
    for turn in (0.5, -0.5, 1.0, -1.0):
        probe = (xy[0] + ahead * np.cos(head + turn), xy[1] + ahead * np.sin(head + turn))
        if not occ.hit((style.kind,), probe, r + style.gap_um, ignore):
            return turn
    return None


def _grow_tree(
    net: VesselNetwork,
    occ: _Occupancy,
    style: _TreeStyle,
    rng: np.random.Generator,
    root_xy: tuple[float, float],
    heading: float,
    radius: float,
    center_um: tuple[float, float],
    disk_r_um: float,
    branch0: int,
) -> int:
    """Grow one tree from ``root_xy``; returns the next free branch id."""
    cx, cy = center_um
    root = net.add_node(root_xy, radius, style.kind, style.layer)
    queue: deque[tuple[int, float, float, int, float]] = deque()
    queue.append((root, heading, radius, -1, 0.0))
    branch = branch0
    while queue:
        start, head, r, parent, skip_um = queue.popleft()
        branch += 1
        target = head
        length = r * rng.uniform(*style.length_per_radius) + rng.uniform(*style.extra_length_um)
        step = float(np.clip(0.8 * r, 30.0, 110.0))
        sigma = style.tortuosity_rad * np.sqrt(step / 100.0) * (MIN_RADIUS_UM / r) ** 0.35
        x, y = net.xy[start]
        prev = start
        walked = 0.0
        n_steps = 0
        stopped_inside = True
        while True:
            head += 0.15 * (target - head) + sigma * rng.standard_normal()
            x, y = x + step * np.cos(head), y + step * np.sin(head)
            walked += step
            n_steps += 1
            node = net.add_node((x, y), r, style.kind, style.layer)
            net.add_edge(prev, node, style.kind)
            prev = node
            dx, dy = x - cx, y - cy
            outside = dx * dx + dy * dy > (disk_r_um + 2.0 * r) ** 2
            if outside and dx * np.cos(head) + dy * np.sin(head) > 0:
                stopped_inside = False
                break
            ignore = (branch, parent)
            blocked = walked > skip_um and occ.hit((style.kind,), (x, y), r + style.gap_um, ignore)
            occ.mark(style.kind, (x, y), r, branch)
            if blocked and r >= _STEER_RADIUS_UM:
                turn = _free_turn(occ, style, (x, y), head, r, ignore)
                if turn is not None:
                    head += turn
                    target += turn
                    blocked = False
                elif r >= _CROSS_RADIUS_UM:
                    blocked = False  # large vessels never stop in the field; they may cross
            if blocked and n_steps >= 2:
                break
            if walked >= length and n_steps >= 2:
                break
        done = walked < length or r < style.min_radius_um * 2.0 ** (1.0 / 3.0)
        if not stopped_inside:
            continue
        if done:
            if style.dives:
                net.radius[prev] = float(np.clip(r, *STUMP_RADIUS_UM))
                net.add_stump(prev, rng)
            continue
        alpha = rng.uniform(*style.asymmetry)
        r1, r2 = murray_daughters(r, alpha)
        if r2 < style.min_radius_um:
            r2 = style.min_radius_um
            r1 = (r**3 - r2**3) ** (1.0 / 3.0)
        t1, t2 = murray_angles(r, r1, r2)
        side = 1.0 if rng.random() < 0.5 else -1.0
        skip = r + style.gap_um + 2.0 * step
        queue.append((prev, head + side * t1, r1, branch, skip))
        queue.append((prev, head - side * t2, r2, branch, skip))
    return branch


def grow_network(
    rng: np.random.Generator,
    *,
    extent_um: tuple[float, float],
    center_um: tuple[float, float],
    disk_r_um: float,
    dural: bool,
) -> VesselNetwork:
    """Grow arteries and veins (and dural vessels) entering from the rim of the opening.

    Parameters
    ----------
    rng : numpy.random.Generator
    extent_um : (float, float)
        Field size (width along x, height along y), micrometres.
    center_um : (float, float)
        Centre (x, y) of the craniectomy, micrometres.
    disk_r_um : float
        Radius of the craniectomy, micrometres.
    dural : bool
        Also grow dural vessels (transdural mode) lying on the dura.

    Returns
    -------
    VesselNetwork
    """
    net = VesselNetwork()
    occ = _Occupancy(extent_um)
    scale = disk_r_um / 12500.0
    n_veins = max(1, int(round(2 * scale + rng.uniform(0, 1))))
    n_arteries = max(1, int(round(3 * scale + rng.uniform(0, 1))))
    vein_dir = rng.uniform(0.0, 2.0 * np.pi)  # veins drain toward one side (the sinus)
    roots: list[tuple[int, float]] = []
    for i in range(n_veins):
        roots.append(
            (VEIN, vein_dir + (i - (n_veins - 1) / 2) * 1.3 / max(n_veins, 1) + rng.normal(0, 0.15))
        )
    for i in range(n_arteries):
        roots.append(
            (
                ARTERY,
                vein_dir
                + np.pi
                + (i - (n_arteries - 1) / 2) * 2.2 / max(n_arteries, 1)
                + rng.normal(0, 0.2),
            )
        )
    max_r = {ARTERY: (80.0, 220.0), VEIN: (100.0, 340.0)}
    branch = 0
    cx, cy = center_um
    order = rng.permutation(len(roots))
    for idx in order:
        kind, ang = roots[idx]
        lo, hi = max_r[kind]
        radius = rng.uniform(lo, hi) * min(1.0, 0.4 + 0.6 * scale)
        start = (cx + (disk_r_um + radius) * np.cos(ang), cy + (disk_r_um + radius) * np.sin(ang))
        heading = ang + np.pi + rng.normal(0.0, 0.35)
        branch = _grow_tree(
            net, occ, PIAL_STYLE[kind], rng, start, heading, radius, center_um, disk_r_um, branch
        )
    _scatter_stumps(net, occ, rng, center_um, disk_r_um)
    if dural:
        n_dural = max(1, int(round(2 * scale + rng.uniform(0, 1))))
        for _ in range(n_dural):
            ang = rng.uniform(0.0, 2.0 * np.pi)
            radius = rng.uniform(50.0, 110.0)
            start = (
                cx + (disk_r_um + radius) * np.cos(ang),
                cy + (disk_r_um + radius) * np.sin(ang),
            )
            branch = _grow_tree(
                net,
                occ,
                DURAL_STYLE,
                rng,
                start,
                ang + np.pi + rng.normal(0.0, 0.4),
                radius,
                center_um,
                disk_r_um,
                branch,
            )
    return net


def _scatter_stumps(
    net: VesselNetwork,
    occ: _Occupancy,
    rng: np.random.Generator,
    center_um: tuple[float, float],
    disk_r_um: float,
    *,
    per_mm2: float = 0.5,
    max_parent_radius_um: float = 100.0,
) -> None:
    """Add penetrating vessels leaving the side of pial vessels along their course.

    Cortical (penetrating) arteries arise from pial arteries, mostly the small
    distributing and precortical ones, and cortical veins drain into pial veins
    (Duvernoy et al. 1981): a penetrating vessel's surface end sits at the edge of a pial
    vessel, not alone in free cortex. Parents are pial segments of radius at most
    ``max_parent_radius_um``, chosen in proportion to their length; the stump's centre
    lies on the parent's edge, on a random side. Stumps keep 120 um apart.
    """
    area_mm2 = np.pi * (disk_r_um / 1000.0) ** 2
    n = rng.poisson(per_mm2 * area_mm2)
    xy = np.asarray(net.xy, dtype=np.float64).reshape(-1, 2)
    rad = np.asarray(net.radius, dtype=np.float64)
    layer = np.asarray(net.layer)
    edges = np.asarray(net.edges, dtype=np.intp).reshape(-1, 2)
    kinds = np.asarray(net.edge_kind)
    a, b = edges[:, 0], edges[:, 1]
    pial = (
        np.isin(kinds, (ARTERY, VEIN))
        & (layer[a] == LAYER_PIA)
        & (layer[b] == LAYER_PIA)
        & (np.maximum(rad[a], rad[b]) <= max_parent_radius_um)
    )
    if n == 0 or not pial.any():
        return
    a, b = a[pial], b[pial]
    seg = xy[b] - xy[a]
    length = np.hypot(seg[:, 0], seg[:, 1])
    ok = length > 0
    a, b, seg, length = a[ok], b[ok], seg[ok], length[ok]
    if not a.size:
        return
    prob = length / length.sum()
    cx, cy = center_um
    for _ in range(n):
        e = int(rng.choice(a.size, p=prob))
        t = float(rng.random())
        side = 1.0 if rng.random() < 0.5 else -1.0
        r = float(rng.uniform(*STUMP_RADIUS_UM))
        rp = (1.0 - t) * rad[a[e]] + t * rad[b[e]]
        normal = np.array([-seg[e, 1], seg[e, 0]]) / length[e]
        p = xy[a[e]] + t * seg[e] + side * rp * normal
        pt = (float(p[0]), float(p[1]))
        if (pt[0] - cx) ** 2 + (pt[1] - cy) ** 2 > (0.97 * disk_r_um) ** 2:
            continue
        if occ.hit((PENETRATING,), pt, r + 120.0, ()):
            continue
        occ.mark(PENETRATING, pt, r, -2)
        top = net.add_node(pt, r, PENETRATING, LAYER_STUMP_TOP)
        net.add_stump(top, rng)
