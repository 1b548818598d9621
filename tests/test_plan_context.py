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
        value = np.array(value)  # the same mask, a new object
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
