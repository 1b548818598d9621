import networkx as nx
import numpy as np
import pytest
from skimage import data

import insertion_planner as ip
from insertion_planner.segmentation import _filters as flt
from insertion_planner.segmentation import _lines


def dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_lines_dice_and_widths(lines_case):
    img, truth, _ = lines_case
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert dice(vm.mask, truth) > 0.9
    # radius of the 16 px wide line (96 um) within 20 %
    r = vm.radius_um[128, int(4.5 * 256 / 5)]
    assert 0.8 * 96 <= r <= 1.2 * 96


def test_rgb_uses_green(lines_case):
    img, truth, _ = lines_case
    # red follows the illumination (0.7-0.9 across the columns) but shows no vessel
    n = img.shape[1]
    red = np.broadcast_to((250 * (0.7 + 0.2 * np.arange(n) / n)).astype(np.uint8), img.shape)
    rgb = np.stack([red, img, img], axis=-1)
    vm = ip.segment_vessels(rgb, pixel_size_um=12.0)
    assert dice(vm.mask, truth) > 0.9


def test_glints_are_not_holes_or_vessels(lines_case):
    img, truth, _ = lines_case
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert not vm.mask[128, 60]  # glint on tissue: not a vessel
    assert vm.mask[88:93, 177:181].all()  # glint on a vessel: filled dark, no hole


def test_stumps_found_not_removed(lines_case):
    img, _, discs = lines_case
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    for r, c in discs:
        assert vm.mask[int(r), int(c)]
        d = np.hypot(vm.penetrating[:, 0] - r, vm.penetrating[:, 1] - c)
        assert d.min() < 1.5
        assert 20 <= vm.penetrating[np.argmin(d), 2] <= 60


def _noisy_tissue(n=192, seed=0, sd=4.0):
    rng = np.random.default_rng(seed)
    return np.full((n, n), 200.0) + rng.normal(0, sd, (n, n)), rng


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_noise_specks_are_not_stumps(synthetic_small, mode):
    """Compact specks of rendered noise and texture are not kept as stumps (each would
    forbid a disc of cortex the size of its clearance)."""
    case, vm = synthetic_small[mode]
    rc = np.rint(vm.penetrating[:, :2]).astype(int)
    off_truth = ~case.truth.mask[rc[:, 0], rc[:, 1]] & case.craniectomy[rc[:, 0], rc[:, 1]]
    assert off_truth.sum() <= 2


def test_small_blood_column_is_a_stump():
    """A lone 36 um dark disc (a penetrating vessel seen end-on) is found and forbidden."""
    img, _ = _noisy_tissue()
    yy, xx = np.mgrid[0:192, 0:192]
    img[(yy - 96) ** 2 + (xx - 96) ** 2 <= 1.5**2] = 110.0
    vm = ip.segment_vessels(np.clip(img, 0, 255).astype(np.uint8), pixel_size_um=12.0)
    d = np.hypot(vm.penetrating[:, 0] - 96, vm.penetrating[:, 1] - 96)
    assert len(vm.penetrating) >= 1 and d.min() < 1.5
    assert not ip.build_avoidance_map(vm).allowed[92:101, 92:101].any()


def test_holes_filled_only_when_dark():
    """A gap as dark as the vessel around it is filled; light tissue enclosed by vessels
    stays tissue."""
    img, _ = _noisy_tissue(sd=2.0)
    # two rings of vessel (6 px wide): one around tissue, one around a dark gap
    yy, xx = np.mgrid[0:192, 0:192]
    for cr, cc in ((60, 60), (130, 130)):
        rho = np.hypot(yy - cr, xx - cc)
        img[(rho >= 7) & (rho <= 13)] = 90.0
    img[np.hypot(yy - 130, xx - 130) < 7] = 110.0  # dark centre: part of the vessel
    vm = ip.segment_vessels(np.clip(img, 0, 255).astype(np.uint8), pixel_size_um=12.0)
    assert vm.mask[58:63, 58:63].sum() == 0
    assert vm.mask[128:133, 128:133].all()


def test_hole_lighter_than_a_lumen_edge_stays_open_but_doubtful():
    """A hole as dark as half its ring's mean but lighter than half the ring's darkest
    part (here an overlap of two vessels) is not filled, and is marked doubtful (the
    segmentation gives it no confidence: an uncertain hazard); a hole as dark as a lumen
    edge is filled, a light one is neither."""
    from insertion_planner.segmentation.segment import _fill_small_holes

    yy, xx = np.mgrid[0:64, 0:64]
    rho = np.hypot(yy - 32, xx - 32)
    ring = (rho >= 5) & (rho <= 9)
    for centre, filled, doubt in ((0.34, False, True), (0.45, True, False), (0.05, False, False)):
        dark = np.where(ring, 0.55, 0.0).astype(np.float32)
        dark[ring & (yy < 28)] = 0.8  # a darker overlap on one side
        dark[rho < 5] = centre
        doubtful = np.zeros(dark.shape, bool)
        out = _fill_small_holes(ring, max_area=200, f=1, dark=dark, doubtful=doubtful)
        inside = rho < 5
        assert out[inside].all() if filled else not out[inside].any()
        assert int(doubtful.sum()) == (int(inside.sum()) if doubt else 0)
        assert doubtful[inside].all() or not doubt


def test_result_types_and_readonly(lines_case):
    vm = ip.segment_vessels(lines_case[0], pixel_size_um=12.0, dura_mode="transdural")
    assert vm.mask.dtype == bool and vm.radius_um.dtype == np.float32
    assert vm.dura_mode is ip.DuraMode.TRANSDURAL
    for a in (vm.mask, vm.radius_um, vm.vesselness, vm.confidence):
        assert a.shape == (256, 256) and not a.flags.writeable
    assert 0 <= vm.vesselness.min() and vm.vesselness.max() <= 1
    assert 0 <= vm.confidence.min() and vm.confidence.max() <= 1
    assert (vm.radius_um[~vm.mask] == 0).all() and (vm.radius_um[vm.mask] > 0).all()
    assert isinstance(vm.graph, nx.Graph) and vm.graph.number_of_nodes() > 20
    node = next(iter(vm.graph.nodes(data=True)))[1]
    assert {"rc", "xyz_um", "radius_um"} <= set(node)
    r, c = node["rc"]
    assert vm.mask[int(r), int(c)]


def test_deterministic(lines_case):
    a = ip.segment_vessels(lines_case[0], pixel_size_um=12.0)
    b = ip.segment_vessels(lines_case[0], pixel_size_um=12.0)
    assert np.array_equal(a.mask, b.mask) and np.array_equal(a.confidence, b.confidence)


def test_noisier_image_still_segments(draw):
    img, truth, _ = draw(noise=0.05, seed=4)
    assert dice(ip.segment_vessels(img, pixel_size_um=12.0).mask, truth) > 0.9


def test_blank_image_has_no_vessels():
    rng = np.random.default_rng(1)
    img = (150 + rng.normal(0, 3, (128, 128))).astype(np.uint8)
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert vm.mask.mean() < 0.002 and vm.graph.number_of_nodes() < 5


@pytest.mark.parametrize("mode, min_dice", [("durectomy", 0.9), ("transdural", 0.8)])
def test_synthetic_quality(synthetic_small, mode, min_dice):
    case, vm = synthetic_small[mode]
    truth = case.truth.mask  # restricted to the craniectomy
    inside = vm.mask & case.craniectomy
    assert dice(inside, truth) > min_dice
    big = truth & (case.truth.radius_um >= 20)  # vessels >= 40 um across
    # (40-96 um vessels are narrowed to their blur-corrected width, and holes lighter
    # than a lumen edge stay open; the pixels taken off stay uncertain hazards in the
    # avoidance map)
    assert (inside & big).sum() / big.sum() > 0.96


def test_bone_rim_is_not_a_vessel(synthetic_small):
    """The bright bone around the craniectomy does not make the cortex beside it (or the
    bone) look like a wide vessel: few detections in a band across the rim."""
    from scipy import ndimage as ndi

    case, vm = synthetic_small["durectomy"]
    cr = case.craniectomy
    band = ndi.binary_dilation(cr, iterations=15) & ~ndi.binary_erosion(cr, iterations=15)
    false = vm.mask & band & ~case.truth.mask
    assert false.sum() < 0.03 * band.sum()


def test_thick_vein_leaving_under_the_bone_is_found():
    """At the rim a thick vein is black in green and dark in red too, but far above the
    unlit level in red: it is blood, not the unlit surround, and must not be flattened."""
    img = np.empty((256, 256, 3), np.uint8)
    img[...] = (200, 130, 110)  # cortex
    img[:40] = (235, 220, 205)  # whitish bone
    img[40:, 120:140] = (25, 3, 3)  # a 240 um vein, passing under the bone
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert vm.mask[40:, 122:138].all()
    assert not vm.mask[:38].any()


def test_fast_filters_match_scipy():
    from scipy import ndimage as ndi

    rng = np.random.default_rng(0)
    a = rng.random((64, 70)).astype(np.float32)
    for s in (0.5, 0.87, 1.5, 3.0):
        ref = ndi.gaussian_filter(a, s, mode="nearest", truncate=3.0)
        assert np.allclose(flt.gauss(a, s), ref, atol=2e-3)
    # bilinear upsampling reproduces a linear ramp exactly away from the borders
    ramp = np.add.outer(np.arange(8.0), 2 * np.arange(8.0)).astype(np.float32)
    up = flt.upsample_linear(ramp, (32, 32), 4)
    rr, cc = np.mgrid[0:32, 0:32]
    exact = (rr + 0.5) / 4 - 0.5 + 2 * ((cc + 0.5) / 4 - 0.5)
    assert np.allclose(up[4:-4, 4:-4], exact[4:-4, 4:-4], atol=1e-5)
    assert flt.block_mean(np.ones((9, 9), np.float32), 4).shape == (2, 2)


def test_radius_of_wide_and_thin_bars():
    from insertion_planner.segmentation._graph import radius_and_graph

    m = np.zeros((96, 96), bool)
    m[:, 10:12] = True  # 2 px wide
    m[:, 40:60] = True  # 20 px wide
    r, g = radius_and_graph(m, pixel_size_um=1.0)
    assert 0.5 <= r[48, 11] <= 2.0
    assert 8.5 <= r[48, 50] <= 11.5
    for _, a in g.nodes(data=True):
        assert m[int(a["rc"][0]), int(a["rc"][1])]


def test_retina_photograph():
    img = data.retina()[::2, ::2]  # ~20 um/px after halving
    vm = ip.segment_vessels(img, pixel_size_um=20.0)
    assert 0.03 < vm.vessel_fraction < 0.25
    # the main vessels: the upper and lower arcades (they meet only at the bright optic
    # disc) are two large connected trees holding most vessel pixels
    from scipy import ndimage as ndi

    lab, n = ndi.label(vm.mask, structure=np.ones((3, 3)))
    sizes = np.sort(np.bincount(lab.ravel())[1:])[::-1]
    assert sizes[:2].sum() > 0.5 * vm.mask.sum()
    assert vm.radius_um[vm.mask].max() > 50
    # the black surround outside the fundus is not a vessel
    assert not vm.mask[:15, :15].any() and not vm.mask[-15:, -15:].any()


def test_scales_cover_diameters():
    s = flt.scales_for(12.0)
    assert s[0] == 1.0 and s[-1] * np.sqrt(3) * 2 * 12 >= 0.7 * 700
    assert flt.scales_for(1.0)[0] > 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image": np.full((8, 8), np.nan)}, "NaN"),
        ({"image": np.full((8, 8), np.inf)}, "NaN"),
        ({"image": np.zeros((0, 0))}, "at least"),
        ({"image": np.zeros((1, 1))}, "at least"),
        ({"image": np.zeros((4, 4, 3, 2))}, "shape"),
        ({"pixel_size_um": 0.0}, "pixel_size_um"),
        ({"pixel_size_um": -3.0}, "pixel_size_um"),
        ({"pixel_size_um": float("nan")}, "pixel_size_um"),
        ({"dura_mode": "open"}, "dura_mode.*'open'"),
        ({"min_diameter_um": 800.0}, "min_diameter_um"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"image": np.zeros((16, 16)), "pixel_size_um": 12.0}
    args.update(kwargs)
    image = args.pop("image")
    with pytest.raises(ValueError, match=match):
        ip.segment_vessels(image, **args)


def test_bad_type():
    with pytest.raises(TypeError, match="image"):
        ip.segment_vessels("x.png", pixel_size_um=12.0)


@pytest.mark.parametrize("px", [0.5, 1.0, 2.0, 4.0, 8.0, 40.0, 100.0])
def test_every_plausible_pixel_size_segments(px):
    """Across the plausible 0.5-100 um range the finest scale may run on any pyramid
    level; the detectability model follows it (a crash at 1-4 um/px once)."""
    img = ip.synthetic_cortex(0, shape=(512, 512)).image
    vm = ip.segment_vessels(img, pixel_size_um=px)
    assert 0.01 < vm.vessel_fraction < 0.4
    det = vm.detectable_diameter_um
    assert det.shape == (512, 512) and (det[np.isfinite(det)] > 0).all()


@pytest.mark.parametrize("px", [0.012, 0.49, 100.5, 1e300])
def test_a_pixel_size_in_the_wrong_unit_is_refused_naming_it(px):
    """Millimetres typed for micrometres (0.012) once crashed deep in the calibration;
    1e300 overflowed. Outside 0.5-100 um: a ValueError naming the parameter and range."""
    img = ip.synthetic_cortex(0, shape=(64, 64)).image
    with pytest.raises(ValueError, match=r"pixel_size_um .* outside the plausible 0.5-100 um"):
        ip.segment_vessels(img, pixel_size_um=px)


@pytest.mark.parametrize(("px", "side"), [(0.5, 33), (0.5, 64), (0.6, 96), (0.5, 200)])
def test_a_small_image_at_a_fine_pixel_size_segments(px, side):
    """A small image at a fine pixel size has too short a pyramid to bring its widest
    scales down: they ran wider than the noise simulations hold (an IndexError at 0.5
    um/px and 64 px). Their noise factors now follow the widest simulated scale's."""
    from insertion_planner.segmentation._lines import _SIMULATED_MAX_SCALE_PX, _unit_spread

    img = ip.synthetic_cortex(0, shape=(256, 256)).image[:side, :side]
    vm = ip.segment_vessels(img, pixel_size_um=px)
    assert vm.mask.shape == (side, side)
    wide = 2 * _SIMULATED_MAX_SCALE_PX
    assert _unit_spread(wide) == pytest.approx(_unit_spread(_SIMULATED_MAX_SCALE_PX) / 8)


def _blurred_line(angle_deg, diameter_px, blur_px, n=96):
    """Relative darkness of a straight cylinder of blood (Beer-Lambert, 8 px absorption
    length), area-sampled 8 x 8 per pixel, blurred; and its true lumen (pixel centres)."""
    from scipy import ndimage as ndi

    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    a = np.deg2rad(angle_deg)
    img = np.zeros((n, n))
    for i in range(8):
        for j in range(8):
            d = (xx + (i + 0.5) / 8 - 0.5 - n / 2) * np.cos(a)
            d += (yy + (j + 0.5) / 8 - 0.5 - n / 2) * np.sin(a) + 0.3
            chord = 2 * np.sqrt(np.maximum((diameter_px / 2) ** 2 - d**2, 0))
            img += 1 - np.exp(-chord / 8.0)
    dark = ndi.gaussian_filter(img / 64, blur_px).astype(np.float32)
    d0 = (xx - n / 2) * np.cos(a) + (yy - n / 2) * np.sin(a) + 0.3
    return dark, np.abs(d0) < diameter_px / 2


@pytest.mark.parametrize("angle", [0, 30, 45, 80])
@pytest.mark.parametrize("diameter", [1.5, 2.5, 4.0])
def test_thin_lumen_with_the_blur_taken_off(angle, diameter):
    from scipy import ndimage as ndi

    from insertion_planner.segmentation._width import deblurred_lumen

    dark, truth = _blurred_line(angle, diameter, 1.2)
    dark_s = flt.gauss(dark, 0.7)
    half_max = (dark_s >= 0.5 * ndi.maximum_filter(dark_s, 5)) & (dark_s > 0.05 * dark_s.max())
    # the blur an edge shows: the Gaussian and the pixel's box (the line was integrated
    # over each pixel), sigma 1 / sqrt(12) px
    seen = np.hypot(1.2, 1 / np.sqrt(12))
    thin, n_thin = deblurred_lumen(
        half_max, dark_s, np.full(dark.shape, seen, np.float32), smoothing_px=0.7,
        absorption_length_px=8.0,
    )  # fmt: skip
    inner = (slice(20, 76), slice(20, 76))
    t, m0, m1 = truth[inner], half_max[inner], thin[inner]
    assert n_thin > 0 and not (thin & ~half_max).any()  # only narrows
    # the half-maximum overstates a thin lumen; with the blur taken off the width is
    # within a pixel a row of the truth (a 1.5 px lumen covers one or two pixel centres),
    # and the centreline is kept
    assert m0.sum() > t.sum() or diameter >= 4.0
    assert abs(m1.sum() - t.sum()) <= 56
    assert dice(m1, t) >= dice(m0, t) - 0.02
    assert dice(m1, t) >= 0.8  # a pixel a row too many on a 2-px-wide truth: 0.8
    assert (m1.sum(axis=1) > 0).all() or (m1.sum(axis=0) > 0).all()


def test_black_vein_of_a_grey_camera_is_found_and_unseen():
    """A grey camera can show a wide vein below the unlit level (here 6 of 255): narrower
    than the widest vessel, it is blood, not the unlit surround, so it is segmented; what
    it hides is unseen (no detectable diameter), so it is never planned in. A black
    region wider than any vessel stays the unlit surround."""
    rng = np.random.default_rng(5)
    img = np.clip(rng.normal(150, 3, (320, 320)), 0, 255).astype(np.uint8)
    img[:, 140:170] = 6  # a 360 um vein, black
    img[:, 260:] = 3  # the unlit surround (720 um and more)
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert vm.mask[20:-20, 142:168].all()
    assert vm.mask[:, 172:258].sum() < 20  # a noise speck at most, no edge at the surround
    assert not vm.mask[:, 262:].any()
    assert np.isinf(vm.detectable_diameter_um[20:-20, 141:169]).all()
    assert np.isinf(vm.detectable_diameter_um[:, 262:]).all()
    assert np.isfinite(vm.detectable_diameter_um[:, 60:120]).all()
    amap = ip.build_avoidance_map(vm)
    assert not amap.allowed[:, 135:175].any()


def test_glint_over_a_vessel_is_unseen():
    """A specular glint (white, 1.6 times the tissue's brightness, below full scale)
    covering a 32-48 um vessel across its whole width is filled from the tissue beside
    it: it shows nothing of the vessel under it, so it is unseen (no detectable
    diameter, where the rest of the field reads under 30 um) and nothing near it is
    allowed."""
    from scipy import ndimage as ndi

    case = ip.synthetic_cortex(3, shape=(384, 384), dura_mode="durectomy")
    img = case.image.copy()
    m, r = case.truth.mask, case.truth.radius_um
    away = ~ndi.binary_dilation(m & (r > 30), iterations=12)
    inside = ndi.binary_erosion(case.craniectomy, iterations=30)
    rr, cc = np.nonzero(m & (r >= 16) & (r <= 24) & away & inside)
    r0, c0 = rr[rr.size // 2], cc[cc.size // 2]
    yy, xx = np.ogrid[: img.shape[0], : img.shape[1]]
    glint = (yy - r0) ** 2 + (xx - c0) ** 2 <= 25
    tissue = np.median(img[case.craniectomy & ~m], axis=0)
    img[glint] = np.minimum(tissue * 1.6, 245).astype(np.uint8)
    vm = ip.segment_vessels(img, pixel_size_um=case.pixel_size_um)
    assert (glint & m).sum() > 20
    assert np.isinf(vm.detectable_diameter_um[glint]).all()
    assert np.median(vm.detectable_diameter_um[case.craniectomy]) < 30
    amap = ip.build_avoidance_map(vm)
    assert not amap.allowed[r0 - 8 : r0 + 9, c0 - 8 : c0 + 9].any()
    assert amap.allowed[case.craniectomy].mean() > 0.4


@pytest.mark.parametrize("blur", [0.8, 1.3])
def test_thin_lines_show_their_blur(blur):
    """Noisy half-height widths of 1.7-3 px vessels under a blur read that blur back
    when the thinnest vessel looked for is 1.7 px, more when it is said to be thinner
    (the lumen takes less of the width), and nothing from too few profiles."""
    from insertion_planner.segmentation._width import _DIAMETERS, fwhm_table, line_blur_px

    sigmas, table = fwhm_table(8.0)
    k = int(np.searchsorted(sigmas, blur))
    width = table[k, int(np.argmin(np.abs(_DIAMETERS - 1.7)))]
    # 1.7 to 3 px vessels, each width read with 0.1 px of noise
    rng = np.random.default_rng(3)
    d = rng.uniform(1.7, 3.0, 2000)
    widths = np.interp(d, _DIAMETERS, table[k]) + rng.normal(0, 0.1, d.size)
    got = line_blur_px(widths, 1.7, 8.0)
    assert sigmas[k] - 0.15 < got <= sigmas[k] + 0.02
    assert width > 2.0
    assert line_blur_px(widths, 0.5, 8.0) > got
    assert line_blur_px(widths[:100], 1.7, 8.0) == 0.0


def test_thin_lumen_where_the_edges_show_too_little_blur():
    """Lines blurred by 1.3 px whose wide-vessel edges read only 0.6 px: the blur their
    own profiles show (``min_diameter_px``) draws them near their true 2 px width, where
    the edges' blur leaves them too wide."""
    from scipy import ndimage as ndi

    from insertion_planner.segmentation._width import deblurred_lumen

    darks, truths = zip(*(_blurred_line(a, 2.0, 1.3) for a in (0, 30, 45, 80)), strict=True)
    dark = np.concatenate(darks, axis=1)
    truth = np.concatenate(truths, axis=1)
    dark_s = flt.gauss(dark, 0.7)
    half_max = (dark_s >= 0.5 * ndi.maximum_filter(dark_s, 5)) & (dark_s > 0.05 * dark_s.max())
    too_sharp = np.full(dark.shape, 0.6, np.float32)
    kw = {"smoothing_px": 0.7, "absorption_length_px": 8.0}
    wide, _ = deblurred_lumen(half_max, dark_s, too_sharp, **kw)
    bound, n = deblurred_lumen(half_max, dark_s, too_sharp, min_diameter_px=2.0, **kw)
    inner = np.zeros(dark.shape, bool)
    for j in range(4):
        inner[20:76, 96 * j + 20 : 96 * j + 76] = True
    t, m0, m1 = truth & inner, wide & inner, bound & inner
    assert n > 200 and not (bound & ~wide).any()
    assert abs(int(m1.sum()) - int(t.sum())) < 0.1 * t.sum() and m0.sum() > 1.5 * t.sum()
    assert dice(m1, t) > dice(m0, t) + 0.15


@pytest.mark.parametrize("slope", [0.002, -0.003])
def test_coarse_scale_sees_no_line_at_the_border_of_a_ramp(slope):
    # a linear trend of darkness has no curvature: continued by point reflection the
    # coarse filters see none up to the border; repeated edges bend it there
    ramp = np.repeat((0.5 + slope * np.arange(64, dtype=np.float32))[None, :], 48, axis=0)
    for s_eff in (1.5, 3.0):
        repeated = _lines._measure(ramp, s_eff, "ridge")
        extended = _lines._measure_extrapolated(ramp, s_eff, "ridge")
        assert extended.shape == ramp.shape
        assert np.abs(repeated[:, :3]).max() > 1e-4
        assert np.abs(extended).max() < 1e-5
    # a dark line is still one: the same response away from the border
    line = np.zeros((48, 64), np.float32)
    line[:, 30:33] = 1.0
    inner = np.s_[:, 20:44]
    np.testing.assert_allclose(
        _lines._measure_extrapolated(line, 2.0, "ridge")[inner],
        _lines._measure(line, 2.0, "ridge")[inner],
        atol=1e-6,
    )


def _wide_vein_photo(
    width_px: int, *, interior_red: float, texture: float, texture_px: float = 12.0, seed: int = 0
) -> np.ndarray:
    """A 256 x 256 colour photograph at 12 um/px: noisy pink cortex with one vertical vein
    ``width_px`` wide, black in green and, where its blood is thickest, dark in red too
    (``interior_red`` of the tissue's red in its middle half): in the darkness, green's
    minus half of red's, the middle is lighter than the edges."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    h = w = 256
    # blood-coloured texture (capillary blush: green darkens more than red) at the scale
    # of the coarsest line filters, and pixel noise
    blush = ndi.gaussian_filter(rng.standard_normal((h, w)), texture_px)
    blush *= texture / blush.std()
    red = 180.0 * (1 - 0.3 * blush) + rng.normal(0, 3, (h, w))
    green = 120.0 * (1 - blush) + rng.normal(0, 3, (h, w))
    c0 = (w - width_px) // 2
    green[:, c0 : c0 + width_px] = rng.normal(2, 1, (h, width_px))
    red[:, c0 : c0 + width_px] = 0.8 * 180
    q = width_px // 4
    red[:, c0 + q : c0 + width_px - q] = interior_red * 180
    img = np.stack([red, green, 0.8 * green], -1)
    return np.clip(img, 0, 255).astype(np.uint8)


_TEXTURE_04 = pytest.mark.xfail(
    strict=True,
    reason="on texture of 40 % relative SD the vein's edges no longer stand out from it "
    "at the grow rate, and its middle (as dark as the texture) is taken for tissue",
)


@pytest.mark.parametrize(
    ("texture", "texture_px"),
    [(0.2, 6.0), (0.2, 12.0), (0.3, 6.0), (0.3, 12.0), pytest.param(0.4, 6.0, marks=_TEXTURE_04),
     # coarse blood-coloured texture this strong leaves the vein's blocks whiter than the
     # most coloured tissue: they count as washed out (``_attenuation.colour_kept``)
     (0.4, 12.0)],
)  # fmt: skip
def test_the_lumen_between_the_edges_of_a_wide_vein_is_never_allowed(texture, texture_px):
    """A vein wider than the coarsest line scale (52 px, 624 um) on strong blood-coloured
    texture (20-40 % relative SD), whose middle is lighter in the darkness than its
    edges: only its edges pass the line detector, and its middle, farther from them
    than the clearance, was allowed (1,307 and 201 px at 20 %)."""
    width_px = 52
    img = _wide_vein_photo(width_px, interior_red=0.25, texture=texture, texture_px=texture_px)
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    am = ip.build_avoidance_map(vm)
    c0 = (256 - width_px) // 2
    vein = np.zeros((256, 256), bool)
    vein[:, c0 : c0 + width_px] = True
    assert not (am.allowed & vein).any()


def test_tissue_between_two_vessels_side_by_side_is_not_lumen():
    """Two 8 px vessels 24 px apart (closer than the widest vessel) with plain tissue
    between them: the gap between their edges is not filled."""
    rng = np.random.default_rng(1)
    img = np.clip(rng.normal(200, 3, (192, 192)), 0, 255)
    img[:, 80:88] = 90
    img[:, 112:120] = 90
    vm = ip.segment_vessels(img.astype(np.uint8), pixel_size_um=12.0)
    assert vm.mask[16:-16, 82:86].all() and vm.mask[16:-16, 114:118].all()
    assert not vm.mask[:, 92:108].any()


def test_the_lumen_between_the_edges_of_a_wide_vein_is_segmented():
    """On faint texture the same vein's middle is found as lumen, not only kept clear of."""
    width_px = 52
    img = _wide_vein_photo(width_px, interior_red=0.25, texture=0.1, texture_px=6.0)
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    c0 = (256 - width_px) // 2
    assert vm.mask[16:-16, c0 : c0 + width_px].mean() > 0.98
    # the lumen is not grown past the vein's edges
    assert vm.mask[16:-16, : c0 - 2].mean() < 0.01
    assert vm.mask[16:-16, c0 + width_px + 2 :].mean() < 0.01


def test_glints_on_flat_tissue_make_no_dark_plateaus():
    """120 small specular glints on flat tissue with one vessel: the glints raised their
    background blocks, the background's closing joined raised blocks into bright
    rectangles between glints, and the tissue in them read as dark (darkness 0.19 at the
    99th percentile, 20,930 false vessel pixels)."""
    from concurrent.futures import ThreadPoolExecutor

    from insertion_planner.segmentation._darkness import darkness

    rng = np.random.default_rng(0)
    h = w = 512
    red = np.full((h, w), 170.0) + rng.normal(0, 2, (h, w))
    green = np.full((h, w), 110.0) + rng.normal(0, 2, (h, w))
    img = np.stack([red, green, 0.8 * green], -1)
    img[:, 250:256] = [120, 40, 35]  # a vessel, so the image has vessel contrast
    for _ in range(120):
        r, c = rng.integers(4, h - 4), rng.integers(4, w - 4)
        img[r - 1 : r + 2, c - 2 : c + 3] = 255
    img = np.clip(img, 0, 255).astype(np.uint8)
    ch = img.astype(np.float32) / np.float32(255)
    with ThreadPoolExecutor(2) as pool:
        dark = darkness(ch[..., 1], ch[..., 0], size_px=87.5, max_width_px=58.3, pool=pool)[0]
    tissue = np.ones((h, w), bool)
    tissue[:, 240:266] = False
    assert np.percentile(dark[tissue], 99) < 0.1
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert vm.mask[:, 252:254].all()
    assert int(vm.mask[:, :240].sum() + vm.mask[:, 266:].sum()) < 1000


def test_compiled_block_means_without_glints_are_the_numpy_arithmetic():
    from insertion_planner.segmentation import _filters as flt
    from insertion_planner.segmentation._resample import block_means_without_glints

    rng = np.random.default_rng(3)
    a = (1 + 0.05 * rng.standard_normal((70, 93))).astype(np.float32)
    a[rng.random(a.shape) < 0.02] = 3.0
    for f in (2, 4, 8):
        m1 = flt.block_mean(a, f)
        hh, ww = m1.shape[0] * f, m1.shape[1] * f
        up = np.repeat(np.repeat(m1, f, axis=0), f, axis=1)
        c = a[:hh, :ww]
        want = flt.block_mean(np.where(c <= up * np.float32(1.15), c, up), f)
        got = block_means_without_glints(a, f, 1.15)
        assert got.shape == want.shape and np.allclose(got, want, rtol=1e-6)
        assert (got < m1 - 0.01).any()  # the glints were left out
