"""The compiled and restricted passes of ``segment_vessels``' stages compute exactly what
the whole-image numpy computations they replaced did, bit for bit (``_fused``, the
square dilation, the graph built from its dicts, the speck removal on the mask pixels)."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from insertion_planner.segmentation import _fused, _morph


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (2, 2), (33, 70), (128, 64)])
@pytest.mark.parametrize("density", [0.02, 0.3])
def test_square_dilation_matches_scipy(shape, density):
    m = np.random.default_rng(1).random(shape) < density
    want = ndi.binary_dilation(m, structure=np.ones((3, 3), bool))
    assert _bits_equal(_morph.dilate_square(m), want)


def _reference_confidence(z_seed, z_grow, mask, rows, cols, ok, ratio, cleared):
    """The former numpy ``segment._confidence`` followed by the clearing of ``cleared``."""
    z_seed, z_grow = z_seed.copy(), z_grow.copy()
    rel = np.clip(z_seed, 0, 2, out=z_seed)
    vesselness = rel * np.float32(0.5)
    confidence = np.clip(z_grow, 0, 1, out=z_grow)
    np.subtract(np.float32(1), confidence, out=confidence)
    sure = np.minimum(rel, np.float32(1), out=rel)
    confidence *= ~mask  # _lines.take_where
    confidence += np.multiply(sure, mask, dtype=np.float32)
    fail = ~ok & ~mask[rows, cols]
    confidence[rows[fail], cols[fail]] = np.clip(1 - ratio[fail], 0, 1)
    if cleared is not None:
        confidence[cleared & ~mask] = 0
    return vesselness, confidence


def _evidence(rng, shape):
    z = (rng.standard_normal(shape) * 1.5).astype(np.float32)
    flat = z.ravel()
    # exact bounds, signed zeros and NaN, where a wrong clip or select shows
    special = np.array([0.0, -0.0, 1.0, 2.0, -1.0, 3.0, np.nan, 0.5], np.float32)
    at = rng.choice(flat.size, size=min(flat.size, 200), replace=False)
    flat[at] = special[np.arange(at.size) % special.size]
    return z


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (64, 97)])
@pytest.mark.parametrize("with_cleared", [False, True])
def test_compiled_confidence_is_the_numpy_arithmetic(shape, with_cleared):
    rng = np.random.default_rng(7)
    z_seed, z_grow = _evidence(rng, shape), _evidence(rng, shape)
    mask = rng.random(shape) < 0.3
    examined = mask | (rng.random(shape) < 0.3)
    rows, cols = np.nonzero(examined)
    ok = rng.random(rows.size) < 0.5
    ratio = _evidence(rng, (rows.size,)) if rows.size else np.zeros(0, np.float32)
    cleared = (rng.random(shape) < 0.2) if with_cleared else None
    want = _reference_confidence(z_seed, z_grow, mask, rows, cols, ok, ratio, cleared)
    keep = z_seed.copy(), z_grow.copy()
    got = _fused.confidence_maps(z_seed, z_grow, mask, rows, cols, ok, ratio, cleared)
    assert _bits_equal(got[0], want[0]) and _bits_equal(got[1], want[1])
    assert _bits_equal(z_seed, keep[0]) and _bits_equal(z_grow, keep[1])  # inputs kept
    over = _fused.confidence_maps(
        z_seed, z_grow, mask, rows, cols, ok, ratio, cleared, overwrite=True
    )
    assert _bits_equal(over[0], want[0]) and _bits_equal(over[1], want[1])
    assert over[0] is z_seed and over[1] is z_grow  # written in place


@pytest.mark.parametrize("shape", [(1, 1), (3, 8), (6, 6), (41, 29)])
def test_max5_at_points_is_the_whole_image_max5(shape):
    rng = np.random.default_rng(3)
    img = rng.random(shape).astype(np.float32)
    img[rng.random(shape) < 0.3] = 0
    img.ravel()[rng.integers(0, img.size)] = np.nan
    rows, cols = np.nonzero(rng.random(shape) < 0.6)
    want = _morph.max5(img)[rows, cols]
    assert _bits_equal(_fused.max5_at(img, rows, cols), want)
    assert _bits_equal(_fused.max5_at(img, rows[:0], cols[:0]), np.zeros(0, np.float32))


def _samples(n, kind, rng):
    if kind == "normal":
        return rng.standard_normal(n).astype(np.float32)
    if kind == "ties":  # few distinct values: the middle ranks fall on equal values
        return rng.integers(0, 5, n).astype(np.float32)
    if kind == "negative":
        return -np.abs(rng.standard_normal(n)).astype(np.float32)
    if kind == "tiny":  # subnormals and values of one binade: one bucket of high bits
        return (rng.standard_normal(n) * 1e-39).astype(np.float32)
    if kind == "signed_zeros":  # -0.0 and 0.0 selected: numpy decides the sign
        a = rng.integers(-2, 3, n).astype(np.float32)
        a[::7] = -0.0
        return a
    if kind == "inf":
        a = rng.standard_normal(n).astype(np.float32)
        a[5 % n], a[6 % n] = np.inf, -np.inf
        return a
    a = rng.standard_normal(n).astype(np.float32)  # "nan"
    a[9 % n] = np.nan
    return a


_KINDS = ["normal", "ties", "negative", "tiny", "signed_zeros", "inf", "nan"]


@pytest.mark.parametrize("n", [1, 100, 4096, 4097, 10001, 186_000])
@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_radix_selection_is_numpy_median_and_percentile(n, kind):
    from insertion_planner.segmentation import _select

    a = _samples(n, kind, np.random.default_rng(n))
    want = np.median(a)
    got = _select.median(a)
    assert type(got) is type(want) and _bits_equal(got, want)
    for q in ([50, 25], [90], [10, 50, 99.5], [0.001], [25, 50], [0, 100]):
        assert _bits_equal(_select.percentile(a, q), np.percentile(a, q))
    assert _bits_equal(_select.median(a.reshape(-1, 1)), np.median(a))  # over all values


def test_radix_selection_finds_every_rank():
    from insertion_planner.segmentation import _select

    a = np.random.default_rng(5).standard_normal(5000).astype(np.float32)
    a[::3] = a[1::3][: a[::3].size]  # repeated values
    ranks = np.arange(0, a.size, 37, dtype=np.int64)
    got = _select._order_stats(a, ranks)
    assert got is not None and _bits_equal(got, np.sort(a)[ranks])


@pytest.mark.parametrize("shape", [(2, 2), (9, 8), (8, 13), (64, 51)])
def test_first_peak_level_is_the_numpy_pyramid_level(shape):
    from insertion_planner.segmentation import _filters as flt

    rng = np.random.default_rng(11)
    dark = rng.standard_normal(shape).astype(np.float32)
    dark.ravel()[rng.integers(0, dark.size, 3)] = -0.0
    detected = rng.random(shape) < 0.6
    table = np.array([0, 1, 1, 2, 3], np.int8)
    best = rng.integers(0, table.size, shape).astype(np.int8)
    lvl = np.take(table, best)
    peak0 = np.where(detected, dark, np.float32(0)).astype(np.float32)
    peak1, lvl1 = _fused.first_peak_level(dark, detected, best, table)
    assert _bits_equal(peak1, flt.kept_block_mean(peak0, lvl, 1))
    h2, w2 = peak1.shape
    assert _bits_equal(lvl1, np.asarray(flt.downmax2(lvl), np.int8)[:h2, :w2])
    # (the sign of a zero maximum of -0.0 and 0.0 is the order's: no caller reads it)
    dark[dark == 0] = 0
    peak0 = np.where(detected, dark, np.float32(0)).astype(np.float32)
    rows, cols = np.nonzero(rng.random(shape) < 0.5)
    got = _fused.max5_at(dark, rows, cols, where=detected)
    assert _bits_equal(got, _morph.max5(peak0)[rows, cols])


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (130, 257)])
def test_compiled_evidence_merge_is_the_numpy_merge(shape):
    from insertion_planner.segmentation._lines import take_where

    rng = np.random.default_rng(2)

    def evidence():
        z = _evidence(rng, shape)
        z[z == 0] = 0  # (of a -0.0/0.0 tie numpy.maximum's sign is its own)
        return z, (rng.standard_normal(shape) * 2).astype(np.float32)

    (zs, zg), (fs, fg) = evidence(), evidence()
    fs[::3] = zs[::3]  # ties: the finer scale keeps its best scale
    best = rng.integers(0, 4, shape).astype(np.int8)
    far_best = rng.integers(4, 9, shape).astype(np.int8)
    det, far_det = rng.random(shape) < 0.3, rng.random(shape) < 0.3
    want = [zs.copy(), zg.copy(), best.copy(), det.copy()]
    take_where(want[2], far_best, fs > want[0])
    np.maximum(want[0], fs, out=want[0])
    np.maximum(want[1], fg, out=want[1])
    want[3] |= far_det
    _fused.merge_evidence(zs, zg, best, det, (fs, fg, far_best, far_det))
    for got, exp in zip((zs, zg, best, det), want, strict=True):
        assert _bits_equal(got, exp)


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 33), (130, 257)])
@pytest.mark.parametrize("step", [1, 2, 3, 4])
@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.0])
def test_compiled_grid_taps_are_the_strided_taps(shape, step, sigma):
    from insertion_planner.segmentation import _filters as flt

    a = (np.random.default_rng(8).standard_normal(shape) * 40 + 100).astype(np.float32)
    k = flt._kernel(sigma)
    want = flt.taps_on_grid(flt.taps_on_grid(a, k, step, axis=0), k, step, axis=1)
    assert _bits_equal(_fused.taps_on_grid2d(a, k, step), want)


@pytest.mark.parametrize("shape", [(1, 1), (9, 4), (128, 77)])
def test_compiled_scale_merge_is_the_numpy_merge(shape):
    from insertion_planner.segmentation._lines import take_where

    rng = np.random.default_rng(6)
    zs_l, zs = _evidence(rng, shape), _evidence(rng, shape)
    zs_l[zs_l == 0] = 0  # (of a -0.0/0.0 tie numpy.maximum's sign is its own)
    zs[zs == 0] = 0
    zs.ravel()[::5] = zs_l.ravel()[::5]  # ties keep the finer scale
    zg_l = zs_l * np.float32(1.3)
    best_l = rng.integers(0, 3, shape).astype(np.int8)
    found_l, found = rng.random(shape) < 0.3, rng.random(shape) < 0.3
    grow = np.float32(1.3)
    want = [zs_l.copy(), zg_l.copy(), best_l.copy(), found_l.copy()]
    z = zs.copy()
    want[3] |= found
    take_where(want[2], np.int8(3), z > want[0])
    np.maximum(want[0], z, out=want[0])
    z *= grow
    np.maximum(want[1], z, out=want[1])
    keep = zs.copy()
    _fused.merge_scale(zs_l, zg_l, best_l, found_l, zs, found, 3, grow)
    for got, exp in zip((zs_l, zg_l, best_l, found_l), want, strict=True):
        assert _bits_equal(got, exp)
    assert _bits_equal(zs, keep)


@pytest.mark.parametrize("diagonal", [True, False])
@pytest.mark.parametrize("density", [0.0, 0.2, 0.6, 1.0])
def test_labels_at_the_pixels_are_pixel_labelling(diagonal, density):
    from insertion_planner.segmentation._runs import label_pixels

    m = np.random.default_rng(9).random((37, 53)) < density
    structure = np.ones((3, 3), bool) if diagonal else None
    want, n = ndi.label(m, structure=structure)
    flat, lab, got_n = label_pixels(m, diagonal=diagonal)
    assert got_n == n
    assert np.array_equal(flat, np.flatnonzero(m))
    assert np.array_equal(lab, want.ravel()[flat])


def _reference_stumps(mask, pixel_size_um, discs):
    """The former ``find_stumps``: the label image, its statistics over ``labels != 0``."""
    from insertion_planner.segmentation._graph import component_stats

    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    labels = labels.astype(np.intp)
    stats = component_stats(labels, n, max_area=np.pi * (80.0 / pixel_size_um) ** 2)
    area = stats["area"]
    radius_px = np.sqrt(area / np.pi)
    compact = (stats["minor"] > 0) & (stats["major"] <= 1.6 * np.maximum(stats["minor"], 0.5))
    compact &= area >= 2
    if discs is not None and discs.any():
        compact[np.unique(labels[discs])] = True
    sel = np.nonzero(compact & (radius_px * pixel_size_um <= 80.0))[0]
    sel = sel[sel > 0]
    return labels, sel, stats


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_discs", [False, True])
def test_stumps_from_the_mask_pixels_are_the_label_image_ones(seed, with_discs):
    from insertion_planner.segmentation._graph import find_stumps, stumps_of_pixels

    rng = np.random.default_rng(seed)
    mask = ndi.binary_dilation(rng.random((90, 70)) < 0.02, iterations=2)
    mask |= rng.random(mask.shape) < 0.01
    discs = (rng.random(mask.shape) < 0.005) if with_discs else None  # on and off the mask
    labels, sel, stats = _reference_stumps(mask, 12.0, discs)
    stumps, (flat, lab), got_sel, got_stats = stumps_of_pixels(
        mask, pixel_size_um=12.0, discs=discs
    )
    assert np.array_equal(got_sel, sel)
    assert np.array_equal(lab, labels.ravel()[flat]) and np.array_equal(flat, np.flatnonzero(mask))
    for key in stats:
        assert _bits_equal(got_stats[key], stats[key])
    _, got_labels, sel2, _ = find_stumps(mask, pixel_size_um=12.0, discs=discs)
    assert np.array_equal(got_labels, labels) and np.array_equal(sel2, sel)
    assert stumps.shape == (sel.size, 3)


@pytest.mark.parametrize("inplace", [False, True])
def test_compiled_standardising_is_the_two_numpy_passes(inplace):
    rng = np.random.default_rng(12)
    r = _evidence(rng, (33, 65))
    centre, scale = np.float32(0.37), np.float32(1.0 / 0.29)
    want = np.subtract(r, centre)
    want *= scale
    keep = r.copy()
    got = _fused.standardise(r, centre, scale, inplace=inplace)
    assert _bits_equal(got, want)
    assert (got is r) == inplace and (inplace or _bits_equal(r, keep))
    strided = keep[:, ::2]  # not contiguous: numpy's own passes
    want_s = np.subtract(strided, centre)
    want_s *= scale
    assert _bits_equal(_fused.standardise(strided, centre, scale, inplace=False), want_s)


def test_compiled_or_above_is_the_numpy_comparison():
    rng = np.random.default_rng(13)
    a = (rng.random((40, 70)) * 200).astype(np.float32)
    b = (rng.random((40, 70)) * 200).astype(np.float32)
    b.ravel()[::9] = a.ravel()[::9] / np.float32(1.25)  # products equal to a: not above
    mask = rng.random((40, 70)) < 0.2
    want = mask | (a > np.float32(1.25) * b)
    _fused.or_above(mask, a, np.float32(1.25), b)
    assert np.array_equal(mask, want)
