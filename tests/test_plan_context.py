"""The plan split into what is saved and what was computed: a plan changed in memory is
judged by its saved fields, exactly as its file is."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.plan import InsertionPlan, PlanContext
from insertion_planner.plan_file import plan_violations
from insertion_planner.planning.checks import scene_from_plan

N = 320


@pytest.fixture(scope="module")
def fresh():
    case = ip.synthetic_cortex(3, shape=(N, N))
    plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, n_threads=8,
                              surface_height_um=case.grid.surface_z_um)  # fmt: skip
    assert len(plan.active_threads) == 8
    return plan


def _as_loaded(plan: InsertionPlan) -> InsertionPlan:
    return InsertionPlan.from_dict(json.loads(plan.to_json_text()))


def _names(violations):
    return sorted((v.thread_id, v.constraint) for v in violations)


def test_a_fresh_plan_keeps_its_context_and_thread_edits_keep_the_scene(fresh):
    ctx = fresh.context
    assert isinstance(ctx, PlanContext)
    assert (
        fresh.scene is ctx.scene and fresh.grid is ctx.grid and fresh.candidates is ctx.candidates
    )
    assert fresh.avoidance is ctx.avoidance and fresh.vessels is ctx.vessels
    # thread, status, provenance and simulation changes do not touch what the scene came from
    moved = replace(fresh, threads=fresh.threads[::-1], provenance={**fresh.provenance, "x": 1})
    assert moved.scene is ctx.scene and scene_from_plan(moved) is ctx.scene
    assert _as_loaded(fresh).context is None and _as_loaded(fresh).scene is None


@pytest.mark.parametrize("field", ["geometry", "config", "robot_spec", "margins", "region"])
def test_replacing_a_saved_field_drops_what_was_derived_from_it(fresh, field):
    value = getattr(fresh, field)
    if field == "region":
        value = np.array(value)
        value[0, 0] = not value[0, 0]  # another mask
        same = replace(fresh, region=np.array(fresh.region))  # the same mask, another array
        assert same.scene is fresh.scene
    else:
        value = replace(value)
    edited = replace(fresh, **{field: value})
    assert edited.scene is None and edited.grid is None and edited.candidates is None
    assert edited.avoidance is fresh.avoidance and edited.image is fresh.image
    # the rebuilt scene judges the unchanged plan as the planner did
    assert _names(ip.check_plan(edited)) == []


def test_a_smaller_opening_set_in_memory_is_judged_as_its_file_is(fresh):
    """Only the geometry is replaced: the threads by the new bone edge must be refused by
    check_plan on the in-memory plan, as by the checker load_plan asks on its file."""
    g = fresh.geometry
    cx, cy = g.craniectomy_center_um
    xy = np.array([t.entry_um[:2] for t in fresh.active_threads])
    r = float(np.median(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)))  # half the sites outside
    edited = replace(fresh, geometry=replace(g, craniectomy_radius_um=r, craniectomy_mask=None))
    in_memory = _names(ip.check_plan(edited))
    on_file = _names(plan_violations(_as_loaded(edited), avoidance=fresh.avoidance))
    assert in_memory == on_file
    hit = {tid for tid, name in in_memory if name in ("craniectomy", "head_collision")}
    assert len(hit) >= len(xy) // 2, in_memory
    with pytest.raises(ip.ConstraintViolationError):
        ip.move_thread(edited, edited.threads[0].id, edited.threads[0].pixel)


def test_with_context_checks_its_type_and_keeps_the_image_parts(fresh):
    with pytest.raises(TypeError, match="context must be a PlanContext"):
        replace(fresh, context={"avoidance": fresh.avoidance})
    bare = replace(fresh, context=None)
    assert bare.avoidance is None and bare.scene is None
    again = replace(fresh, config=replace(fresh.config)).with_context()
    assert again.avoidance is fresh.avoidance and again.scene is None
    assert again.context.fits(again._basis()) and not fresh.context.fits(again._basis())


# ------------------------------------------------- what a plan changed in memory is held to


def test_replaced_margins_or_robot_hold_every_thread_to_the_new_floor(fresh):
    """The plan's own margin model (with its robot) binds check_plan, as it binds its file."""
    wide = replace(fresh, margins=fresh.margins.replace(base_margin_um=400.0))
    floor = float(wide.margins.required_um(wide.dura_mode))
    found = ip.check_plan(wide)
    short = {t.id for t in fresh.active_threads if t.clearance_um < floor}
    flagged = {v.thread_id for v in found if v.constraint == "vessel_clearance"}
    assert short and short <= flagged  # (near large vessels the map asks more still)
    assert ip.check_plan(replace(fresh, margins=fresh.margins.replace(base_margin_um=10.0))) == []
    sloppy = ip.get_robot({"base": "R1-2019", "name": "sloppy", "stage_accuracy_um": 150.0})
    moved = replace(fresh, robot_spec=sloppy)
    need = float(fresh.margins.for_robot(sloppy).required_um(fresh.dura_mode))
    short = {t.id for t in fresh.active_threads if t.clearance_um < need}
    assert short and short <= {v.thread_id for v in ip.check_plan(moved)}


def test_a_replaced_dura_mode_drops_the_image_parts_and_refuses_the_other_modes_map(fresh):
    other = replace(fresh, dura_mode="transdural")
    assert other.avoidance is None and other.vessels is None and other.scene is None
    with pytest.raises(ValueError, match="avoidance is required"):
        ip.check_plan(other)
    with pytest.raises(
        ValueError, match="avoidance was built for durectomy, the plan is transdural"
    ):
        ip.check_plan(other, avoidance=fresh.avoidance)
    with pytest.raises(
        ValueError, match="avoidance was built for durectomy, the plan is transdural"
    ):
        ip.simulate(other, avoidance=fresh.avoidance)


def test_a_rebuilt_scene_keeps_checking_depths_against_the_cortex():
    case = ip.synthetic_cortex(3, shape=(N, N))
    plan = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, n_threads=4,
                              depth_um=(2500.0, 4500.0), cortex_thickness_um=3400.0)  # fmt: skip
    t = plan.threads[0]
    deep = replace(plan, threads=(replace(t, depth_um=4500.0), *plan.threads[1:]))
    assert (t.id, "depth") in _names(ip.check_plan(deep))
    later = replace(deep, config=deep.config.replace(retraction_days=60.0))  # scene rebuilt
    assert later.scene is None and (t.id, "depth") in _names(ip.check_plan(later))


def test_a_pickled_plan_keeps_its_scene_through_edits(fresh):
    import pickle

    back = pickle.loads(pickle.dumps(fresh))
    edited = replace(back, provenance={**back.provenance, "note": 1})
    assert edited.scene is not None and edited.candidates is not None


def test_a_file_whose_config_and_provenance_disagree_is_refused(fresh, tmp_path):
    from insertion_planner.plan import _checksum

    d = json.loads(fresh.to_json_text())
    d["config"]["collision_margin_um"] = 0.0  # the planner kept 500 um from the bone
    d.pop("checksum")
    d["checksum"] = _checksum(d)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ip.PlanFileError, match="config collision_margin_um 0.0 is not the 500.0"):
        ip.load_plan(path)
