"""One safety model: planning, load_plan and simulate judge every thread the same way.

Real plans are perturbed at random (a thread moved, its depth changed, the spacing, the
target region or the opening changed) and the violations found by the three users of the
validity checker are compared thread by thread: ``check_plan`` on the plan in memory,
the checker ``load_plan`` asks on the plan read back from its file (with the map rebuilt
from the image), and the reasons ``simulate`` gives.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insertion_planner as ip
from insertion_planner.errors import PlanFileError
from insertion_planner.plan import InsertionPlan, _checksum
from insertion_planner.plan_file import load_plan, plan_violations
from insertion_planner.planning.checks import scene_from_plan
from insertion_planner.planning.validity import SITE_CONSTRAINTS

SHARED = {*SITE_CONSTRAINTS, "min_spacing", "tether_tangle"}
N = 384


@pytest.fixture(scope="module")
def real():
    case = ip.synthetic_cortex(7, shape=(N, N))
    plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, n_threads=16,
                              surface_height_um=case.grid.surface_z_um)  # fmt: skip
    assert len(plan.active_threads) == 16
    return case, plan


def _moved(plan, k, dr, dc, depth):
    t = plan.threads[k]
    px = plan.pixel_size_um
    r = float(np.clip(t.pixel[0] + dr, 0, N - 1))
    c = float(np.clip(t.pixel[1] + dc, 0, N - 1))
    z = float(scene_from_plan(plan).grid.height_at(np.array([[r, c]]))[0])
    nt = replace(t, pixel=(r, c), entry_um=(c * px, r * px, z), depth_um=depth)
    return replace(plan, threads=tuple(nt if u.id == t.id else u for u in plan.threads))


def _opened(plan, radius_px):
    """The plan with a smaller, elliptic craniectomy about the image centre."""
    yy, xx = np.mgrid[:N, :N]
    mask = ((yy - N / 2) / radius_px) ** 2 + ((xx - N / 2) / (1.3 * radius_px)) ** 2 <= 1
    g = replace(plan.geometry, craniectomy_mask=mask)
    opened = replace(plan, geometry=g)  # its scene is rebuilt from the saved fields
    assert opened.scene is None and opened.avoidance is plan.avoidance
    return opened


def _names(violations):
    out: dict[int, set[str]] = {}
    for v in violations:
        out.setdefault(v.thread_id, set()).add(v.constraint)
    return out


def _simulated(plan, amap):
    out: dict[int, set[str]] = {}
    for rec in ip.simulate(plan, avoidance=amap).insertions:
        for why in rec.reasons:
            name = why.split(":")[0]
            if name in SHARED:
                out.setdefault(rec.thread_id, set()).add(name)
    return out


perturbation = st.fixed_dictionaries({
    "k": st.integers(0, 15),
    "dr": st.integers(-30, 30),
    "dc": st.integers(-30, 30),
    "depth": st.sampled_from([3500.0, 3000.0, 1500.0, 7000.0]),
    "spacing": st.sampled_from([1.0, 0.5, 2.0, 3.0]),
    "region_px": st.sampled_from([None, 60, 120]),
    "opening_px": st.sampled_from([None, 100, 160]),
})  # fmt: skip


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(change=perturbation)
def test_planning_load_plan_and_simulate_report_the_same_violations(real, tmp_path_factory, change):
    case, plan = real
    amap = plan.avoidance
    p = _moved(plan, change["k"], change["dr"], change["dc"], change["depth"])
    p = replace(
        p, config=replace(p.config, min_spacing_um=p.config.min_spacing_um * change["spacing"])
    )
    if change["region_px"] is not None:
        yy, xx = np.mgrid[:N, :N]
        p = replace(p, region=np.hypot(yy - N / 2, xx - N / 2) <= change["region_px"])
    if change["opening_px"] is not None:
        p = _opened(p, change["opening_px"])
    planning = _names(ip.check_plan(p))
    # the plan as its file keeps it, judged by the checker load_plan asks, with the image's map
    d = p.to_dict()
    loaded = InsertionPlan.from_dict(json.loads(json.dumps(d)))
    rebuilt = ip.avoidance_for_plan(loaded, case.image)
    assert np.array_equal(rebuilt.allowed, amap.allowed)
    from_file = _names(plan_violations(loaded, avoidance=rebuilt))
    simulated = _simulated(p, amap)
    assert planning == from_file == simulated, change
    assert _simulated(loaded, rebuilt) == simulated, change  # the plan from its file, too
    # load_plan itself refuses exactly when the file alone shows a violation
    path = tmp_path_factory.mktemp("plan") / "p.json"
    d["checksum"] = _checksum(d)
    path.write_text(json.dumps(d))
    alone = plan_violations(loaded)
    if alone:
        with pytest.raises(PlanFileError, match="impossible plan"):
            load_plan(path)
    else:
        load_plan(path)


def test_the_perturbations_break_every_kind_of_constraint(real):
    """The property above is not vacuous: its perturbations reach every constraint."""
    case, plan = real
    seen: set[str] = set()
    rng = np.random.default_rng(0)
    for _ in range(60):
        p = _moved(plan, int(rng.integers(16)), *rng.integers(-30, 31, 2),
                   float(rng.choice([3500.0, 1500.0, 7000.0])))  # fmt: skip
        p = replace(p, config=replace(p.config, min_spacing_um=p.config.min_spacing_um * 3))
        yy, xx = np.mgrid[:N, :N]
        p = replace(p, region=np.hypot(yy - N / 2, xx - N / 2) <= 100)
        p = _opened(p, 100)
        seen |= {v.constraint for v in ip.check_plan(p)}
    assert {"vessel_clearance", "region", "craniectomy", "min_spacing", "depth"} <= seen, seen


def test_a_plan_edited_in_memory_is_judged_by_its_saved_fields(real):
    """A shorter thread in the config reaches the in-memory checks as it reaches the file's."""
    case, plan = real
    short = replace(plan, config=replace(plan.config, thread_length_um=12000.0))
    in_memory = _names(ip.check_plan(short))
    loaded = InsertionPlan.from_dict(json.loads(json.dumps(short.to_dict())))
    from_file = _names(plan_violations(loaded, avoidance=plan.avoidance))
    assert in_memory == from_file == _simulated(short, plan.avoidance)
    assert any("tether_reach" in names for names in in_memory.values())
