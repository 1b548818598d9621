import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

import insertion_planner as ip
from insertion_planner import InfeasiblePlanError
from insertion_planner.planning import check_plan, plan_from_avoidance, tangle_violations


def _assert_safe(plan, amap, region=None):
    assert check_plan(plan, avoidance=amap) == []
    for t in plan.active_threads:
        r, c = (int(v) for v in t.pixel)
        assert t.clearance_um >= t.required_clearance_um
        assert amap.clearance_um[r, c] >= amap.required_um[r, c]
        assert amap.allowed[r, c]
        if region is not None:
            assert region[r, c]
    xy = np.array([t.entry_um[:2] for t in plan.active_threads])
    if len(xy) > 1:
        assert pdist(xy).min() >= plan.config.min_spacing_um


def test_64_threads_placed_safely_spread_and_certified(plan64, amap):
    p = plan64
    assert len(p.threads) == 64 and p.binding_constraint is None
    _assert_safe(p, amap)
    assert [t.order for t in p.threads] == list(range(64))
    assert 0 <= p.gap <= 0.05 and p.bound >= p.objective > 64
    # spread: the conflict distance used is well above the minimum spacing
    assert p.provenance["parameters"]["certificate"]["spacing_um"] > 300
    xy = np.array([t.entry_um[:2] for t in p.threads])
    assert (
        tangle_violations(xy, p.geometry.thread_exit_um[:2], p.geometry.tether_clearance_um) == []
    )
    t = p.threads[0]
    assert t.direction == (0.0, 0.0, -1.0) and t.depth_um == 3500.0
    assert t.tether_um[0] == p.geometry.thread_exit_um and t.tether_um[-1] == t.entry_um


def test_polygon_region_and_weight(amap):
    poly = np.array([[20, 20], [20, 200], [200, 200], [200, 20]])
    weight = np.zeros(amap.clearance_um.shape)
    weight[:, 110:] = 1.0
    p = plan_from_avoidance(amap, n_threads=12, region=poly, weight=weight)
    region = np.zeros(amap.clearance_um.shape, bool)
    region[20:201, 20:201] = True
    _assert_safe(p, amap, region)
    assert len(p.threads) == 12
    # the functional weight pulls sites to the weighted half
    assert np.mean([t.weight for t in p.threads]) > 0.6


def test_too_many_threads_names_the_limit(amap):
    with pytest.raises(ValueError, match="at most 64"):
        plan_from_avoidance(amap, n_threads=65)
    with pytest.raises(ValueError, match="region"):
        plan_from_avoidance(amap, region=np.zeros((3, 3), bool))


def test_fewer_fit_region_bound_and_strict(amap):
    region = np.zeros(amap.clearance_um.shape, bool)
    region[150:190, 150:190] = True  # 480 um square
    p = plan_from_avoidance(amap, n_threads=20, region=region)
    assert 0 < len(p.threads) < 20 and p.binding_constraint == "region"
    _assert_safe(p, amap, region)
    with pytest.raises(InfeasiblePlanError) as err:
        plan_from_avoidance(amap, n_threads=20, region=region, strict=True)
    assert err.value.binding_constraint == "region" and err.value.n_placed == len(p.threads)


def test_vessel_clearance_bound_when_vessels_cover_the_region(make_map):
    mask = np.zeros((160, 160), bool)
    mask[:, ::12] = True  # vessels every 144 um: nothing is 86.5 um from all
    amap = make_map(mask)
    p = plan_from_avoidance(amap, n_threads=10)
    assert len(p.threads) == 0 and p.binding_constraint == "vessel_clearance"


def test_transdural_adds_dura_and_deterministic(amap):
    a = plan_from_avoidance(amap, n_threads=16, dura_mode="transdural")
    b = plan_from_avoidance(amap, n_threads=16, dura_mode="transdural")
    assert a.to_json_text() == b.to_json_text()
    assert a.geometry.dura_thickness_um == 320.0 and a.dura_mode.value == "transdural"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 64),
    spacing=st.floats(150.0, 600.0),
    required=st.floats(40.0, 200.0),
)
def test_properties_spacing_clearance_region_count_determinism(
    draw, make_map, seed, n, spacing, required
):
    mask = draw((128, 128), n_lines=5, width_px=3, seed=seed)
    amap = make_map(mask, required_um=required)
    rng = np.random.default_rng(seed)
    r0, c0 = rng.integers(0, 60, 2)
    region = np.zeros((128, 128), bool)
    region[r0 : r0 + 68, c0 : c0 + 68] = True
    p = plan_from_avoidance(amap, n_threads=n, region=region, min_spacing_um=spacing)
    assert len(p.threads) <= n
    assert (len(p.threads) == n) == (p.binding_constraint is None)
    _assert_safe(p, amap, region)
    again = plan_from_avoidance(amap, n_threads=n, region=region, min_spacing_um=spacing)
    assert again.to_json_text() == p.to_json_text()


def test_strict_must_be_a_bool_and_empty_default_region_names_region(amap):
    with pytest.raises(TypeError, match="strict must be a bool, got 'yes'"):
        plan_from_avoidance(amap, n_threads=2, strict="yes")
    from dataclasses import replace

    coarse = replace(amap, pixel_size_um=1e6)  # the 6 mm default disc is smaller than a pixel
    p = plan_from_avoidance(coarse, n_threads=4)
    assert len(p.threads) == 0 and p.binding_constraint == "region"
    with pytest.raises(InfeasiblePlanError, match="default region.*smaller than one pixel") as err:
        plan_from_avoidance(coarse, n_threads=4, strict=True)
    assert err.value.binding_constraint == "region"


def test_no_site_anywhere_is_not_blamed_on_the_spacing():
    """At 100 um per pixel no site of the region is allowed and relaxing any one
    constraint, the spacing halved included, fits none: the plan named "min_spacing"
    (which no spacing could help); it names a site constraint."""
    case = ip.synthetic_cortex(0, shape=(512, 512), pixel_size_um=100.0)
    plan = ip.plan_insertions(case.image, pixel_size_um=100.0, n_threads=8)
    assert len(plan.active_threads) == 0
    assert plan.binding_constraint in ("detectability", "vessel_clearance")
