"""The explorer replans on control changes, without a frontend."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from insertion_planner import viz
from insertion_planner.errors import InfeasiblePlanError


class FakePlanner:
    """Records the calls; returns the example plan with n_requested from the call."""

    def __init__(self, plan):
        self.plan = plan
        self.calls = []

    def __call__(self, image, **kw):
        self.calls.append(kw)
        if kw["n_threads"] == 64:
            raise InfeasiblePlanError("too many", binding_constraint="min_spacing")
        return dataclasses.replace(self.plan, n_requested=kw["n_threads"])


@pytest.fixture
def explorer(example_plan):
    planner = FakePlanner(example_plan)
    ex = viz.Explorer(np.zeros((200, 200), np.uint8), pixel_size_um=12.0, planner=planner, dpi=30)
    return ex, planner


def test_update_replans_with_the_controls(explorer):
    ex, planner = explorer
    plan = ex.update(n_threads=8, margin_um=70.0, spacing_um=300.0, dura_mode="transdural")
    assert plan.n_requested == 8 and ex.plan is plan
    kw = planner.calls[-1]
    assert kw["margin_um"] == 70.0 and kw["min_spacing_um"] == 300.0
    assert kw["dura_mode"] == "transdural" and kw["pixel_size_um"] == 12.0
    assert ex.png[:4] == b"\x89PNG"
    assert ex.message.startswith("2 of 8 threads placed")


def test_cache_avoids_replanning(explorer):
    ex, planner = explorer
    ex.update(n_threads=4)
    png4 = ex.png
    ex.update(n_threads=5)
    ex.update(n_threads=4)
    assert len(planner.calls) == 2 and ex.n_replans == 2
    assert ex.png == png4


def test_planner_error_keeps_previous_plan(explorer):
    ex, _ = explorer
    ok = ex.update(n_threads=3)
    assert ex.update(n_threads=64) is None
    assert ex.plan is ok and "too many" in ex.message


def test_bad_controls(explorer):
    ex, _ = explorer
    with pytest.raises(ValueError, match="n_threads must be between 1 and 64"):
        ex.update(n_threads=0)
    with pytest.raises(ValueError, match="dura_mode"):
        ex.update(dura_mode="none")
    with pytest.raises(TypeError, match="unknown control"):
        ex.update(colour="red")


def test_widget_controls_drive_replans(explorer):
    pytest.importorskip("ipywidgets")
    ex, planner = explorer
    box = ex.widget(debounce_s=0)
    assert box.explorer is ex
    image = box.children[-1]
    first = image.value
    slider = box.children[0].children[1]
    assert slider.description == "threads"
    slider.value = 12
    assert planner.calls[-1]["n_threads"] == 12
    assert ex.plan.n_requested == 12
    assert image.value == ex.png and image.value != first and first != b""
    assert "of 12 threads" in box.children[2].value


def test_explorer_with_the_real_planner():
    import insertion_planner as ip

    case = ip.synthetic_cortex(5, shape=(384, 384))  # room for two sites 700 um apart
    ex = viz.Explorer(case.image, pixel_size_um=case.pixel_size_um, region=case.region,
                      n_threads=6, robot="R1-2024", dpi=30)  # fmt: skip
    tight = ex.update()
    loose = ex.update(spacing_um=700.0, margin_um=120.0)
    assert loose is not tight and ex.n_replans == 2
    assert loose.config.min_spacing_um == 700.0 and loose.margins.base_margin_um == 120.0
    sites = np.array([t.entry_um[:2] for t in loose.threads])
    assert len(sites) >= 2 and len(tight.threads) >= len(sites)  # something to check
    d = np.linalg.norm(sites[:, None] - sites[None], axis=-1)
    assert d[np.triu_indices(len(sites), 1)].min() >= 700.0 - 1e-6
    assert all(t.required_clearance_um > 120.0 for t in loose.threads)
