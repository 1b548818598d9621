"""The study's parts without a cluster: cases, the journal, scoring, the summary."""

from __future__ import annotations

import json

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.study import StudyCase, image_cases, score_plan, synthetic_cases
from insertion_planner.study.summary import summary_markdown, worst_cases
from insertion_planner.study.table import COLUMN_NAMES, Journal, latest_rows
from insertion_planner.study.task import empty_row


def test_cases_and_names():
    cases = synthetic_cases(2, dura_modes="transdural", first_seed=5, shape=(256, 256))
    assert [c.name for c in cases] == ["seed5-transdural", "seed6-transdural"]
    assert StudyCase.from_spec(cases[0].spec()) == cases[0]
    assert cases[0].pixel_size_um == 12.0 and cases[0].source == "synthetic"
    with pytest.raises(ValueError, match="exactly one of seed and image"):
        StudyCase()
    with pytest.raises(ValueError, match="n_threads must be between 1 and 64"):
        StudyCase(seed=0, n_threads=65)
    with pytest.raises(ValueError, match="imaging must be one of"):
        StudyCase(seed=0, imaging="sepia")
    with pytest.raises(ValueError, match="unique names"):
        ip.run_study([cases[0], cases[0]], out_dir="unused")
    with pytest.raises(TypeError, match="StudyCase"):
        ip.run_study([0, 1], out_dir="unused")


def test_image_cases_match_truth_by_stem(tmp_path):
    (tmp_path / "i").mkdir()
    (tmp_path / "t").mkdir()
    for name in ("a.png", "b.tif", "c.npy", ".hidden.png", "notes.txt"):
        (tmp_path / "i" / name).write_bytes(b"")
    (tmp_path / "t" / "a.png").write_bytes(b"")
    (tmp_path / "t" / "c.npy").write_bytes(b"")
    (tmp_path / "t" / "c.png").write_bytes(b"")
    cases = image_cases(tmp_path / "i", truth=tmp_path / "t", dura_modes="both")
    got = {c.name: c.truth and c.truth.rsplit("/", 1)[-1] for c in cases}
    assert got == {
        "a-durectomy": "a.png", "a-transdural": "a.png", "b-durectomy": None,
        "b-transdural": None, "c-durectomy": "c.npy", "c-transdural": "c.npy",
    }  # fmt: skip
    assert all(c.pixel_size_um is None for c in cases)


def test_journal_survives_a_torn_line(tmp_path):
    j = Journal(tmp_path / "results.jsonl")
    rows = [empty_row(c) for c in synthetic_cases(2, shape=(256, 256))]
    rows[0].update(status="planned", threads_placed=3, dice=0.9, min_clearance_to_truth_um=np.inf)
    j.append(rows[0])
    with open(j.path, "ab") as fh:  # an interruption in the middle of a write
        fh.write(b'{"case":"seed0-transdural","sta')
    assert [r["case"] for r in j.read()] == ["seed0-durectomy"] and j.dropped == 1
    j.repair()
    rows[1].update(status="error", error="boom")
    j.append(rows[1])
    rows[1].update(status="planned", error="")  # retried: the last row counts
    j.append(rows[1])
    read = j.read()
    assert len(read) == 3 and j.dropped == 0
    latest = latest_rows(read)
    assert [(r["case"], r["status"]) for r in latest] == [
        ("seed0-durectomy", "planned"), ("seed0-transdural", "planned"),
    ]  # fmt: skip
    assert latest[0]["threads_placed"] == 3 and latest[0]["min_clearance_to_truth_um"] == np.inf
    assert set(latest[0]) == set(COLUMN_NAMES)
    assert all(json.loads(line) for line in j.path.read_text().splitlines())


def test_scoring_counts_a_site_next_to_a_true_vessel():
    img = np.full((160, 160), 200, np.uint8)
    img[:, 70:76] = 90
    plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4)
    truth = np.zeros((160, 160), bool)
    truth[:, 70:76] = True
    clean = score_plan(plan, truth)
    assert clean["threads_too_close"] == 0 and clean["min_margin_to_truth_um"] >= 0
    t = plan.active_threads[0]
    r, c = (int(round(v)) for v in t.pixel)
    hidden = truth.copy()
    hidden[r, c + 3] = True  # a vessel the image did not show, 3 px from the site
    s = score_plan(plan, hidden)
    assert s["threads_too_close"] == 1 and s["worst_site"] == f"{r},{c}"
    assert s["min_clearance_to_truth_um"] == pytest.approx((3 - 1) * 12.0)
    assert s["min_margin_to_truth_um"] == pytest.approx(24.0 - t.required_clearance_um)
    # a vessel thinner than the hazard diameter counts only as "any"
    radius = np.where(hidden, 20.0, 0.0)
    radius[r, c + 3] = 5.0
    s = score_plan(plan, hidden, truth_radius_um=radius)
    assert (s["threads_too_close"], s["threads_too_close_any"]) == (0, 1)


def test_summary_lists_worst_cases_with_seeds():
    rows = []
    for seed, close, margin, d in ((1, 0, 12.0, 0.9), (2, 2, -8.0, 0.95), (3, 0, 3.0, 0.8)):
        r = empty_row(StudyCase.synthetic(seed, shape=(256, 256)))
        r.update(status="planned", threads_placed=10, threads_too_close=close,
                 threads_too_close_any=close, min_margin_to_truth_um=margin,
                 min_clearance_to_truth_um=60.0 + margin, dice=d, allowed_share=0.5, t_plan_s=1.0)  # fmt: skip
        rows.append(r)
    refused = empty_row(StudyCase.synthetic(4, shape=(256, 256)))
    refused.update(status="refused", refused=True, refusal="blank frame; no contrast")
    rows.append(refused)
    assert [r["seed"] for r in worst_cases(rows)] == [2, 3, 1]
    text = summary_markdown(rows)
    assert "| seed2-durectomy | 2 | durectomy | 10 | 2 (2) | 52 | -8 |" in text
    assert "| blank frame | 1 | seed4-durectomy |" in text


def test_image_case_with_npz_truth_and_region_scores_only_hazard_sized_vessels(tmp_path):
    from PIL import Image

    from insertion_planner.study.task import load_case, run_case

    c = ip.synthetic_cortex(4, shape=(256, 256))
    for sub in ("img", "truth", "reg"):
        (tmp_path / sub).mkdir()
    np.save(tmp_path / "img" / "a.npy", c.image)
    np.savez(tmp_path / "truth" / "a.npz", mask=c.truth.mask, radius_um=c.truth.radius_um,
             field=c.craniectomy)  # fmt: skip
    disc = np.zeros((256, 256), bool)
    disc[64:192, 64:192] = True
    Image.fromarray(disc.astype(np.uint8) * 255).save(tmp_path / "reg" / "a.png")
    (case,) = image_cases(tmp_path / "img", truth=tmp_path / "truth", regions=tmp_path / "reg",
                          pixel_size_um=12.0, n_threads=6)  # fmt: skip
    assert case.region is not None and case.truth.endswith("a.npz")
    loaded = load_case(case)
    assert np.array_equal(loaded["plan_options"]["region"], disc)
    assert np.array_equal(loaded["truth_radius_um"], c.truth.radius_um)
    assert np.array_equal(loaded["field"], c.craniectomy)
    row = run_case(case)
    assert row["status"] == "planned", row["error"]
    plan = ip.plan_insertions(c.image, pixel_size_um=12.0, n_threads=6, region=disc,
                              pixel_size_source="pixel_size_um")  # fmt: skip
    expect = score_plan(plan, c.truth.mask, truth_radius_um=c.truth.radius_um,
                        field=c.craniectomy)  # fmt: skip
    assert row["threads_placed"] == len(plan.active_threads)
    assert row["threads_too_close"] == expect["threads_too_close"]
    assert row["dice"] == pytest.approx(expect["dice"])
    with pytest.raises(ValueError, match="truth and region are only for image cases"):
        StudyCase.synthetic(1, region=str(tmp_path / "reg" / "a.png"))


def test_a_plan_read_back_from_its_file_is_scored_without_its_vessel_map(tmp_path):
    """``load_plan`` gives no vessel map: the threads are scored as before, Dice is NaN
    (it raised ``AttributeError`` on ``plan.vessels.mask``)."""
    img = np.full((160, 160), 200, np.uint8)
    img[:, 70:76] = 90
    plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4)
    plan.to_json(tmp_path / "plan.json")
    loaded = ip.load_plan(tmp_path / "plan.json")
    truth = np.zeros((160, 160), bool)
    truth[:, 70:76] = True
    fresh, again = score_plan(plan, truth), score_plan(loaded, truth)
    assert np.isnan(again["dice"]) and fresh["dice"] > 0.8
    for key in ("threads_too_close", "min_clearance_to_truth_um", "worst_site"):
        assert again[key] == fresh[key]
