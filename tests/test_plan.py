import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insertion_planner import PlanFileError, load_plan
from insertion_planner.plan import (
    THREAD_STATUSES,
    Thread,
    _example_plan,
    plan_schema,
    schema_markdown,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "json-schema.md"


def test_round_trip_and_byte_identical(tmp_path):
    p = _example_plan()
    p.to_json(tmp_path / "a.json")
    _example_plan().to_json(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    q = load_plan(tmp_path / "a.json")
    assert q == p and q.to_dict() == p.to_dict()
    assert type(p).from_dict(p.to_dict()).to_dict() == p.to_dict()
    d = json.loads((tmp_path / "a.json").read_text())
    for key in (
        "schema_version",
        "units",
        "dura_mode",
        "image",
        "threads",
        "provenance",
        "checksum",
    ):
        assert key in d
    assert d["units"]["length"] == "um" and d["units"]["time"] == "s"
    assert set(d["threads"][0]) >= {
        "id",
        "order",
        "pixel",
        "entry_um",
        "direction",
        "depth_um",
        "clearance_um",
        "required_clearance_um",
        "status",
    }


def test_tampered_and_malformed_files_are_rejected(tmp_path):
    p = _example_plan()
    path = tmp_path / "p.json"
    p.to_json(path)
    d = json.loads(path.read_text())
    d["threads"][0]["clearance_um"] = 500.0
    path.write_text(json.dumps(d))
    with pytest.raises(PlanFileError, match="checksum"):
        load_plan(path)
    del d["threads"][0]["status"]
    path.write_text(json.dumps(d))
    with pytest.raises(PlanFileError, match="threads/0.*status"):
        load_plan(path)
    path.write_text("{not json")
    with pytest.raises(PlanFileError, match="not valid JSON"):
        load_plan(path)
    with pytest.raises(PlanFileError, match="does not exist"):
        load_plan(tmp_path / "missing.json")
    d = p.to_dict()
    d["dura_mode"] = "sideways"
    d["checksum"] = "0" * 64
    path.write_text(json.dumps(d))
    with pytest.raises(PlanFileError, match="dura_mode"):
        load_plan(path)


def test_with_simulation_keeps_json_valid(tmp_path):
    sim = {"robot": "R1-2019", "total_time_s": 20.5,
           "insertions": [{"thread_id": i, "ok": i == 0, "reasons": [] if i == 0 else ["tilt"], "time_s": 10.25}
                          for i in range(2)]}  # fmt: skip
    p = _example_plan().with_simulation(sim, {0: "validated", 1: "rejected"})
    p.to_json(tmp_path / "s.json")
    q = load_plan(tmp_path / "s.json")
    assert q == p and [t.status for t in q.threads] == ["validated", "rejected"]
    with pytest.raises(ValueError, match="unknown thread ids"):
        _example_plan().with_simulation(sim, {7: "validated"})


finite = st.floats(-1e5, 1e5, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(
    pix=st.tuples(st.floats(0, 199), st.floats(0, 80)),
    clear=st.floats(86.5, 1e4),
    status=st.sampled_from([s for s in THREAD_STATUSES if s not in ("validated", "rejected")]),
    z=finite,
    w=st.floats(0, 1),
)
def test_thread_json_round_trip_is_exact(tmp_path_factory, pix, clear, status, z, w):
    base = _example_plan()
    xy = (pix[1] * 12.0, pix[0] * 12.0)
    t = Thread(0, 0, pix, (*xy, z), (0.0, 0.0, -1.0), 3500.0, clear, 86.5, status,
               ((1.0, 2.0, z), (*xy, z)), w)  # fmt: skip
    p = replace(base, threads=(t, base.threads[1]))
    path = tmp_path_factory.mktemp("rt") / "p.json"
    p.to_json(path)
    q = load_plan(path)
    assert q == p and q.threads[0] == p.threads[0]
    assert q.to_json_text() == p.to_json_text()


def test_schema_shipped_and_docs_up_to_date():
    schema = plan_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert DOCS.read_text() == schema_markdown(), (
        "regenerate: python -m insertion_planner.plan --markdown > docs/json-schema.md"
    )


def test_module_prints_markdown():
    out = subprocess.run([sys.executable, "-m", "insertion_planner.plan", "--markdown"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert out == schema_markdown()


def test_geometry_arrays_are_read_only():
    g = _example_plan().geometry
    assert not g.vessel_segments_um.flags.writeable and g.vessel_segments_um.shape == (0, 7)
    with pytest.raises(ValueError):
        g.vessel_segments_um[...] = 1.0
    assert np.isfinite(g.penetrating_um).all()
