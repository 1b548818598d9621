"""The insertion head must clear the skull rim and the implant at every planned site."""

import math

import numpy as np
import pytest

from insertion_planner import simulate
from insertion_planner.planning import plan_from_avoidance
from insertion_planner.planning.opening import Opening
from insertion_planner.planning.scene import head_slack_um
from insertion_planner.robot.collision import build_obstacles, head_points, obstacle_distances
from insertion_planner.robots import get_robot, head_standoff_um


@pytest.mark.parametrize("robot", ["R1-2019", "R1-2024"])
@pytest.mark.parametrize("height", [-300.0, 0.0, 2500.0, 6000.0])
def test_head_standoff_matches_the_simulator_meshes(robot, height):
    """At the standoff + 25 um the simulator keeps the margin; 60 um closer it does not."""
    spec = get_robot(robot)
    margin, radius = 500.0, 10_000.0
    ob = build_obstacles(opening=Opening.circle((0, 0), radius), skull_top_z_um=height,
                         skull_bottom_z_um=-20_000.0)  # fmt: skip
    need = head_standoff_um(spec, height, margin_um=margin)
    for offset, ok in ((25.0, True), (-60.0, False)):
        x = radius - need - offset
        # head lower end at z = 0: tip stick-out below it
        tip = [[x, 0.0, -spec.needle_stickout_um]]
        pts, rad = head_points(tip, [[0.0, 0.0, -1.0]], spec, needle_end_um=[[x, 0.0, -100.0]])
        d = float(obstacle_distances(ob, pts, rad)[0, 0])
        assert (d >= margin - 5.0) == ok, (offset, d)


def test_standoff_grows_with_height_tilt_and_margin():
    r = get_robot("R1-2024")
    h = np.array([-1000.0, 0.0, 1000.0, 5000.0])
    base = head_standoff_um(r, h, margin_um=500.0)
    assert base[0] == 0.0 and np.all(np.diff(base) > 0)
    assert base[2] == pytest.approx(1500 + 1000 * math.tan(r.head_half_angle_rad)
                                    + 500 / math.cos(r.head_half_angle_rad))  # fmt: skip
    assert np.all(head_standoff_um(r, h[1:], margin_um=500.0, tilt_rad=0.1) > base[1:])
    assert np.all(head_standoff_um(r, h[1:], margin_um=800.0) > base[1:])


def _open_map(n, px):
    from types import SimpleNamespace

    return SimpleNamespace(clearance_um=np.full((n, n), 1000.0), required_um=np.full((n, n), 86.5),
                           allowed=np.ones((n, n), bool), pixel_size_um=px, dura_mode="durectomy")  # fmt: skip


@pytest.fixture(scope="module")
def rim_plan():
    """No vessels; an 8 mm craniectomy in a 10 mm field: only the centre is reachable by the head."""
    n, px = 250, 40.0
    yy, xx = np.mgrid[:n, :n]
    crani = np.hypot(yy - 124.5, xx - 124.5) * px <= 4000.0
    region = crani & (xx < 160)
    plan = plan_from_avoidance(_open_map(n, px), n_threads=64, region=region, craniectomy=crani,
                               robot="R1-2024")  # fmt: skip
    return plan, region


def test_head_collision_binds_and_the_simulator_validates_every_site(rim_plan):
    plan, _ = rim_plan
    assert 0 < len(plan.threads) < 64 and plan.binding_constraint == "head_collision"
    rc = np.array([t.pixel for t in plan.threads])
    assert (head_slack_um(plan.scene, rc) >= 0).all()
    # every site keeps ~3 mm from the 4 mm rim
    xy = np.array([t.entry_um[:2] for t in plan.threads])
    assert np.linalg.norm(xy - plan.geometry.craniectomy_center_um, axis=1).max() < 4000.0 - 2500.0
    report = simulate(plan, robot="R1-2024", failure_rate=0.0, rng=0)
    reasons = [r for rec in report.insertions for r in rec.reasons]
    assert not [r for r in reasons if r.startswith("collision")], reasons[:3]
    assert report.n_validated == len(plan.threads)


def test_implant_sits_on_the_side_away_from_the_region(rim_plan):
    plan, region = rim_plan  # region: the left part of the opening (x small)
    g = plan.geometry
    assert g.implant_center_um[0] > g.craniectomy_center_um[0] + g.craniectomy_radius_um
    assert g.thread_exit_um[0] > g.craniectomy_center_um[0]
    rows, cols = np.nonzero(region)
    assert cols.mean() * plan.pixel_size_um < g.craniectomy_center_um[0]


def test_a_region_beside_the_rim_names_head_collision_on_a_tie():
    """Relaxing the region or the head keep-out fits the same: the bone binds, not the lasso."""
    from insertion_planner.planning.assemble import TIE_ORDER, diagnose

    n, px = 250, 40.0
    yy, xx = np.mgrid[:n, :n]
    rho = np.hypot(yy - 124.5, xx - 124.5) * px
    crani = rho <= 4000.0
    region = crani & (rho >= 3000.0) & (xx < 124)  # a band along the rim: the head cannot reach it
    plan = plan_from_avoidance(_open_map(n, px), n_threads=8, region=region, craniectomy=crani,
                               robot="R1-2019")  # fmt: skip
    assert len(plan.threads) == 0 and plan.binding_constraint == "head_collision"
    _, counts = diagnose(plan.avoidance, region, plan.scene, 8, min_spacing_um=250.0, n_placed=0)
    assert counts["region"] == counts["head_collision"] == 8  # a tie
    assert TIE_ORDER.index("head_collision") < TIE_ORDER.index("region")
    assert TIE_ORDER.index("vessel_clearance") < TIE_ORDER.index("region")
