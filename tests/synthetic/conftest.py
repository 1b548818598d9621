"""Small synthetic cases shared by the generator tests (built once per session)."""

from __future__ import annotations

import pytest

from insertion_planner.synthetic import synthetic_cortex


@pytest.fixture(scope="session")
def case_d():
    """512 x 512 at 12 um (6 mm field), durectomy."""
    return synthetic_cortex(7, shape=(512, 512), pixel_size_um=12.0, dura_mode="durectomy")


@pytest.fixture(scope="session")
def case_t():
    """Same seed as ``case_d``, transdural."""
    return synthetic_cortex(7, shape=(512, 512), pixel_size_um=12.0, dura_mode="transdural")


@pytest.fixture(scope="session")
def case_wide():
    """A wide field at coarse pixels (15 mm): many bifurcations, fast."""
    return synthetic_cortex(3, shape=(400, 400), pixel_size_um=40.0, dura_mode="transdural")


@pytest.fixture(scope="session")
def case_thin():
    """``case_t``'s seed and field with the abundant 20-40 um vessels (random camera)."""
    return synthetic_cortex(7, shape=(512, 512), pixel_size_um=12.0, dura_mode="transdural",
                            imaging="random")  # fmt: skip
