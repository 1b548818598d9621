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


def _truth() -> tuple[np.ndarray, np.ndarray]:
    """A 40 um vessel down columns 20-22 and a 20 um vessel along row 40 (cols 0-9)."""
    truth = np.zeros((50, 50), bool)
    radius = np.zeros((50, 50), np.float32)
    truth[:, 20:23], radius[:, 20:23] = True, 20.0
    truth[40, :10], radius[40, :10] = True, 10.0
    return truth, radius


def test_site_on_a_true_vessel_counts_as_too_close() -> None:
    truth, radius = _truth()
    sites = [
        (10.2, 21.4),  # on the 40 um vessel (rounds to (10, 21))
        (10.0, 30.0),  # 8 px from column 22: (8 - 1) * 12 = 84 um, clear
        (10.0, 26.0),  # 4 px: 36 um < 49 um, too close
        (40.0, 5.0),  # on the 20 um vessel: below the hazard diameter, 15 px from the big one
    ]
    s = _bench().score_sites(sites, truth, radius, pixel_size_um=PIXEL_UM)
    assert s["n"] == 4
    assert s["on_vessel"] == 2
    assert s["on_hazard"] == 1
    assert s["too_close"] == 2
    assert s["closest_any_um"] == 0.0
    assert s["closest_hazard_um"] == 0.0
    assert s["close_sites"] == [(10, 21, 0.0, 40.0), (10, 26, 36.0, 40.0)]


def test_score_sites_distances_and_edges() -> None:
    truth, radius = _truth()
    bench = _bench()
    s = bench.score_sites([(10.0, 30.0)], truth, radius, pixel_size_um=PIXEL_UM)
    assert s["too_close"] == 0 and s["on_vessel"] == 0
    assert s["closest_hazard_um"] == pytest.approx(84.0)
    assert s["closest_any_um"] == pytest.approx(84.0)
    # A 28 um vessel is below the 30 um hazard: a site on it is on a vessel, not too close.
    s = bench.score_sites([(40.0, 5.0)], truth, np.where(truth, 14.0, 0.0), pixel_size_um=PIXEL_UM)
    assert (s["on_vessel"], s["on_hazard"], s["too_close"]) == (1, 0, 0)
    assert math.isinf(s["closest_hazard_um"])
    empty = bench.score_sites([], truth, radius, pixel_size_um=PIXEL_UM)
    assert empty["n"] == 0 and empty["too_close"] == 0 and math.isinf(empty["closest_any_um"])


def test_settings_grid() -> None:
    bench = _bench()
    for renderer in bench.RENDERERS:
        duro = bench.settings_for(renderer, "durectomy", 2)
        trans = bench.settings_for(renderer, "transdural", 2)
        assert "heavy veil" in trans and "heavy veil" not in duro
        assert duro[-2:] == ["random 0", "random 1"] and len(trans) == len(duro) + 1
    assert bench.parse_seeds("3") == [0, 1, 2] and bench.parse_seeds("3,7") == [3, 7]


@pytest.mark.parametrize("renderer", ["synthetic_cortex", "independent"])
def test_run_case_tiny(renderer: str) -> None:
    r = _bench().run_case(renderer, "default", 0, "durectomy", 256)
    assert (r["renderer"], r["setting"], r["seed"], r["mode"]) == (
        renderer,
        "default",
        0,
        "durectomy",
    )
    assert isinstance(r["outcome"], str) and r["refused"] == (r["outcome"] != "planned")
    for key in ("threads", "on_vessel", "too_close", "hazard_px_allowed"):
        assert isinstance(r[key], int) and r[key] >= 0, key
    assert r["threads"] <= 64 and r["too_close"] <= r["threads"] and r["on_vessel"] <= r["threads"]
    for key in ("dice", "dice_sato", "dice_frangi", "allowed_share", "truth_clear_share"):
        assert isinstance(r[key], float) and 0.0 <= r[key] <= 1.0, key
    assert r["dice"] > 0.5  # the detector finds the vessels of a default camera
    assert isinstance(r["beats_both"], bool)
    assert r["beats_both"] == (r["dice"] > max(r["dice_sato"], r["dice_frangi"]))
    assert r["closest_any_um"] >= 0.0 and r["closest_hazard_um"] >= r["closest_any_um"]
    assert r["detectable_um"] > 0.0 and math.isfinite(r["detectable_um"])
    assert r["t_seg"] > 0.0


def test_verdicts_flag_failures() -> None:
    bench = _bench()
    ok = {"renderer": "independent", "mode": "durectomy", "too_close": 0, "hazard_px_allowed": 0,
          "dice": 0.95, "beats_both": True}  # fmt: skip
    lines = bench.verdicts([ok])
    assert all(line.startswith("PASS") for line in lines)
    bad = dict(ok, too_close=1, hazard_px_allowed=3, dice=0.5, beats_both=False)
    assert all(line.startswith("FAIL") for line in bench.verdicts([bad]))
