"""Edge cases of the one safety model in the simulator: nothing that planning refuses slips
through simulation (a thread's own requirement, tethers already laid, the route a file
records, threads already inserted, NaN)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.avoidance import avoidance_from_arrays
from insertion_planner.config import SafetyMargins
from insertion_planner.plan import _example_plan
from insertion_planner.planning.validity import site_shortfalls, thread_violations


def test_the_map_clearance_is_judged_against_the_threads_own_requirement():
    """A map made with smaller margins than the plan's cannot excuse a site."""
    amap = avoidance_from_arrays(clearance_um=np.full((200, 200), 120.0))  # 86.5 required
    p = _example_plan()
    margins = SafetyMargins(base_margin_um=150.0)
    need = float(margins.required_um(p.dura_mode))
    threads = tuple(
        replace(t, required_clearance_um=need, clearance_um=need + 10) for t in p.threads
    )
    p = replace(p, margins=margins, threads=threads)
    report = ip.simulate(p, avoidance=amap)
    assert report.n_validated == 0
    for rec in report.insertions:
        assert rec.required_clearance_um == pytest.approx(need) and rec.min_clearance_um == 120.0
        assert any(r.startswith("vessel_clearance") and f"{need:.1f} um required" in r
                   for r in rec.reasons), rec.reasons  # fmt: skip
    assert {v.constraint for v in ip.check_plan(p, avoidance=amap)} == {"vessel_clearance"}


def test_a_site_under_the_tether_of_an_inserted_thread_is_rejected():
    """Thread 1 is in the brain (inserted, though later in the order); thread 0 lies on its tether."""
    p = _example_plan()
    t0, t1 = p.threads
    x = 2000.0
    y = 1560.0 - (x - 1200.0) / 13000.0 * 360.0  # on the line from thread 1 to the exit
    t0 = replace(t0, pixel=(y / 12.0, x / 12.0), entry_um=(x, y, 0.0))
    report = ip.simulate(replace(p, threads=(t0, replace(t1, status="inserted"))))
    rec = next(r for r in report.insertions if r.thread_id == 0)
    assert not rec.ok
    assert any(r.startswith("tether_tangle") and "thread 1 (T02)" in r for r in rec.reasons)


def test_the_tether_route_a_file_records_is_judged_too():
    p = _example_plan()
    t0, t1 = p.threads
    long = (t0.tether_um[0], (t0.tether_um[1][0], 30000.0, 1000.0), (1200.0, 30000.0, 0.0),
            t0.tether_um[-1])  # fmt: skip
    report = ip.simulate(replace(p, threads=(replace(t0, tether_um=long), t1)))
    rec = next(r for r in report.insertions if r.thread_id == 0)
    assert not rec.ok and any(r.startswith("tether_reach") for r in rec.reasons)


def test_an_inserted_thread_that_breaks_a_constraint_is_never_counted_validated():
    amap = avoidance_from_arrays(clearance_um=np.full((200, 200), 10.0))  # 10 um from a vessel
    p = _example_plan()
    q = replace(p, threads=(p.threads[0], replace(p.threads[1], status="inserted")))
    report = ip.simulate(q, avoidance=amap)
    assert report.n_validated == 0 and report.n_rejected == 2
    rec = next(r for r in report.insertions if r.thread_id == 1)
    assert not rec.ok and rec.reasons[0].startswith("vessel_clearance: site (130, 100)")
    # a sound inserted thread still counts
    assert ip.simulate(q).n_validated == 2


@pytest.mark.parametrize("where", ["pixel", "entry"])
def test_nan_counts_as_the_worst_wherever_it_is(where):
    req = np.full((120, 120), 86.5)
    amap = avoidance_from_arrays(clearance_um=np.full((120, 120), 400.0))
    from insertion_planner.planning import plan_from_avoidance

    plan = plan_from_avoidance(amap, n_threads=4)
    t = plan.threads[0]
    nan_map = replace(amap, clearance_um=np.where(np.arange(120)[None, :] == 10, np.nan,
                                                  np.asarray(amap.clearance_um)).astype(np.float32))  # fmt: skip
    if where == "pixel":
        bad = replace(t, pixel=(60.0, 10.0))
    else:
        bad = replace(t, entry_um=(10 * 12.0, 60 * 12.0, 0.0))
    found = thread_violations([bad], scene=plan.scene, avoidance=nan_map, region=None,
                              min_spacing_um=250.0)  # fmt: skip
    assert [v.constraint for v in found] == ["vessel_clearance"]
    assert np.isinf(found[0].shortfall) or found[0].shortfall > 0
    s = site_shortfalls(nan_map, None, plan.scene, [[60, 10]])
    assert not np.isnan(s.by_constraint["vessel_clearance"]).any()
    with pytest.raises(ValueError, match="required_um must be finite"):
        avoidance_from_arrays(clearance_um=np.full((4, 4), 100.0), required_um=req[:4, :4] * np.nan)


def test_the_monte_carlo_judges_vessels_by_the_checkers_map():
    """A vessel the map shows but the stored capsules lack (deleted from the file, or too
    small to keep) still makes moved needles breach; so does landing beside unseen pixels."""
    p = _example_plan()  # no vessel capsules at all
    t0 = p.threads[0]
    col = t0.pixel[1]
    yy, xx = np.mgrid[:200, :200]
    clear = (np.abs(xx - (col + 6)) * 12.0).astype(float)  # a vessel edge 72 um beside thread 0
    amap = avoidance_from_arrays(clearance_um=clear, required_um=70.0)
    kw = dict(monte_carlo_samples=4000, rng=0)
    blind = ip.simulate(p, **kw).insertions[0]
    seen = ip.simulate(p, avoidance=amap, **kw).insertions[0]
    assert blind.breach_probability == 0.0
    assert 0.0 < seen.breach_probability < 0.5
    assert seen.p05_clearance_um < 72.0
    # nothing seen anywhere: a vessel could hide under every landing
    unseen = replace(amap, detectable_diameter_um=np.full((200, 200), np.inf, np.float32),
                     undetectable=np.ones((200, 200), bool), allowed=np.zeros((200, 200), bool))  # fmt: skip
    assert ip.simulate(p, avoidance=unseen, **kw).insertions[0].breach_probability == 1.0


def test_a_fresh_plan_s_monte_carlo_asks_its_own_map_and_no_unseen_pixel_is_vouched_for():
    from insertion_planner.planning.vessel_map import surface_clearance_um

    case = ip.synthetic_cortex(3, shape=(320, 320))
    plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, n_threads=8)
    kw = dict(monte_carlo_samples=500, rng=0)
    own = [r.breach_probability for r in ip.simulate(plan, **kw).insertions]
    given = [
        r.breach_probability for r in ip.simulate(plan, avoidance=plan.avoidance, **kw).insertions
    ]
    assert own == given
    amap = plan.avoidance
    blind = ~(amap.detectable_diameter_um <= amap.margins.hazard_diameter_um)
    rc = np.argwhere(blind)
    assert len(rc) > 1000
    xy = rc[:, ::-1] * plan.pixel_size_um
    assert float(surface_clearance_um(amap, xy, plan.pixel_size_um).max()) == 0.0
