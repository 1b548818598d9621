"""The robustness benchmark's scoring (benchmarks/bench_robustness.py), on tiny cases."""

from __future__ import annotations

import importlib.util
import math
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import insertion_planner as ip

PIXEL_UM = 12.0


@cache
def _bench() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_robustness.py"
    spec = importlib.util.spec_from_file_location("bench_robustness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_settings_grid() -> None:
    bench = _bench()
    for renderer in bench.RENDERERS:
        duro = bench.settings_for(renderer, "durectomy", 2)
        trans = bench.settings_for(renderer, "transdural", 2)
        assert "heavy veil" in trans and "heavy veil" not in duro
        assert duro[-2:] == ["random 0", "random 1"] and len(trans) == len(duro) + 1
    assert bench.parse_seeds("3") == [0, 1, 2] and bench.parse_seeds("3,7") == [3, 7]


def test_run_all_tiny_through_the_study(tmp_path) -> None:
    """Two tiny cases, one per renderer: rendered here, planned and scored by run_study."""
    bench = _bench()
    cases = [
        ("synthetic_cortex", "default", 0, "durectomy"),
        ("independent", "default", 0, "durectomy"),
    ]
    results, study = bench.run_all(cases, 256, tmp_path, n_workers=1, progress=False)
    assert study.n_executed == 2 and study.n_errors == 0
    assert (tmp_path / "study" / "results.parquet").is_file()
    for (renderer, setting, seed, mode), r in zip(cases, results, strict=True):
        assert (r["renderer"], r["setting"], r["seed"], r["mode"]) == (
            renderer,
            setting,
            seed,
            mode,
        )
        assert isinstance(r["outcome"], str) and r["refused"] == (r["outcome"] != "planned")
        for key in ("threads", "too_close", "too_close_any", "hazard_px_allowed"):
            assert isinstance(r[key], int) and r[key] >= 0, key
        assert r["too_close"] <= r["too_close_any"] <= r["threads"] <= 64
        for key in ("dice", "dice_sato", "dice_frangi", "allowed_share", "truth_clear_share"):
            assert isinstance(r[key], float) and 0.0 <= r[key] <= 1.0, key
        assert r["dice"] > 0.5  # the detector finds the vessels of a default camera
        assert r["beats_both"] == (r["dice"] > max(r["dice_sato"], r["dice_frangi"]))
        assert r["detectable_um"] > 0.0 and math.isfinite(r["detectable_um"])
        if not r["refused"]:
            assert r["closest_hazard_um"] >= r["closest_any_um"] >= 0.0
    # the study planned the same picture, in the same disc, as planning it directly does
    r0 = results[0]
    image = np.load(tmp_path / "images" / f"{r0['case']}.npy")
    from PIL import Image

    region = np.asarray(Image.open(tmp_path / "regions" / f"{r0['case']}.png")) > 127
    plan = ip.plan_insertions(image, pixel_size_um=12.0, region=region, robot="R1-2024",
                              pixel_size_source="pixel_size_um")  # fmt: skip
    assert len(plan.active_threads) == r0["threads"]
    truth = np.load(tmp_path / "truth" / f"{r0['case']}.npz")
    score = ip.study.score_plan(plan, truth["mask"], truth_radius_um=truth["radius_um"],
                                field=truth["field"])  # fmt: skip
    assert score["threads_too_close"] == r0["too_close"]
    assert score["min_clearance_to_truth_um"] == pytest.approx(r0["closest_any_um"])


def test_verdicts_flag_failures() -> None:
    bench = _bench()
    ok = {"renderer": "independent", "mode": "durectomy", "too_close": 0, "hazard_px_allowed": 0,
          "dice": 0.95, "beats_both": True, "room_by_truth": 64, "threads": 64}  # fmt: skip
    lines = bench.verdicts([ok])
    assert all(line.startswith("PASS") for line in lines)
    bad = dict(ok, too_close=1, hazard_px_allowed=3, dice=0.5, beats_both=False, threads=3)
    assert all(line.startswith("FAIL") for line in bench.verdicts([bad]))


def test_room_by_truth_packs_sites_clear_of_hazard_vessels() -> None:
    bench = _bench()
    margins = ip.SafetyMargins()
    shape = (120, 120)
    region = np.ones(shape, bool)
    radius = np.zeros(shape, np.float32)
    kw = {"mode": "durectomy", "margins": margins, "pixel_size_um": 12.0, "spacing_um": 250.0}
    free = bench.room_by_truth(np.zeros(shape, bool), radius, region, **kw)
    # 120 px = 1440 um square, sites 20.8 px apart: a square grid holds 36 (rows and columns
    # 0, 21, ..., 105); the raster-order greedy packing staggers its rows (19 px apart) to 42
    assert free == 42
    # a 36 um vessel down columns 59-61: 86.5 um of clearance plus the map's 2.5 px edge
    # allowance (9.7 px from the nearest vessel pixel centre) leave column 49 clear (10 px,
    # 90 um) and column 50 not (9 px, 78 um)
    truth = np.zeros(shape, bool)
    truth[:, 59:62] = True
    radius[truth] = 18.0
    room = bench.room_by_truth(truth, radius, region, **kw)
    assert 0 < room < free
    column = np.zeros(shape, bool)
    column[:, 49] = True
    assert bench.room_by_truth(truth, radius, column, **kw) == 6  # 120 px, 20.8 px apart
    column = np.roll(column, 1, axis=1)
    assert bench.room_by_truth(truth, radius, column, **kw) == 0
    # a thin vessel (20 um) is not a hazard: it leaves all the room
    radius[truth] = 10.0
    assert bench.room_by_truth(truth, radius, region, **kw) == free
    # a large vessel (radius >= large_vessel_radius_um) asks its larger clearance
    radius[truth] = margins.large_vessel_radius_um
    assert bench.room_by_truth(truth, radius, region, **kw) < room
    assert bench.room_by_truth(np.zeros(shape, bool), radius, region, **kw, cap=5) == 5


def test_centreline_recall_reads_the_centreline() -> None:
    bench = _bench()
    truth = np.zeros((40, 40), bool)
    truth[5:35, 18:21] = True
    radius = np.where(truth, 18.0, 0.0)
    found = np.zeros_like(truth)
    assert bench.centreline_recall(truth, radius, found, lo_um=30.0, hi_um=60.0) == 0.0
    found[5:20, 19] = True  # the upper half seen
    got = bench.centreline_recall(truth, radius, found, lo_um=30.0, hi_um=60.0)
    assert 0.45 <= got <= 0.65
    assert math.isnan(bench.centreline_recall(truth, radius, found, lo_um=60.0, hi_um=100.0))


def test_verdict_on_threads_where_the_truth_leaves_room() -> None:
    bench = _bench()
    ok = {"renderer": "independent", "mode": "durectomy", "too_close": 0, "hazard_px_allowed": 0,
          "dice": 0.95, "beats_both": True, "room_by_truth": 64, "threads": 64}  # fmt: skip
    line = [x for x in bench.verdicts([ok]) if "room" in x][0]
    assert line.startswith("PASS") and "1 of 1" in line
    short = dict(ok, threads=40)
    cramped = dict(ok, threads=10, room_by_truth=30)  # the truth leaves no room for 64
    refused = dict(ok, threads=0, refused=True)  # a refusal is safe: counted apart
    line = [x for x in bench.verdicts([short, cramped, refused]) if "room" in x][0]
    assert line.startswith("FAIL") and "0 of 1" in line
    line = [x for x in bench.verdicts([cramped, refused]) if "room" in x][0]
    assert line.startswith("n/a") and "0 of 0" in line
