"""``insertion-planner export`` and ``insertion-planner show`` on a planned synthetic cortex."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.cli import main

SLICER_SCHEMA = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "schemas"
    / "slicer-markups-schema-v1.0.3.json"
)  # fmt: skip
needs_schema = pytest.mark.skipif(
    not SLICER_SCHEMA.is_file(), reason="shared Slicer markups schema not present"
)


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """A 6-thread plan of a small synthetic cortex in a disc of radius 1.2 mm, and a plan without threads."""
    d = tmp_path_factory.mktemp("plans")
    image = ip.synthetic_cortex(0, shape=(256, 256), pixel_size_um=12.0).image
    rr, cc = np.mgrid[:256, :256]
    disc = (rr - 128) ** 2 + (cc - 128) ** 2 < 100**2
    plan = ip.plan_insertions(image, pixel_size_um=12.0, n_threads=6, region=disc)
    assert len(plan.threads) == 6
    plan.to_json(d / "plan.json")
    replace(plan, threads=(), binding_constraint="vessel_clearance").to_json(d / "empty.json")
    return d


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse rejecting an option
        status = exc.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    return status, out, err


def _refused(status: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _tip_um(t: dict) -> list[float]:
    """The needle tip of a JSON thread, entry_um + depth_um * direction, to 1e-6 um."""
    return [
        round(e + t["depth_um"] * d, 6) for e, d in zip(t["entry_um"], t["direction"], strict=True)
    ]


def _json_threads(path: Path) -> list[dict]:
    """The plan file's threads as stored (read without the library)."""
    return json.loads(path.read_text())["threads"]


# --- export --format slicer -----------------------------------------------------------------


@needs_schema
@pytest.mark.parametrize("frame", ["LPS", "RAS"])
def test_slicer_export_is_schema_valid_and_in_the_stated_frame(plans, tmp_path, capsys, frame):
    import jsonschema

    out = tmp_path / "plan.mrk.json"
    status, text, err = _run(capsys, "export", plans / "plan.json", "--format", "slicer",
                             "--coordinate-system", frame, "--out", out)  # fmt: skip
    assert status == 0, err
    assert f"wrote 6 threads to {out}" in text and frame in text
    doc = json.loads(out.read_text())
    schema = json.loads(SLICER_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    assert [e.message for e in validator(schema).iter_errors(doc)] == []

    entry, target, *curves = doc["markups"]
    assert [m["type"] for m in doc["markups"]] == ["Fiducial", "Fiducial", "ClosedCurve"]
    assert {(m["coordinateSystem"], m["coordinateUnits"]) for m in doc["markups"]} == {
        (frame, "mm")
    }
    assert all(p["positionStatus"] == "defined" for m in doc["markups"] for p in m["controlPoints"])
    threads = _json_threads(plans / "plan.json")
    labels = [f"T{i:02d}" for i in range(1, 7)]
    assert [t["label"] for t in sorted(threads, key=lambda t: t["order"])] == labels
    assert [p["label"] for p in entry["controlPoints"]] == labels
    assert [p["label"] for p in target["controlPoints"]] == labels
    # LPS = (x, y, z) / 1000, RAS = (-x, -y, z) / 1000, exactly, from the JSON's um
    sx = 1 if frame == "LPS" else -1
    for t, e, g in zip(threads, entry["controlPoints"], target["controlPoints"], strict=True):
        x, y, z = t["entry_um"]
        assert e["position"] == [sx * x / 1000, sx * y / 1000, z / 1000]
        tip = _tip_um(t)
        assert g["position"] == [sx * tip[0] / 1000, sx * tip[1] / 1000, tip[2] / 1000]
        assert tip[2] == z - t["depth_um"]  # vertical needles: straight down
    # the region outline: the disc of radius 1.2 mm around pixel (128, 128), i.e. (1536 um, 1536 um)
    (curve,) = curves
    xy = np.array([p["position"] for p in curve["controlPoints"]])[:, :2] * 1000 * sx
    radius = np.hypot(xy[:, 0] - 1536.0, xy[:, 1] - 1536.0)
    assert np.abs(radius - 100 * 12).max() < 2 * 12


def test_slicer_export_is_byte_identical(plans, tmp_path, capsys):
    for name in ("a.mrk.json", "b.mrk.json"):
        status, _, err = _run(capsys, "export", plans / "plan.json", "--format", "slicer",
                              "--out", tmp_path / name)  # fmt: skip
        assert status == 0, err
    assert (tmp_path / "a.mrk.json").read_bytes() == (tmp_path / "b.mrk.json").read_bytes()


# --- export --format csv --------------------------------------------------------------------


def test_csv_export_reads_back_as_the_json_numbers(plans, tmp_path, capsys):
    out = tmp_path / "threads.csv"
    status, text, err = _run(capsys, "export", plans / "plan.json", "--format", "csv", "--out", out)
    assert status == 0, err
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    threads = _json_threads(plans / "plan.json")
    assert (
        [r["label"] for r in rows]
        == [t["label"] for t in threads]
        == [f"T0{i}" for i in range(1, 7)]
    )
    for r, t in zip(rows, threads, strict=True):
        assert (int(r["id"]), int(r["order"]), r["status"]) == (t["id"], t["order"], t["status"])
        assert [float(r["pixel_row_px"]), float(r["pixel_col_px"])] == t["pixel"]
        assert [float(r[f"entry_{a}_um"]) for a in "xyz"] == t["entry_um"]
        assert [float(r[f"direction_{a}"]) for a in "xyz"] == t["direction"]
        assert float(r["depth_um"]) == t["depth_um"]
        assert float(r["clearance_um"]) == t["clearance_um"]
        assert float(r["required_clearance_um"]) == t["required_clearance_um"]
        assert float(r["margin_um"]) == round(t["clearance_um"] - t["required_clearance_um"], 6)
        tip = _tip_um(t)
        assert [float(r[f"target_{a}_um"]) for a in "xyz"] == tip


# --- refusals: one line, exit status 2, nothing written -------------------------------------


def test_out_equal_to_the_plan_is_refused(plans, tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_bytes((plans / "plan.json").read_bytes())
    before = plan.read_bytes()
    for fmt in ("slicer", "csv"):
        status, _, err = _run(capsys, "export", plan, "--format", fmt, "--out", plan, "--force")
        line = _refused(status, err)
        assert "--out" in line and "same file as PLAN.json" in line
    assert plan.read_bytes() == before


def test_existing_output_needs_force(plans, tmp_path, capsys):
    out = tmp_path / "threads.csv"
    out.write_text("old table\n")
    args = ("export", plans / "plan.json", "--format", "csv", "--out", out)
    line = _refused(*_run(capsys, *args)[::2])
    assert "--out" in line and "already exists" in line and "--force" in line
    assert out.read_text() == "old table\n"
    status, _, err = _run(capsys, *args, "--force")
    assert status == 0, err
    assert out.read_text().startswith("label,id,order,status,")


def test_bad_format_names_the_option(plans, tmp_path, capsys):
    out = tmp_path / "plan.vtk"
    line = _refused(
        *_run(capsys, "export", plans / "plan.json", "--format", "vtk", "--out", out)[::2]
    )
    assert "--format" in line and "vtk" in line
    assert not out.exists()


def test_coordinate_system_is_for_slicer_only(plans, tmp_path, capsys):
    out = tmp_path / "t.csv"
    args = ("export", plans / "plan.json", "--format", "csv", "--coordinate-system", "RAS")
    line = _refused(*_run(capsys, *args, "--out", out)[::2])
    assert "--coordinate-system" in line and "--format slicer" in line
    line = _refused(*_run(capsys, "export", plans / "plan.json", "--format", "slicer",
                          "--coordinate-system", "ras", "--out", out)[::2])  # fmt: skip
    assert "--coordinate-system" in line
    assert not out.exists()


def test_untrustworthy_plan_is_refused(plans, tmp_path, capsys):
    data = json.loads((plans / "plan.json").read_text())
    data["threads"][0]["depth_um"] = 4000.0  # edited after writing: checksum no longer matches
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    out = tmp_path / "t.csv"
    for argv in (("export", bad, "--format", "csv", "--out", out), ("show", bad)):
        line = _refused(*_run(capsys, *argv)[::2])
        assert "checksum" in line
    assert not out.exists()


# --- show -----------------------------------------------------------------------------------


def test_show_prints_every_thread_and_the_summary(plans, capsys):
    status, text, err = _run(capsys, "show", plans / "plan.json")
    assert status == 0 and err == ""
    plan = ip.load_plan(plans / "plan.json")
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["label", "status"]
    for t in plan.threads:
        (row,) = [ln for ln in lines if ln.startswith(t.label + " ")]
        margin = t.clearance_um - t.required_clearance_um
        assert f"{t.clearance_um:.1f}" in row and f"{t.required_clearance_um:.1f}" in row
        assert f"{margin:.1f}" in row and f"{t.depth_um:.1f}" in row and t.status in row
        assert f"({t.pixel[0]:g}, {t.pixel[1]:g})" in row
    worst = min(plan.threads, key=lambda t: t.clearance_um - t.required_clearance_um)
    summary = dict(ln.split("  ", 1) for ln in lines[lines.index("") + 1 :])
    summary = {k.strip(): v.strip() for k, v in summary.items()}
    assert summary["dura mode"] == "durectomy"
    assert summary["threads"] == f"6 placed of {plan.n_requested} requested"
    assert summary["binding constraint"] == (plan.binding_constraint or "none")
    assert summary["robot"] == "R1-2019"
    assert summary["image"] == "256 x 256 px, 12 um per pixel (3.072 x 3.072 mm)"
    assert summary["min margin"] == (
        f"{worst.clearance_um - worst.required_clearance_um:.1f} um ({worst.label})"
    )


def test_show_a_plan_without_threads(plans, capsys):
    status, text, err = _run(capsys, "show", plans / "empty.json")
    assert status == 0 and err == ""
    assert "nan" not in text.lower()
    assert text.startswith("no threads\n")
    assert "0 placed of 6 requested" in text
    assert "min margin          no threads" in text
    assert "binding constraint  vessel_clearance" in text
