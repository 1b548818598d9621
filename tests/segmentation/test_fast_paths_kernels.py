"""Compiled and restricted passes of the segmentation compute exactly what the plain
computations they stand for do, bit for bit: skimage's Zhang-Suen skeleton on the border
pixels only, hysteresis from row runs, chamfer distances and the nearest seed's value,
the coarse levels merged in one pass, the Gaussian at marked pixels, and the injection
test's planting, counting and combining."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from insertion_planner.segmentation import _filters as flt


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _blobs(rng, shape, density, smooth):
    m = rng.random(shape)
    if smooth:
        m = ndi.gaussian_filter(m, smooth)
    return m <= np.quantile(m, density)


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (3, 3), (17, 23), (100, 37), (256, 300)])
@pytest.mark.parametrize("density", [0.05, 0.5, 0.95, 1.0])
@pytest.mark.parametrize("smooth", [0, 1, 4])
def test_border_thinning_is_skimage_skeletonize(shape, density, smooth):
    from skimage.morphology import skeletonize as skimage_skeletonize

    from insertion_planner.segmentation._thin import skeletonize

    m = _blobs(np.random.default_rng(3), shape, density, smooth)
    assert _bits_equal(skeletonize(m), skimage_skeletonize(m))


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (40, 33), (200, 150)])
@pytest.mark.parametrize("low", [-1.0, 0.3, 1.2])
def test_run_hysteresis_is_seeded_labelling(shape, low):
    from insertion_planner.segmentation._raster import hysteresis
    from insertion_planner.segmentation._runs import seeded_components

    rng = np.random.default_rng(4)
    z = ndi.gaussian_filter(rng.standard_normal(shape), 1.0).astype(np.float32) * 3
    z.ravel()[rng.random(z.size) < 0.02] = np.nan
    high = np.float32(1.0)
    want = seeded_components((z >= high) & (z >= np.float32(low)), z >= np.float32(low))
    assert _bits_equal(hysteresis(z, high=1.0, low=low), want)


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (17, 23), (64, 40), (200, 150)])
@pytest.mark.parametrize("density", [0.1, 0.8, 0.97, 1.0])
@pytest.mark.parametrize("max_distance", [1, 3, 32])
def test_distances_at_pixels_are_the_two_passes(shape, density, max_distance):
    from insertion_planner.segmentation._raster import chamfer_distance, chamfer_distance_at

    rng = np.random.default_rng(5)
    m = _blobs(rng, shape, density, 2)
    at = np.flatnonzero(rng.random(m.size) < 0.5)
    d8, d4 = chamfer_distance_at(m, at, max_distance=max_distance)
    assert _bits_equal(d8, chamfer_distance(m, metric="chessboard").ravel()[at])
    assert _bits_equal(d4, chamfer_distance(m, metric="taxicab").ravel()[at])


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (17, 23), (300, 200)])
@pytest.mark.parametrize("density", [0.0, 0.002, 0.05, 1.0])
def test_nearest_value_is_the_carried_two_passes(shape, density):
    from insertion_planner.segmentation._raster import _start, _two_passes, nearest_value

    rng = np.random.default_rng(6)
    seeds = rng.random(shape) < density
    values = rng.random(shape).astype(np.float32)
    dt, want = _start(~seeds), values.copy()
    _two_passes(dt, want, True, True)
    assert _bits_equal(nearest_value(seeds, values), want)
    if seeds.any() and not seeds.all():
        _, (ri, ci) = ndi.distance_transform_cdt(~seeds, metric="chessboard", return_indices=True)
        assert _bits_equal(nearest_value(seeds, values), values[ri, ci])


@pytest.mark.parametrize("shape", [(64, 64), (100, 77), (203, 130)])
@pytest.mark.parametrize("ceil_rows", [False, True])
@pytest.mark.parametrize("lvs", [(1,), (1, 2, 3)])
def test_one_pass_level_merge_is_level_by_level(shape, ceil_rows, lvs):
    """Levels of floor(H / f) rows (as the pyramid makes them: rows past the last block
    are not blended) and of ceil(H / f) rows."""
    from insertion_planner.segmentation._merge_levels import merge_levels
    from insertion_planner.segmentation._resample import merge_level

    rng = np.random.default_rng(7)
    levels = []
    for lv in lvs:
        n = -(-shape[0] // 2**lv) if ceil_rows else shape[0] // 2**lv
        m = shape[1] // 2**lv
        zs = (rng.standard_normal((n, m)) * 2).astype(np.float32)
        zs[zs == 0] = 0
        zs.ravel()[::17] = np.nan
        zg = zs * np.float32(1.3)
        best = rng.integers(0, 9, (n, m)).astype(np.int8)
        levels.append(((zs, zg, best, rng.random((n, m)) < 0.2), 2**lv))

    def empty():
        return (np.empty(shape, np.float32), np.empty(shape, np.float32),
                np.empty(shape, np.int8), np.empty(shape, bool))  # fmt: skip

    want, got = empty(), empty()
    for i, (lv, f) in enumerate(levels):
        merge_level(*want, lv, f, first=i == 0)
    merge_levels(*got, levels)
    for g, w in zip(got, want, strict=True):
        assert _bits_equal(g, w)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (30, 40), (301, 517)])
@pytest.mark.parametrize("sigma", [0.06, 0.7, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("density", [0.01, 0.3])
def test_gaussian_at_marked_pixels_is_the_row_by_row_gaussian(shape, sigma, density):
    from insertion_planner.segmentation._smoothing import gauss_marked, separable_gauss

    rng = np.random.default_rng(8)
    a = rng.standard_normal(shape).astype(np.float32)
    a.ravel()[:3] = [3e38, -0.0, 1e-40][: a.size]  # large, signed zero, subnormal
    need = rng.random(shape) < density
    k = flt._kernel(sigma)
    assert _bits_equal(gauss_marked(a, k, need)[need], separable_gauss(a, k)[need])


@pytest.mark.parametrize("axis", [0, 1])
def test_compiled_profile_adds_are_the_numpy_gathers(axis):
    from insertion_planner.segmentation._fused import add_rows, add_where

    rng = np.random.default_rng(9)
    shape = (37, 53)
    out = rng.standard_normal(shape).astype(np.float32)
    want = out.copy()
    table = rng.standard_normal((4, 7)).astype(np.float32)
    which = rng.integers(0, 4, shape[axis])
    if axis == 0:
        want[:, 5:12] += table[which]
    else:
        want[5:12, :] += table[which].T
    add_rows(out, table, which, 5, axis=axis)
    assert _bits_equal(out, want)
    base = rng.standard_normal(shape).astype(np.float32)
    valid = rng.random(shape) < 0.7
    expect = np.where(valid, base + out, base).astype(np.float32)
    assert _bits_equal(add_where(base, out, valid), expect)


def test_marked_steps_are_numpy_unique():
    from insertion_planner.segmentation._inject import _unique_steps

    rng = np.random.default_rng(10)
    for q in (
        np.round(np.maximum(rng.random(300).astype(np.float32) * 3, 0.2) / 0.05),
        np.array([4.0, 4.0], np.float32),
        np.array([4.0, np.nan, 6.0], np.float32),
        np.array([4.5, 7.0]),
    ):
        steps, which = _unique_steps(q)
        want_steps, want_which = np.unique(q, return_inverse=True)
        assert _bits_equal(steps, want_steps) and _bits_equal(which, want_which.ravel())


def _reference_with_injected(detectable_um, blocks_px, block, pixel_size_um):
    """The former numpy ``_inject.with_injected``."""
    from insertion_planner.segmentation._inject import INJECT_DIAMETERS_UM

    h, w = detectable_um.shape
    hb, wb = blocks_px.shape
    rr = np.minimum(np.arange(h) // block, hb - 1)
    cc = np.minimum(np.arange(w) // block, wb - 1)
    inj = blocks_px[rr[:, None], cc[None, :]] * np.float32(pixel_size_um)
    missed = np.maximum(detectable_um, np.float32(max(INJECT_DIAMETERS_UM) * 1.01))
    out = np.where(np.isfinite(inj), inj, missed)
    return np.where(np.isnan(inj), detectable_um, out).astype(np.float32)


@pytest.mark.parametrize("shape,block", [((64, 80), 16), ((300, 257), 128), ((20, 17), 16)])
def test_block_by_block_combination_is_the_numpy_one(shape, block):
    from insertion_planner.segmentation._inject import with_injected

    rng = np.random.default_rng(11)
    det = (rng.random(shape) * 80).astype(np.float32)
    det.ravel()[::7] = np.inf
    hb, wb = max(1, shape[0] // block), max(1, shape[1] // block)
    blocks = rng.choice(np.array([2.0, 3.0, np.inf, np.nan], np.float32), (hb, wb))
    got = with_injected(det, blocks, block, pixel_size_um=12.0)
    assert _bits_equal(got, _reference_with_injected(det, blocks, block, 12.0))


def _reference_counts(counted, detected, centres, kinds, axis, b, hb, wb, n):
    """The former counting of ``_inject.injected_detectable_px`` (a 3-wide maximum filter
    across the lines over the whole image, ``numpy.add.at``)."""
    h, w = counted.shape
    hits, count = np.zeros((n, hb, wb)), np.zeros((n, hb, wb))
    near = ndi.maximum_filter1d(detected.astype(np.uint8), 3, axis=1 - axis).astype(bool)
    for c, kind in zip(centres, kinds, strict=True):
        j = int(round(c))
        if axis == 0:
            ok, found = counted[:, j], near[:, j]
            blk = (np.minimum(np.arange(h) // b, hb - 1), np.full(h, min(j // b, wb - 1)))
        else:
            ok, found = counted[j, :], near[j, :]
            blk = (np.full(w, min(j // b, hb - 1)), np.minimum(np.arange(w) // b, wb - 1))
        np.add.at(count[kind], (blk[0][ok], blk[1][ok]), 1.0)
        np.add.at(hits[kind], (blk[0][ok & found], blk[1][ok & found]), 1.0)
    return hits, count


def test_injection_counts_on_the_lines_are_the_whole_image_ones(monkeypatch):
    from insertion_planner.segmentation import _inject

    rng = np.random.default_rng(12)
    shape, b = (256, 224), 64
    hb, wb = shape[0] // b, shape[1] // b
    detected = rng.random(shape) < 0.995  # complete on the right, not on the left
    detected[:, :100] &= rng.random((shape[0], 100)) < 0.5
    seen = {}

    def fake_detected(img, fine, top):
        return detected

    real_plant = _inject._plant

    def plant(shape_, ax, diam, depth, blur):
        out = real_plant(shape_, ax, diam, depth, blur)
        seen[ax] = out
        return out

    monkeypatch.setattr(_inject, "_detected", fake_detected)
    monkeypatch.setattr(_inject, "_plant", plant)
    cal = [_inject.ScaleCalibration(1.0, 0, 1.0, 0.0, 0.01, 2.7, 1.6)]
    dark = np.zeros(shape, np.float32)
    valid = np.ones(shape, bool)
    valid[50:53, 60:62] = False
    blocks, block = _inject.injected_detectable_px(
        dark, valid, np.zeros(shape, bool), calibration=cal, blur_px=np.ones(shape, np.float32),
        unit_depth=0.1, absorption_length_px=10.0, max_depth=0.5, pixel_size_um=12.0,
        block_px=b, min_count=1,
    )  # fmt: skip
    # the counts rebuilt the former way from the same lines and detections
    mask_counted = valid & ~flt.dilate_cross(~valid, 4)
    mask_counted[:8] = mask_counted[-8:] = False
    mask_counted[:, :8] = mask_counted[:, -8:] = False
    n = len(_inject.INJECT_DIAMETERS_UM)
    hits, count = np.zeros((n, hb, wb)), np.zeros((n, hb, wb))
    for ax in (0, 1):
        _, centres, kinds = seen[ax]
        h_, c_ = _reference_counts(mask_counted, detected, centres, kinds, ax, b, hb, wb, n)
        hits += h_
        count += c_
    complete = hits >= _inject.INJECT_COMPLETENESS * count
    enough = (count >= 1).all(axis=0)
    from_here = np.flip(np.logical_and.accumulate(np.flip(complete, axis=0), axis=0), axis=0)
    diam = np.asarray(_inject.INJECT_DIAMETERS_UM) / 12.0
    want = np.full((hb, wb), np.inf, np.float32)
    for k in range(n - 1, -1, -1):
        want[from_here[k]] = np.float32(diam[k])
    want[~enough] = np.nan
    assert np.isfinite(want).any() and np.isinf(want).any()
    assert block == b and _bits_equal(blocks, want)
