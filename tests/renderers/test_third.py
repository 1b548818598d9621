"""Tests of the third cortex renderer (tests/renderers/third.py): determinism, truth."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from .third import DEFAULT_CAMERA, Render, random_camera, render

SHAPE = (120, 150)


@cache
def _render(mode: str, seed: int = 3) -> Render:
    return render(SHAPE, pixel_size_um=12.0, dura_mode=mode, seed=seed, **random_camera(seed, mode))


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_same_seed_gives_identical_arrays(mode: str) -> None:
    a = _render(mode)
    b = render(SHAPE, pixel_size_um=12.0, dura_mode=mode, seed=3, **random_camera(3, mode))
    for name in ("image", "mask", "radius_um", "depth_um", "dural"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert random_camera(3, mode) == random_camera(3, mode) != random_camera(4, mode)
    other = render(SHAPE, pixel_size_um=12.0, dura_mode=mode, seed=4, **random_camera(3, mode))
    assert not np.array_equal(a.mask, other.mask)


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_truth_arrays_agree(mode: str) -> None:
    out = _render(mode)
    assert out.image.shape[:2] == SHAPE and out.mask.shape == SHAPE
    assert out.mask.dtype == bool and out.mask.any()
    radius = np.asarray(out.radius_um)
    assert np.all(radius[out.mask] > 0) and np.all(radius[~out.mask] == 0)
    # vessels from about 20 um across (the terminal branches) up
    assert 2 * radius[out.mask].min() >= 19.0
    depth = np.asarray(out.depth_um)[out.mask]
    assert np.all(np.nan_to_num(depth, nan=0.0) >= 0)
    dural = np.asarray(out.dural)
    assert not (dural & ~out.mask).any()  # dural vessels are vessels of the truth
    if mode == "durectomy":
        assert not dural.any()  # no dura, no dural vessels


def test_unknown_camera_settings_and_modes_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown camera settings"):
        render(SHAPE, seed=0, exposur=0.5)
    with pytest.raises(ValueError, match="dura_mode"):
        render(SHAPE, dura_mode="epidural", seed=0)
    assert set(random_camera(0, "durectomy")) <= set(DEFAULT_CAMERA)
