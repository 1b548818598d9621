"""Fixtures for the figure, scene, explorer and report tests: small plans built by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from insertion_planner.plan import _example_plan

SIMULATION = {  # the form of SimulationReport.to_plan_section(): one record per attempt
    "robot": "R1-2019",
    "total_time_s": 23.5,
    "insertions": [
        {"thread_id": 0, "attempt": 0, "ok": True, "reasons": [], "time_s": 10.0, "start_s": 0.0,
         "phases": [{"name": "travel", "start_s": 0.0, "duration_s": 3.0},
                    {"name": "insert", "start_s": 3.0, "duration_s": 7.0}]},
        {"thread_id": 1, "attempt": 0, "ok": False, "reasons": ["vessel_clearance: 40 um"],
         "time_s": 7.5, "start_s": 10.0,
         "phases": [{"name": "travel", "start_s": 10.0, "duration_s": 3.5},
                    {"name": "insert", "start_s": 13.5, "duration_s": 4.0}]},
        {"thread_id": 1, "attempt": 1, "ok": False, "reasons": ["insertion failed"],
         "time_s": 6.0, "start_s": 17.5,
         "phases": [{"name": "insert", "start_s": 17.5, "duration_s": 6.0}]},
    ],
}  # fmt: skip


@pytest.fixture(scope="session")
def example_plan():
    """Two threads 360 um apart on a 200 x 200 image at 12 um, one vessel segment."""
    p = _example_plan()
    geom = dataclasses.replace(
        p.geometry,
        vessel_segments_um=np.array([[0.0, 600.0, 0.0, 2400.0, 600.0, 0.0, 40.0]]),
        penetrating_um=np.array([[1800.0, 1800.0, 0.0, 15.0, 800.0]]),
    )
    return dataclasses.replace(p, geometry=geom)


@pytest.fixture(scope="session")
def simulated_plan(example_plan):
    return example_plan.with_simulation(SIMULATION, {0: "validated", 1: "failed"})
