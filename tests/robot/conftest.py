"""Small synthetic plans for the robot tests: a flat cortex with a few straight vessels."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from insertion_planner.config import SafetyMargins
from insertion_planner.robot.clearance import segment_distance

PX = 48.0
SHAPE = (512, 512)  # 24.6 mm field: a full-size 25 mm craniectomy
VESSELS = np.array(
    [  # x0, y0, z0, x1, y1, z1, radius (um)
        [2000.0, 9000.0, 0.0, 22000.0, 11000.0, 0.0, 120.0],
        [12000.0, 3000.0, 0.0, 13000.0, 22000.0, 0.0, 60.0],
        [5000.0, 17000.0, 0.0, 20000.0, 15000.0, 0.0, 25.0],
    ]
)
PENETRATING_RC = np.array([[300.0, 200.0, 20.0], [200.0, 310.0, 15.0]])  # row, col, radius_um


def vessel_avoidance(dura_mode: str = "durectomy") -> SimpleNamespace:
    """An avoidance map whose clearance is the exact distance to VESSELS and penetrating stumps."""
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float64)
    pts = np.stack([cc * PX, rr * PX, np.zeros_like(rr)], axis=-1)
    clear = np.full(SHAPE, np.inf)
    for v in VESSELS:
        d = segment_distance(pts, pts, v[None, None, 0:3], v[None, None, 3:6]) - v[6]
        clear = np.minimum(clear, d)
    for r, c, rad in PENETRATING_RC:
        clear = np.minimum(clear, np.hypot(rr * PX - r * PX, cc * PX - c * PX) - rad)
    clear = np.maximum(clear, 0.0).astype(np.float32)
    margins = SafetyMargins()
    required = np.full(SHAPE, margins.required_um(dura_mode), np.float32)
    return SimpleNamespace(
        clearance_um=clear,
        required_um=required,
        allowed=clear >= required,
        pixel_size_um=PX,
        penetrating=PENETRATING_RC.copy(),
        dura_mode=dura_mode,
        margins=margins,
    )


def make_plan(robot: str = "R1-2019", dura_mode: str = "durectomy", n_threads: int = 64):
    from insertion_planner.planning import plan_from_avoidance

    plan = plan_from_avoidance(vessel_avoidance(dura_mode), n_threads=n_threads, robot=robot,
                               dura_mode=dura_mode, min_spacing_um=400.0)  # fmt: skip
    return replace(plan, geometry=replace(plan.geometry, vessel_segments_um=VESSELS.copy()))


@pytest.fixture(scope="session")
def plan64():
    return make_plan()


@pytest.fixture(scope="session")
def plan64_transdural():
    return make_plan("next-gen", "transdural")
