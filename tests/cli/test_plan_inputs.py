"""``plan`` takes what the API takes: a region polygon, a surface height, a weight map,
the insertion depth and the seed; each read with a one-line refusal naming its flag."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import insertion_planner as ip
from insertion_planner.cli import main

SHAPE = (256, 256)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    c = ip.synthetic_cortex(3, shape=SHAPE, pixel_size_um=12.0)
    Image.fromarray(c.image).save(d / "cortex.png")
    np.save(d / "height.npy", c.grid.surface_z_um.astype(np.float64))
    w = np.zeros(SHAPE)
    w[:, 128:] = 1.0  # all the weight on the right half
    np.save(d / "weight.npy", w)
    return c, d


def _plan(capsys, d, *extra: object, out="p.json") -> tuple[int, str, str]:
    rc = main(["plan", str(d / "cortex.png"), "--pixel-size-um", "12", "--threads", "8",
               *(str(e) for e in extra), "--out", str(d / out), "--force"])  # fmt: skip
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_polygon_surface_weight_depth_and_seed_reach_the_plan(case, capsys):
    c, d = case
    poly = [[60, 60], [60, 200], [200, 200], [200, 60]]
    (d / "poly.json").write_text(json.dumps(poly))
    rc, out, err = _plan(capsys, d, "--region-polygon", d / "poly.json", "--surface",
                         d / "height.npy", "--weight", d / "weight.npy", "--depth-um", 3000,
                         "--seed", 7)  # fmt: skip
    assert rc == 0, err
    plan = ip.load_plan(d / "p.json")
    api = ip.plan_insertions(
        c.image, pixel_size_um=12.0, n_threads=8, region=np.array(poly, float),
        surface_height_um=np.load(d / "height.npy"), weight=np.load(d / "weight.npy"),
        depth_um=3000.0, rng=7, pixel_size_source="--pixel-size-um",
    )  # fmt: skip
    assert plan.to_json_text() == api.to_json_text()
    assert all(t.depth_um == 3000.0 for t in plan.threads)
    assert all(60 <= t.pixel[0] <= 200 and 60 <= t.pixel[1] <= 200 for t in plan.threads)
    # the entry points sit on the given surface, not on a flat one
    z = np.load(d / "height.npy")
    for t in plan.threads:
        r, col = (int(round(v)) for v in t.pixel)
        assert abs(t.entry_um[2] - z[r, col]) < 5.0
    assert "(T" in out  # the summary names the tightest thread by its label


def test_polygon_as_csv_with_a_header(case, capsys):
    _, d = case
    (d / "poly.csv").write_text("row,col\n60,60\n60,200\n200,200\n200,60\n")
    rc, _, err = _plan(capsys, d, "--region-polygon", d / "poly.csv", out="csv.json")
    assert rc == 0, err
    plan = ip.load_plan(d / "csv.json")
    assert all(60 <= t.pixel[0] <= 200 for t in plan.threads)


@pytest.mark.parametrize(
    ("make", "flag", "words"),
    [
        (lambda d: np.save(d / "bad.npy", np.zeros((10, 10))), "--surface", "has shape (10, 10)"),
        (lambda d: np.save(d / "bad.npy", np.full(SHAPE, 2.0)), "--weight", "outside the allowed 0.0 to 1.0"),
        (lambda d: np.save(d / "bad.npy", np.full(SHAPE, np.nan)), "--surface", "NaN or infinite"),
        (lambda d: (d / "bad.json").write_text("[[1, 2], [3, 4]]"), "--region-polygon", "at least 3"),
        (lambda d: (d / "bad.json").write_text("[[1, 2], [3, 4], [900, 5]]"), "--region-polygon", "outside the 256 x 256 image"),
        (lambda d: (d / "bad.json").write_text("[" * 100000), "--region-polygon", "not valid JSON"),
    ],
)  # fmt: skip
def test_bad_input_files_are_refused_naming_the_flag(case, capsys, make, flag, words):
    _, d = case
    for f in ("bad.npy", "bad.json"):
        (d / f).unlink(missing_ok=True)
    make(d)
    bad = d / ("bad.json" if flag == "--region-polygon" else "bad.npy")
    rc, _, err = _plan(capsys, d, flag, bad, out="refused.json")
    assert rc == 2
    assert flag in err and words in err and len(err.strip().splitlines()) == 1, err
    assert not (d / "refused.json").exists()


def test_region_and_polygon_together_are_refused(case, capsys, tmp_path):
    _, d = case
    (d / "poly2.json").write_text(json.dumps([[60, 60], [60, 200], [200, 200]]))
    Image.fromarray(np.full(SHAPE, 255, np.uint8)).save(d / "all.png")
    rc, _, err = _plan(capsys, d, "--region", d / "all.png", "--region-polygon", d / "poly2.json",
                       out="both.json")  # fmt: skip
    assert rc == 2 and "give one" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--depth-um", "50"], "argument --depth-um: must be a number from 200 to 8000, got 50"),
        (["--pixel-size-um", "1e-300"], "argument --pixel-size-um: must be a number from 0.5 to 100"),
        (["--seed", "-1"], "argument --seed: must be an integer from 0"),
        (["--threads", "65"], "argument --threads: must be an integer from 1 to 64, got 65"),
        (["--spacing-um", "nan"], "argument --spacing-um: must be a number above 0"),
    ],
)  # fmt: skip
def test_numbers_out_of_range_name_the_flag_and_the_range(case, capsys, argv, words):
    _, d = case
    rc = main(["plan", str(d / "cortex.png"), "--pixel-size-um", "12", *argv,
               "--out", str(d / "range.json")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (d / "range.json").exists()


def test_simulate_monte_carlo_is_capped_before_any_work(case, capsys):
    _, d = case
    assert _plan(capsys, d, out="mc.json")[0] == 0
    rc = main(["simulate", str(d / "mc.json"), "--monte-carlo", "10000000"])
    err = capsys.readouterr().err
    assert rc == 2 and "--monte-carlo: must be an integer from 0 to 100,000" in err


def test_synth_refuses_to_overwrite_a_case_without_force(tmp_path, capsys):
    out = tmp_path / "case"
    argv = ["synth", "--seed", "1", "--shape", "64", "64", "--out", str(out)]
    assert main(argv) == 0
    before = (out / "image.png").read_bytes()
    capsys.readouterr()
    assert main([*argv[:-2], "--seed", "2", "--out", str(out)]) == 2
    assert "already holds image.png; use --force" in capsys.readouterr().err
    assert (out / "image.png").read_bytes() == before
    assert main([*argv[:-2], "--seed", "2", "--out", str(out), "--force"]) == 0
    assert (out / "image.png").read_bytes() != before


def test_summary_of_a_plan_without_threads_says_so(case):
    from dataclasses import replace

    from insertion_planner.cli.plan import plan_summary

    c, _ = case
    plan = ip.plan_insertions(c.image, pixel_size_um=12.0, n_threads=4)
    assert "(T" in plan_summary(plan)
    empty = plan_summary(replace(plan, threads=()))
    assert empty.startswith("placed 0 of 4 threads") and "no thread placed" in empty
    assert "nan" not in empty.lower()


def test_depth_range_thickness_map_and_retraction_risk_reach_the_plan(case, capsys):
    c, d = case
    np.save(d / "thick.npy", c.cortex_thickness_um.astype(np.float64))
    rc, _, err = _plan(capsys, d, "--depth-um", 2500, 4500, "--cortex-thickness",
                       d / "thick.npy", "--max-retraction-risk", 0.05, "--implant-gap-um",
                       1000, out="depth.json")  # fmt: skip
    assert rc == 0, err
    plan = ip.load_plan(d / "depth.json")
    api = ip.plan_insertions(
        c.image, pixel_size_um=12.0, n_threads=8, depth_um=(2500.0, 4500.0),
        cortex_thickness_um=c.cortex_thickness_um.astype(np.float64),
        max_retraction_risk=0.05, implant_gap_um=1000.0, rng=0,
        pixel_size_source="--pixel-size-um",
    )  # fmt: skip
    assert plan.to_json_text() == api.to_json_text()
    assert plan.threads and all(2500.0 <= t.depth_um <= 4500.0 for t in plan.threads)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--depth-um", "4000", "3000"], "--depth-um takes one depth or MIN MAX with MIN < MAX"),
        (["--depth-um", "3000", "3500", "4000"], "--depth-um takes one depth or MIN MAX"),
        (["--cortex-thickness", "3.5"], "--cortex-thickness must be a number from 500 to 8000"),
        (
            ["--max-retraction-risk", "0"],
            "argument --max-retraction-risk: must be a number above 0",
        ),
    ],
)
def test_depth_and_retraction_options_are_checked(case, capsys, argv, words):
    _, d = case
    rc = main(["plan", str(d / "cortex.png"), "--pixel-size-um", "12", *argv,
               "--out", str(d / "bad_depth.json")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (d / "bad_depth.json").exists()
