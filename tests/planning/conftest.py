"""Avoidance-map-like test inputs drawn from simple vessel masks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.draw import line

from insertion_planner import SafetyMargins


@dataclass(frozen=True, eq=False)
class FakeAvoidance:
    clearance_um: np.ndarray = field(repr=False)
    required_um: np.ndarray = field(repr=False)
    allowed: np.ndarray = field(repr=False)
    penetrating: np.ndarray = field(repr=False)
    pixel_size_um: float = 12.0
    dura_mode: str = "durectomy"
    margins: SafetyMargins = field(default_factory=SafetyMargins)


def drawn_vessels(shape=(256, 256), *, n_lines=6, width_px=3, seed=0) -> np.ndarray:
    """A bool vessel mask of random straight thick lines."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    h, w = shape
    for _ in range(n_lines):
        r0, r1 = rng.integers(0, h, 2)
        c0, c1 = rng.integers(0, w, 2)
        rr, cc = line(int(r0), int(c0), int(r1), int(c1))
        mask[rr, cc] = True
    return ndimage.binary_dilation(mask, iterations=width_px // 2) if width_px > 1 else mask


def avoidance_from_mask(
    mask: np.ndarray, *, pixel_size_um=12.0, required_um=86.5, penetrating=None
) -> FakeAvoidance:
    clear = (ndimage.distance_transform_edt(~mask) * pixel_size_um).astype(np.float32)
    clear[mask] = 0.0
    req = np.full(mask.shape, required_um, np.float32)
    pen = np.zeros((0, 3)) if penetrating is None else np.asarray(penetrating, float)
    for a in (clear, req):
        a.setflags(write=False)
    allowed = clear >= req
    allowed.setflags(write=False)
    return FakeAvoidance(clear, req, allowed, pen, pixel_size_um)


import pytest  # noqa: E402

from insertion_planner.planning import plan_from_avoidance  # noqa: E402


@pytest.fixture(scope="session")
def make_map():
    """The builder: avoidance_from_mask(mask, pixel_size_um=..., required_um=..., penetrating=...)."""
    return avoidance_from_mask


@pytest.fixture(scope="session")
def vessels_mask():
    return drawn_vessels((320, 320), n_lines=14, width_px=5, seed=3)


@pytest.fixture(scope="session")
def amap(vessels_mask):
    return avoidance_from_mask(vessels_mask)


@pytest.fixture(scope="session")
def plan64(amap):
    """A 64-thread plan on a 320x320 px (3.84 mm) drawn-vessel map."""
    return plan_from_avoidance(amap, n_threads=64, min_spacing_um=250.0)


@pytest.fixture(scope="session")
def draw():
    """The builder: drawn_vessels(shape, n_lines=..., width_px=..., seed=...)."""
    return drawn_vessels
