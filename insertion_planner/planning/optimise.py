"""Choose sites among candidates: weighted greedy + local improvement, certified by a MILP.

The problem on a candidate set: maximise the sum of the chosen candidates' scores subject
to at most ``n`` chosen and no two chosen closer than the conflict distance ``d``. The
heuristic (greedy by score, then 1-swap local improvement) gives a solution; the same
problem is then solved as a binary MILP with ``scipy.optimize.milp`` (HiGHS) under a time
limit, whose dual bound certifies the gap. The better of the two solutions is kept.
To spread the sites over the zone, ``d`` starts at the spacing of a hexagonal packing of
``n`` sites in the zone and shrinks toward ``min_spacing_um`` only as far as needed to fit
``n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from .candidates import Candidates

__all__ = ["Placement", "greedy_select", "improve_selection", "milp_certificate", "place_sites"]

SPREAD_FACTOR = 0.9
"""The first conflict distance is this fraction of the hexagonal-packing spacing of the zone."""
SHRINK = 0.85
"""Each retry shrinks the conflict distance by this factor until ``n`` sites fit."""
MILP_MAX_ROWS = 6000
"""Largest conflict formulation handed to the MILP; HiGHS's root node alone took over 20 s
on 25,000 rows (2048 x 2048 synthetic case), so larger ones are bounded by their LP."""


@dataclass(frozen=True, eq=False)
class Placement:
    """Chosen sites and their optimality certificate.

    Attributes
    ----------
    candidates : Candidates
    chosen : (k,) int
        Indices into ``candidates`` of the chosen sites, k <= n_requested.
    spacing_um : float
        Conflict distance used (>= the minimum spacing).
    objective : float
        Sum of the chosen scores.
    bound : float
        Upper bound on the objective over the same candidates and conflict distance.
    gap : float
        ``(bound - objective) / bound``, in [0, 1].
    method : str
        ``"heuristic"`` or ``"milp"``: which solution was kept.
    milp_status : str
        HiGHS status message of the certificate run.
    """

    candidates: Candidates = field(repr=False)
    chosen: NDArray[np.int64] = field(repr=False)
    spacing_um: float
    objective: float
    bound: float
    gap: float
    method: str
    milp_status: str


def _neighbours(
    tree: cKDTree, xy: NDArray[np.float64], i: int, d: float, cache: dict[int, NDArray[np.int64]]
) -> NDArray[np.int64]:
    got = cache.get(i)
    if got is None:
        got = np.asarray(tree.query_ball_point(xy[i], d * (1 - 1e-9)), dtype=np.int64)
        cache[i] = got
    return got


def _blocked_by_fixed(
    xy: NDArray[np.float64], fixed_xy: ArrayLike | None, d: float
) -> NDArray[np.int64]:
    """How many fixed sites lie closer than ``d`` to each candidate, (n,) int."""
    out = np.zeros(len(xy), np.int64)
    if fixed_xy is None or not len(xy):
        return out
    f = np.asarray(fixed_xy, float).reshape(-1, 2)
    if not len(f):
        return out
    tree = cKDTree(xy)
    for lst in tree.query_ball_point(f, d * (1 - 1e-9)):
        out[np.asarray(lst, dtype=np.int64)] += 1
    return out


def greedy_select(
    cands: Candidates,
    n: int,
    d: float,
    *,
    fixed_xy: ArrayLike | None = None,
    order: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Pick up to ``n`` candidates in ``order`` (default: best score first), none closer than ``d``.

    Candidates closer than ``d`` to a ``fixed_xy`` site are never picked.

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.planning.candidates import Candidates
    >>> xy = np.array([[0.0, 0], [100, 0], [300, 0]])
    >>> c = Candidates(xy.astype(int), xy, *(np.ones(3),) * 3, np.array([1.0, 2.0, 1.5]), 50.0, 1.0)
    >>> greedy_select(c, 3, 250.0).tolist()
    [1]
    >>> greedy_select(c, 3, 150.0).tolist()
    [1, 2]
    """
    xy = cands.xy_um
    if order is None:
        order = np.lexsort((np.arange(len(cands)), -cands.score))
    blocked = _blocked_by_fixed(xy, fixed_xy, d) > 0
    tree = cKDTree(xy) if len(xy) else None
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= n:
            break
        if blocked[i]:
            continue
        chosen.append(int(i))
        assert tree is not None
        blocked[tree.query_ball_point(xy[i], d * (1 - 1e-9))] = True
    return np.array(sorted(chosen), dtype=np.int64)


def improve_selection(
    cands: Candidates,
    chosen: NDArray[np.int64],
    n: int,
    d: float,
    *,
    fixed_xy: ArrayLike | None = None,
    max_passes: int = 4,
) -> NDArray[np.int64]:
    """1-swap local improvement: move a site to a better free neighbour; fill free slots.

    The result is feasible whenever ``chosen`` is, and its score is never lower.
    """
    if not len(cands):
        return chosen
    xy, score = cands.xy_um, cands.score
    tree = cKDTree(xy)
    cache: dict[int, NDArray[np.int64]] = {}
    count = _blocked_by_fixed(xy, fixed_xy, d)
    sel = np.zeros(len(cands), bool)
    for i in chosen:
        sel[i] = True
        count[_neighbours(tree, xy, int(i), d, cache)] += 1
    for _ in range(max_passes):
        changed = False
        for s in np.flatnonzero(sel):
            nb = _neighbours(tree, xy, int(s), d, cache)
            # a neighbour j is free once s leaves if only s blocks it
            ok = nb[(~sel[nb]) & (count[nb] == 1) & (score[nb] > score[s] + 1e-12)]
            if not len(ok):
                continue
            j = int(ok[np.lexsort((ok, -score[ok]))[0]])
            sel[s] = False
            count[nb] -= 1
            sel[j] = True
            count[_neighbours(tree, xy, j, d, cache)] += 1
            changed = True
        free = np.flatnonzero((count == 0) & ~sel)
        while sel.sum() < n and len(free):
            j = int(free[np.lexsort((free, -score[free]))[0]])
            sel[j] = True
            count[_neighbours(tree, xy, j, d, cache)] += 1
            free = np.flatnonzero((count == 0) & ~sel)
            changed = True
        if not changed:
            break
    return np.flatnonzero(sel).astype(np.int64)


def _conflict_rows(xy: NDArray[np.float64], d: float) -> sparse.csr_matrix:
    """Rows of a set-packing formulation: one clique per grid cell, then the remaining pairs."""
    n = len(xy)
    side = d / math.sqrt(2) * (1 - 1e-9)
    cell = np.floor(xy / side).astype(np.int64)
    key = (cell[:, 0] - cell[:, 0].min()) * (cell[:, 1].max() - cell[:, 1].min() + 1) + (
        cell[:, 1] - cell[:, 1].min()
    )
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    multi = cnt[inv] > 1
    r_ids = np.cumsum(cnt > 1) - 1
    nrow = int((cnt > 1).sum())
    rows.append(r_ids[inv[multi]])
    cols.append(np.flatnonzero(multi))
    pairs = (
        cKDTree(xy).query_pairs(d * (1 - 1e-9), output_type="ndarray")
        if n > 1
        else np.zeros((0, 2), np.int64)
    )
    if len(pairs):
        pairs = pairs[key[pairs[:, 0]] != key[pairs[:, 1]]]
        pr = nrow + np.arange(len(pairs))
        rows += [pr, pr]
        cols += [pairs[:, 0], pairs[:, 1]]
        nrow += len(pairs)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(nrow, n))


def milp_certificate(
    cands: Candidates,
    n: int,
    d: float,
    *,
    fixed_xy: ArrayLike | None = None,
    node_limit: int = 500,
    time_limit_s: float = 20.0,
) -> tuple[NDArray[np.int64] | None, float, str]:
    """Solve the placement MILP on ``cands``: (solution or None, upper bound, status).

    The bound starts from the LP relaxation of the same formulation (always solved; cheap
    and deterministic). The MILP then runs when the conflict formulation has at most
    ``MILP_MAX_ROWS`` rows; its search stops after ``node_limit`` branch-and-bound nodes
    (a deterministic limit, so identical inputs give identical plans). ``time_limit_s`` is
    only a safety net: a search it stops is discarded, because where a timed search ends
    depends on the machine, and the LP bound stands. Every bound returned is valid: the
    HiGHS dual bound or the LP bound, never above the trivial bound (the sum of the ``n``
    best scores).
    """
    score = cands.score
    free = _blocked_by_fixed(cands.xy_um, fixed_xy, d) == 0
    trivial = float(np.sort(score[free])[::-1][:n].sum())
    if not free.any():
        return np.zeros(0, np.int64), 0.0, "no free candidate"
    idx = np.flatnonzero(free)
    xy = cands.xy_um[idx]
    a = _conflict_rows(xy, d)
    a = sparse.vstack([a, sparse.csr_matrix(np.ones((1, len(idx))))]).tocsr()
    ub = np.ones(a.shape[0])
    ub[-1] = n
    constraint = LinearConstraint(a, -np.inf, ub)
    lp = milp(
        c=-score[idx], constraints=constraint, integrality=np.zeros(len(idx)), bounds=Bounds(0, 1)
    )
    if lp.status == 0 and lp.fun is not None:
        trivial = min(trivial, -float(lp.fun))
    if a.shape[0] > MILP_MAX_ROWS:
        return (
            None,
            trivial,
            f"LP relaxation bound (MILP not run: {a.shape[0]} conflict rows > {MILP_MAX_ROWS})",
        )
    res = milp(
        c=-score[idx], constraints=constraint, integrality=np.ones(len(idx)),
        bounds=Bounds(0, 1), options={"time_limit": float(time_limit_s), "node_limit": int(node_limit),
                 "mip_rel_gap": 1e-4, "disp": False},
    )  # fmt: skip
    if "time limit" in str(res.message).lower():
        return None, trivial, "LP relaxation bound (MILP stopped by its time limit)"
    bound = trivial
    dual = getattr(res, "mip_dual_bound", None)
    if dual is not None and np.isfinite(dual):
        bound = min(bound, -float(dual))
    sol = None
    if res.x is not None:
        sol = idx[np.flatnonzero(res.x > 0.5)].astype(np.int64)
        if res.status == 0:
            bound = min(
                bound,
                max(float(score[sol].sum()), -float(res.fun) if res.fun is not None else bound),
            )
    return sol, bound, str(res.message)


def _is_feasible(
    cands: Candidates, chosen: NDArray[np.int64], n: int, d: float, fixed_xy: ArrayLike | None
) -> bool:
    if len(chosen) > n:
        return False
    xy = cands.xy_um[chosen]
    if len(xy) > 1 and len(cKDTree(xy).query_pairs(d * (1 - 1e-9))):
        return False
    return bool((_blocked_by_fixed(xy, fixed_xy, d) == 0).all())


def spread_spacing_um(zone_area_um2: float, n: int, min_spacing_um: float) -> float:
    """First conflict distance: ``SPREAD_FACTOR`` times the hexagonal spacing of n sites in the zone."""
    hexd = math.sqrt(2.0 * zone_area_um2 / (math.sqrt(3.0) * max(n, 1)))
    return max(min_spacing_um, SPREAD_FACTOR * hexd)


def place_sites(
    cands: Candidates,
    n: int,
    *,
    min_spacing_um: float,
    fixed_xy: ArrayLike | None = None,
    node_limit: int = 500,
    certify: bool = True,
) -> Placement:
    """Choose up to ``n`` sites among ``cands``, spread out, none closer than ``min_spacing_um``.

    Parameters
    ----------
    cands : Candidates
    n : int
        Sites wanted.
    min_spacing_um : float
        Hard minimum distance between two sites (and to any ``fixed_xy`` site).
    fixed_xy : (k, 2) float, optional
        Sites already taken (x, y) um, e.g. inserted threads when replanning.
    node_limit : int
        Branch-and-bound node limit of the MILP certificate.
    certify : bool
        Run the MILP (otherwise the bound is the trivial sum of the n best scores).

    Examples
    --------
    >>> import numpy as np
    >>> from insertion_planner.planning.candidates import Candidates
    >>> xy = np.array([[0.0, 0], [100, 0], [300, 0], [600, 0]])
    >>> c = Candidates(xy.astype(int), xy, *(np.ones(4),) * 3, np.array([1.0, 2.0, 1.5, 1.2]), 50.0, 4e4)
    >>> p = place_sites(c, 3, min_spacing_um=250.0)
    >>> p.chosen.tolist(), p.objective, p.gap
    ([0, 2, 3], 3.7, 0.0)
    """
    n_fixed = 0 if fixed_xy is None else len(np.asarray(fixed_xy).reshape(-1, 2))
    d = spread_spacing_um(cands.zone_area_um2, n + n_fixed, min_spacing_um)
    chosen = greedy_select(cands, n, d, fixed_xy=fixed_xy)
    while len(chosen) < n and d > min_spacing_um:
        d = max(min_spacing_um, d * SHRINK)
        chosen = greedy_select(cands, n, d, fixed_xy=fixed_xy)
    if len(chosen) < n:
        # a raster order packs tighter than a score order when space is short
        raster = (
            np.lexsort((cands.rc[:, 1], cands.rc[:, 0])) if len(cands) else np.zeros(0, np.int64)
        )
        alt = greedy_select(cands, n, d, fixed_xy=fixed_xy, order=raster)
        if len(alt) > len(chosen):
            chosen = alt
    chosen = improve_selection(cands, chosen, n, d, fixed_xy=fixed_xy)
    objective = float(cands.score[chosen].sum())
    method, status = "heuristic", "not run"
    bound = float(np.sort(cands.score)[::-1][:n].sum())
    if certify and len(cands):
        sol, bound, status = milp_certificate(cands, n, d, fixed_xy=fixed_xy, node_limit=node_limit)
        if sol is not None and _is_feasible(cands, sol, n, d, fixed_xy):
            val = float(cands.score[sol].sum())
            if (len(sol), val) > (len(chosen), objective + 1e-9):
                chosen, objective, method = np.sort(sol), val, "milp"
    bound = max(bound, objective)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    return Placement(
        cands,
        np.asarray(chosen, np.int64),
        float(d),
        objective,
        float(bound),
        float(gap),
        method,
        status,
    )
