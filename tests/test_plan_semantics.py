"""load_plan rejects impossible plans even with a valid checksum; the region survives a round trip."""

import json

import numpy as np
import pytest

from insertion_planner import PlanFileError
from insertion_planner.plan import _checksum, _example_plan
from insertion_planner.plan_file import load_plan


def _tampered(tmp_path, change):
    d = _example_plan().to_dict()
    change(d)
    d["checksum"] = _checksum(d)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(d))
    return path


def _t0(d):
    return d["threads"][0]


CASES = [
    (
        "clearance",
        lambda d: _t0(d).update(clearance_um=40.0),
        r"thread 0 \(T01\) records clearance 40.0 um < required 86.5 um",
    ),
    (
        "floor",
        lambda d: _t0(d).update(required_clearance_um=0.0, clearance_um=200.0),
        "thread 0: required clearance 0.0 um is below the margin model's 86.5 um",
    ),
    (
        "non-unit",
        lambda d: _t0(d).update(direction=[0.0, 0.0, -0.5]),  # -2 fails the schema's range
        "thread 0: direction .* not a unit vector",
    ),
    (
        "upward",
        lambda d: _t0(d).update(direction=[0.0, 0.0, 1.0]),
        "thread 0: direction .* does not point down",
    ),
    (
        "tilted",
        lambda d: _t0(d).update(direction=[0.6, 0.0, -0.8]),
        "thread 0: direction .* tilts 36.9 deg",
    ),
    (
        "outside",
        lambda d: _t0(d).update(pixel=[250.0, 100.0], entry_um=[1200.0, 3000.0, 0.0]),
        r"thread 0: pixel \(250.0, 100.0\) lies outside the image",
    ),
    (
        "entry",
        lambda d: _t0(d).update(entry_um=[1300.0, 1200.0, 0.0]),
        "thread 0: entry_um .* is not at its pixel",
    ),
    (
        "spacing",
        lambda d: d["threads"][1].update(
            pixel=[110.0, 100.0],
            entry_um=[1200.0, 1320.0, 0.0],
            target_um=[1200.0, 1320.0, -3500.0],
        ),
        r"threads 0 \(T01\) and 1 \(T02\) are 120.0 um apart, less than min_spacing_um=250.0",
    ),
    (
        "status",
        lambda d: _t0(d).update(status="validated"),
        "thread 0: status 'validated' but the plan has no simulation",
    ),
    ("order", lambda d: d["threads"][1].update(order=0), "share an insertion order"),
]


@pytest.mark.parametrize(("name", "change", "match"), CASES, ids=[c[0] for c in CASES])
def test_impossible_plans_are_rejected_with_one_line(tmp_path, name, change, match):
    with pytest.raises(PlanFileError, match=match) as err:
        load_plan(_tampered(tmp_path, change))
    assert "\n" not in str(err.value) and "impossible plan" in str(err.value)


def test_schema_errors_do_not_dump_arrays(tmp_path):
    path = _tampered(tmp_path, lambda d: d.update(threads=[*d["threads"]] * 40))  # 80 threads > 64
    with pytest.raises(PlanFileError, match="fails the plan schema at threads") as err:
        load_plan(path)
    assert len(str(err.value)) < 300


def test_region_round_trip_and_checked_on_load(tmp_path):
    from dataclasses import replace

    region = np.zeros((200, 200), bool)
    region[80:140, 80:120] = True
    p = replace(_example_plan(), region=region)
    p.to_json(tmp_path / "r.json")
    q = load_plan(tmp_path / "r.json")
    assert q.region is not None and (q.region == region).all() and q == p
    assert json.loads((tmp_path / "r.json").read_text())["region"]["runs"].startswith(
        "80:80-120;81:80-120"
    )
    small = region.copy()
    small[125:] = False  # thread 1 at row 130 is now outside, 72 um from the region
    replace(_example_plan(), region=small).to_json(tmp_path / "s.json")
    with pytest.raises(
        PlanFileError,
        match=r"thread 1 \(T02\) breaks region: site \(130, 100\) lies 72.0 um outside the target region",
    ):
        load_plan(tmp_path / "s.json")
