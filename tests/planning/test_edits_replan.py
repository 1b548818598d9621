import numpy as np
import pytest

from insertion_planner import ConstraintViolationError, InfeasiblePlanError
from insertion_planner.plan_file import load_plan
from insertion_planner.planning import (
    check_plan,
    lock_thread,
    move_thread,
    plan_from_avoidance,
    remove_thread,
    replan,
    unlock_thread,
)
from insertion_planner.planning.ordering import point_segment_distance


def _free_pixel(plan, amap):
    """A candidate pixel at least 300 um from every site."""
    xy = np.array([t.entry_um[:2] for t in plan.active_threads])
    rc = plan.candidates.rc
    d = np.linalg.norm(rc[:, [1, 0]][:, None] * 12.0 - xy[None], axis=2).min(axis=1)
    k = int(np.argmax(d))
    assert d[k] >= 300
    return int(rc[k, 0]), int(rc[k, 1])


@pytest.fixture(scope="module")
def plan24(amap):
    return plan_from_avoidance(amap, n_threads=24)


def test_move_into_vessel_or_too_close_is_refused(plan24, amap, vessels_mask):
    pts = np.argwhere(vessels_mask)
    r, c = pts[np.argmin(np.abs(pts - 160).sum(axis=1))]
    with pytest.raises(ConstraintViolationError) as err:
        move_thread(plan24, 3, (r, c))
    assert err.value.constraint == "vessel_clearance" and err.value.thread_id == 3
    other = plan24.thread(5).pixel
    with pytest.raises(ConstraintViolationError) as err:
        move_thread(plan24, 3, (other[0] + 5, other[1]))
    assert err.value.constraint in ("min_spacing", "vessel_clearance")
    with pytest.raises(ValueError, match="inside the image"):
        move_thread(plan24, 3, (-50, 10))


def test_valid_move_lock_remove(plan24, amap):
    target = _free_pixel(plan24, amap)
    moved = move_thread(plan24, 3, target)
    t = moved.thread(3)
    assert t.pixel == (float(target[0]), float(target[1]))
    assert t.clearance_um == pytest.approx(float(amap.clearance_um[target]), abs=1e-3)
    assert check_plan(moved) == [] and moved.provenance["edits"][-1]["op"] == "move"
    locked = lock_thread(moved, 3)
    assert locked.thread(3).status == "locked"
    with pytest.raises(ValueError, match="locked"):
        move_thread(locked, 3, target)
    assert unlock_thread(locked, 3).thread(3).status == "planned"
    removed = remove_thread(locked, 7)
    assert removed.thread(7).status == "removed" and len(removed.active_threads) == 23
    assert removed.binding_constraint == "edited" and removed.threads[-1].id == 7


def test_replan_keeps_inserted_and_moves_failed_away(plan24, amap):
    order = [t.id for t in plan24.threads]
    inserted, failed = order[:6], order[6:10]
    new = replan(plan24, inserted=inserted, failed=failed)
    assert check_plan(new) == []
    assert [t.id for t in new.threads[:6]] == inserted
    for i in inserted:
        assert new.thread(i).pixel == plan24.thread(i).pixel and new.thread(i).status == "inserted"
    holes = np.array([plan24.thread(i).entry_um[:2] for i in failed])
    for i in failed:
        t = new.thread(i)
        if t.status != "failed":
            assert (
                np.linalg.norm(holes - t.entry_um[:2], axis=1).min() >= plan24.config.min_spacing_um
            )
            assert t.clearance_um >= t.required_clearance_um
    assert sum(new.thread(i).status == "planned" for i in failed) == 4
    assert len(new.provenance["failed_holes_um"]) == 4


def test_out_of_order_insertion_replaces_covered_sites(plan24):
    # insert the last thread first: sites under its tether must move
    last = plan24.threads[-1]
    exit_xy = np.array(plan24.geometry.thread_exit_um[:2])
    new = replan(plan24, inserted=[last.id])
    assert len(new.active_threads) >= len(plan24.threads) // 2  # the others were re-placed
    for t in new.active_threads:
        if t.id != last.id:
            d = point_segment_distance([t.entry_um[:2]], exit_xy, [last.entry_um[:2]])[0, 0]
            assert d >= plan24.geometry.tether_clearance_um


def test_replan_errors_and_strict(plan24, tmp_path):
    with pytest.raises(ValueError, match="not in the plan"):
        replan(plan24, failed=[99])
    with pytest.raises(ValueError, match="both failed and inserted"):
        replan(plan24, failed=[1], inserted=[1])
    plan24.to_json(tmp_path / "p.json")
    with pytest.raises(ValueError, match="avoidance is required"):
        replan(load_plan(tmp_path / "p.json"), failed=[1])
    with pytest.raises(InfeasiblePlanError):
        replan(plan24, failed=[t.id for t in plan24.threads], hole_exclusion_um=5000.0, strict=True)


def test_edits_on_a_loaded_plan_with_its_map(plan24, amap, tmp_path):
    plan24.to_json(tmp_path / "p.json")
    loaded = load_plan(tmp_path / "p.json")
    assert check_plan(loaded, avoidance=amap) == []
    target = _free_pixel(plan24, amap)
    moved = move_thread(loaded, 2, target, avoidance=amap)
    assert moved.thread(2).pixel == (float(target[0]), float(target[1]))
    new = replan(loaded, failed=[0], avoidance=amap)
    assert new.thread(0).status == "planned" and check_plan(new, avoidance=amap) == []


def test_replan_names_what_bound_it(amap):
    """Hole exclusion in a small region, not vessel clearance, stops the re-placement."""
    region = np.zeros(amap.clearance_um.shape, bool)
    region[200:230, 40:70] = True  # 360 um square: two sites fit
    p = plan_from_avoidance(amap, n_threads=2, region=region)
    assert len(p.threads) == 2
    new = replan(p, failed=[0, 1])
    assert new.binding_constraint == "hole_exclusion"
    with pytest.raises(InfeasiblePlanError) as err:
        replan(p, failed=[0, 1], strict=True)
    assert err.value.binding_constraint == "hole_exclusion"
    # enough room away from the holes: every thread re-placed, the plan's constraint kept
    wide = replan(plan_from_avoidance(amap, n_threads=4), failed=[0])
    assert wide.binding_constraint is None


def test_constraint_violation_error_lives_in_errors():
    from insertion_planner import errors
    from insertion_planner.planning import ConstraintViolationError as FromPlanning

    assert FromPlanning is errors.ConstraintViolationError is ConstraintViolationError
    assert issubclass(FromPlanning, errors.PlannerError) and issubclass(FromPlanning, ValueError)
    assert (
        "ConstraintViolationError" in errors.__all__
        and "ConstraintViolationError" in errors.__doc__
    )


def test_replan_of_a_short_plan_keeps_its_first_binding_constraint(amap):
    region = np.zeros(amap.clearance_um.shape, bool)
    region[200:230, 40:70] = True
    p = plan_from_avoidance(amap, n_threads=5, region=region)  # only 2 fit: the region binds
    assert p.binding_constraint == "region"
    new = replan(p, failed=[0, 1])
    assert new.binding_constraint == "region"
    assert new.provenance["replans"][-1]["binding_constraint"] == "hole_exclusion"
