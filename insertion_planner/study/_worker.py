"""Set-up of the worker processes of the study's own LocalCluster (imported only there)."""

from __future__ import annotations

import os
import sys
from typing import Any

from distributed import WorkerPlugin

__all__ = ["StdoutToStderr"]


class StdoutToStderr(WorkerPlugin):
    """Send a worker process's standard output (file descriptor 1) to its standard error.

    The workers inherit the command's stdout, where compiled solvers print progress of
    their own (HiGHS through ``scipy.optimize.milp``); the command's stdout is kept for its
    one-line result.
    """

    name = "insertion-planner-stdout-to-stderr"

    def setup(self, worker: Any) -> None:
        sys.stdout.flush()
        os.dup2(2, 1)
