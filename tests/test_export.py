"""``insertion_planner.export``: the 3D Slicer markups document and the CSV of threads."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage
from skimage.measure import points_in_poly

import insertion_planner as ip
from insertion_planner.export import CSV_COLUMNS, to_csv_text, to_slicer_markups
from insertion_planner.plan import _example_plan

SCHEMAS = Path(__file__).resolve().parents[1] / ".." / "shared" / "schemas"
SLICER_SCHEMA = SCHEMAS / "slicer-markups-schema-v1.0.3.json"
needs_schema = pytest.mark.skipif(
    not SLICER_SCHEMA.is_file(), reason="shared Slicer markups schema not present"
)


def slicer_problems(doc: dict) -> list[str]:
    """Every violation of Slicer's published markups schema (validator of its own draft)."""
    import jsonschema

    schema = json.loads(SLICER_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in cls(schema).iter_errors(doc)]


def _scene_plan() -> ip.InsertionPlan:
    """Three threads whose ids differ from their insertion order, one tilted and one
    removed; a region with a hole and a second piece touching the image edge; a surface
    raised 250 um."""
    base = _example_plan()
    t0, t1 = base.threads
    threads = (
        replace(t0, id=2, order=1),
        replace(t1, id=0, order=2, status="removed"),
        replace(t0, id=1, order=0, pixel=(60.0, 150.0), entry_um=(1800.0, 720.0, 250.0),
                direction=(0.6, 0.0, -0.8), depth_um=3333.3),
    )  # fmt: skip
    rr, cc = np.mgrid[:200, :200]
    region = (rr - 100) ** 2 + (cc - 100) ** 2 < 60**2
    region &= (rr - 100) ** 2 + (cc - 100) ** 2 >= 15**2
    region[:10, :30] = True
    surface = {"origin_um": [0.0, 0.0], "step_um": 2400.0, "z_um": [[250.0] * 2] * 2}
    return replace(base, threads=threads, region=region,
                   geometry=replace(base.geometry, surface=surface))  # fmt: skip


@needs_schema
@pytest.mark.parametrize("frame", ["LPS", "RAS"])
def test_markups_are_valid_against_slicers_schema(frame):
    for plan in (_example_plan(), _scene_plan(), replace(_example_plan(), threads=())):
        doc = to_slicer_markups(plan, coordinate_system=frame)
        assert slicer_problems(doc) == []
        assert all(m["coordinateSystem"] == frame for m in doc["markups"])
        assert all(m["coordinateUnits"] == "mm" for m in doc["markups"])
        points = [p for m in doc["markups"] for p in m["controlPoints"]]
        assert all(p["positionStatus"] == "defined" for p in points)
        # a plan frame point (x, y, z) um is (x, y, z) / 1000 in LPS and (-x, -y, z) / 1000 in RAS
        entry, target = doc["markups"][:2]
        sign = (1, 1, 1) if frame == "LPS" else (-1, -1, 1)
        for t, e, g in zip(
            plan.threads, entry["controlPoints"], target["controlPoints"], strict=True
        ):
            assert e["position"] == [s * v / 1000 for s, v in zip(sign, t.entry_um, strict=True)]
            tip = [
                round(v + t.depth_um * d, 6) for v, d in zip(t.entry_um, t.direction, strict=True)
            ]
            assert g["position"] == [s * v / 1000 for s, v in zip(sign, tip, strict=True)]


def test_fiducials_follow_insertion_order_and_name_threads_by_label():
    plan = _scene_plan()
    entry, target, *curves = to_slicer_markups(plan)["markups"]
    assert (entry["type"], entry["name"]) == ("Fiducial", "plan entry")
    assert (target["type"], target["name"]) == ("Fiducial", "plan target")
    for m in (entry, target):
        assert [p["label"] for p in m["controlPoints"]] == ["T01", "T02", "T03"]
        assert [p["id"] for p in m["controlPoints"]] == ["1", "2", "0"]  # thread ids kept
        # the removed thread (T03) is kept but hidden; the others are shown
        assert [p["visibility"] for p in m["controlPoints"]] == [True, True, False]
        assert "status removed" in m["controlPoints"][2]["description"]
    # T01 is the tilted thread: 1800 + 3333.3 * 0.6 um along x, 250 - 3333.3 * 0.8 um along z
    assert target["controlPoints"][0]["position"] == [
        round(1800.0 + 3333.3 * 0.6, 6) / 1000,
        0.72,
        round(250.0 - 3333.3 * 0.8, 6) / 1000,
    ]


def test_region_outlines_trace_the_mask():
    plan = _scene_plan()
    curves = to_slicer_markups(plan)["markups"][2:]
    assert [(c["type"], c["name"]) for c in curves] == [
        ("ClosedCurve", "plan region"), ("ClosedCurve", "plan region 2"),
        ("ClosedCurve", "plan region hole"),
    ]  # fmt: skip
    region = plan.region
    rr, cc = np.mgrid[:200, :200]
    centres = np.column_stack([rr.ravel(), cc.ravel()]).astype(float)
    inside = np.zeros(len(centres), bool)
    for c in curves:
        xyz = np.array([p["position"] for p in c["controlPoints"]]) * 1000
        assert np.allclose(xyz[:, 2], 250.0)  # on the (raised) surface
        poly = xyz[:, [1, 0]] / plan.pixel_size_um  # (row, col)
        assert len(poly) >= 3 and not np.allclose(poly[0], poly[-1])  # closed by Slicer
        hit = points_in_poly(centres, poly)
        inside = inside & ~hit if c["name"].endswith("hole") else inside | hit
    # every pixel at least one pixel away from the mask's edge is classified as the mask is
    far = (ndimage.distance_transform_edt(region) > 1.5) | (
        ndimage.distance_transform_edt(~region) > 1.5
    )
    assert (inside.reshape(200, 200) == region)[far].all()


def test_no_region_no_curve_and_no_threads_empty_lists():
    doc = to_slicer_markups(replace(_example_plan(), threads=()))
    assert [m["type"] for m in doc["markups"]] == ["Fiducial", "Fiducial"]
    assert all(m["controlPoints"] == [] for m in doc["markups"])
    assert to_csv_text(replace(_example_plan(), threads=())) == ",".join(CSV_COLUMNS) + "\n"


def _rows(plan: ip.InsertionPlan) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(to_csv_text(plan))))


def _check_csv_matches_json(plan: ip.InsertionPlan) -> None:
    data = json.loads(plan.to_json_text())
    rows = _rows(plan)
    assert [r["label"] for r in rows] == [t["label"] for t in data["threads"]]
    for r, t in zip(rows, data["threads"], strict=True):
        assert (int(r["id"]), int(r["order"]), r["status"]) == (t["id"], t["order"], t["status"])
        assert [float(r["pixel_row_px"]), float(r["pixel_col_px"])] == t["pixel"]
        assert [float(r[f"entry_{a}_um"]) for a in "xyz"] == t["entry_um"]
        assert [float(r[f"direction_{a}"]) for a in "xyz"] == t["direction"]
        for key in ("depth_um", "clearance_um", "required_clearance_um", "weight"):
            assert float(r[key]) == t[key], key
        tip = [
            round(e + t["depth_um"] * d, 6)
            for e, d in zip(t["entry_um"], t["direction"], strict=True)
        ]
        assert [float(r[f"target_{a}_um"]) for a in "xyz"] == tip
        assert float(r["margin_um"]) == round(t["clearance_um"] - t["required_clearance_um"], 6)


def test_csv_reads_back_as_the_json_numbers():
    plan = _scene_plan()
    rows = _rows(plan)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["label"] for r in rows] == ["T01", "T02", "T03"]
    _check_csv_matches_json(plan)


_um = st.floats(-20000.0, 20000.0, allow_nan=False)


@given(
    entry=st.tuples(_um, _um, _um),
    depth=st.floats(1.0, 10000.0),
    tilt=st.floats(-1.0, 1.0),
    clearance=st.floats(0.0, 5000.0),
    required=st.floats(0.0, 500.0),
)
def test_csv_round_trip_is_exact(entry, depth, tilt, clearance, required):
    d = (tilt * 0.6, tilt * 0.3, -float(np.sqrt(1 - 0.45 * tilt**2)))
    t = replace(_example_plan().threads[0], entry_um=entry, direction=d, depth_um=depth,
                clearance_um=clearance, required_clearance_um=required)  # fmt: skip
    _check_csv_matches_json(replace(_example_plan(), threads=(t,)))


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match=r"coordinate_system must be 'LPS' or 'RAS', got 'ras'"):
        to_slicer_markups(_example_plan(), coordinate_system="ras")
    with pytest.raises(TypeError, match="plan must be an InsertionPlan, got dict"):
        to_slicer_markups({})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="plan must be an InsertionPlan"):
        to_csv_text(None)  # type: ignore[arg-type]


def test_writers_are_byte_identical(tmp_path):
    from insertion_planner.export import write_csv, write_slicer_markups

    plan = _scene_plan()
    a = write_slicer_markups(plan, tmp_path / "a.mrk.json").read_bytes()
    b = write_slicer_markups(plan, tmp_path / "b.mrk.json").read_bytes()
    assert a == b and json.loads(a) == to_slicer_markups(plan)
    assert write_csv(plan, tmp_path / "a.csv").read_text() == to_csv_text(plan)
    with pytest.raises(ValueError, match="path"):
        write_csv(plan, tmp_path / "missing" / "a.csv")
