"""Plan files are checked, never trusted: NaN, infinity and out-of-range values anywhere are
refused in one line naming their JSON path, even when the checksum was recomputed."""

import json
import math
from pathlib import Path

import pytest

import insertion_planner as ip
from insertion_planner import PlanFileError, load_plan
from insertion_planner.cli import main
from insertion_planner.plan import MAX_NESTING, _checksum, _example_plan, plan_schema

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not present")


def _set(path, value):
    def change(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _nested(levels):
    v = []
    for _ in range(levels):
        v = [v]
    return v


def _write(tmp_path, change, text=None, *, base=None):
    """The example plan (or ``base``) edited by ``change`` (a dict edit) and ``text`` (a
    text edit), with its checksum recomputed over the edited content, so that only the
    content checks can catch the edit."""
    d = json.loads(json.dumps(base)) if base is not None else _example_plan().to_dict()
    change(d)
    d["checksum"] = _checksum(d)  # json.dumps writes NaN/Infinity: the checksum covers them
    s = json.dumps(d)
    if text is not None:
        s = text(s)
    path = tmp_path / "edited.json"
    path.write_text(s)
    return path


def _refusal(path):
    with pytest.raises(PlanFileError) as err:
        load_plan(path)
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    prefix = f"plan file {str(path)!r} "
    assert msg.startswith(prefix)
    return msg[len(prefix) :]


BAD = [
    # (id, dict edit, text edit, message after "plan file '...' ")
    ("nan-depth", _set(["threads", 1, "depth_um"], math.nan), None,
     "holds a value no plan can hold at threads/1/depth_um: NaN is not a finite number"),
    ("inf-entry", _set(["threads", 0, "entry_um", 2], math.inf), None,
     "holds a value no plan can hold at threads/0/entry_um/2: Infinity is not a finite number"),
    ("-inf-implant", _set(["geometry", "implant_center_um", 1], -math.inf), None,
     "holds a value no plan can hold at geometry/implant_center_um/1: -Infinity is not a finite number"),
    ("overflow-weight", _set(["threads", 0, "weight"], math.inf), lambda s: s.replace("Infinity", "1e999"),
     "holds a value no plan can hold at threads/0/weight: 1e999 overflows to infinity"),
    ("nan-provenance", _set(["provenance", "parameters", "margin_um"], math.nan), None,
     "holds a value no plan can hold at provenance/parameters/margin_um: NaN is not a finite number"),
    ("negative-depth", _set(["threads", 1, "depth_um"], -3500.0), None,
     "fails the plan schema at threads/1/depth_um: -3500.0 is less than or equal to the minimum of 0"),
    ("deep-depth", _set(["threads", 0, "depth_um"], 20000.0), None,
     "fails the plan schema at threads/0/depth_um: 20000.0 is greater than the maximum of 10000"),
    ("pixel-size-in-mm", _set(["image", "pixel_size_um"], 0.012), None,
     "fails the plan schema at image/pixel_size_um: 0.012 is less than the minimum of 0.5"),
    ("negative-clearance", _set(["threads", 0, "clearance_um"], -5.0), None,
     "fails the plan schema at threads/0/clearance_um: -5.0 is less than the minimum of 0"),
    ("pixel-far-outside", _set(["threads", 0, "pixel"], [150.0, 9000.0]), None,
     "fails the plan schema at threads/0/pixel/1: 9000.0 is greater than the maximum of 8191"),
    ("pixel-outside-image",
     lambda d: d["threads"][0].update(pixel=[150.0, 205.0], entry_um=[2460.0, 1800.0, 0.0]), None,
     "holds an impossible plan: thread 0: pixel (150.0, 205.0) lies outside the image of shape (200, 200)"),
    ("direction-out-of-range", _set(["threads", 0, "direction"], [0.0, 0.0, 1.5]), None,
     "fails the plan schema at threads/0/direction/2: 1.5 is greater than the maximum of 1"),
    ("incidence", _set(["geometry", "max_incidence_rad"], 2.0), None,
     "fails the plan schema at geometry/max_incidence_rad: 2.0 is greater than the maximum of 1.5707963267948966"),
    ("huge-image", _set(["image", "shape"], [200, 100000]), None,
     "fails the plan schema at image/shape/1: 100000 is greater than the maximum of 8192"),
    ("orders-not-permutation", _set(["threads", 1, "order"], 5), None,
     "holds an impossible plan: insertion orders must be 0..1 each once, got [5] instead of [1]"),
    ("ids-not-permutation", _set(["threads", 1, "id"], 7), None,
     "holds an impossible plan: thread ids must be 0..1 each once, got [7] instead of [1]"),
    ("config-dura", _set(["config", "dura_thickness_um"], 1000.0), None,
     "holds an invalid value at config: dura_thickness_um must be between 250 and 400 (human dura), got 1000.0"),
    ("margins-negative", _set(["margins", "base_margin_um"], -1.0), None,
     "holds an invalid value at margins: base_margin_um must be non-negative, got -1.0"),
    ("nesting-200", _set(["provenance", "parameters", "deep"], _nested(200)), None,
     "holds a value no plan can hold at provenance/parameters/deep/0/0/0/0/0/0/0/0/0/...: "
     f"nested deeper than {MAX_NESTING} levels"),
    ("duplicate-key", lambda d: None,
     lambda s: s.replace('"pixel_size_um": 12.0', '"pixel_size_um": 12.0, "pixel_size_um": 12.0'),
     "holds a value no plan can hold at image/pixel_size_um: duplicate key 'pixel_size_um'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "change", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_refused_naming_their_json_path(tmp_path, name, change, text, message):
    assert _refusal(_write(tmp_path, change, text)) == message


def test_the_edited_example_would_pass_the_checksum(tmp_path):
    """The instances above are caught by their content, not by a stale checksum."""
    path = _write(tmp_path, _set(["threads", 1, "depth_um"], math.nan))
    d = json.loads(path.read_text())  # Python's json reads the NaN back
    assert math.isnan(d["threads"][1]["depth_um"]) and d["checksum"] == _checksum(d)


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path):
    deep = 100_000
    path = _write(tmp_path, lambda d: None, lambda s: s.replace(
        '"parameters": {}', '"parameters": {"deep": ' + "[" * deep + "]" * deep + "}"))  # fmt: skip
    assert _refusal(path) == (
        "holds a value no plan can hold at provenance/parameters/deep/0/0/0/0/0/0/0/0/0/...: "
        f"nested deeper than {MAX_NESTING} levels"
    )
    path.write_text("[" * deep + "]" * deep)  # not even an object
    assert _refusal(path) == (
        f"holds a value no plan can hold at 0/0/0/0/0/0/0/0/0/0/0/0/...: nested deeper than {MAX_NESTING} levels"
    )


def _numeric_leaves(node, path=()):
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        yield path
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _numeric_leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numeric_leaves(v, (*path, i))


def test_nan_or_infinity_anywhere_is_refused_naming_its_path(tmp_path):
    d = _example_plan().with_simulation(
        {"robot": "R1-2019", "total_time_s": 10.0,
         "insertions": [{"thread_id": 0, "ok": True, "reasons": [], "time_s": 10.0}]},
        {0: "validated"},
    ).to_dict()  # fmt: skip
    leaves = list(_numeric_leaves(d))
    assert len(leaves) > 80
    for k, leaf in enumerate(leaves):
        bad = (math.nan, math.inf, -math.inf)[k % 3]
        where = "/".join(str(p) for p in leaf)
        token = json.dumps(bad)  # NaN, Infinity, -Infinity
        assert _refusal(_write(tmp_path, _set(list(leaf), bad), base=d)) == (
            f"holds a value no plan can hold at {where}: {token} is not a finite number"
        )


def test_schema_ranges_match_the_rules_they_restate():
    from insertion_planner.imageio import MAX_SIDE
    from insertion_planner.quality import PIXEL_SIZE_RANGE_UM

    s = plan_schema()
    px = s["properties"]["image"]["properties"]["pixel_size_um"]
    assert (px["minimum"], px["maximum"]) == PIXEL_SIZE_RANGE_UM
    assert s["properties"]["image"]["properties"]["shape"]["items"]["maximum"] == MAX_SIDE
    t = s["properties"]["threads"]
    assert t["items"]["properties"]["id"]["maximum"] == t["maxItems"] - 1 == 63
    depth = s["$defs"]["depth_um"]
    assert (depth["exclusiveMinimum"], depth["maximum"]) == (0, 10000)


def test_in_memory_plans_refuse_a_nan_pixel_size():
    from dataclasses import replace

    with pytest.raises(ValueError, match="pixel_size_um must be a positive finite number, got nan"):
        replace(_example_plan(), pixel_size_um=math.nan)


@needs_cases
def test_shared_case_nan_pixel_size():
    path = CASES / "plan_nan_pixel_size.json"
    d = json.loads(path.read_text())
    assert math.isnan(d["image"]["pixel_size_um"]) and d["checksum"] == _checksum(d)
    assert _refusal(path) == (
        "holds a value no plan can hold at image/pixel_size_um: NaN is not a finite number"
    )


@needs_cases
def test_simulate_refuses_the_nan_plan_with_exit_2(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["simulate", str(CASES / "plan_nan_pixel_size.json"), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(err) == 1 and "image/pixel_size_um: NaN is not a finite number" in err[0]


@needs_cases
def test_a_real_plan_file_still_loads(tmp_path):
    plan = load_plan(CASES / "plan_thread_moved_onto_vessel.json")
    plan.to_json(tmp_path / "again.json")
    assert load_plan(tmp_path / "again.json") == plan
    assert isinstance(plan, ip.InsertionPlan) and len(plan.threads) == 8
