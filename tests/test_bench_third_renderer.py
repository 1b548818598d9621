"""The third-renderer benchmark's scoring (benchmarks/bench_third_renderer.py), on a tiny case."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np


@cache
def _bench() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_third_renderer.py"
    spec = importlib.util.spec_from_file_location("bench_third_renderer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_hard_presets_override_the_random_camera() -> None:
    bench = _bench()
    cam = bench.camera_for("transdural", 107, "jpeg+deep")
    assert cam["jpeg_quality"] == 70 and cam["submerged_share"] == 0.6
    assert bench.camera_for("durectomy", 3, "") == bench.random_camera(3, "durectomy")


def test_a_tiny_case_is_scored_consistently() -> None:
    bench = _bench()
    r = bench.run_case("durectomy", 0, "", 192)
    assert r["outcome"] == "planned" or r["outcome"].startswith("refused")
    for key in ("surface_px_allowed", "surface_short_px", "surface_within_49",
                "submerged_px_allowed", "threads", "too_close_surface", "too_close_all"):  # fmt: skip
        assert isinstance(r[key], int) and r[key] >= 0, key
    assert r["too_close_surface"] <= r["too_close_all"] <= r["threads"] <= 64
    assert r["surface_within_49"] <= r["surface_short_px"]  # 49 um is within every clearance
    assert 0.0 <= r["allowed_share"] <= 1.0 and 0.5 < r["dice"] <= 1.0
    assert len(bench.case_row(r)) == len(bench.HEADER)
    lines = bench.summary([r])
    assert lines[0].startswith("surface or dural vessels") and "of 1 pictures" in lines[0]


def test_hazards_split_surface_from_submerged() -> None:
    bench = _bench()
    out = bench.render((160, 160), seed=0, **bench.camera_for("durectomy", 103, "deep"))
    every, surface = bench.hazards(out)
    assert not (surface & ~every).any()
    depth = np.nan_to_num(np.asarray(out.depth_um), nan=0.0)
    assert np.all(depth[every & ~surface] > 0)
