"""A craniectomy of any shape is checked as it is: planning and simulation ask one rule.

The need is computed here independently of the package's rule: the distance from a site
to the nearest bone pixel centre (the Euclidean distance transform of the mask) minus
half a pixel must be at least what the insertion head needs
(:func:`~insertion_planner.robots.head_standoff_um` for the rim's height above the head's
lower end).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

import insertion_planner as ip
from insertion_planner.plan import SCHEMA_VERSION, InsertionPlan
from insertion_planner.planning.assemble import make_threads
from insertion_planner.planning.candidates import SITE_CONSTRAINTS, site_checks
from insertion_planner.planning.opening import Opening
from insertion_planner.robots import DEFAULT_COLLISION_MARGIN_UM, get_robot, head_standoff_um

N = 1024
ROBOT = get_robot("R1-2019")  # vertical needle: the head's lower end is above the site


def _square() -> np.ndarray:
    m = np.zeros((N, N), bool)
    m[12:1012, 12:1012] = True  # 12 mm across at 12 um/px (its circumscribed disc: 17 mm)
    return m


def _ellipse() -> np.ndarray:
    yy, xx = np.mgrid[:N, :N]
    return ((yy - 511.5) / 375.0) ** 2 + ((xx - 511.5) / 500.0) ** 2 <= 1.0  # 12 x 9 mm


@pytest.fixture(scope="module")
def case():
    return ip.synthetic_cortex(0, shape=(N, N))


@pytest.fixture(scope="module", params=["square", "ellipse"])
def shaped(request, case):
    mask = _square() if request.param == "square" else _ellipse()
    plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, region=mask,
                              craniectomy=mask, robot=ROBOT.name,
                              surface_height_um=case.grid.surface_z_um)  # fmt: skip
    return request.param, mask, plan


def _edge_um(mask: np.ndarray, px: float) -> np.ndarray:
    """Distance (um) from each pixel centre to the nearest bone pixel centre, less half a pixel."""
    return ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1] * px - px / 2


def _need_um(case, thread) -> float:
    rim_z = float(case.grid.surface_z_um.max()) + 6000.0  # the default skull thickness
    bottom_z = thread.entry_um[2] + ROBOT.needle_stickout_um - thread.depth_um
    return float(head_standoff_um(ROBOT, rim_z - bottom_z, margin_um=DEFAULT_COLLISION_MARGIN_UM))


def _slack_um(case, mask, threads) -> np.ndarray:
    edge = _edge_um(mask, case.pixel_size_um)
    return np.array([edge[int(round(t.pixel[0])), int(round(t.pixel[1]))] - _need_um(case, t)
                     for t in threads])  # fmt: skip


def test_no_site_closer_to_the_bone_than_the_head_needs(case, shaped):
    name, mask, plan = shaped
    assert len(plan.threads) > 0
    slack = _slack_um(case, mask, plan.threads)
    assert slack.min() >= -1e-6, (name, slack.min())
    # the region covers the whole opening: the sites go out to the limit
    assert slack.min() < 200.0, (name, slack.min())
    # the disc around the opening, which used to stand for it, is much larger
    assert plan.geometry.craniectomy_radius_um > 6000.0 + 2000.0 * (name == "square")
    assert np.array_equal(plan.geometry.craniectomy_mask, mask)


def test_simulate_agrees_with_planning(case, shaped):
    name, mask, plan = shaped
    report = ip.simulate(plan, robot=ROBOT.name)
    reasons = [r for rec in report.insertions for r in rec.reasons]
    assert not [r for r in reasons if r.startswith("collision")], (name, reasons[:3])
    ok = [plan.thread(rec.thread_id) for rec in report.insertions if rec.ok]
    assert len(ok) == report.n_validated > 0
    assert _slack_um(case, mask, ok).min() >= -1e-6


def _edge_site(case, mask, plan, low_um=500.0, high_um=1000.0):
    """A pixel 0.5-1 mm from the bone that passes every per-site constraint but the head's."""
    edge = _edge_um(mask, case.pixel_size_um)
    rr, cc = np.nonzero(
        mask & (edge >= low_um) & (edge <= high_um) & np.asarray(plan.avoidance.allowed)
    )
    rc = np.column_stack([rr, cc])[:: max(1, len(rr) // 4000)]
    checks = site_checks(plan.avoidance, plan.region, plan.scene, rc)
    good = np.logical_and.reduce([checks[k] for k in SITE_CONSTRAINTS if k != "head_collision"])
    good &= ~checks["head_collision"]
    xy = np.array([t.entry_um[:2] for t in plan.threads])
    far = (np.linalg.norm(rc[:, None, ::-1] * case.pixel_size_um - xy[None], axis=2) > 400.0).all(
        axis=1
    )
    pick = rc[good & far]
    assert len(pick), "no site near the edge passes the other constraints"
    return pick[0]


def test_a_thread_moved_next_to_the_edge_is_refused_by_both(case, shaped, tmp_path):
    name, mask, plan = shaped
    rc = _edge_site(case, mask, plan)
    t = plan.threads[-1]
    with pytest.raises(ip.ConstraintViolationError) as err:
        ip.move_thread(plan, t.id, rc)
    assert err.value.constraint == "head_collision", str(err.value)
    # the same edit made by hand: the simulator rejects it for the skull, also from the file
    amap = plan.avoidance
    (moved,) = make_threads(plan.scene, rc[None].astype(float), np.zeros(1, np.int64), ids=[t.id],
                            clearance_um=[float(amap.clearance_um[rc[0], rc[1]])],
                            required_um=[float(amap.required_um[rc[0], rc[1]])], weight=[1.0],
                            depth_um=t.depth_um)  # fmt: skip
    edited = replace(plan, threads=tuple(replace(moved, order=t.order) if u.id == t.id else u
                                         for u in plan.threads))  # fmt: skip
    path = tmp_path / "edited.json"
    edited.to_json(path)
    # load_plan asks the same checker: the file is refused, naming the constraint
    with pytest.raises(
        ip.PlanFileError, match=rf"thread {t.id} \({t.label}\) breaks head_collision"
    ):
        ip.load_plan(path)
    loaded = InsertionPlan.from_dict(json.loads(path.read_text()))  # read without the checks
    assert np.array_equal(loaded.geometry.craniectomy_mask, mask)
    for p in (edited, loaded):
        rec = {r.thread_id: r for r in ip.simulate(p, robot=ROBOT.name).insertions}[t.id]
        assert not rec.ok and any(r.startswith("collision_skull") for r in rec.reasons), rec.reasons
        assert any(r.startswith("head_collision") for r in rec.reasons), rec.reasons
        assert rec.head_clearance_um < DEFAULT_COLLISION_MARGIN_UM


def test_a_plan_file_keeps_its_opening(shaped, tmp_path):
    name, mask, plan = shaped
    path = tmp_path / "plan.json"
    plan.to_json(path)
    stored = json.loads(path.read_text())
    assert stored["schema_version"] == SCHEMA_VERSION  # 1.1 added the mask; later versions keep it
    # the mask as runs per row: about 12 characters a row
    assert len(json.dumps(stored["geometry"]["craniectomy_mask"])) < 16 * N
    loaded = ip.load_plan(path)
    assert np.array_equal(loaded.geometry.craniectomy_mask, mask)
    a = ip.simulate(plan, robot=ROBOT.name)
    b = ip.simulate(loaded, robot=ROBOT.name)
    assert [r.ok for r in a.insertions] == [r.ok for r in b.insertions]
    np.testing.assert_allclose([r.head_clearance_um for r in a.insertions],
                               [r.head_clearance_um for r in b.insertions], atol=1e-6)  # fmt: skip
    # the loaded plan's scene has the real opening (its surface is the file's coarse one)
    broken = {v.constraint for v in ip.check_plan(loaded, avoidance=plan.avoidance)}
    assert not broken & {"head_collision", "craniectomy"}, broken


def test_a_round_plan_of_schema_1_0_still_loads_as_a_circle(tmp_path):
    from insertion_planner.plan import _checksum, _example_plan
    from insertion_planner.planning.opening import plan_opening

    d = _example_plan().to_dict()
    d["schema_version"] = "1.0"
    del d["geometry"]["craniectomy_mask"]
    d["checksum"] = _checksum(d)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(d))
    plan = ip.load_plan(path)
    assert plan.geometry.craniectomy_mask is None and plan.schema_version == "1.0"
    op = plan_opening(plan)
    assert op.is_circle and op.radius_um == 12500.0
    assert ip.simulate(plan).n_validated == 2
    # the recorded circle is the opening: a 1.2 mm one leaves no room for the head
    d["geometry"]["craniectomy_radius_um"] = 1200.0
    d["checksum"] = _checksum(d)
    path.write_text(json.dumps(d))
    with pytest.raises(ip.PlanFileError, match=r"thread 0 \(T01\) breaks head_collision"):
        ip.load_plan(path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_edge_distance_never_overstates_the_distance_to_bone(seed):
    rng = np.random.default_rng(seed)
    px = 10.0
    mask = ndimage.binary_opening(rng.random((40, 50)) < 0.8, iterations=1)
    mask[0, 0] = True
    op = Opening.from_mask(mask, pixel_size_um=px)
    bone = np.argwhere(~np.pad(mask, 1)) - 1  # beyond the image counts as bone
    bone_xy = bone[:, ::-1] * px
    # at pixel centres inside: the distance to the nearest bone pixel centre less half a pixel
    inside = np.argwhere(mask)
    xy = inside[:, ::-1] * px
    exact = np.linalg.norm(xy[:, None] - bone_xy[None], axis=2).min(axis=1) - px / 2
    np.testing.assert_allclose(op.edge_distance_um(xy), exact, atol=1e-3)
    # anywhere: never more than that, and negative over bone pixels
    pts = rng.uniform(-30.0, 530.0, (400, 2))
    brute = np.linalg.norm(pts[:, None] - bone_xy[None], axis=2).min(axis=1) - px / 2
    got = op.edge_distance_um(pts)
    assert (got <= brute + 1e-3).all()
    assert (op.edge_distance_um(bone_xy) < 0).all()


def test_the_opening_is_one_rule_for_planning_and_the_simulator():
    """A point's distance to the skull rim in the simulator is the planner's edge distance."""
    from insertion_planner.robot.collision import build_obstacles, obstacle_distances

    mask = _square()[::4, ::4]
    op = Opening.from_mask(mask, pixel_size_um=48.0)
    ob = build_obstacles(opening=op, skull_top_z_um=6000.0, skull_bottom_z_um=-2000.0)
    pts = np.array([[2400.0, 2400.0, 0.0], [600.0, 3000.0, 1000.0], [3000.0, 400.0, 7000.0]])
    d = obstacle_distances(ob, pts[:, None], [0.0])[:, 0]
    h = op.edge_distance_um(pts[:, :2])
    np.testing.assert_allclose(d[:2], h[:2])
    assert d[2] == pytest.approx(np.hypot(max(h[2], 0.0), 1000.0))


def test_a_plan_file_with_a_wrong_opening_is_refused(shaped, tmp_path):
    from insertion_planner.plan import _checksum

    name, mask, plan = shaped
    d = plan.to_dict()
    wrong = dict(d["geometry"]["craniectomy_mask"], shape=[N, N + 1])
    for geometry, why in (
        ({**d["geometry"], "craniectomy_mask": wrong}, "craniectomy_mask has shape"),
        ({**d["geometry"], "craniectomy_mask": {**wrong, "shape": [N, N], "runs": "0:0-1"}},
         r"breaks craniectomy: site \(\d+, \d+\) lies [\d.]+ um outside the craniectomy"),
    ):  # fmt: skip
        bad = {**d, "geometry": geometry}
        bad["checksum"] = _checksum(bad)
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        with pytest.raises(ip.PlanFileError, match=why):
            ip.load_plan(path)
