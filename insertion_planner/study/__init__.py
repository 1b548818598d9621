"""Planning studies: many cases on Dask, one results table, resumable.

A study plans, simulates and scores hundreds or thousands of cases (synthetic cortices
across seeds, dura modes and cameras; a folder of a lab's images with their true vessel
masks; a grid of robot or margin settings) as one Dask task per case, on this machine's
cores (a ``dask.distributed.LocalCluster``) or an existing cluster. See docs/studies.md.

This is an application layer on top of the pipeline, like the command line: nothing in
the pipeline imports it.

>>> from insertion_planner.study import StudyCase, synthetic_cases
>>> len(synthetic_cases(3, dura_modes="both"))
6
"""

from __future__ import annotations

from .cases import StudyCase, image_cases, synthetic_cases
from .run import DEFAULT_MEMORY_LIMIT, StudyResult, run_study
from .scoring import dice, score_plan
from .table import COLUMNS
from .task import run_case

__all__ = [
    "run_study",
    "StudyResult",
    "StudyCase",
    "synthetic_cases",
    "image_cases",
    "run_case",
    "score_plan",
    "dice",
    "COLUMNS",
    "DEFAULT_MEMORY_LIMIT",
]
