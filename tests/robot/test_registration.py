"""Brain shift: recover a known rigid motion with ICP and re-validate the moved plan."""

from dataclasses import replace

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.robot.registration import move_plan, rigid_transform, surface_points


@pytest.fixture(scope="module")
def curved_plan(plan64):
    g = plan64.geometry
    step = 200.0
    n = 124
    yy, xx = np.mgrid[:n, :n] * step
    z = 400 * np.sin(xx / 2500.0) * np.cos(yy / 3100.0) + 250 * np.sin((xx + 2 * yy) / 5000.0)
    return replace(plan64, geometry=replace(g, surface={"origin_um": [0.0, 0.0], "step_um": step,
                                                        "z_um": z.tolist()}))  # fmt: skip


def test_recovers_a_known_rigid_shift(curved_plan):
    shift = ip.synthetic_brain_shift(curved_plan, shift_um=(400.0, -250.0, -300.0),
                                     rotation_rad=(0.02, -0.015, 0.03), noise_um=5.0, rng=3)  # fmt: skip
    res = ip.register_brain_shift(curved_plan, shift.points, validate=False)
    src = surface_points(curved_plan)
    moved_true = src @ shift.transform[:3, :3].T + shift.transform[:3, 3]
    moved_est = src @ res.transform[:3, :3].T + res.transform[:3, 3]
    assert np.abs(moved_est - moved_true).max() < 25.0  # um, over a 25 mm field
    assert np.abs(res.transform[:3, :3] - shift.transform[:3, :3]).max() < 2e-3
    assert res.fitness > 0.95 and res.rmse_um < 15.0


def test_deformation_leaves_a_residual(curved_plan):
    rigid = ip.synthetic_brain_shift(curved_plan, shift_um=(200.0, 0, -100), rotation_rad=0, rng=1)
    bent = ip.synthetic_brain_shift(curved_plan, shift_um=(200.0, 0, -100), rotation_rad=0,
                                    deformation_um=60.0, rng=1)  # fmt: skip
    a = ip.register_brain_shift(curved_plan, rigid.points, validate=False)
    b = ip.register_brain_shift(curved_plan, bent.points, validate=False)
    assert a.rmse_um < 1.0 < 10.0 < b.rmse_um


def test_moved_plan_is_revalidated(curved_plan):
    assert len(curved_plan.threads) == 64  # the checks below hold for every thread
    shift = ip.synthetic_brain_shift(curved_plan, shift_um=(300.0, 200.0, -200.0),
                                     rotation_rad=(0.0, 0.0, 0.01), rng=0)  # fmt: skip
    res = ip.register_brain_shift(curved_plan, shift.points, rng=0)
    t = res.transform
    for old, new in zip(curved_plan.threads, res.plan.threads, strict=True):
        expect = t[:3, :3] @ np.asarray(old.entry_um) + t[:3, 3]
        np.testing.assert_allclose(new.entry_um, expect, atol=0.01)
        assert new.direction == (0.0, 0.0, -1.0)  # R1-2019 stays vertical
        assert new.tether_um[0] == old.tether_um[0]  # the implant's exit does not move
    seg0 = np.asarray(res.plan.geometry.vessel_segments_um)[0, :3]
    np.testing.assert_allclose(
        seg0,
        t[:3, :3] @ np.asarray(curved_plan.geometry.vessel_segments_um)[0, :3] + t[:3, 3],
        atol=0.01,
    )
    assert res.report is not None and len(res.report.insertions) == len(curved_plan.threads)
    assert res.plan.simulation is not None
    assert {th.status for th in res.plan.threads} <= {"validated", "rejected"}


def test_move_plan_surface_follows_the_transform(curved_plan):
    t = rigid_transform((0.0, 0.0, 0.0), (0.0, 0.0, -150.0))
    moved = move_plan(curved_plan, t)
    z0 = np.asarray(curved_plan.geometry.surface["z_um"])
    z1 = np.asarray(moved.geometry.surface["z_um"])
    np.testing.assert_allclose(z1, z0 - 150.0, atol=1e-6)


def test_registration_errors(plan64):
    with pytest.raises(ValueError, match="intraop_points"):
        ip.register_brain_shift(plan64, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="intraop_points"):
        ip.register_brain_shift(plan64, np.full((50, 3), np.nan))
    with pytest.raises(ValueError, match="source"):
        ip.synthetic_brain_shift(np.zeros((4, 2)))
