import math

import numpy as np
import pytest

from insertion_planner import Grid
from insertion_planner.planning.candidates import SITE_CONSTRAINTS, make_candidates, site_checks
from insertion_planner.planning.scene import (
    incidence_rad,
    make_scene,
    needle_directions,
    penetrating_path_clearance_um,
    tether_lengths_um,
)


def test_candidates_respect_clearance_region_and_lattice(amap):
    grid = Grid(amap.clearance_um.shape, 12.0)
    region = np.zeros(grid.shape, bool)
    region[40:280, 60:300] = True
    c = make_candidates(amap, region, make_scene(grid), min_spacing_um=250.0)
    assert len(c) > 300
    r, cc = c.rc[:, 0], c.rc[:, 1]
    assert (amap.clearance_um[r, cc] >= amap.required_um[r, cc]).all()
    assert (c.clearance_um >= c.required_um).all()
    assert region[r, cc].all()
    assert c.step_um == 125.0
    # unique pixels, scores in [1, 2.5]
    assert len(np.unique(c.rc, axis=0)) == len(c)
    assert c.score.min() >= 1.0 and c.score.max() <= 2.5


def test_exclusion_and_empty_zone(amap):
    grid = Grid(amap.clearance_um.shape, 12.0)
    scene = make_scene(grid)
    full = np.ones(grid.shape, bool)
    hole = np.array([[1920.0, 1920.0]])
    c = make_candidates(
        amap, full, scene, min_spacing_um=250.0, exclude_xy_um=hole, exclude_radius_um=600.0
    )
    assert (np.linalg.norm(c.xy_um - hole, axis=1) >= 600.0).all()
    none = make_candidates(amap, np.zeros(grid.shape, bool), scene, min_spacing_um=250.0)
    assert len(none) == 0 and none.zone_area_um2 == 0.0


def _inscribed(shape):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.hypot(yy - (shape[0] - 1) / 2, xx - (shape[1] - 1) / 2) <= min(shape) / 2


def test_tether_reach_limits_sites_to_near_the_exit(amap):
    grid = Grid(amap.clearance_um.shape, 12.0)
    scene = make_scene(
        grid, craniectomy=_inscribed(grid.shape), thread_length_um=1000.0 + 500.0 + 1500.0
    )
    c = make_candidates(amap, np.ones(grid.shape, bool), scene, min_spacing_um=250.0)
    assert len(c) > 0
    assert (tether_lengths_um(scene, c.rc) <= 3000.0).all()
    # the exit is on the right: every reachable site is in the right part of the image
    assert c.xy_um[:, 0].min() > 1500.0


def test_tether_polyline_length_matches_geometry():
    scene = make_scene(
        Grid((100, 100), 10.0), craniectomy=_inscribed((100, 100)), skull_thickness_um=6000.0
    )
    # exit 500 um outside the rim, drop 1000 from the exit, then the radius to the centre
    r = scene.radius_um
    assert tether_lengths_um(scene, [[49.5, 49.5]])[0] == pytest.approx(500 + 1000 + r, abs=1e-6)


def _tilted_surface(shape, px, slope_deg):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx * px * math.tan(math.radians(slope_deg))).astype(np.float32)


def test_surface_slope_vertical_vs_tilting_robot(amap):
    shape = amap.clearance_um.shape
    grid = Grid(shape, 12.0, _tilted_surface(shape, 12.0, 20.0))
    vertical = make_scene(grid, max_tilt_rad=0.0)
    tilting = make_scene(grid, max_tilt_rad=math.radians(30.0))
    rc = np.array([[100, 100]])
    assert incidence_rad(vertical, rc)[0] == pytest.approx(math.radians(20.0), abs=1e-3)
    assert incidence_rad(tilting, rc)[0] == pytest.approx(0.0, abs=1e-6)
    d = needle_directions(tilting, rc)[0]
    assert np.linalg.norm(d) == pytest.approx(1.0) and d[2] < 0 and d[0] > 0
    full = np.ones(shape, bool)
    assert len(make_candidates(amap, full, vertical, min_spacing_um=250.0)) == 0
    assert len(make_candidates(amap, full, tilting, min_spacing_um=250.0)) > 100
    checks = site_checks(amap, full, vertical, rc)
    assert set(checks) == set(SITE_CONSTRAINTS) and not checks["surface_slope"][0]


def test_penetrating_vessel_along_a_tilted_needle_path(make_map):
    mask = np.zeros((200, 200), bool)
    amap = make_map(mask, penetrating=[[100.0, 130.0, 20.0]])  # 30 px = 360 um right of (100, 100)
    shape = mask.shape
    grid = Grid(
        shape, 12.0, _tilted_surface(shape, 12.0, 5.0)
    )  # surface rises toward +x: needle leans to +x
    vertical = make_scene(grid, penetrating=amap.penetrating)
    tilting = make_scene(grid, penetrating=amap.penetrating, max_tilt_rad=math.radians(30.0))
    rc = [[100, 100]]
    assert penetrating_path_clearance_um(vertical, rc)[0] == pytest.approx(360.0 - 20.0)
    # tilted 5 deg toward +x over 3.5 mm: the tip moves ~306 um toward the vessel
    tilted = penetrating_path_clearance_um(tilting, rc)[0]
    assert tilted == pytest.approx(360.0 - 3500 * math.sin(math.radians(5.0)) - 20.0, abs=2.0)
    assert not site_checks(amap, np.ones(shape, bool), tilting, rc)["vessel_clearance"][0]
    assert site_checks(amap, np.ones(shape, bool), vertical, rc)["vessel_clearance"][0]


def test_penetrating_search_limit_keeps_every_value_below_it():
    rng = np.random.default_rng(4)
    pen = np.column_stack(
        [rng.uniform(0, 200, 40), rng.uniform(0, 200, 40), rng.uniform(5, 30, 40)]
    )
    grid = Grid((200, 200), 12.0, _tilted_surface((200, 200), 12.0, 8.0))
    for tilt in (0.0, math.radians(30.0)):
        scene = make_scene(grid, penetrating=pen, max_tilt_rad=tilt, dura_thickness_um=320.0)
        rc = rng.uniform(0, 199, (500, 2))
        full = penetrating_path_clearance_um(scene, rc)
        limit = rng.uniform(0, 300, 500)
        part = penetrating_path_clearance_um(scene, rc, upto_um=limit)
        below = full <= limit
        assert below.sum() > 30 and (~below).sum() > 30
        np.testing.assert_allclose(part[below], full[below])
        assert (part[~below] > limit[~below]).all()
