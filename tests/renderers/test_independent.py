"""Tests of the independent cortex renderer: ground truth, camera model, determinism."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest
from scipy import ndimage

from ._vessels import Vessel, stamp
from .independent import CAMERA_RANGES, Camera, Rendered, random_camera, render

PIXEL_UM = 12.0
SEEDS = range(5)


@cache
def _render(seed: int, mode: str, shape: tuple[int, int] = (384, 384)) -> Rendered:
    return render(shape, pixel_size_um=PIXEL_UM, camera=random_camera(seed, mode), rng=seed)


def _green(image: np.ndarray) -> np.ndarray:
    return (image if image.ndim == 2 else image[..., 1]).astype(float)


def _contrast(green: np.ndarray, vessels: np.ndarray, mask: np.ndarray) -> float:
    """Median darkening of ``vessels`` pixels against non-vessel pixels 3-8 px away."""
    far = ndimage.distance_transform_edt(~mask)
    ring = (far > 3) & (far <= 8)
    total = ndimage.uniform_filter(np.where(ring, green, 0.0), 25)
    count = ndimage.uniform_filter(ring.astype(float), 25)
    local = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 1e-3)
    values = 1.0 - green[vessels] / local[vessels]
    return float(np.nanmedian(values))


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_same_rng_gives_identical_arrays(mode: str) -> None:
    cam = random_camera(7, mode)
    a = render((160, 200), camera=cam, rng=11)
    b = render((160, 200), camera=cam, rng=np.random.default_rng(11))
    c = render((160, 200), camera=cam, rng=12)
    for name in ("image", "mask", "radius_um"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.mask, c.mask)
    assert random_camera(7, mode) == cam


def test_arrays_are_read_only_and_typed() -> None:
    out = _render(0, "durectomy")
    assert out.mask.dtype == bool and out.radius_um.dtype == np.float32
    assert out.pixel_size_um == PIXEL_UM and out.camera == random_camera(0, "durectomy")
    for array in (out.image, out.mask, out.radius_um):
        assert not array.flags.writeable


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("mode", "upper"), [("durectomy", 0.30), ("transdural", 0.40)])
def test_mask_fraction_is_sane(seed: int, mode: str, upper: float) -> None:
    out = render((512, 512), camera=random_camera(seed, mode), rng=seed)
    assert 0.03 <= out.mask.mean() <= upper


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_radius_is_positive_exactly_on_the_mask(seed: int, mode: str) -> None:
    out = _render(seed, mode)
    np.testing.assert_array_equal(out.radius_um > 0, out.mask)
    assert out.radius_um[out.mask].min() >= 10.0 - 1e-3  # 20 um diameter is the thinnest


@pytest.mark.parametrize("seed", SEEDS)
def test_radii_span_thin_to_large(seed: int) -> None:
    radius = _render(seed, "durectomy", (512, 512)).radius_um
    on = radius[radius > 0]
    assert on.min() < 20.0  # < 40 um diameter
    assert on.max() > 100.0  # > 200 um diameter
    assert on.max() <= 200.0 + 1e-3  # <= 400 um diameter


@pytest.mark.parametrize("seed", SEEDS)
def test_thin_vessels_are_abundant_and_long(seed: int) -> None:
    out = _render(seed, "durectomy", (512, 512))
    thin = out.mask & (out.radius_um <= 20.0)
    assert thin.sum() >= 0.1 * out.mask.sum()
    labels, n = ndimage.label(thin, structure=np.ones((3, 3)))
    assert n >= 10
    extents = [
        np.hypot(s[0].stop - s[0].start, s[1].stop - s[1].start)
        for s in ndimage.find_objects(labels)
    ]
    assert max(extents) * PIXEL_UM > 1000.0  # a thin vessel longer than 1 mm


def test_thin_vessels_are_visible_after_durectomy() -> None:
    out = render((384, 384), camera=Camera(), rng=3)
    green = _green(out.image)
    thin = out.mask & (out.radius_um <= 15.0)
    big = out.mask & (out.radius_um >= 60.0)
    assert _contrast(green, thin, out.mask) > 0.05
    assert _contrast(green, big, out.mask) > 0.4


@pytest.mark.parametrize("bit_depth", [8, 10, 12, 14])
@pytest.mark.parametrize("grey", [False, True])
def test_bit_depth_is_respected(bit_depth: int, grey: bool) -> None:
    cam = Camera(bit_depth=bit_depth, grey=grey)
    image = render((96, 96), camera=cam, rng=1).image
    assert image.dtype == (np.uint8 if bit_depth == 8 else np.uint16)
    assert image.max() < 2**bit_depth
    assert image.max() >= 2 ** (bit_depth - 2)  # the bits are used, not 8-bit data widened
    assert image.shape == ((96, 96) if grey else (96, 96, 3))


def test_grey_camera_sees_the_same_cortex() -> None:
    colour = render((128, 160), camera=Camera(), rng=5)
    grey = render((128, 160), camera=Camera(grey=True), rng=5)
    assert grey.image.shape == (128, 160)
    np.testing.assert_array_equal(grey.mask, colour.mask)
    assert _contrast(_green(grey.image), grey.mask, grey.mask) > 0.1


def test_colour_follows_blood_absorption() -> None:
    out = render((384, 384), camera=Camera(texture_strength=0.0, glare_fraction=0.0), rng=2)
    red, green = (out.image[..., c].astype(float) for c in (0, 1))
    background = ndimage.distance_transform_edt(~out.mask) > 8
    ratio = np.median(green[background]) / np.median(red[background])
    assert 0.55 <= ratio <= 0.8  # pinkish cortex
    big = out.mask & (out.radius_um >= 60.0)
    assert _contrast(green, big, out.mask) > _contrast(red, big, out.mask) + 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_dura_lowers_contrast_of_the_same_cortex(seed: int) -> None:
    cam = dataclasses.replace(random_camera(seed, "durectomy"), glare_fraction=0.0)
    open_ = render((384, 384), camera=cam, rng=seed)
    veiled = render((384, 384), camera=dataclasses.replace(cam, dura_mode="transdural"), rng=seed)
    assert veiled.mask.sum() > open_.mask.sum()  # dural vessels join the truth
    dural = veiled.mask & ~open_.mask
    np.testing.assert_array_equal(veiled.mask & ~dural, open_.mask & ~dural)
    clear = ndimage.distance_transform_edt(~dural) > 6
    pial = open_.mask & (open_.radius_um >= 30.0) & clear
    before = _contrast(_green(open_.image), pial, open_.mask)
    after = _contrast(_green(veiled.image), pial, veiled.mask)
    assert 0.0 < after < 0.85 * before


@pytest.mark.parametrize("seed", range(20))
def test_random_camera_draws_within_documented_ranges(seed: int) -> None:
    cam = random_camera(seed, "transdural")
    for name, (lo, hi) in CAMERA_RANGES.items():
        values = np.atleast_1d(getattr(cam, name))
        assert np.all((values >= lo) & (values <= hi)), name
    assert cam.bit_depth in (8, 10, 12, 14) and isinstance(cam.grey, bool)


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(ValueError, match="dura_mode"):
        Camera(dura_mode="open")
    with pytest.raises(ValueError, match="bit_depth"):
        Camera(bit_depth=16)
    with pytest.raises(ValueError, match="veil_transmission"):
        Camera(veil_transmission=0.1)
    with pytest.raises(ValueError, match="pixel_size_um"):
        render((64, 64), pixel_size_um=0.0, camera=Camera(), rng=0)
    with pytest.raises(ValueError, match="shape"):
        render((8, 64), camera=Camera(), rng=0)
    with pytest.raises(TypeError, match="camera"):
        render((64, 64), camera="durectomy", rng=0)  # type: ignore[arg-type]


def test_mask_is_the_set_of_pixel_centres_inside_the_lumen() -> None:
    cols = np.linspace(-5.0, 60.0, 66)
    straight = Vessel(
        np.stack([np.full_like(cols, 20.3), cols], 1), np.full_like(cols, 2.5), "vein"
    )
    inside, radius = stamp([straight], (40, 50), pad_px=2.0)
    rows = np.flatnonzero((inside > 0).any(axis=1))
    np.testing.assert_array_equal(rows, [18, 19, 20, 21, 22])  # |row - 20.3| < 2.5
    assert (inside > 0)[rows].all() and (inside > 0).sum() == 5 * 50
    np.testing.assert_allclose(radius[inside > 0], 2.5)
    np.testing.assert_allclose(inside[20, 10], 2.5 - 0.3, atol=1e-5)
    assert np.isneginf(inside[0, 0]) and radius[0, 0] == 0.0
