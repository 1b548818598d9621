"""Insertion order: short robot travel, and no site under a tether already laid.

Every tether runs on the surface along the straight line from the implant's thread exit to
its site (in plan view). Site ``j`` lies *under* thread ``i``'s tether when it is within the
tether clearance of that segment; then ``j`` must be inserted before ``i``, or the needle
would come down onto a laid thread. These rules form a precedence graph (a networkx
DiGraph); the order is a topological order of it chosen for short travel: nearest-neighbour
list scheduling, and list scheduling guided by a networkx travelling-salesman tour, the
shorter of the two.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "point_segment_distance",
    "precedence_graph",
    "insertion_order",
    "tangle_violations",
    "travel_um",
]


def point_segment_distance(p: ArrayLike, a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Distances (n, m) from points p (n, 2) to segments a->b, a (2,) and b (m, 2).

    Examples
    --------
    >>> point_segment_distance([[5.0, 1.0]], [0.0, 0.0], [[10.0, 0.0]]).tolist()
    [[1.0]]
    """
    p = np.atleast_2d(np.asarray(p, float))
    a = np.asarray(a, float).reshape(1, 1, 2)
    b = np.atleast_2d(np.asarray(b, float))[None]
    ab = b - a
    denom = np.maximum((ab * ab).sum(axis=2), 1e-12)
    t = np.clip(((p[:, None, :] - a) * ab).sum(axis=2) / denom, 0.0, 1.0)
    closest = a + t[..., None] * ab
    out: NDArray[np.float64] = np.linalg.norm(p[:, None, :] - closest, axis=2)
    return out


def precedence_graph(sites_xy: ArrayLike, exit_xy: ArrayLike, clearance_um: float) -> nx.DiGraph:
    """Edges j -> i when site j lies within ``clearance_um`` of thread i's tether.

    Examples
    --------
    >>> g = precedence_graph([[100.0, 0.0], [500.0, 10.0]], [0.0, 0.0], 50.0)
    >>> sorted(g.edges)
    [(0, 1)]
    """
    xy = np.atleast_2d(np.asarray(sites_xy, float)).reshape(-1, 2)
    g = nx.DiGraph()
    g.add_nodes_from(range(len(xy)))
    if len(xy) < 2:
        return g
    d = point_segment_distance(xy, exit_xy, xy)  # d[j, i]: site j to tether i
    np.fill_diagonal(d, np.inf)
    jj, ii = np.nonzero(d < clearance_um)
    g.add_edges_from(zip(jj.tolist(), ii.tolist(), strict=True))
    if not nx.is_directed_acyclic_graph(g):
        # only possible for sites closer together than the clearance: keep edges that
        # point away from the exit, which always form a DAG
        r = np.linalg.norm(xy - np.asarray(exit_xy, float), axis=1)
        g.remove_edges_from([(j, i) for j, i in list(g.edges) if not (r[j], j) < (r[i], i)])
    return g


def travel_um(sites_xy: ArrayLike, order: ArrayLike, start_xy: ArrayLike | None = None) -> float:
    """Length of the robot's path visiting ``sites_xy`` in ``order`` (from ``start_xy`` if given)."""
    xy = np.atleast_2d(np.asarray(sites_xy, float)).reshape(-1, 2)[np.asarray(order, int)]
    if start_xy is not None:
        xy = np.vstack([np.asarray(start_xy, float).reshape(1, 2), xy])
    return float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum()) if len(xy) > 1 else 0.0


def _list_schedule(
    g: nx.DiGraph,
    xy: NDArray[np.float64],
    start: NDArray[np.float64],
    rank: NDArray[np.float64] | None,
) -> list[int]:
    indeg = np.array([g.in_degree(i) for i in range(len(xy))])
    done = np.zeros(len(xy), bool)
    pos = start
    out: list[int] = []
    for _ in range(len(xy)):
        avail = np.flatnonzero((indeg == 0) & ~done)
        if rank is None:
            key = np.linalg.norm(xy[avail] - pos, axis=1)
        else:  # follow the tour: the available site next along it from the last one
            last = rank[out[-1]] if out else -1.0
            key = (rank[avail] - last) % len(xy)
        i = int(avail[np.lexsort((avail, key))[0]])
        out.append(i)
        done[i] = True
        pos = xy[i]
        for k in g.successors(i):
            indeg[k] -= 1
    return out


def insertion_order(
    sites_xy: ArrayLike,
    exit_xy: ArrayLike,
    clearance_um: float,
    *,
    start_xy: ArrayLike | None = None,
    use_tour: bool = True,
) -> NDArray[np.int64]:
    """An insertion order (a permutation of the sites) with no site under a laid tether.

    Parameters
    ----------
    sites_xy : (n, 2) float
        Sites (x, y), um.
    exit_xy : (2,) float
        The implant's thread exit (x, y), um.
    clearance_um : float
        Tether clearance.
    start_xy : (2,) float, optional
        Where the robot starts (default: the thread exit).
    use_tour : bool
        Also try list scheduling along a networkx greedy TSP tour; keep the shorter.

    Examples
    --------
    >>> insertion_order([[500.0, 0.0], [100.0, 0.0], [300.0, 0.0]], [0.0, 0.0], 50.0).tolist()
    [1, 2, 0]
    """
    xy = np.atleast_2d(np.asarray(sites_xy, float)).reshape(-1, 2)
    if not len(xy):
        return np.zeros(0, np.int64)
    start = np.asarray(exit_xy if start_xy is None else start_xy, float).reshape(2)
    g = precedence_graph(xy, exit_xy, clearance_um)
    best = _list_schedule(g, xy, start, None)
    if use_tour and len(xy) > 3:
        k = nx.Graph()
        dist = np.linalg.norm(xy[:, None] - xy[None], axis=2)
        iu = np.triu_indices(len(xy), 1)
        k.add_weighted_edges_from(
            zip(iu[0].tolist(), iu[1].tolist(), dist[iu].tolist(), strict=True)
        )
        tour = nx.approximation.greedy_tsp(
            k, source=int(np.argmin(np.linalg.norm(xy - start, axis=1)))
        )
        rank = np.empty(len(xy))
        rank[np.asarray(tour[:-1], int)] = np.arange(len(xy))
        alt = _list_schedule(g, xy, start, rank)
        if travel_um(xy, alt, start) < travel_um(xy, best, start) - 1e-9:
            best = alt
    return np.asarray(best, np.int64)


def tangle_violations(
    sites_xy: ArrayLike, exit_xy: ArrayLike, clearance_um: float
) -> list[tuple[int, int]]:
    """Pairs (later, earlier) where a site lies under the tether of an earlier thread.

    ``sites_xy`` is given in insertion order; an empty list means the order is tangle-free.

    Examples
    --------
    >>> tangle_violations([[500.0, 0.0], [100.0, 0.0]], [0.0, 0.0], 50.0)
    [(1, 0)]
    """
    xy = np.atleast_2d(np.asarray(sites_xy, float)).reshape(-1, 2)
    if len(xy) < 2:
        return []
    d = point_segment_distance(xy, exit_xy, xy)
    later, earlier = np.nonzero(np.tril(d < clearance_um, k=-1))
    return list(zip(later.tolist(), earlier.tolist(), strict=True))
