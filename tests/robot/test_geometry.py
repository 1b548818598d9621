"""Clearance, collision and cycle timing on hand-made geometry."""

import numpy as np
import pytest

from insertion_planner.planning.opening import Opening
from insertion_planner.robot.clearance import (
    nearest_capsules,
    path_clearance,
    segment_distance,
    vessel_capsules,
)
from insertion_planner.robot.collision import build_obstacles, head_points, obstacle_distances
from insertion_planner.robot.cycle import PHASES, cycle_times, tilt_angles
from insertion_planner.robots import get_robot

DOWN = [0.0, 0.0, -1.0]


def test_segment_distance_matches_dense_sampling():
    rng = np.random.default_rng(3)
    p = rng.normal(size=(150, 4, 3)) * 100
    p[:50, 3] = p[:50, 2]  # point capsules
    p[50:100, 3] = p[50:100, 2] + 0.5 * (p[50:100, 1] - p[50:100, 0])  # parallel
    d = segment_distance(p[:, 0], p[:, 1], p[:, 2], p[:, 3])
    t = np.linspace(0.0, 1.0, 201)
    a = p[:, 0, None] + t[:, None] * (p[:, 1] - p[:, 0])[:, None]
    b = p[:, 2, None] + t[:, None] * (p[:, 3] - p[:, 2])[:, None]
    brute = np.linalg.norm(a[:, :, None] - b[:, None], axis=-1).min(axis=(1, 2))
    assert (d <= brute + 1e-9).all()
    assert np.abs(d - brute).max() < 0.2


def test_vertical_needle_matches_2d_clearance():
    caps = vessel_capsules([[300.0, -1000, 0, 300, 1000, 0, 40]], np.zeros((0, 5)))
    clear, idx = path_clearance([[0.0, 0, 0], [200.0, 0, 0]], [DOWN, DOWN], [3500.0, 3500.0], caps)
    np.testing.assert_allclose(clear, [260.0, 60.0])
    assert idx.tolist() == [0, 0]


def test_penetrating_vessel_counts_in_3d():
    # a penetrating vessel 150 um beside the site; a needle tilted toward it reaches it at depth
    caps = vessel_capsules(np.zeros((0, 7)), [[150.0, 0.0, 0.0, 10.0, 3500.0]])
    straight, _ = path_clearance([[0.0, 0, 0]], [DOWN], [3500.0], caps)
    tilt = np.array([np.sin(0.1), 0.0, -np.cos(0.1)])
    tilted, _ = path_clearance([[0.0, 0, 0]], [tilt], [3500.0], caps)
    assert straight[0] == pytest.approx(140.0)
    assert tilted[0] < 0  # the tilted needle passes through the vessel


def test_dura_vessel_only_seen_with_the_dura_part_of_the_path():
    # a dural vessel 200 um above the pia, right over the site
    caps = vessel_capsules([[-500.0, 0, 200, 500, 0, 200, 30]], np.zeros((0, 5)))
    without, _ = path_clearance([[0.0, 0, 0]], [DOWN], [3500.0], caps)
    with_dura, _ = path_clearance([[0.0, 0, 0]], [DOWN], [3500.0], caps, dura_thickness_um=320.0)
    assert without[0] == pytest.approx(170.0)
    assert with_dura[0] == pytest.approx(-30.0)


def test_nearest_capsules_order():
    caps = vessel_capsules(
        [[x, -1000, 0, x, 1000, 0, 10] for x in (900.0, 100.0, 500.0)], np.zeros((0, 5))
    )
    assert nearest_capsules([[0.0, 0, 0]], [DOWN], [3500.0], caps, k=2).tolist() == [[1, 2]]


@pytest.fixture(scope="module")
def obstacles():
    return build_obstacles(opening=Opening.circle((0, 0), 12000), skull_top_z_um=6000,
                           skull_bottom_z_um=-1500,
                           implant_center_um=(24000, 0, 6000), implant_radius_um=11500,
                           implant_height_um=9000)  # fmt: skip


def test_head_collides_near_the_rim_only(obstacles):
    robot = get_robot("R1-2019")
    x = np.array([0.0, 6000.0, 10500.0, -11000.0])
    entries = np.c_[x, np.zeros(4), np.zeros(4)]
    dirs = np.tile(DOWN, (4, 1))
    pts, rad = head_points(entries + 3500 * dirs, dirs, robot, needle_end_um=entries)
    dist = obstacle_distances(obstacles, pts, rad)
    assert obstacles.names == ("skull", "implant")
    assert (dist[:2] > 500).all()
    assert dist[2, 1] < 0  # toward the implant side: the head runs into the implant
    assert dist[3, 0] < 0  # far side: the head cone runs into the skull rim


def test_needle_point_distance_is_exact(obstacles):
    # a single point 1,000 um inside the opening, at mid skull height
    d = obstacle_distances(obstacles, [[[11000.0, 0.0, 2000.0]]], [0.0], horizon_um=1e9)
    assert d[0, 0] == pytest.approx(1000.0, abs=30.0)


def test_cycle_phases_and_modes():
    robot = get_robot("R1-2019")
    kw = dict(robot=robot, cartridge_um=[40000.0, 0.0, 15000.0], pia_z_um=0.0)
    dur = cycle_times([[0.0, 0, 0], [-20000.0, 0, 0]], [DOWN, DOWN], [3500.0, 3500.0], **kw)
    trans = cycle_times([[0.0, 0, 0]], [DOWN], [3500.0], dura_thickness_um=320.0, **kw)
    p = dict(zip(PHASES, dur.phases_s[0], strict=True))
    assert p["puncture"] == 0.0 and p["align"] == 0.0
    assert p["load"] == robot.load_time_s and p["verify"] == robot.verify_time_s
    assert p["insert"] == pytest.approx(
        3500.0 / robot.insertion_speed_um_per_s
        + robot.insertion_speed_um_per_s / robot.needle_accel_um_per_s2
    )
    assert dur.phases_s[1, 1] > dur.phases_s[0, 1]  # farther from the cartridge: longer travel
    assert dict(zip(PHASES, trans.phases_s[0], strict=True))["puncture"] > robot.puncture_dwell_s
    assert trans.total_s[0] > dur.total_s[0]
    # a 5-axis robot spends time tilting; the waypoints follow the needle axis
    r5 = get_robot("R1-2024")
    d = np.array([np.sin(0.2), 0.0, -np.cos(0.2)])
    c5 = cycle_times(
        [[0.0, 0, 0]], [d], [3500.0], robot=r5, cartridge_um=[40000.0, 0, 15000], pia_z_um=0.0
    )
    assert dict(zip(PHASES, c5.phases_s[0], strict=True))["align"] > r5.align_settle_s
    np.testing.assert_allclose(c5.waypoints_um[0, 3], 3500.0 * d)
    np.testing.assert_allclose(tilt_angles([d])[0], [0.0, 0.2, 0.2], atol=1e-12)
