"""The vessel channel of a colour image: green and blue blended for the most vessel
contrast per unit of noise, both measured on the image (``_channels.vessel_blend``)."""

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.segmentation._channels import image_channels, vessel_blend
from tests.renderers.independent import Camera, render

NONE = np.zeros((256, 256), bool)


def _lines(rng, level, noise, contrast):
    """(256, 256) float32: tissue at ``level`` with dark 2 px lines every 24 px whose
    darkness relative to the tissue is ``contrast``, and white noise of SD ``noise``."""
    img = np.full((256, 256), level, np.float64)
    for c in range(8, 256, 24):
        img[:, c : c + 2] *= 1.0 - contrast
    return (img + rng.normal(0.0, noise, img.shape)).astype(np.float32)


def _flat_noise_sd(channel):
    """SD of the pixel-to-pixel difference along the lines (rows 1..), over sqrt(2)."""
    tissue = channel[:, 12:28]
    return float(np.std(np.diff(tissue, axis=0)) / np.sqrt(2.0))


def test_blue_as_good_as_green_gets_about_half_the_weight():
    rng = np.random.default_rng(1)
    g = _lines(rng, 150.0, 6.0, 0.2)
    b = _lines(rng, 120.0, 4.8, 0.2)  # the same relative noise and contrast
    (wg, wb), lg, lb = vessel_blend(g, b, NONE, clip=255.0, dim=10.0)
    assert 0.4 < wb < 0.6
    assert wg + wb == pytest.approx(1.0)
    assert lg == pytest.approx(150.0, rel=0.02) and lb == pytest.approx(120.0, rel=0.02)


def test_blue_without_lines_gets_no_weight():
    rng = np.random.default_rng(2)
    g = _lines(rng, 150.0, 6.0, 0.2)
    b = (120.0 + rng.normal(0.0, 4.8, g.shape)).astype(np.float32)
    assert vessel_blend(g, b, NONE, clip=255.0, dim=10.0)[0][1] < 0.1


def test_blue_with_bright_lines_gets_no_weight():
    rng = np.random.default_rng(3)
    g = _lines(rng, 150.0, 6.0, 0.2)
    b = _lines(rng, 120.0, 4.8, -0.2)  # lines brighter than the tissue in blue
    assert vessel_blend(g, b, NONE, clip=255.0, dim=10.0)[0] == (1.0, 0.0)


def test_noisier_blue_weighs_less_as_the_matched_filter_says():
    rng = np.random.default_rng(4)
    g = _lines(rng, 150.0, 3.0, 0.2)
    b = _lines(rng, 120.0, 2.4 * 3.0, 0.2)  # three times green's relative noise
    (wg, wb), _, _ = vessel_blend(g, b, NONE, clip=255.0, dim=10.0)
    # inverse(S) @ m with equal signatures: weights 1 : 1/9
    assert wb / wg == pytest.approx(1.0 / 9.0, rel=0.35)


def test_blue_with_demosaiced_noise_is_not_taken_for_quieter_than_it_is():
    """Blue sampled on every other row and column and interpolated, as a Bayer camera
    records it, with twice green's relative noise: its pixel-to-pixel noise looks small,
    and weighed by it blue would take about 0.8 of the blend. Scaled by the excess noise of
    its 2 x 2 blocks, it takes less than 0.4, and the blend keeps at least 90 % of green's
    line contrast per unit of noise at the lines' scale (white noise: no loss)."""
    from scipy import ndimage

    rng = np.random.default_rng(8)
    g = _lines(rng, 150.0, 6.0, 0.2)
    b = ndimage.zoom(_lines(rng, 120.0, 9.6, 0.2)[::2, ::2], 2, order=1).astype(np.float32)
    (wg, wb), _, _ = vessel_blend(g, b, NONE, clip=255.0, dim=10.0)
    assert wb < 0.4
    rgb = np.clip(np.stack([np.full_like(g, 200.0), g, b], axis=-1), 0, 255).astype(np.uint8)

    def contrast_to_noise(x):
        x = np.asarray(x, np.float64)
        band = ndimage.uniform_filter(x, 13) - ndimage.uniform_filter(x, 3)
        tissue = band[:, 12:28]
        return float((np.median(band[:, 32:34]) - np.median(tissue)) / np.std(tissue))

    assert contrast_to_noise(image_channels(rgb).vessel) >= 0.9 * contrast_to_noise(g)


def test_the_blend_lowers_the_noise_and_keeps_the_contrast():
    rng = np.random.default_rng(5)
    g = _lines(rng, 150.0, 6.0, 0.2)
    b = _lines(rng, 120.0, 4.8, 0.2)
    rgb = np.clip(np.stack([np.full_like(g, 200.0), g, b], axis=-1), 0, 255).astype(np.uint8)
    ch = image_channels(rgb)
    assert ch.blend[1] > 0.3
    noise_v, noise_g = _flat_noise_sd(ch.vessel), _flat_noise_sd(rgb[..., 1].astype(float))
    assert noise_v < 0.8 * noise_g  # two channels with independent noise: about 1/sqrt(2)
    tissue = float(np.median(ch.vessel[:, 12:28]))
    line = float(np.median(ch.vessel[:, 32:34]))
    assert tissue == pytest.approx(150.0, abs=3.0)  # in green's units
    assert 1.0 - line / tissue == pytest.approx(0.2, abs=0.02)
    assert ch.quantisation_gain == pytest.approx(
        np.hypot(ch.blend[0], ch.blend[1] * 150 / 120), rel=0.03
    )


def test_grey_bright_and_identical_channels_read_one_channel():
    rng = np.random.default_rng(6)
    g = np.clip(_lines(rng, 150.0, 6.0, 0.2), 0, 255).astype(np.uint8)
    grey_rgb = np.stack([g, g, g], axis=-1)
    assert image_channels(grey_rgb).blend == (1.0, 0.0)
    assert image_channels(g).blend == (1.0, 0.0)
    assert image_channels(np.stack([g, g, g // 2], axis=-1), vessel_polarity="bright").blend == (
        1.0,
        0.0,
    )
    # blue a copy of green (noise and all): whatever the weights, the channel is green's
    red = np.full_like(g, 200)
    ch = image_channels(np.stack([red, g, g], axis=-1))
    np.testing.assert_allclose(ch.vessel, g.astype(np.float32), rtol=1e-5, atol=1e-3)


def test_blank_and_tiny_images_read_green_alone():
    assert image_channels(np.zeros((64, 64, 3), np.uint8)).blend == (1.0, 0.0)
    rgb = np.random.default_rng(7).integers(0, 255, (20, 20, 3)).astype(np.uint8)
    assert image_channels(rgb).blend == (1.0, 0.0)


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_the_blend_sees_more_than_green_alone_on_the_independent_renderer(mode):
    """The same picture with blue replaced by green (whose blend is green alone): the blend
    finds at least as much of the true vessels, draws no worse a mask, and judges the
    image at least as able to show a thin vessel."""
    cam = Camera(dura_mode=mode, noise_sigma=0.02)
    scene = render((512, 512), pixel_size_um=12.0, camera=cam, rng=11)
    rgb = scene.image
    green_only = rgb.copy()
    green_only[..., 2] = rgb[..., 1]
    truth = scene.mask
    out = {}
    for name, img in (("blend", rgb), ("green", green_only)):
        vm = ip.segment_vessels(img, pixel_size_um=12.0, dura_mode=mode)
        inter = float((vm.mask & truth).sum())
        out[name] = (
            2.0 * inter / float(vm.mask.sum() + truth.sum()),
            inter / float(truth.sum()),
            float(np.median(vm.detectable_diameter_um[np.isfinite(vm.detectable_diameter_um)])),
        )
    assert image_channels(rgb).blend[1] > 0.2
    dice_b, recall_b, det_b = out["blend"]
    dice_g, recall_g, det_g = out["green"]
    assert recall_b >= recall_g
    assert dice_b >= dice_g - 0.005
    assert det_b <= det_g


def test_the_image_quality_gate_reads_green_as_it_was_calibrated():
    """The gate's line excess is the same whatever blue holds."""
    from insertion_planner.quality import line_excess

    scene = render((384, 384), pixel_size_um=12.0, camera=Camera(dura_mode="transdural"), rng=5)
    rgb = scene.image
    assert image_channels(rgb).blend[1] > 0.2
    flat_blue = rgb.copy()
    flat_blue[..., 2] = np.median(rgb[..., 2])
    assert line_excess(rgb, pixel_size_um=12.0) == line_excess(flat_blue, pixel_size_um=12.0)


@pytest.mark.parametrize("shape", [(31, 120), (18, 40), (63, 63), (120, 45)])
def test_small_images_of_any_side_are_segmented(shape):
    """A block side of half an odd short side once failed to split into pixel pairs."""
    rng = np.random.default_rng(9)
    img = np.clip(rng.normal(150, 4, shape), 0, 255).astype(np.uint8)
    img[:, shape[1] // 2 : shape[1] // 2 + 3] = 90
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    assert vm.mask.shape == shape
    assert vm.mask[:, shape[1] // 2 + 1].mean() > 0.5
