"""``ip.run_study`` on a real LocalCluster: the table agrees with planning the same cases
here, a rerun does no work, a failing case is recorded and the study goes on."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
from scipy import ndimage

import insertion_planner as ip
from insertion_planner.study import StudyCase, image_cases
from insertion_planner.study.table import COLUMN_NAMES

from .conftest import SEEDS, SHAPE

MODES = ("durectomy", "transdural")


def _cases() -> list[StudyCase]:
    return [StudyCase.synthetic(s, dura_mode=m, shape=SHAPE) for s in SEEDS for m in MODES]


@pytest.fixture(scope="module")
def study(client, tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "s"
    result = ip.run_study(_cases(), out_dir=out, client=client, progress=False)
    return out, result


def _direct(seed: int, mode: str) -> dict[str, float]:
    """Plan the case in this process and score it with nothing from the study package."""
    sc = ip.synthetic_cortex(seed, shape=SHAPE, dura_mode=mode)
    plan = ip.plan_insertions(
        sc.image, pixel_size_um=sc.pixel_size_um, dura_mode=mode, region=sc.region,
        weight=sc.functional_weight, surface_height_um=sc.grid.surface_z_um,
        craniectomy=sc.craniectomy, rng=seed,
    )  # fmt: skip
    truth = sc.truth.mask
    hazard = truth & (2 * sc.truth.radius_um >= plan.margins.hazard_diameter_um)
    edge = np.maximum(ndimage.distance_transform_edt(~hazard) - 1, 0) * sc.pixel_size_um
    edge_any = np.maximum(ndimage.distance_transform_edt(~truth) - 1, 0) * sc.pixel_size_um
    sites = [tuple(int(round(v)) for v in t.pixel) for t in plan.active_threads]
    seg, field = plan.vessels.mask & sc.craniectomy, truth & sc.craniectomy
    return {
        "threads_placed": len(sites),
        "threads_too_close": sum(
            edge[r, c] < t.required_clearance_um
            for (r, c), t in zip(sites, plan.active_threads, strict=True)
        ),
        "threads_too_close_any": sum(
            edge_any[r, c] < t.required_clearance_um
            for (r, c), t in zip(sites, plan.active_threads, strict=True)
        ),
        "min_clearance_to_truth_um": min(edge_any[r, c] for r, c in sites),
        "dice": 2 * (seg & field).sum() / (seg.sum() + field.sum()),
        "allowed_share": plan.avoidance.allowed[sc.region].mean(),
        "binding_constraint": plan.binding_constraint or "",
    }


def test_table_equals_planning_the_cases_directly(study):
    out, result = study
    assert (result.n_executed, result.n_errors, result.n_workers) == (4, 0, 2)
    rows = {r["case"]: r for r in result.rows}
    assert set(rows) == {f"seed{s}-{m}" for s in SEEDS for m in MODES}
    too_close = too_close_any = 0
    for s in SEEDS:
        for m in MODES:
            row, want = rows[f"seed{s}-{m}"], _direct(s, m)
            assert row["status"] == "planned" and row["seed"] == s and row["dura_mode"] == m
            assert row["threads_placed"] == want["threads_placed"] > 0
            assert row["threads_too_close"] == want["threads_too_close"]
            assert row["threads_too_close_any"] == want["threads_too_close_any"]
            assert row["dice"] == pytest.approx(want["dice"], abs=1e-12)
            assert row["min_clearance_to_truth_um"] == pytest.approx(
                want["min_clearance_to_truth_um"]
            )
            assert row["allowed_share"] == pytest.approx(want["allowed_share"], abs=1e-12)
            assert row["binding_constraint"] == want["binding_constraint"]
            too_close += row["threads_too_close"]
            too_close_any += row["threads_too_close_any"]
    # with an edge allowance of 1 px two threads were 9 um inside their required clearance
    # of a 55-59 um vessel whose edge the mask missed by a pixel (seed 2, both modes); the
    # scoring of non-zero counts is checked in tests/study/test_parts.py
    assert (too_close, too_close_any) == (0, 0)


def test_files_hold_the_same_table(study):
    import pyarrow.parquet as pq

    out, result = study
    table = pq.read_table(out / "results.parquet")
    assert table.column_names == list(COLUMN_NAMES)
    by_case = {r["case"]: r for r in table.to_pylist()}
    for row in result.rows:
        for key in ("seed", "dura_mode", "threads_placed", "threads_too_close", "dice", "error"):
            assert by_case[row["case"]][key] == row[key]
    with open(out / "results.csv", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == 4 and set(lines[0]) >= {
        "case", "seed", "dura_mode", "threads_placed", "threads_too_close",
        "min_clearance_to_truth_um", "dice", "error", "refused", "refusal",
    }  # fmt: skip
    info = json.loads((out / "study.json").read_text())
    assert info["parameters"]["dura_modes"] == list(MODES)
    assert info["runs"][-1]["executed"] == 4 and info["runs"][-1]["workers"] == 2
    summary = (out / "summary.md").read_text()
    worst = max(result.rows, key=lambda r: r["threads_too_close"])
    assert f"| {worst['case']} | {worst['seed']} | {worst['dura_mode']} |" in summary
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_does_no_work(study):
    out, first = study
    lines = (out / "results.jsonl").read_bytes()
    t0 = time.perf_counter()
    again = ip.run_study(_cases(), out_dir=out, progress=False)  # no client: none is started
    assert time.perf_counter() - t0 < 20.0  # reading the journal and rewriting the summary
    assert (again.n_executed, again.n_skipped, again.n_workers) == (0, 4, 0)
    assert (out / "results.jsonl").read_bytes() == lines
    assert [r["dice"] for r in again.rows] == [r["dice"] for r in first.rows]
    info = json.loads((out / "study.json").read_text())
    assert [r["executed"] for r in info["runs"]] == [4, 0]


def test_rerun_with_other_settings_is_refused(study):
    out, _ = study
    other = [StudyCase.synthetic(SEEDS[0], dura_mode="durectomy", shape=(512, 512))]
    with pytest.raises(ValueError, match=r"out_dir already holds case 'seed2-durectomy'.*shape"):
        ip.run_study(other, out_dir=out, progress=False)


def test_failing_case_is_recorded_and_the_study_goes_on(client, tmp_path):
    from PIL import Image

    images, truth = tmp_path / "images", tmp_path / "truth"
    images.mkdir()
    truth.mkdir()
    sc = ip.synthetic_cortex(SEEDS[1], shape=SHAPE)
    Image.fromarray(sc.image).save(images / "good.png")
    np.save(truth / "good.npy", sc.truth.mask)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a PNG")
    Image.fromarray(sc.image[:256, :256]).save(images / "wrongtruth.png")
    np.save(truth / "wrongtruth.npy", np.zeros((10, 10), bool))
    cases = image_cases(images, truth=truth, pixel_size_um=12.0)
    result = ip.run_study(cases, out_dir=tmp_path / "s", client=client, progress=False)
    rows = {r["case"]: r for r in result.rows}
    assert (result.n_executed, result.n_errors) == (3, 2)
    broken = rows["broken-durectomy"]
    assert broken["status"] == "error" and broken["threads_placed"] is None
    assert broken["error"].startswith("ValueError: image file") and "broken.png" in broken["error"]
    assert "has shape (10, 10)" in rows["wrongtruth-durectomy"]["error"]
    good = rows["good-durectomy"]
    assert good["status"] == "planned" and good["error"] == "" and good["threads_placed"] > 0
    assert 0.5 < good["dice"] <= 1.0 and good["truth"].endswith("good.npy")
    # errors are kept on a rerun unless asked to run them again
    again = ip.run_study(cases, out_dir=tmp_path / "s", client=client, progress=False)
    assert again.n_executed == 0
    retried = ip.run_study(
        cases, out_dir=tmp_path / "s", client=client, progress=False, retry_errors=True
    )
    assert (retried.n_executed, retried.n_errors) == (2, 2)
    assert len((tmp_path / "s" / "results.jsonl").read_text().splitlines()) == 5
    assert "## Errors" in (tmp_path / "s" / "summary.md").read_text()


def test_refusal_is_an_outcome_not_an_error(client, tmp_path):
    """An image that cannot support a plan (a blank frame) is recorded as refused, with why."""
    images = tmp_path / "images"
    images.mkdir()
    np.save(images / "blank.npy", np.full((256, 256), 128, np.uint8))
    result = ip.run_study(
        image_cases(images, pixel_size_um=12.0), out_dir=tmp_path / "s", client=client,
        progress=False,
    )  # fmt: skip
    (row,) = result.rows
    assert row["status"] == "refused" and row["refused"] and row["error"] == ""
    assert row["refusal"] and row["threads_placed"] == 0 and result.n_errors == 0
