import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insertion_planner.robot.motion import plan_move, profile_time


def test_trapezoid_and_triangle_times():
    assert profile_time(10.0, speed=5.0, accel=5.0) == pytest.approx(3.0)
    assert profile_time(1.0, speed=5.0, accel=4.0) == pytest.approx(1.0)  # triangle: 2 sqrt(d/a)
    assert profile_time(0.0, speed=5.0, accel=4.0) == 0.0


def test_scurve_slower_than_trapezoid_and_converges():
    t = profile_time(10.0, speed=5.0, accel=5.0)
    s = profile_time(10.0, speed=5.0, accel=5.0, jerk=50.0)
    assert s == pytest.approx(t + 5.0 / 50.0)  # each ramp lengthens by a/j
    assert profile_time(10.0, speed=5.0, accel=5.0, jerk=1e9) == pytest.approx(t, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    d=st.lists(st.floats(-50, 50), min_size=3, max_size=3),
    v=st.lists(st.floats(0.5, 20), min_size=3, max_size=3),
    a=st.lists(st.floats(0.5, 50), min_size=3, max_size=3),
    scurve=st.booleans(),
)
def test_synchronised_move_respects_limits(d, v, a, scurve):
    prof = "s-curve" if scurve else "trapezoidal"
    m = plan_move([0.0, 0.0, 0.0], d, speed=v, accel=a, jerk=[100.0] * 3, profile=prof)
    t = np.linspace(0.0, m.duration_s, 801)
    pos, vel, acc = m.position(t), m.velocity(t), m.acceleration(t)
    np.testing.assert_allclose(pos[-1], d, atol=1e-9)
    np.testing.assert_allclose(pos[0], 0.0, atol=1e-12)
    assert (np.abs(vel) <= np.asarray(v) * (1 + 1e-6) + 1e-9).all()
    assert (np.abs(acc) <= np.asarray(a) * (1 + 1e-6) + 1e-9).all()
    # straight line: every position is a multiple of the displacement
    norm = np.linalg.norm(d)
    if norm > 1e-6:
        cross = np.linalg.norm(np.cross(pos, np.asarray(d) / norm), axis=1)
        assert cross.max() < 1e-6 * max(norm, 1.0)
        # time-optimal: the slowest axis alone needs this long
        one = max(
            profile_time(abs(x), speed=vi, accel=ai, jerk=100.0 if scurve else None)
            for x, vi, ai in zip(d, v, a, strict=True)
        )
        assert m.duration_s >= one - 1e-9


def test_move_errors():
    with pytest.raises(ValueError, match="jerk"):
        plan_move([0.0], [1.0], speed=1.0, accel=1.0, profile="s-curve")
    with pytest.raises(ValueError, match="speed"):
        plan_move([0.0], [1.0], speed=-1.0, accel=1.0)
    with pytest.raises(ValueError, match="profile"):
        plan_move([0.0], [1.0], speed=1.0, accel=1.0, profile="bang")
    assert plan_move([1.0, 2.0], [1.0, 2.0], speed=1.0, accel=1.0).duration_s == 0.0
