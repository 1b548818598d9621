"""The speed-ups of the segmentation compute exactly what the plain computations did.

Each fast path (compiled row-by-row smoothing and Hessian; strip-mined 5 x 5 maxima and
block means; compiled row-by-row merging of pyramid levels; arithmetic masked copies;
block maxima of a bilinear image; erosion, nonzero and gathers on the flat image;
connected components and small holes from row runs; compiled row correlation, chamfer
distances and hysteresis; grouped percentiles)
is checked against the straightforward numpy/scipy computation it replaced, bit for bit
where the arithmetic is the same.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from insertion_planner.segmentation import _blur, _detect, _lines, _morph, segment
from insertion_planner.segmentation import _filters as flt


def _reference_gauss(a, sigma):
    """The former whole-image separable filter: edge padding, shifted adds per axis."""
    k = flt._kernel(sigma)
    rad = k.size // 2
    out = np.asarray(a, np.float32)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (rad, rad)
        p = np.pad(out, pad, mode="edge")
        n = out.shape[axis]

        def sl(i, p=p, n=n, axis=axis):
            return p[rad + i : rad + i + n] if axis == 0 else p[:, rad + i : rad + i + n]

        acc = sl(0) * k[rad]
        for i in range(1, rad + 1):
            acc += (sl(-i) + sl(i)) * k[rad + i]
        out = acc
    return out


def _reference_numpy_gauss(a, sigma):
    """The former numpy Gaussian: float32 shifted adds down the columns (rows beyond the
    image repeat the edge row), then ``ndimage.correlate1d`` along the rows."""
    k = flt._kernel(sigma)
    rad = k.size // 2
    h = a.shape[0]
    src = a[np.clip(np.arange(-rad, h + rad), 0, h - 1)]
    acc = src[rad : rad + h] * k[rad]
    for i in range(1, rad + 1):
        tmp = np.add(src[rad - i : rad - i + h], src[rad + i : rad + i + h])
        tmp *= k[rad + i]
        acc += tmp
    return ndi.correlate1d(acc, k, axis=1, mode="nearest")


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (70, 45), (5, 130), (33, 33), (64, 2048)])
@pytest.mark.parametrize("sigma", [0.3, 0.7, 1.0, 1.41, 3.0, 4.0])
def test_compiled_gauss_is_bit_identical(shape, sigma):
    a = (np.random.default_rng(4).standard_normal(shape) * 30).astype(np.float32)
    got = flt.gauss(a, sigma)
    assert got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), _reference_numpy_gauss(a, sigma).view(np.uint32))


@pytest.mark.parametrize("shape", [(70, 45), (5, 130), (33, 33)])
@pytest.mark.parametrize("sigma", [0.7, 1.0, 1.41, 3.0])
def test_strip_gauss_matches_whole_image_filter(shape, sigma):
    a = np.random.default_rng(1).random(shape).astype(np.float32)
    got = flt.gauss(a, sigma)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_allclose(got, _reference_gauss(a, sigma), rtol=0, atol=2e-6)


@pytest.mark.parametrize("shape", [(100, 77), (3, 40), (65, 3), (257, 64), (4, 2048)])
@pytest.mark.parametrize("sigma", [0.0, 0.7, 1.0, 1.41, 4.0])
def test_strip_hessian_is_bit_identical(shape, sigma):
    a = np.random.default_rng(2).random(shape).astype(np.float32)
    sm = flt.gauss(a, sigma)
    for kind, measure in (("ridge", _lines.signed_ridge), ("disc", _lines.signed_disc)):
        kept = np.full(shape, np.nan, np.float32)
        got = flt.hessian_measure(a, sigma, kind=kind, smoothed=kept)
        assert np.array_equal(got.view(np.uint32), measure(sm).view(np.uint32))
        assert np.array_equal(kept, sm)


@pytest.mark.parametrize(
    "coarse, f, shape", [((3, 4), 16, (40, 60)), ((32, 32), 64, (2048, 2048)),
                         ((5, 7), 32, (150, 230)), ((10, 12), 20, (200, 240))],
)  # fmt: skip
def test_block_max_of_bilinear_image(coarse, f, shape):
    a = np.random.default_rng(3).random(coarse).astype(np.float32)
    full = flt.upsample_linear(a, shape, f)
    hp, wp = -(-shape[0] // 8) * 8, -(-shape[1] // 8) * 8
    ref = np.pad(full, ((0, hp - shape[0]), (0, wp - shape[1])), mode="edge")
    ref = ref.reshape(hp // 8, 8, wp // 8, 8).max(axis=(1, 3))
    got = flt.linear_block_max(a, f, shape)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=3e-7)


def test_take_where_is_an_exact_masked_copy():
    rng = np.random.default_rng(4)
    dst = rng.choice(np.float32([1.0, 2**0.5, 2.0, 4.0, 5.656854]), size=(64, 64))
    val = rng.choice(np.float32([2.0, 2.828427, 8.0]), size=(64, 64))
    where = rng.random((64, 64)) > 0.5
    ref = np.where(where, val, dst)
    _lines.take_where(dst, val, where)
    assert np.array_equal(dst, ref)
    idx = np.zeros((9, 9), np.int8)
    _lines.take_where(idx, np.int8(7), np.eye(9, dtype=bool))
    assert idx.trace() == 63 and idx.sum() == 63


@pytest.mark.parametrize(
    "f, shape, extra",
    [(2, (64, 64), 0), (4, (61, 70), 0), (16, (100, 33), 0), (2, (7, 5), 1), (8, (45, 130), 1),
     (32, (20, 300), 0), (4, (3, 2), 1)],
)  # fmt: skip
def test_phase_merge_equals_merge_of_upsampled_level(f, shape, extra):
    rng = np.random.default_rng(5)
    # blocks that fit (edges dropped); ``extra``: a level row and column beyond the image
    lv = (max(shape[0] // f, 1) + extra, max(shape[1] // f, 1) + extra)
    zs, zg = (
        rng.standard_normal(shape).astype(np.float32),
        rng.standard_normal(shape).astype(np.float32),
    )
    best, found = np.zeros(shape, np.int8), rng.random(shape) > 0.9
    level = (rng.standard_normal(lv).astype(np.float32), rng.standard_normal(lv).astype(np.float32),
             np.full(lv, 3, np.int8), rng.random(lv) > 0.8)  # fmt: skip
    up_s = flt.upsample_linear(level[0], shape, f)
    up_g = flt.upsample_linear(level[1], shape, f)
    ref = (np.maximum(zs, up_s), np.maximum(zg, up_g), np.where(up_s > zs, np.int8(3), best),
           found | _lines._repeat(level[3].view(np.uint8), f, shape).view(bool))  # fmt: skip
    _lines._merge_level(zs, zg, best, found, level, f)
    for got, want in zip((zs, zg, best, found), ref, strict=True):
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


def test_shifted_erosion_matches_scipy():
    m = np.random.default_rng(6).random((40, 53)) > 0.25
    assert np.array_equal(_detect._erode(m), ndi.binary_erosion(m))
    assert not _detect._erode(np.ones((2, 9), bool)).any()


def test_noise_estimate_on_a_grid_matches_full_smoothing():
    a = (np.random.default_rng(7).random((101, 67)) * 200).astype(np.float32)
    np.testing.assert_allclose(segment._gauss_on_grid(a, 1.0, 3), flt.gauss(a, 1.0)[::3, ::3],
                               rtol=0, atol=1e-4)  # fmt: skip
    # white noise of sigma 0.02 on a level of 0.8 reads as 2.5 % noise
    rng = np.random.default_rng(8)
    img = np.clip(rng.normal(0.8, 0.02, (512, 512)), 0, 1).astype(np.float32)
    frac = segment._noise_fraction(img, np.ones(img.shape, bool))
    assert 0.022 <= frac <= 0.028


def test_line_evidence_threads_do_not_change_the_result(synthetic_small):
    from concurrent.futures import ThreadPoolExecutor

    _, vm = synthetic_small["durectomy"]
    levels = [np.asarray(vm.vesselness, np.float32)]
    while min(levels[-1].shape) >= 16:
        levels.append(flt.downsample2(levels[-1]))
    valid = [np.ones(lv.shape, bool) for lv in levels]
    scales = flt.scales_for(12.0)
    serial = _lines.line_evidence(levels, valid, scales)
    with ThreadPoolExecutor(2) as pool:
        threaded = _lines.line_evidence(levels, valid, scales, pool=pool)
    for x, y in zip(serial, threaded, strict=True):
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y)
    assert serial[2].dtype == np.int8 and int(serial[2].max()) < len(scales)


def _reference_up_axis(a, n_out, f, axis):
    """The former phase loop: edge padding by np.pad, strided writes of each phase."""
    n = a.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (1, 1)
    ap = np.pad(a, pad, mode="edge")
    shape = list(a.shape)
    shape[axis] = max(n_out, n * f)
    out = np.empty(shape, np.float32)

    def sl(arr, start, stop, step=1):
        return arr[start:stop:step] if axis == 0 else arr[:, start:stop:step]

    for m in range(f):
        x = (m + 0.5) / f - 0.5
        lo = 0 if x < 0 else 1
        t = np.float32(x + 1 if x < 0 else x)
        dst = sl(out, m, n * f, f)
        np.multiply(sl(ap, lo, lo + n), np.float32(1) - t, out=dst)
        dst += sl(ap, lo + 1, lo + 1 + n) * t
    if n_out > n * f:
        if axis == 0:
            out[n * f :] = a[-1:]
        else:
            out[:, n * f :] = a[:, -1:]
    return out[:n_out] if axis == 0 else out[:, :n_out]


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (17, 33), (64, 40)])
@pytest.mark.parametrize("f", [2, 3, 8, 16])
@pytest.mark.parametrize("extra", [0, 1])
def test_compiled_upsampling_is_bit_identical(shape, f, extra):
    rng = np.random.default_rng(9)
    a = rng.standard_normal(shape).astype(np.float32)
    sizes = [max(1, n * f - f + 1) if extra else n * f + f + 3 for n in shape]
    for out_shape in ((shape[0] * f, shape[1] * f), tuple(sizes)):
        want = _reference_up_axis(_reference_up_axis(a, out_shape[1], f, 1), out_shape[0], f, 0)
        got = flt.upsample_linear(a, out_shape, f)
        assert got.shape == want.shape and np.array_equal(got.view(np.uint32), want.view(np.uint32))
        times = rng.random(out_shape).astype(np.float32)
        got = flt.upsample_linear(a, out_shape, f, times=times)
        assert np.array_equal(got.view(np.uint32), (want * times).view(np.uint32))


@pytest.mark.parametrize(
    "f, shape", [(2, (64, 64)), (4, (61, 70)), (16, (100, 33)), (2, (9, 3)), (32, (70, 200))]
)
def test_first_level_written_equals_merge_into_empty(f, shape):
    rng = np.random.default_rng(10)
    lv = (max(shape[0] // f, 1), max(shape[1] // f, 1))
    level = (rng.standard_normal(lv).astype(np.float32), rng.standard_normal(lv).astype(np.float32),
             rng.integers(0, 9, lv).astype(np.int8), rng.random(lv) > 0.8)  # fmt: skip
    merged = (np.full(shape, -np.inf, np.float32), np.full(shape, -np.inf, np.float32),
              np.zeros(shape, np.int8), np.zeros(shape, bool))  # fmt: skip
    _lines._merge_level(*merged, level, f)
    written = (np.empty(shape, np.float32), np.empty(shape, np.float32),
               np.empty(shape, np.int8), np.empty(shape, bool))  # fmt: skip
    _lines._merge_level(*written, level, f, first=True)
    for got, want in zip(written, merged, strict=True):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (1, 1), (37, 64)])
def test_nonzero2d_matches_numpy(shape):
    for a in (np.random.default_rng(11).random(shape) > 0.7,
              np.random.default_rng(12).integers(0, 3, shape).astype(np.int32)):  # fmt: skip
        want = np.nonzero(a)
        got = flt.nonzero2d(a)
        assert all(
            np.array_equal(g, w_) and g.dtype == w_.dtype for g, w_ in zip(got, want, strict=True)
        )


def _reference_seeded_components(seed, grow):
    """The former hysteresis: label ``grow`` (8-connected), keep the seeds' labels."""
    lab, n = ndi.label(grow, structure=np.ones((3, 3), bool))
    keep = np.zeros(n + 1, bool)
    keep[lab[seed]] = True
    keep[0] = False
    return keep[lab]


def test_run_hysteresis_matches_pixel_labelling():
    from insertion_planner.segmentation._runs import seeded_components

    rng = np.random.default_rng(13)
    for _ in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 30, 2))
        grow = rng.random(shape) < rng.random()
        seed = rng.random(shape) < 0.3 * rng.random()  # seeds outside grow too
        assert np.array_equal(
            seeded_components(seed, grow), _reference_seeded_components(seed, grow)
        )
    z = ndi.gaussian_filter(rng.standard_normal((300, 410)), 1.5)
    grow, seed = z > 0.25, z > 0.45
    assert np.array_equal(seeded_components(seed, grow), _reference_seeded_components(seed, grow))
    assert not seeded_components(np.ones((4, 4), bool), np.zeros((4, 4), bool)).any()


def test_compiled_hysteresis_matches_pixel_labelling():
    from insertion_planner.segmentation._raster import hysteresis

    rng = np.random.default_rng(13)
    for _ in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 30, 2))
        z = (rng.random(shape) * rng.choice([1.1, 2.0, 5.0])).astype(np.float32)
        if rng.random() < 0.2:
            z[rng.random(shape) < 0.1] = np.nan
        low = np.float32(rng.random())
        got = hysteresis(z, high=1.0, low=low)
        assert got.dtype == bool and got.shape == shape
        assert np.array_equal(got, _reference_seeded_components(z >= 1, z >= low))
    # a sparse noisy image: long thin vessels, noise clusters (the fine scales' masks)
    z = ndi.gaussian_filter(rng.standard_normal((300, 410)), 1.5).astype(np.float32)
    want = _reference_seeded_components(z > 0.45, z > 0.25)
    got = hysteresis(
        z, high=np.nextafter(np.float32(0.45), 1), low=np.nextafter(np.float32(0.25), 1)
    )
    assert np.array_equal(got, want) and 1000 < got.sum() < want.size // 2
    # one component of 90,000 pixels, tens of thousands of them on the stack at once
    snake = np.zeros((600, 600), np.float32)
    snake[:, ::2] = 0.6
    snake[::4, 1::2] = 0.6
    snake[0, 0] = 2.0
    assert int(hysteresis(snake, high=1.0, low=0.5).sum()) == int((snake >= 0.5).sum())
    assert not hysteresis(np.zeros((4, 4), np.float32), high=1.0, low=0.5).any()


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (1, 9), (33, 70), (32, 2048)])
@pytest.mark.parametrize("sigma", [0.3, 0.7, 1.0, 1.41, 2.0, 4.0])
def test_compiled_row_correlation_matches_scipy(shape, sigma):
    from insertion_planner.segmentation._smoothing import correlate_rows

    rng = np.random.default_rng(19)
    for scale in (1e-3, 1.0, 300.0):
        a = (rng.standard_normal(shape) * scale).astype(np.float32)
        k = flt._kernel(sigma)
        want = ndi.correlate1d(a, k, axis=1, mode="nearest")
        got = correlate_rows(a, k)
        assert got.dtype == np.float32 and np.array_equal(got, want)
        # into a strided view, as the Hessian strips are written
        buf = np.zeros((shape[0] + 2, shape[1] + 2), np.float32)
        correlate_rows(a, k, buf[1:-1, 1:-1])
        assert np.array_equal(buf[1:-1, 1:-1], want) and not buf[0].any()
    with pytest.raises(ValueError, match="symmetric"):
        correlate_rows(a, np.array([1, 2], np.float32))


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 7), (64, 2048), (33, 10)])
def test_compiled_block_means_are_numpy_block_means(shape):
    rng = np.random.default_rng(23)
    a = (rng.standard_normal(shape) * 100).astype(np.float32)
    for x in (a, a[:, ::2]):  # contiguous and strided
        h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
        want = x[0:h:2, 0:w:2] + x[1:h:2, 0:w:2]
        want += x[0:h:2, 1:w:2]
        want += x[1:h:2, 1:w:2]
        want *= np.float32(0.25)
        got = flt.downsample2(x)
        assert got.shape == want.shape and np.array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("shape", [(1, 5), (9, 9), (70, 45), (64, 2048)])
@pytest.mark.parametrize("step", [1, 2, 4, 7])
def test_compiled_gauss_on_every_step_rows_is_the_full_gauss(shape, step):
    from insertion_planner.segmentation._smoothing import gauss_every

    a = np.random.default_rng(29).standard_normal(shape).astype(np.float32)
    for sigma in (0.7, 1.0, 2.5):
        want = flt.gauss(a, sigma)[::step]
        got = gauss_every(a, flt._kernel(sigma), step)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("red", [False, True])
@pytest.mark.parametrize("want_low", [False, True])
def test_compiled_relative_darkness_is_the_numpy_arithmetic(red, want_low):
    from insertion_planner.segmentation._raster import relative_darkness

    rng = np.random.default_rng(31)
    q = (rng.random((37, 53)) * 1.6).astype(np.float32)
    qr = (rng.random((37, 53)) * 1.6).astype(np.float32) if red else None
    noise = float(np.float32(1.0 + 3.1 * 0.02))
    glint_want = (q > np.float32(1.15)) & (q > np.float32(noise))
    low_want = ((qr if qr is not None else q) < np.float32(0.3)) if want_low else None
    dark_want = np.subtract(np.float32(1.0), q)
    if qr is not None:
        r = qr - np.float32(1.0)
        r *= np.float32(0.5)
        dark_want += r
    glint, low = relative_darkness(
        q, qr, red_weight=0.5, glint_level=1.15, noise_level=noise, want_low=want_low
    )
    assert np.array_equal(q.view(np.uint32), dark_want.view(np.uint32))
    assert np.array_equal(glint, glint_want) and 0 < glint.sum() < glint.size
    assert (low is None) if not want_low else np.array_equal(low, low_want)


def test_compiled_bilinear_sampling_matches_scipy():
    from insertion_planner.segmentation._resample import bilinear_at

    rng = np.random.default_rng(37)
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 25, 2))
        img = (rng.standard_normal((h, w)) * rng.choice([1e-4, 1.0, 1e4])).astype(np.float32)
        reach = rng.choice([0.5, 1.0, 3.0])  # also beyond the edges, where mode nearest acts
        rr = rng.random(300) * (h - 1 + 2 * reach) - reach
        cc = rng.random(300) * (w - 1 + 2 * reach) - reach
        if rng.random() < 0.5:  # whole and half pixels: the edges of the interpolation
            rr, cc = np.round(rr * 2) / 2, np.round(cc * 4) / 4
        rr, cc = rr.astype(np.float32), cc.astype(np.float32)
        want = ndi.map_coordinates(img, [rr, cc], order=1, mode="nearest")
        got = bilinear_at(img, rr, cc)
        assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), want.view(np.uint32))


def _reference_cdt_radius(mask, values):
    """The former radius lookups: scipy's chamfer distances, and the values at the
    nearest seed from its indices."""
    _, (ri, ci) = ndi.distance_transform_cdt(~mask, metric="chessboard", return_indices=True)
    return values[ri, ci]


def test_compiled_chamfer_matches_scipy():
    from insertion_planner.segmentation._raster import chamfer_distance, nearest_value

    rng = np.random.default_rng(17)
    for _ in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 40, 2))
        mask = rng.random(shape) < rng.choice([0.02, 0.3, 0.9, 1.0])
        for metric in ("chessboard", "taxicab"):
            got = chamfer_distance(mask, metric=metric)
            want = ndi.distance_transform_cdt(mask, metric=metric)
            assert got.dtype == np.int32 and np.array_equal(got, want)
        seeds = rng.random(shape) < rng.choice([0.0, 0.01, 0.1, 0.5])
        values = rng.random(shape).astype(np.float32)
        got = nearest_value(seeds, values)
        assert got.dtype == np.float32 and np.array_equal(got, _reference_cdt_radius(seeds, values))
    # a vessel tree's skeleton on a wide image: ties everywhere in the chessboard metric
    z = ndi.gaussian_filter(rng.standard_normal((200, 300)), 3.0)
    seeds = np.abs(z) < 0.005
    values = rng.random(z.shape).astype(np.float32)
    assert np.array_equal(nearest_value(seeds, values), _reference_cdt_radius(seeds, values))
    with pytest.raises(ValueError, match="metric"):
        chamfer_distance(seeds, metric="euclidean")


@pytest.mark.parametrize("shape", [(1, 9), (4, 4), (5, 5), (37, 6), (70, 45), (100, 33), (65, 130)])
def test_strip_max5_matches_scipy(shape):
    a = np.random.default_rng(14).random(shape).astype(np.float32)
    want = ndi.maximum_filter(a, size=5, mode="nearest")
    assert np.array_equal(flt.max5(a), want)
    assert np.array_equal(_morph._max5_slices(a), want)


@pytest.mark.parametrize("shape", [(100, 77), (3, 40), (65, 3), (257, 64), (2, 2)])
@pytest.mark.parametrize("sigma", [0.7, 1.41, 5.0])
def test_hessian_measure_hands_back_the_smoothed_image(shape, sigma):
    a = np.random.default_rng(15).random(shape).astype(np.float32)
    sm = np.empty_like(a)
    got = flt.hessian_measure(a, sigma, kind="disc", smoothed=sm)
    assert np.array_equal(sm, flt.gauss(a, sigma))
    assert np.array_equal(got, flt.hessian_measure(a, sigma, kind="disc"))
    ev = _lines.disc_evidence(a, np.ones(shape, bool), smoothed_out=(sm2 := np.empty_like(a)))
    assert np.array_equal(sm2, flt.gauss(a, 0.7))
    assert np.array_equal(ev, _lines.disc_evidence(a, np.ones(shape, bool), smoothed=sm2))


def test_centreline_edges_from_skeleton_pixels_match_whole_image_comparison():
    from skimage.morphology import skeletonize

    from insertion_planner.segmentation import _graph

    rng = np.random.default_rng(16)
    for _ in range(20):
        shape = tuple(int(v) for v in rng.integers(8, 90, 2))
        skel = skeletonize(ndi.gaussian_filter(rng.standard_normal(shape), 2) > 0.1)
        g = _graph.centreline_graph(skel, np.ones(shape, np.float32), pixel_size_um=1.0, step_px=4)
        # the former edges: 8-neighbour pixel pairs of a node image in different pieces
        node_img = np.full(shape, -1, np.int64)
        rows, cols = np.nonzero(skel)
        h, w = shape
        nbx = (w + 3) // 4
        comp, _ = ndi.label(skel, structure=np.ones((3, 3), bool))
        key = (
            comp[rows, cols].astype(np.int64) * ((h // 4 + 1) * nbx) + (rows // 4) * nbx + cols // 4
        )
        node_img[rows, cols] = np.unique(key, return_inverse=True)[1]
        want = set()
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = node_img[: h - dr, max(0, -dc) : w - max(0, dc)]
            b = node_img[dr:, max(0, dc) : w + min(0, dc)]
            sel = (a >= 0) & (b >= 0) & (a != b)
            want |= {(min(x, y), max(x, y)) for x, y in zip(a[sel], b[sel], strict=True)}
        assert {(min(u, v), max(u, v)) for u, v in g.edges} == want


@pytest.mark.parametrize("diagonal", [False, True])
def test_small_components_match_pixel_labelling(diagonal):
    from insertion_planner.segmentation._runs import small_components

    rng = np.random.default_rng(17)
    structure = np.ones((3, 3), bool) if diagonal else None
    for _ in range(200):
        shape = tuple(int(v) for v in rng.integers(1, 40, 2))
        m = rng.random(shape) < rng.random()
        max_area = float(rng.integers(1, 30))
        lab, n = ndi.label(m, structure=structure)
        area = np.bincount(lab.ravel(), minlength=n + 1)
        objects = ndi.find_objects(lab)
        got_lab, got_n, boxes = small_components(m, max_area=max_area, diagonal=diagonal)
        small = [i for i in range(1, n + 1) if area[i] <= max_area]
        assert got_n == n and len(boxes) == len(small)
        for (j, sl), i in zip(boxes, small, strict=True):  # same order: raster order
            assert sl == objects[i - 1]
            assert np.array_equal(got_lab == j, lab == i)
        assert not got_lab[~np.isin(lab, small)].any()


def _reference_fill_small_holes(mask, max_area, f, dark=None):
    """The hole filling on all background components labelled, find_objects."""
    pooled = np.asarray(flt.downmax2(mask) if f == 2 else mask, dtype=bool)
    lab, n = ndi.label(np.logical_not(pooled))
    if n <= 1:
        return mask
    area = np.bincount(lab.ravel(), minlength=n + 1) * (f * f)
    small = area <= max_area
    small[0] = False
    objects = ndi.find_objects(lab)
    d1 = None if dark is None else (flt.downmax2(dark) if f == 2 else dark)
    h, w = lab.shape
    out = mask.copy()
    for i in np.flatnonzero(small):
        sl = objects[i - 1]
        r0, r1 = max(sl[0].start - 2, 0), min(sl[0].stop + 2, h)
        c0, c1 = max(sl[1].start - 2, 0), min(sl[1].stop + 2, w)
        hole = lab[r0:r1, c0:c1] == i
        if d1 is not None:
            ring = ndi.binary_dilation(hole, iterations=2) & pooled[r0:r1, c0:c1]
            win = d1[r0:r1, c0:c1]
            if ring.any() and win[hole].mean() < 0.5 * np.percentile(win[ring], 90):
                continue
        if f == 1:
            out[r0:r1, c0:c1] |= hole
        else:
            hr, hc = np.nonzero(hole)
            r, c = segment._expand(hr + r0, hc + c0, f, mask.shape)
            out[r, c] = True
    return out


def test_hole_filling_from_runs_matches_pixel_labelling():
    rng = np.random.default_rng(18)
    for _ in range(150):
        shape = tuple(int(v) for v in rng.integers(2, 50, 2))
        field = ndi.gaussian_filter(rng.standard_normal(shape), rng.uniform(0.5, 2))
        m = field > rng.uniform(-0.5, 0.3)
        dark = rng.random(shape).astype(np.float32)
        for f in (1, 2):
            for d in (None, dark):
                max_area = int(rng.integers(1, 40))
                want = _reference_fill_small_holes(m, max_area, f, d)
                assert np.array_equal(segment._fill_small_holes(m, max_area, f, d), want)


@pytest.mark.parametrize("diagonal", [False, True])
def test_run_labelling_is_pixel_labelling(diagonal):
    from insertion_planner.segmentation._runs import label

    rng = np.random.default_rng(19)
    structure = np.ones((3, 3), bool) if diagonal else None
    for _ in range(200):
        shape = tuple(int(v) for v in rng.integers(1, 40, 2))
        m = rng.random(shape) < rng.random()
        want, n = ndi.label(m, structure=structure)
        got, got_n = label(m, diagonal=diagonal)
        assert got_n == n and np.array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("percentile", [0.0, 35.0, 50.0, 75.0, 100.0, np.float64(75.0), 50])
def test_group_percentiles_are_numpy_percentiles(dtype, percentile):
    rng = np.random.default_rng(20)
    key = rng.integers(0, 25, 900)
    vals = (rng.standard_normal(900) * 3).astype(dtype)
    vals[::7] = np.round(vals[::7], 1)  # ties
    keys, got = flt.group_percentiles(key, vals, percentile, min_count=8)
    want_keys = [k for k in np.unique(key) if (key == k).sum() >= 8]
    assert keys.tolist() == want_keys
    for k, g in zip(keys, got, strict=True):
        w_ = np.percentile(vals[key == k], percentile)
        assert g == w_ and g.dtype == np.asarray(w_).dtype


def test_line_profiles_are_computed_once_and_read_only():
    d = np.arange(0.5, 8.0, 0.25)
    a = _detect._line_profiles(d, 1.5, 0.5, 128)
    assert _detect._line_profiles(d.copy(), 1.5, 0.5, 128) is a
    assert not a.flags.writeable and a.dtype == np.float32 and a.shape == (d.size, 128)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 5), (70, 45), (129, 257)])
def test_strip_kept_block_mean_matches_whole_image(shape):
    rng = np.random.default_rng(21)
    peak = np.where(rng.random(shape) > 0.5, rng.random(shape), 0).astype(np.float32)
    level = rng.integers(0, 4, shape).astype(np.int8)
    for min_level in (1, 2):
        keep = ((level >= min_level) & (peak > 0)).astype(np.float32)
        num, den = flt.downsample2(peak * keep), flt.downsample2(keep)
        want = np.where(den > 0, num / np.maximum(den, np.float32(1e-6)), np.float32(0))
        assert np.array_equal(flt.kept_block_mean(peak, level, min_level), want)


def _reference_gauss_on_grid(a, sigma, step):
    """The former grid smoothing: gathers of the clipped shifted rows and columns."""
    k = flt._kernel(sigma)
    rad = k.size // 2
    h, w = a.shape
    rows, cols = np.arange(0, h, step), np.arange(0, w, step)
    by_row = a[rows] * k[rad]
    for i in range(1, rad + 1):
        by_row += (a[np.maximum(rows - i, 0)] + a[np.minimum(rows + i, h - 1)]) * k[rad + i]
    out = by_row[:, cols] * k[rad]
    for i in range(1, rad + 1):
        left, right = np.maximum(cols - i, 0), np.minimum(cols + i, w - 1)
        out += (by_row[:, left] + by_row[:, right]) * k[rad + i]
    return out


@pytest.mark.parametrize("shape", [(1, 1), (2, 13), (9, 2), (101, 67)])
@pytest.mark.parametrize("step", [1, 3, 4])
def test_grid_smoothing_from_strided_views_is_bit_identical(shape, step):
    a = (np.random.default_rng(22).random(shape) * 200).astype(np.float32)
    for sigma in (0.7, 1.0, 2.0):
        want = _reference_gauss_on_grid(a, sigma, step)
        assert np.array_equal(segment._gauss_on_grid(a, sigma, step), want)


def test_darkness_first_level_is_the_block_means_of_the_filled_darkness():
    from concurrent.futures import ThreadPoolExecutor

    from insertion_planner.segmentation._darkness import darkness

    rng = np.random.default_rng(23)
    red = np.clip(rng.normal(200, 4, (130, 97)), 0, 255).astype(np.float32)
    green = np.clip(rng.normal(140, 4, (130, 97)), 0, 255).astype(np.float32)
    green[:, 40:45] = 70  # a vessel
    for r, c in ((20, 20), (70, 60), (100, 10)):  # white glints
        green[r : r + 3, c : c + 4] = 252
        red[r : r + 3, c : c + 4] = 252
    with ThreadPoolExecutor(2) as pool:
        dark, level1, _, _ = darkness(green, red, size_px=30.0, scale=1 / 255, pool=pool)
    assert np.array_equal(level1, flt.downsample2(dark))


def test_cross_dilation_matches_scipy():
    rng = np.random.default_rng(24)
    for _ in range(200):
        shape = tuple(int(v) for v in rng.integers(1, 25, 2))
        m = rng.random(shape) < 0.1 * rng.random()
        for it in (1, 2, 3):
            assert np.array_equal(flt.dilate_cross(m, it), ndi.binary_dilation(m, iterations=it))


def _reference_fwhm_table(absorption_length_px):
    """The width table as first written: every blur and diameter at once."""
    import math

    from scipy.special import erf

    from insertion_planner.segmentation._width import _DIAMETERS, _SIGMAS

    l_abs = max(float(absorption_length_px), 1e-6)
    s = _SIGMAS[:, None, None]
    r = np.maximum(_DIAMETERS / 2.0, 1e-4)[None, :, None]
    u = (np.arange(41) + 0.5) / 41 * 2.0 - 1.0
    chord = 2.0 * r * np.sqrt(np.maximum(1.0 - u**2, 0.0))[None, None, :]
    weight = np.where(_DIAMETERS[None, :, None] > 0, -np.expm1(-chord / l_abs), 1.0)
    lo_edge = r * (u - 1.0 / 41)[None, None, :]
    hi_edge = r * (u + 1.0 / 41)[None, None, :]
    b = s * math.sqrt(2.0)

    def profile(x):
        xx = x[..., None]
        return (0.5 * (erf((xx - lo_edge) / b) - erf((xx - hi_edge) / b)) * weight).sum(axis=-1)

    half = 0.5 * profile(np.zeros((_SIGMAS.size, _DIAMETERS.size)))
    lo = np.zeros_like(half)
    hi = (r[..., 0] + 5.0 * s[..., 0]) * np.ones_like(half)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = profile(mid) >= half
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return lo + hi


def test_width_table_rows_on_demand_are_the_whole_table(monkeypatch):
    from insertion_planner.segmentation import _width

    monkeypatch.setattr(_width, "_ROWS", {})
    table = _reference_fwhm_table(8.333)
    sig, full = _width.fwhm_table(8.333)
    assert np.array_equal(sig, _width._SIGMAS) and np.array_equal(full, table)
    for kk in range(0, table.shape[0], 3):
        acc = np.maximum.accumulate(table[kk])
        for above in (0.5, 6.0, 7.9, 50.0):
            _width._ROWS.clear()
            row = _width._row_prefix(8.333, kk, above)
            assert np.array_equal(row, acc[: row.size])
            assert row[-1] > above or row.size == acc.size
    # the widths of thin vessels at every blur: the diameters read on the rows' leading
    # entries are those read on the whole table
    rng = np.random.default_rng(3)
    fwhm = np.concatenate([rng.uniform(0.0, 8.0, 4000), table[::5, ::7].ravel()])
    sigma = np.concatenate([rng.uniform(0.2, 9.0, 4000), np.repeat(_width._SIGMAS[::5], 35)])
    for cold in (True, False):
        if cold:
            _width._ROWS.clear()
        got = _width._diameter_for(fwhm, sigma, 8.333)
        # on the whole table: the two rows around each blur, linear in the blur between
        s_ = _width._SIGMAS
        hi = np.searchsorted(s_, sigma - 1e-9).clip(1, s_.size - 1)
        w = ((sigma - s_[hi - 1]) / (s_[hi] - s_[hi - 1])).clip(0.0, 1.0)

        def read(f: float, kk: int) -> float:
            return float(np.interp(f, np.maximum.accumulate(table[kk]), _width._DIAMETERS))

        want = np.array(
            [
                (1 - ww) * read(f, kk - 1) + ww * read(f, kk)
                for f, kk, ww in zip(fwhm, hi, w, strict=True)
            ]
        )
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        # at a tabulated blur, that row alone
        at = np.isin(sigma, s_)
        assert at.sum() > 100
        k = np.searchsorted(s_, sigma[at])
        assert np.array_equal(
            got[at], np.array([read(f, kk) for f, kk in zip(fwhm[at], k, strict=True)])
        )


@pytest.mark.parametrize("shape", [(70, 45), (100, 131), (33, 200), (9, 9), (1, 7)])
@pytest.mark.parametrize("sigma", [0.04, 0.7, 2.0, 3.3, 4.0, 5.0])
def test_gauss_at_is_gauss_at_the_points(shape, sigma):
    from insertion_planner.segmentation import _width

    rng = np.random.default_rng(5)
    a = rng.random(shape).astype(np.float32)
    r = rng.integers(0, shape[0], 40)
    c = rng.integers(0, shape[1], 40)
    r[:4], c[:4] = [0, shape[0] - 1, 0, shape[0] - 1], [0, 0, shape[1] - 1, shape[1] - 1]
    full = flt.gauss(a, sigma)
    got = _width.gauss_at(a, sigma, [(r, c), (r[5:9], c[5:9])])
    assert got[0].dtype == np.float32
    assert np.array_equal(got[0], full[r, c]) and np.array_equal(got[1], full[r[5:9], c[5:9]])


@pytest.mark.parametrize("percentile", [10.0, 50.0, 90.0])
def test_blur_map_from_shared_estimates_is_the_same_map(percentile):
    yy, xx = np.mgrid[0:160, 0:200].astype(np.float32)
    truth = (np.abs(xx - 60 - 0.2 * yy) < 7) | (np.abs(yy - 110) < 5) | (np.abs(xx - 150) < 2)
    dark = ndi.gaussian_filter(truth.astype(np.float32), 1.3)
    dark += np.random.default_rng(8).normal(0, 0.01, dark.shape).astype(np.float32)
    dark_s = flt.gauss(dark, 0.7)
    mask = dark_s > 0.5
    radius = np.where(mask, np.where(np.abs(xx - 150) < 4, 1.5, 6.0), 0).astype(np.float32)
    est = _blur.blur_estimates(dark_s, mask, radius)
    assert est[1].size >= 30
    want = _blur.blur_map_px(dark_s, mask, radius, percentile=percentile)
    got = _blur.blur_map_px(dark_s, mask, radius, percentile=percentile, estimates=est)
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)


def _reference_profile_widths(prof, t, start, climb_steps, reach, step, flat, max_fwhm):
    """The whole-array numpy arithmetic ``_width.deblurred_lumen`` read its profiles with."""
    m, n_t = prof.shape
    idx = np.full(m, start)
    ar = np.arange(m)
    for _ in range(climb_steps):  # every row at once; a stopped row stays
        left = prof[ar, np.maximum(idx - 1, 0)]
        right = prof[ar, np.minimum(idx + 1, n_t - 1)]
        here = prof[ar, idx]
        st = np.where((right > here) & (right >= left), 1, np.where(left > here, -1, 0))
        if not st.any():
            break
        idx = idx + st
    pos = np.arange(n_t)[None, :]
    peak = prof[ar, idx]
    near = np.abs(pos - idx[:, None]) <= reach
    base_l = np.where(near & (pos <= idx[:, None]), prof, np.inf).min(axis=1)
    base_r = np.where(near & (pos >= idx[:, None]), prof, np.inf).min(axis=1)
    half_l = 0.5 * (peak + np.maximum(base_l, 0.0))
    half_r = 0.5 * (peak + np.maximum(base_r, 0.0))
    left_i = np.where((prof < half_l[:, None]) & (pos < idx[:, None]), pos, -1).max(axis=1)
    right_i = np.where((prof < half_r[:, None]) & (pos > idx[:, None]), pos, n_t).min(axis=1)
    ok = (left_i >= 0) & (right_i < n_t) & (peak > 0)
    low = np.minimum(base_l, base_r)
    ok &= low < flat * peak
    ok &= np.maximum(base_l, base_r) <= 0.5 * (peak + low)
    li = np.clip(left_i, 0, n_t - 2)
    ri = np.clip(right_i, 1, n_t - 1)
    a0, a1 = prof[ar, li], prof[ar, li + 1]
    xa = t[li] + step * (half_l - a0) / np.maximum(a1 - a0, 1e-12)
    b0, b1 = prof[ar, ri - 1], prof[ar, ri]
    xb = t[ri - 1] + step * (b0 - half_r) / np.maximum(b0 - b1, 1e-12)
    fw = xb - xa
    ok &= fw <= max_fwhm
    return np.where(ok, fw, np.nan).astype(np.float64), (0.5 * (xa + xb)).astype(np.float64)


def test_compiled_profile_widths_are_the_numpy_arithmetic():
    from insertion_planner.segmentation._resample import profile_widths

    rng = np.random.default_rng(11)
    t = np.arange(-7.0, 7.0 + 1e-9, 0.5, dtype=np.float32)
    centre = rng.uniform(-4, 4, (4000, 1))
    width = rng.uniform(0.5, 4, (4000, 1))
    lines = np.exp(-0.5 * (t - centre) ** 2 / width**2) * rng.uniform(-0.1, 1, (4000, 1))
    lines += 0.3 * np.exp(-0.5 * (t - centre - 5) ** 2 / 9) * rng.random((4000, 1))
    lines += rng.normal(0, 0.05, lines.shape) + rng.uniform(-0.2, 0.4, (4000, 1))
    noise = ndi.gaussian_filter1d(rng.random((3000, t.size)), 1.5, axis=1)
    prof = np.concatenate([lines, noise]).astype(np.float32)
    prof[-200:] = np.round(prof[-200:], 1)  # plateaus and ties
    prof[-300:-200] = 1.0
    for steps, reach, max_fwhm in ((12, 10, 8.0), (0, 10, 8.0), (3, 4, 3.0), (40, 10, 20.0)):
        fw, mid = profile_widths(
            prof, t, start=14, climb_steps=steps, reach=reach, step_px=0.5,
            flat_fraction=0.8, max_fwhm_px=max_fwhm,
        )  # fmt: skip
        want_fw, want_mid = _reference_profile_widths(prof, t, 14, steps, reach, 0.5, 0.8, max_fwhm)
        assert np.array_equal(fw, want_fw, equal_nan=True)
        assert np.array_equal(mid, want_mid)
        assert 0.2 < np.isfinite(fw).mean() < 0.9  # both kinds of row are exercised
    with pytest.raises(ValueError, match="prof must be"):
        profile_widths(prof[:, :-1], t, start=14, climb_steps=1, reach=1, step_px=0.5,
                       flat_fraction=0.8, max_fwhm_px=8.0)  # fmt: skip


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (33, 70), (64, 256)])
@pytest.mark.parametrize("f", [1, 2, 3, 8])
def test_compiled_block_stats_are_the_numpy_block_statistics(shape, f):
    from insertion_planner.segmentation._resample import block_stats

    rng = np.random.default_rng(5)
    dark = rng.standard_normal(shape).astype(np.float32)
    mask = rng.random(shape) < 0.3
    searchable = rng.random(shape) < 0.97
    got = block_stats(dark, mask, searchable, f)
    hb, wb = -(-shape[0] // f), -(-shape[1] // f)
    assert got.shape == (5, hb, wb)
    for br in range(hb):
        for bc in range(wb):
            sl = np.s_[br * f : br * f + f, bc * f : bc * f + f]
            d, m = dark[sl].astype(np.float64), mask[sl]
            whole = d.size == f * f and searchable[sl].all()
            want = [d.mean(), m.sum(), d[m].mean() if m.any() else 0.0, d.max(), float(whole)]
            assert np.allclose(got[:, br, bc], want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one 2-D shape"):
        block_stats(dark, mask[:, :-1], searchable, f)
