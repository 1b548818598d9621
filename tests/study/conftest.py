"""One small LocalCluster for the study tests, closed at the end, leaving no process behind."""

from __future__ import annotations

import logging

import psutil
import pytest

SHAPE = (768, 768)
"""Small enough to run fast, large enough for the robot's head to fit inside the opening
(at 384-640 px the synthetic craniectomy is too small and no thread is placed)."""

SEEDS = (2, 4)
"""Seed 2 in durectomy places a thread that the scoring finds closer than required to a
true vessel, so the too-close count is compared on a non-zero number."""


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="package")
def client():
    """A 2-worker process LocalCluster on 127.0.0.1, no dashboard."""
    from distributed import Client, LocalCluster

    before = _children()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GiB",
            host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
            scheduler_kwargs={"dashboard": False},  # health routes only, on 127.0.0.1
        ) as cluster,
        Client(cluster, set_as_default=False) as c,
    ):  # fmt: skip
        yield c
    left = [psutil.Process(pid) for pid in _children() - before if psutil.pid_exists(pid)]
    alive = [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not [p.cmdline() for p in alive if "resource_tracker" not in " ".join(p.cmdline())]
