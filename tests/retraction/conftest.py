"""Small plans for the retraction tests: a planner-made plan on a synthetic cortex.

``synthetic_plan`` places 64 threads with the real planner (``plan_from_avoidance``) on a
512 x 512 synthetic case at 48 um (a full 25 mm craniectomy) with its surface, region and
craniectomy; the avoidance map is the exact distance to the true vessels. It takes about a
second, and the case carries the cortical-thickness map the retraction model samples.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

import insertion_planner as ip
from insertion_planner.config import SafetyMargins
from insertion_planner.plan import InsertionPlan, _example_plan
from insertion_planner.planning import plan_from_avoidance

SEED = 6
"""Synthetic case whose target region spans sulcal lips and gyral crowns (cortex 2.9 to
4.5 mm thick under the 64 sites), so depth matters as well as the gap and the slack."""


def synthetic_plan(seed: int = SEED, n_threads: int = 64) -> tuple[ip.SyntheticCase, InsertionPlan]:
    case = ip.synthetic_cortex(seed, shape=(512, 512), pixel_size_um=48.0)
    px = case.pixel_size_um
    clear = (ndimage.distance_transform_edt(~case.truth.mask) * px).astype(np.float32)
    margins = SafetyMargins()
    required = np.full(case.shape, margins.required_um("durectomy"), np.float32)
    amap = SimpleNamespace(
        clearance_um=clear,
        required_um=required,
        allowed=(clear >= required) & case.craniectomy,
        pixel_size_um=px,
        penetrating=np.zeros((0, 3)),
        dura_mode="durectomy",
        margins=margins,
    )
    plan = plan_from_avoidance(
        amap,
        n_threads=n_threads,
        region=case.region,
        dura_mode="durectomy",
        min_spacing_um=400.0,
        surface_height_um=case.truth.surface_z_um,
        craniectomy=case.craniectomy,
    )
    return case, plan


def with_depths(plan: InsertionPlan, depths_um) -> InsertionPlan:
    """The plan with new per-thread depths (one per thread, in insertion order)."""
    depths = np.broadcast_to(np.asarray(depths_um, dtype=float), (len(plan.threads),))
    threads = tuple(
        replace(t, depth_um=float(d)) for t, d in zip(plan.threads, depths, strict=True)
    )
    return replace(plan, threads=threads)


@pytest.fixture(scope="session")
def case_and_plan():
    return synthetic_plan()


@pytest.fixture(scope="session")
def plan64(case_and_plan):
    return case_and_plan[1]


@pytest.fixture(scope="session")
def thickness(case_and_plan):
    return case_and_plan[0].cortex_thickness_um


@pytest.fixture(scope="session")
def small_plan():
    return _example_plan()
