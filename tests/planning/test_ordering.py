import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from insertion_planner.planning.ordering import (
    insertion_order,
    point_segment_distance,
    precedence_graph,
    tangle_violations,
    travel_um,
)


def _spaced(rng, n, spacing, size):
    pts = []
    while len(pts) < n:
        p = rng.uniform(0, size, 2)
        if all(np.linalg.norm(p - q) >= spacing for q in pts):
            pts.append(p)
    return np.array(pts)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 40), clearance=st.floats(20.0, 240.0))
def test_no_site_lies_under_a_tether_already_laid(seed, n, clearance):
    rng = np.random.default_rng(seed)
    xy = _spaced(rng, n, 250.0, 4000.0)
    exit_xy = np.array([4500.0, rng.uniform(0, 4000)])
    order = insertion_order(xy, exit_xy, clearance)
    assert sorted(order.tolist()) == list(range(n))
    ordered = xy[order]
    assert tangle_violations(ordered, exit_xy, clearance) == []
    # the direct check: every site j is far from every tether laid before it
    for k in range(n):
        if k:
            d = point_segment_distance(ordered[k : k + 1], exit_xy, ordered[:k])
            assert (d >= clearance).all()


def test_precedence_graph_is_a_dag_and_order_beats_naive_travel():
    rng = np.random.default_rng(1)
    xy = _spaced(rng, 64, 250.0, 5000.0)
    exit_xy = np.array([5600.0, 2500.0])
    g = precedence_graph(xy, exit_xy, 100.0)
    assert nx.is_directed_acyclic_graph(g) and g.number_of_edges() > 0
    order = insertion_order(xy, exit_xy, 100.0)
    naive = list(nx.lexicographical_topological_sort(g))
    assert travel_um(xy, order, exit_xy) < 0.6 * travel_um(xy, naive, exit_xy)


def test_tangle_detected_for_bad_order():
    xy = np.array([[1000.0, 0.0], [500.0, 20.0]])
    assert tangle_violations(xy, [0.0, 0.0], 50.0) == [(1, 0)]
    assert tangle_violations(xy[::-1], [0.0, 0.0], 50.0) == []
