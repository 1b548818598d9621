"""Tether slack and reach, electrode counting, map sampling."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from insertion_planner.frames import Grid
from insertion_planner.planning.scene import EXIT_HEIGHT_UM, make_scene, tether_polylines
from insertion_planner.retraction import electrode_counts, taut_length_um, tether_slack_um
from insertion_planner.retraction.geometry import polyline_length_um, sample_map


def test_planner_tethers_carry_the_slack_of_their_drop_to_the_pia():
    # The planner lays exit -> over the rim -> down to the pia -> across to the site.
    # Pulled taut the tether lifts off the foot of the wall: the slack is exactly
    # drop + run - hypot(drop, run) on a flat cortex.
    scene = make_scene(Grid((100, 100), pixel_size_um=100.0))
    sites = np.array([[49.5, 49.5], [20.0, 70.0], [80.0, 10.0]])
    for route in tether_polylines(scene, sites):
        run = float(np.hypot(*(route[3, :2] - route[1, :2])))
        drop = EXIT_HEIGHT_UM
        expected = drop + run - math.hypot(drop, run)
        slack = polyline_length_um(route) - taut_length_um(route)
        assert math.isclose(slack, expected, rel_tol=1e-9, abs_tol=1e-6)
        assert 0 < slack < drop


def test_plan_slack_is_a_thread_s_own_when_it_records_one(plan64):
    own = tether_slack_um(plan64.threads)
    assert own.shape == (64,) and (own > 0).all()

    class Laid:
        tether_um = plan64.threads[0].tether_um
        slack_um = 1234.0

    assert tether_slack_um([Laid()]).tolist() == [1234.0]


def test_taut_length_never_exceeds_the_route_and_a_straight_route_has_no_slack():
    straight = [(0.0, 0.0, 0.0), (1000.0, 0.0, 500.0), (3000.0, 0.0, 1500.0)]
    assert math.isclose(taut_length_um(straight), polyline_length_um(straight))
    assert taut_length_um([(0.0, 0.0, 0.0)]) == 0.0


@given(
    st.lists(
        st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(-2000, 2000)),
        min_size=2,
        max_size=8,
    )
)
def test_taut_length_is_between_the_chord_and_the_route(points):
    p = np.asarray(points)
    chord = float(np.linalg.norm(p[-1] - p[0]))
    taut = taut_length_um(p)
    assert taut <= polyline_length_um(p) + 1e-6
    # the taut string keeps the horizontal bends, so it is at least the 3-D chord
    assert taut >= chord - 1e-6


@given(
    depth=st.floats(1.0, 8000.0),
    low=st.floats(0.0, 5000.0),
    span=st.floats(0.0, 5000.0),
    k=st.integers(1, 32),
    pitch=st.floats(10.0, 500.0),
)
def test_electrode_counts_match_a_brute_force_count(depth, low, span, k, pitch):
    high = low + span
    depths = depth - pitch * np.arange(k)
    eps = 1e-6
    brute = int(((depths > low + eps * pitch) & (depths <= high + eps * pitch)).sum())
    got = int(electrode_counts(depth, low, high, n_electrodes=k, pitch_um=pitch))
    assert got == brute
    assert 0 <= got <= k


def test_sample_map_takes_the_nearest_pixel_clipped_inside():
    m = np.arange(12.0).reshape(3, 4)
    assert sample_map(m, [(0.0, 0.0), (2.4, 3.6), (-3.0, 9.0), (1.5001, 0.49)]).tolist() == [
        0.0,
        11.0,
        3.0,
        8.0,
    ]
