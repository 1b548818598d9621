"""Brain-shift registration refuses scans and options it cannot honour, with one-line messages."""

from dataclasses import replace

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.robot.registration import MIN_SCAN_POINTS, rigid_transform, surface_points


@pytest.fixture(scope="module")
def bumpy_plan(plan64):
    """plan64 on a coarse, asymmetric curved surface (400 um grid: ~3000 surface points)."""
    step, n = 400.0, 62
    yy, xx = np.mgrid[:n, :n] * step
    z = 400 * np.sin(xx / 2500.0) * np.cos(yy / 3100.0) + 250 * np.sin((xx + 2 * yy) / 5000.0)
    surface = {"origin_um": [0.0, 0.0], "step_um": step, "z_um": z.tolist()}
    return replace(plan64, geometry=replace(plan64.geometry, surface=surface))


@pytest.fixture(scope="module")
def scan(bumpy_plan):
    return ip.synthetic_brain_shift(bumpy_plan, shift_um=(300.0, -200.0, -250.0),
                                    rotation_rad=(0.015, -0.01, 0.02), noise_um=5.0, rng=2)  # fmt: skip


def surface_error_um(plan, found, truth):
    """Largest distance between the surface moved by ``found`` and by ``truth``, um."""
    src = surface_points(plan)
    return np.abs(src @ (found - truth)[:3, :3].T + (found - truth)[:3, 3]).max()


def refusal(exc_type, plan, points, **options):
    """The one-line message of the ``exc_type`` that registering ``points`` raises."""
    with pytest.raises(exc_type) as info:
        ip.register_brain_shift(plan, points, validate=False, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_scan_still_registers_with_small_error(bumpy_plan, scan):
    res = ip.register_brain_shift(bumpy_plan, scan.points, validate=False)
    assert surface_error_um(bumpy_plan, res.transform, scan.transform) < 25.0  # over 25 mm
    assert res.fitness > 0.99
    assert 3.0 < res.rmse_um < 8.0  # the 5 um scan noise, along the surface normal


def test_duplicated_points_count_once(bumpy_plan, scan):
    doubled = np.concatenate([scan.points, scan.points])
    a = ip.register_brain_shift(bumpy_plan, scan.points, validate=False)
    b = ip.register_brain_shift(bumpy_plan, doubled, validate=False)
    np.testing.assert_allclose(a.transform, b.transform, atol=1e-9)


@pytest.mark.parametrize(
    ("scale", "unit", "fix"),
    [(1e-3, "millimetres", "multiply it by 1000"), (1e-6, "metres", "multiply it by 1e+06"),
     (1e3, "nanometres", "divide it by 1000")],
)  # fmt: skip
def test_scan_in_other_units_is_refused(bumpy_plan, scan, scale, unit, fix):
    msg = refusal(ValueError, bumpy_plan, scan.points * scale)
    assert msg.startswith("intraop_points spread")
    assert f"looks like {unit}, not micrometres ({fix})" in msg
    assert "allowed 0.2 to 5" in msg


@pytest.mark.parametrize("about_centroid", [True, False])
def test_mirrored_scan_is_refused(bumpy_plan, scan, about_centroid):
    pts = scan.points.copy()
    pts[:, 0] = (2 * pts[:, 0].mean() if about_centroid else 0.0) - pts[:, 0]  # flip x
    msg = refusal(ValueError, bumpy_plan, pts)
    assert msg.startswith("intraop_points look mirrored")
    assert "reflected in x they do" in msg and "max_rmse_um 100" in msg


def test_collinear_points_are_refused(bumpy_plan):
    t = np.linspace(0.0, 20000.0, 500)[:, None]
    line = np.array([2000.0, 3000.0, 0.0]) + t * np.array([0.6, 0.8, 0.0])
    line += np.random.default_rng(0).normal(0.0, 5.0, line.shape)  # nearly collinear
    msg = refusal(ValueError, bumpy_plan, line)
    assert "collinear" in msg and "at least 0.1" in msg


def test_a_vertical_plane_is_refused(bumpy_plan):
    rng = np.random.default_rng(1)
    wall = np.c_[np.full(400, 12000.0), rng.uniform(0, 24000, 400), rng.uniform(-4000, 4000, 400)]
    msg = refusal(ValueError, bumpy_plan, wall)
    assert "line seen from above" in msg


def test_identical_points_are_refused(bumpy_plan):
    msg = refusal(ValueError, bumpy_plan, np.full((50, 3), 12000.0))
    assert "at least 100 distinct points, got 50 points of which 1 distinct" in msg
    msg = refusal(ValueError, bumpy_plan, np.full((5000, 3), 12000.0))
    assert "got 5000 points of which 1 distinct" in msg


def test_too_few_points_are_refused(bumpy_plan, scan):
    assert MIN_SCAN_POINTS == 100
    msg = refusal(ValueError, bumpy_plan, scan.points[::300][:10])
    assert "at least 100 distinct points, got 10 points of which 10 distinct" in msg


@pytest.mark.parametrize(
    ("init", "found"),
    [(np.diag([2.0, 2.0, 2.0, 1.0]), "determinant 8"),
     (np.diag([-1.0, 1.0, 1.0, 1.0]), "determinant -1"),
     (np.diag([1.0, 1.0, 1.0, 2.0]), "last row [0, 0, 0, 1], got [0.0, 0.0, 0.0, 2.0]"),
     (np.full((4, 4), np.nan), "must be finite"),
     (np.eye(3), "got shape (3, 3)")],
)  # fmt: skip
def test_init_must_be_a_rigid_transform(bumpy_plan, scan, init, found):
    msg = refusal(ValueError, bumpy_plan, scan.points, init=init)
    assert msg.startswith("init must")
    assert found in msg


@pytest.mark.parametrize("max_points", [0, -5, 99])
def test_max_points_below_the_minimum_is_refused(bumpy_plan, scan, max_points):
    msg = refusal(ValueError, bumpy_plan, scan.points, max_points=max_points)
    assert msg == (f"max_points must be an integer >= 100 (the fewest points a scan may have), "
                   f"got {max_points}")  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [("max_points", 2.5, "max_points must be an integer >= 100"),
     ("min_fitness", 0.0, "min_fitness must be in (0, 1], got 0.0"),
     ("min_fitness", 1.5, "min_fitness must be in (0, 1], got 1.5"),
     ("max_rmse_um", -1.0, "max_rmse_um must be positive, got -1.0"),
     ("max_rmse_um", float("nan"), "max_rmse_um must be finite"),
     ("max_correspondence_um", 0, "max_correspondence_um must be positive, got 0")],
)  # fmt: skip
def test_numeric_options_are_checked(bumpy_plan, scan, option, value, words):
    exc = TypeError if isinstance(value, float) and option == "max_points" else ValueError
    assert words in refusal(exc, bumpy_plan, scan.points, **{option: value})


def test_unrelated_random_points_are_refused(bumpy_plan, capfd):
    rng = np.random.default_rng(3)
    noise = rng.uniform([0.0, 0.0, -1000.0], [24600.0, 24600.0, 1000.0], (4000, 3))
    with pytest.raises(ip.RegistrationError) as info:
        ip.register_brain_shift(bumpy_plan, noise, validate=False)
    err = info.value
    msg = str(err)
    assert "\n" not in msg and msg.startswith("intraop_points do not match the plan surface")
    assert f"fitness {err.fitness:.3f} >= min_fitness 0.5" in msg
    assert err.rmse_um > 300.0 and "um > max_rmse_um 100" in msg
    assert isinstance(err, ip.PlannerError)
    out, errout = capfd.readouterr()
    assert "Open3D" not in out + errout  # open3d's console output stays silent


def test_residual_above_max_rmse_is_refused(bumpy_plan):
    noisy = ip.synthetic_brain_shift(bumpy_plan, shift_um=(100, 0, -100), noise_um=20.0, rng=4)
    ok = ip.register_brain_shift(bumpy_plan, noisy.points, validate=False)
    assert 15.0 < ok.rmse_um < 25.0
    msg = refusal(ip.RegistrationError, bumpy_plan, noisy.points, max_rmse_um=10.0)
    assert f"inlier RMS residual {ok.rmse_um:.4g} um > max_rmse_um 10" in msg


def test_offset_scan_is_refused_with_the_init_that_registers_it(bumpy_plan, scan):
    far = scan.points + [6000.0, -5000.0, 0.0]  # beyond the 1.5 mm correspondence distance
    msg = refusal(ip.RegistrationError, bumpy_plan, far)
    assert "do not register from init" in msg and "init=rigid_transform(shift_um=(" in msg
    offset = far.mean(axis=0) - surface_points(bumpy_plan).mean(axis=0)
    res = ip.register_brain_shift(bumpy_plan, far, init=rigid_transform(shift_um=offset),
                                  validate=False)  # fmt: skip
    truth = scan.transform.copy()
    truth[:3, 3] += [6000.0, -5000.0, 0.0]
    assert surface_error_um(bumpy_plan, res.transform, truth) < 25.0


@pytest.mark.parametrize("surface", ["flat", "one_way"])
def test_a_surface_that_cannot_show_a_sideways_shift_is_refused(surface):
    """A plan without its surface (flat) or curved along one axis only: a sideways shift of
    the brain leaves the scan on the surface, so ICP would return the start as the answer
    with a perfect fit and every thread would stay where the brain no longer is."""
    case = ip.synthetic_cortex(0, shape=(256, 256))
    height = None
    if surface == "one_way":
        height = np.repeat(300.0 * np.sin(np.arange(256) / 20.0)[None, :], 256, axis=0)
    plan = ip.plan_insertions(case.image, pixel_size_um=12.0, n_threads=4,
                              surface_height_um=height)  # fmt: skip
    scan = ip.synthetic_brain_shift(plan, shift_um=(300.0, -200.0, 0.0), rotation_rad=(0, 0, 0))
    with pytest.raises(ip.RegistrationError, match="cannot show a (shift|rotation)"):
        ip.register_brain_shift(plan, scan.points)


def test_observability_of_a_curved_cortex_is_measured():
    from insertion_planner.robot._icp import MIN_OBSERVABILITY, _Icp, weakest_motion

    case = ip.synthetic_cortex(0, shape=(256, 256))
    plan = ip.plan_insertions(case.image, pixel_size_um=12.0, n_threads=4,
                              surface_height_um=case.grid.surface_z_um)  # fmt: skip
    ratio, what = weakest_motion(_Icp(surface_points(plan), 1500.0))
    assert ratio > MIN_OBSERVABILITY and ("shift" in what or "rotation" in what)
    flat_ratio, _ = weakest_motion(_Icp(surface_points(_example_flat()), 1500.0))
    assert flat_ratio < 1e-9


def _example_flat():
    from insertion_planner.plan import _example_plan

    return _example_plan()
