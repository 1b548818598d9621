import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from insertion_planner.planning.candidates import Candidates
from insertion_planner.planning.optimise import (
    greedy_select,
    improve_selection,
    milp_certificate,
    place_sites,
)


def _cands(xy, score):
    xy = np.asarray(xy, float)
    ones = np.ones(len(xy))
    return Candidates(
        np.rint(xy / 10).astype(np.int64), xy, ones, ones, ones, np.asarray(score, float), 50.0, 1e5
    )


def _brute(c, n, d):
    best = 0.0
    for k in range(1, n + 1):
        for sub in itertools.combinations(range(len(c)), k):
            if k > 1 and pdist(c.xy_um[list(sub)]).min() < d:
                continue
            best = max(best, c.score[list(sub)].sum())
    return best


def test_milp_matches_brute_force_and_beats_greedy_trap():
    # greedy takes the best site (centre) and blocks two others worth more together
    c = _cands([[0, 0], [200, 0], [-200, 0], [1000, 0]], [2.0, 1.6, 1.6, 1.0])
    g = greedy_select(c, 3, 250.0)
    assert g.tolist() == [0, 3]
    sol, bound, status = milp_certificate(c, 3, 250.0)
    assert sorted(sol.tolist()) == [1, 2, 3]
    assert 4.2 - 1e-9 <= bound <= 4.2 + 1e-6  # a valid bound, and tight: the optimum is 4.2
    p = place_sites(c, 3, min_spacing_um=250.0)
    assert p.objective == 4.2 and p.gap == 0.0  # (raster packing finds it too)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 5), d=st.floats(100.0, 400.0))
def test_heuristic_feasible_and_bound_valid(seed, n, d):
    rng = np.random.default_rng(seed)
    c = _cands(rng.uniform(0, 800, (9, 2)), rng.uniform(1, 2.5, 9))
    chosen = improve_selection(c, greedy_select(c, n, d), n, d)
    assert len(chosen) <= n
    if len(chosen) > 1:
        assert pdist(c.xy_um[chosen]).min() >= d * (1 - 1e-9)
    opt = _brute(c, n, d)
    sol, bound, _ = milp_certificate(c, n, d)
    assert bound >= opt - 1e-6
    assert c.score[sol].sum() == np.float64(opt) or abs(c.score[sol].sum() - opt) < 1e-6
    assert c.score[chosen].sum() <= opt + 1e-9


def test_fixed_sites_block_their_neighbourhood():
    c = _cands([[0, 0], [100, 0], [400, 0]], [2.0, 2.0, 1.0])
    p = place_sites(c, 3, min_spacing_um=250.0, fixed_xy=[[50.0, 0.0]])
    assert p.chosen.tolist() == [2]


def test_improvement_never_lowers_the_score():
    rng = np.random.default_rng(4)
    c = _cands(rng.uniform(0, 3000, (400, 2)), rng.uniform(1, 2.5, 400))
    raster = np.argsort(c.xy_um[:, 0])
    g = greedy_select(c, 30, 300.0, order=raster)
    imp = improve_selection(c, g, 30, 300.0)
    assert c.score[imp].sum() >= c.score[g].sum()
    assert pdist(c.xy_um[imp]).min() >= 300.0 * (1 - 1e-9)


def test_large_formulations_are_bounded_by_their_lp(monkeypatch):
    """Past MILP_MAX_ROWS the MILP is skipped; the LP bound is valid and deterministic."""
    from insertion_planner.planning import optimise

    rng = np.random.default_rng(5)
    c = _cands(rng.uniform(0, 800, (9, 2)), rng.uniform(1, 2.5, 9))
    n, d = 3, 300.0
    opt = _brute(c, n, d)
    monkeypatch.setattr(optimise, "MILP_MAX_ROWS", 0)
    sol, bound, status = milp_certificate(c, n, d)
    assert sol is None and "LP relaxation bound" in status
    assert opt - 1e-6 <= bound <= np.sort(c.score)[::-1][:n].sum() + 1e-9
    assert milp_certificate(c, n, d)[1] == bound
