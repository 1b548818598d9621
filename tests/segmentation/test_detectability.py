"""The detectability model through the dura: the fainter of two layers, the contrast
judged vessel by vessel, and the detector's completeness measured by injection."""

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.segmentation import _blur as bl
from insertion_planner.segmentation import _detect as dt
from insertion_planner.segmentation import _inject as inj
from insertion_planner.segmentation._lines import ScaleCalibration, line_evidence


def test_two_gaussians_recovers_a_mixture():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(-1.0, 0.2, 3000), rng.normal(1.0, 0.4, 1000)])
    w, m, s = dt.two_gaussians(x)
    assert np.allclose(w, [0.75, 0.25], atol=0.02)
    assert np.allclose(m, [-1.0, 1.0], atol=0.05)
    assert np.allclose(s, [0.2, 0.4], atol=0.03)


@pytest.mark.parametrize(("gap", "two"), [(0.3, False), (0.45, False), (1.5, True), (3.0, True)])
def test_fainter_layer_only_where_two_are_separated(gap, two):
    """Ashman's D = sqrt(2) * gap / sqrt(0.3^2 + 0.3^2) = gap / 0.3: a layer is split off
    only past D = 2 (a gap of 0.6 in log contrast)."""
    rng = np.random.default_rng(4)
    u = np.exp(np.concatenate([rng.normal(0.0, 0.3, 2000), rng.normal(gap, 0.3, 2000)]))
    faint = dt.fainter_layer(u)
    assert (not faint.all()) is two
    if two:
        # mostly the fainter half, hardly any of the darker one
        assert faint[:2000].mean() > 0.9 and faint[2000:].mean() < 0.15


def test_judged_unit_depth_counts_vessels_not_pixels():
    # one long dark vessel (900 px) and three short faint ones (30 px each)
    depth = np.concatenate([np.full(900, 0.8), np.full(90, 0.2)])
    diam = np.full(depth.size, 3.0)
    blur = np.full(depth.size, 1.0)
    vessel = np.concatenate([np.zeros(900, np.intp), np.repeat([1, 2, 3], 30)])
    by_pixel = dt.judged_unit_depth(depth, diam, blur, absorption_length_px=8.0, percentile=25.0)
    by_vessel = dt.judged_unit_depth(
        depth, diam, blur, absorption_length_px=8.0, percentile=25.0, vessel=vessel
    )
    assert by_vessel < 0.5 * by_pixel


def test_transdural_samples_keep_the_veiled_layer():
    """Sharp dark vessels over faint ones: the faint layer is judged, and a layer is
    reported; a single population is kept whole."""
    shape = (64, 64)
    rng = np.random.default_rng(5)
    index = np.concatenate([np.ravel_multi_index((np.full(40, r), np.arange(10, 50)), shape)
                            for r in (8, 20, 32, 44)])  # fmt: skip
    depth = np.concatenate([rng.normal(0.4, 0.02, 80), rng.normal(0.08, 0.005, 80)])
    diam = np.full(index.size, 3.0)
    blur = np.full(shape, 1.0, np.float32)
    keep, vessel, two = dt.transdural_samples(depth, diam, index, blur, absorption_length_px=8.0)
    assert two and keep[80:].all() and not keep[:80].any()
    assert np.unique(vessel).size == 4
    keep1, _, two1 = dt.transdural_samples(
        depth[80:], diam[80:], index[80:], blur, absorption_length_px=8.0
    )
    assert not two1 and keep1.all()


def _noise_case(sigma=0.02, size=256, seed=0):
    rng = np.random.default_rng(seed)
    dark = rng.normal(0.0, sigma, (size, size)).astype(np.float32)
    valid = np.ones(dark.shape, bool)
    levels, valids = [dark], [valid]
    while len(levels) < 3:
        levels.append((levels[-1][0::2, 0::2] + levels[-1][1::2, 0::2]
                       + levels[-1][0::2, 1::2] + levels[-1][1::2, 1::2]) / 4)  # fmt: skip
        valids.append(np.ones(levels[-1].shape, bool))
    cal: list[ScaleCalibration] = line_evidence(levels, valids, [1.0, 1.41, 2.0])[3]
    return dark, valid, cal


@pytest.mark.parametrize(
    ("unit_depth", "lo_um", "hi_um"),
    [(0.35, 24.0, 24.0), (0.25, 30.0, 30.0), (0.15, 36.0, 48.0), (0.1, np.inf, np.inf)],
)
def test_injection_finds_what_the_detector_finds(unit_depth, lo_um, hi_um):
    """White noise of sigma 0.02, blur 1 px, 12 um/px: the smallest injected diameter
    found along 95 % of its length grows as the contrast falls (at 0.25 a 30 um lumen is
    0.25 * (1 - exp(-2.5 / 8.33)) = 0.065 dark, 3.3 sigma of the pixel noise; at 0.1
    not even 48 um is followed)."""
    dark, valid, cal = _noise_case()
    blocks, b = inj.injected_detectable_px(
        dark, valid, np.zeros(dark.shape, bool), calibration=cal,
        blur_px=np.full(dark.shape, 1.0, np.float32), unit_depth=unit_depth,
        absorption_length_px=100 / 12, max_depth=1.0, pixel_size_um=12.0,
    )  # fmt: skip
    assert b == 128 and blocks.shape == (2, 2)
    um = blocks * 12.0
    assert (um >= lo_um).all() and (um <= hi_um).all()


def test_injection_does_not_count_over_the_vessels_found():
    dark, valid, cal = _noise_case()
    mask = np.zeros(dark.shape, bool)
    mask[:, :140] = True  # vessels found over the left blocks: nothing there to count
    blocks, _ = inj.injected_detectable_px(
        dark, valid, mask, calibration=cal, blur_px=np.full(dark.shape, 1.0, np.float32),
        unit_depth=2.0, absorption_length_px=100 / 12, max_depth=1.0, pixel_size_um=12.0,
    )  # fmt: skip
    assert np.isnan(blocks[:, 0]).all() and np.isfinite(blocks[:, 1]).all()


def test_with_injected_never_below_a_missed_diameter():
    model = np.full((256, 256), 33.0, np.float32)
    blocks = np.array([[2.0, 3.0], [np.inf, np.nan]], np.float32)
    out = inj.with_injected(model, blocks, 128, pixel_size_um=12.0)
    assert out[0, 0] == 24.0 and out[0, 200] == 36.0
    assert out[200, 0] > max(inj.INJECT_DIAMETERS_UM)  # even 48 um was missed there
    assert out[200, 200] == 33.0  # not counted: the model


@pytest.fixture(scope="module")
def transdural_maps():
    out = {}
    for name, imaging in [
        ("default", ip.Imaging()),
        ("heavy veil", ip.Imaging(veil_transmission=0.3, veil_blur_px=3.0)),
    ]:
        case = ip.synthetic_cortex(
            0, shape=(512, 512), dura_mode="transdural", imaging=imaging, thin_vessels=True
        )
        vm = ip.segment_vessels(case.image, pixel_size_um=12.0, dura_mode="transdural")
        out[name] = (case, vm, ip.build_avoidance_map(vm, dura_mode="transdural"))
    return out


def test_transdural_default_veil_shows_the_hazard_diameter(transdural_maps):
    """Through a moderate veil (transmission 0.65) the injected 30 um vessels are found:
    part of the cortex may be planned on, none of it on a true vessel >= 30 um."""
    case, vm, am = transdural_maps["default"]
    det = vm.detectable_diameter_um
    assert np.mean(det <= 30.0) > 0.5
    hazard = case.truth.mask & (2 * case.truth.radius_um >= 30.0)
    assert am.allowed.mean() > 0.05 and not (hazard & am.allowed).any()


def test_heavy_veil_stays_forbidden(transdural_maps):
    """Through a heavy veil (transmission 0.3, blur 3 px) a 30 um pial vessel is not
    found along its length: nowhere is it taken as seen."""
    _, vm, am = transdural_maps["heavy veil"]
    assert (vm.detectable_diameter_um > 30.0).all()
    assert not am.allowed.any()


# --- contrast lost after capture (``_detect.kept_contrast``) ----------------------------------


def test_kept_contrast_follows_the_noise_a_block_lacks():
    """At the median brightness a block with a fifth of the image's fine-scale spread
    kept a fifth of the contrast; as calm but four times brighter (a stronger light, a
    glare) it kept all; a noisier block, or one just above NOISE_KEPT, keeps all."""
    from insertion_planner.segmentation._attenuation import NOISE_KEPT, kept_contrast

    ratio = np.array([[1.0, 0.2, 0.2, 2.0, 0.2, NOISE_KEPT + 0.01]], np.float32)
    level = np.array([[100.0, 100.0, 400.0, 100.0, 25.0, 100.0]])
    kept = kept_contrast(ratio, level)
    assert kept[0, 1] == pytest.approx(0.2)
    assert kept[0, [0, 2, 3, 5]].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert kept[0, 4] == pytest.approx(0.2)  # darker: no more noise asked of it than 1


def _patched(seed, kind):
    """A 512 px random-camera cortex with a disc (radius 90 px) altered after capture:
    blurred (sigma 8 px, its noise with it) or blended 85 % toward the median colour."""
    from scipy import ndimage as ndi

    case = ip.synthetic_cortex(seed, shape=(512, 512), imaging="random")
    im = case.image.astype(float)
    yy, xx = np.mgrid[:512, :512]
    disc = np.hypot(yy - 256, xx - 300) < 90
    soft = ndi.gaussian_filter(disc.astype(float), 10)[..., None]
    if kind == "blur":
        out = im * (1 - soft) + soft * ndi.gaussian_filter(im, (8, 8, 0))
    else:
        out = im * (1 - 0.85 * soft) + 0.85 * soft * np.median(im.reshape(-1, 3), axis=0)
    full = float(np.iinfo(case.image.dtype).max)
    return case, np.clip(out, 0, full).astype(case.image.dtype), disc


@pytest.mark.parametrize(("seed", "kind"), [(1, "blur"), (3, "blur"), (1, "fog"), (3, "fog")])
def test_a_patch_attenuated_after_capture_is_not_trusted(seed, kind):
    """A disc blurred or fogged after capture hid its vessels (the detector missed most of
    them) while the floor, judging by the rest of the image, read 27-30 um there and
    threads were planned on 30-33 um vessels. Its calm noise now tells: no true vessel of
    30 um or more lies within its required clearance of an allowed pixel of the disc."""
    from scipy import ndimage as ndi

    case, img, disc = _patched(seed, kind)
    margins = ip.SafetyMargins()
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    amap = ip.build_avoidance_map(vm, dura_mode="durectomy", margins=margins)
    hazard = case.truth.mask & (2 * case.truth.radius_um >= 30.0)
    d, (ir, ic) = ndi.distance_transform_edt(~hazard, return_indices=True)
    need = margins.required_um("durectomy", case.truth.radius_um[ir, ic])
    inside = amap.allowed & disc & (d * 12.0 < need)
    assert int(inside.sum()) == 0
    unaltered = ip.segment_vessels(case.image, pixel_size_um=12.0)
    assert np.median(vm.detectable_diameter_um[disc]) > np.median(
        unaltered.detectable_diameter_um[disc]
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_an_unaltered_picture_keeps_its_contrast(seed):
    """No block of an unaltered picture is taken as attenuated."""
    import insertion_planner.segmentation.segment as seg

    seen = {}
    real = seg.local_spread_ratio

    def spy(*args, **kwargs):
        seen["out"] = real(*args, **kwargs)
        return seen["out"]

    try:
        seg.local_spread_ratio = spy
        ip.segment_vessels(ip.synthetic_cortex(seed, shape=(512, 512), imaging="random").image,
                           pixel_size_um=12.0)  # fmt: skip
    finally:
        seg.local_spread_ratio = real
    assert float(seen["out"][2].min()) == 1.0


# --- the edge blur under sensor noise (``_blur.blur_estimates``) --------------------------


def _noisy_step(blur_px, noise, n=256):
    """A 64 px wide vessel of darkness 0.3 blurred by ``blur_px``, with pixel noise of SD
    ``noise``, smoothed 0.7 px as the detector reads it; its half-maximum lumen, radius and
    the tissue around it."""
    from scipy import ndimage as ndi

    x = np.zeros((n, n))
    x[:, 96:160] = 0.3
    x = ndi.gaussian_filter1d(x, blur_px, axis=1)
    x += np.random.default_rng(0).normal(0.0, noise, x.shape)
    dark_s = ndi.gaussian_filter(x, 0.7).astype(np.float32)
    mask = dark_s >= 0.15
    mask[:, :90] = False
    mask[:, 166:] = False
    radius = np.where(mask, 32.0, 0.0).astype(np.float32)
    return dark_s, mask, radius, ~ndi.binary_dilation(mask, iterations=3)


@pytest.mark.parametrize("blur_px", [2.0, 4.0, 8.0])
def test_edge_blur_holds_under_sensor_noise(blur_px):
    """With noise of 2 % (a gradient at a step blurred by 8 px about twice the noise's),
    the blur read from the edges is within 25 % of the truth once the background's
    gradient power is taken off; left in, the noise made an 8 px blur read 1.5 px."""
    dark_s, mask, radius, tissue = _noisy_step(blur_px, 0.02)
    est = bl.blur_estimates(dark_s, mask, radius, background=tissue)
    blocks = bl.blur_map_px(dark_s, mask, radius, estimates=est)[1]
    assert 0.75 * blur_px <= float(np.median(blocks)) <= 1.25 * blur_px
    if blur_px == 8.0:
        raw = bl.blur_map_px(dark_s, mask, radius, estimates=bl.blur_estimates(dark_s, mask, radius))
        assert float(np.median(raw[1])) < 0.5 * blur_px


def test_edge_blur_of_a_sharp_noise_free_step_is_unchanged_by_the_background():
    dark_s, mask, radius, tissue = _noisy_step(1.0, 0.0)
    with_bg = bl.blur_map_px(dark_s, mask, radius,
                             estimates=bl.blur_estimates(dark_s, mask, radius, background=tissue))
    without = bl.blur_map_px(dark_s, mask, radius)
    assert np.allclose(with_bg[1], without[1], atol=0.02)
