"""The imaging model: determinism, each field's effect on the image, validation, truth."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import numpy as np
import pytest
from scipy import ndimage

import insertion_planner as ip
from insertion_planner import Imaging
from insertion_planner.cli import main
from insertion_planner.synthetic import synthetic_cortex
from insertion_planner.synthetic.imaging import BIT_DEPTHS, RANDOM_RANGES
from insertion_planner.synthetic.io import read_case, write_case

SEED, SHAPE = 7, (384, 384)


def _case(mode: str = "durectomy", **kw):
    return synthetic_cortex(SEED, shape=SHAPE, dura_mode=mode, imaging=Imaging(**kw))


def _plane(case) -> np.ndarray:
    """Green (or grey) plane as float in [0, 1]."""
    img = case.image.astype(np.float64) / (2**case.imaging.bit_depth - 1)
    return img if img.ndim == 2 else img[..., 1]


def _background(case, *, away_px: int = 6) -> np.ndarray:
    t = case.truth
    return ndimage.binary_erosion(case.craniectomy, iterations=10) & ~ndimage.binary_dilation(
        t.mask, iterations=away_px
    )


def _contrast(case, *, kinds=(1, 2), radius_um=(0.0, 1e9)) -> float:
    """Relative darkening of truth-mask pixels of ``kinds`` against nearby cortex."""
    t = case.truth
    plane = _plane(case)
    dural = ndimage.binary_dilation(t.kind == 3, iterations=4)
    lo, hi = radius_um
    vessel = np.isin(t.kind, kinds) & (t.radius_um >= lo) & (t.radius_um <= hi) & ~dural
    near = ndimage.binary_dilation(t.mask, iterations=12) & ~ndimage.binary_dilation(
        t.mask, iterations=4
    )
    bg = np.median(plane[near & case.craniectomy & ~dural])
    return float((bg - np.median(plane[vessel])) / bg)


def _residual_std(case) -> float:
    """Pixel noise: standard deviation of the image minus its smoothed self, on cortex."""
    plane = _plane(case)
    return float((plane - ndimage.gaussian_filter(plane, 2.0))[_background(case)].std())


THIN = (10.0, 20.0)  # radius range of the 20-40 um vessels


# -- determinism and the default -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_random_imaging_is_deterministic_per_seed(mode):
    a = synthetic_cortex(5, shape=(192, 160), dura_mode=mode, imaging="random")
    b = synthetic_cortex(5, shape=(192, 160), dura_mode=mode, imaging="random")
    np.testing.assert_array_equal(a.image, b.image)
    assert a.imaging == b.imaging == Imaging.random(5, mode)
    assert a.thin_vessels and b.thin_vessels
    c = synthetic_cortex(6, shape=(192, 160), dura_mode=mode, imaging="random")
    assert c.imaging != a.imaging and not np.array_equal(a.image, c.image)


def test_default_imaging_reproduces_the_original_images():
    old = synthetic_cortex(SEED, shape=SHAPE, dura_mode="transdural")
    assert old.imaging == Imaging() and old.imaging.is_default() and not old.thin_vessels
    same = synthetic_cortex(
        SEED, shape=SHAPE, dura_mode="transdural", imaging=Imaging(), thin_vessels=False
    )
    np.testing.assert_array_equal(same.image, old.image)
    np.testing.assert_array_equal(same.truth.mask, old.truth.mask)
    assert old.image.dtype == np.uint8 and old.image.shape == (*SHAPE, 3)


def test_random_draws_stay_in_their_ranges():
    draws = [Imaging.random(s, m) for s in range(60) for m in ("durectomy", "transdural")]
    for im in draws:
        for name in (f.name for f in fields(Imaging)):
            if name in RANDOM_RANGES:
                lo, hi = RANDOM_RANGES[name]
                assert lo <= getattr(im, name) <= hi, name
        r, g, b = im.white_balance
        assert g == 1.0 and 0.8 <= r <= 1.25 and 0.75 <= b <= 1.3
        assert im.bit_depth in BIT_DEPTHS
    durectomy = draws[0::2]
    assert all(
        im.veil_transmission == 0.65 and im.veil_blur_px == 0.7 for im in durectomy
    )  # no veil without dura
    # the same camera in both modes, apart from the veil
    for d, t in zip(draws[0::2], draws[1::2], strict=True):
        assert replace(t, veil_transmission=0.65, veil_blur_px=0.7) == d
    assert {im.bit_depth for im in draws} == set(BIT_DEPTHS)
    assert 0 < sum(im.grey for im in draws) < len(draws)
    assert min(im.veil_transmission for im in draws[1::2]) < 0.4


def test_imaging_round_trips_through_a_dict():
    im = Imaging.random(11, "transdural")
    assert Imaging.from_dict(json.loads(json.dumps(im.to_dict()))) == im
    with pytest.raises(ValueError, match="unknown fields.*'gamma'"):
        Imaging.from_dict({"gamma": 2.2})


# -- the ground truth is the geometric lumen, whatever the camera ----------------------------


def test_truth_is_identical_across_imaging_settings():
    cases = [
        synthetic_cortex(SEED, shape=SHAPE, dura_mode="transdural", imaging=im)
        for im in (
            "random",
            Imaging(),
            Imaging(edge_softness_um=20.0, psf_sigma_px=1.4, veil_transmission=0.3),
            Imaging(grey=True, bit_depth=12, absorption_scale=0.7, texture_amplitude=0.15),
        )
    ]
    ref = cases[0].truth
    for c in cases[1:]:
        t = c.truth
        for name in ("mask", "radius_um", "kind", "penetrating", "surface_z_um"):
            np.testing.assert_array_equal(getattr(t, name), getattr(ref, name))
        assert dict(t.graph.nodes(data=True)) == dict(ref.graph.nodes(data=True))
    assert not np.array_equal(cases[0].image, cases[1].image)
    # without the thin vessels the truth is the original one
    plain = synthetic_cortex(SEED, shape=SHAPE, dura_mode="transdural")
    lean = synthetic_cortex(
        SEED, shape=SHAPE, dura_mode="transdural", imaging="random", thin_vessels=False
    )
    np.testing.assert_array_equal(lean.truth.mask, plain.truth.mask)
    np.testing.assert_array_equal(lean.truth.radius_um, plain.truth.radius_um)


# -- each field moves the image the expected way ---------------------------------------------


def test_lower_veil_transmission_lowers_vessel_contrast():
    heavy = _contrast(_case("transdural", veil_transmission=0.3))
    mild = _contrast(_case("transdural", veil_transmission=0.8))
    assert 0.0 < heavy < 0.5 * mild
    # the veil does nothing without dura
    np.testing.assert_array_equal(
        _case("durectomy", veil_transmission=0.3).image, _case("durectomy").image
    )


def test_more_veil_blur_lowers_thin_vessel_contrast():
    sharp = _contrast(_case("transdural", veil_blur_px=0.5), radius_um=THIN)
    blurred = _contrast(_case("transdural", veil_blur_px=3.0), radius_um=THIN)
    assert blurred < 0.7 * sharp


@pytest.mark.parametrize(("field", "low", "high"), [("edge_softness_um", 0.0, 20.0),
                                                    ("psf_sigma_px", 0.4, 1.4)])  # fmt: skip
def test_softer_edges_and_more_blur_lower_thin_vessel_contrast(field, low, high):
    crisp = _contrast(_case(**{field: low}), radius_um=THIN)
    soft = _contrast(_case(**{field: high}), radius_um=THIN)
    assert soft < 0.8 * crisp


def test_absorption_scale_raises_contrast():
    weak = _contrast(_case(absorption_scale=0.7), radius_um=THIN)
    strong = _contrast(_case(absorption_scale=1.3), radius_um=THIN)
    assert strong > 1.2 * weak


def test_arteries_lighter_than_veins_below_ratio_one():
    band = (15.0, 60.0)
    light = _case(artery_vein_absorption_ratio=0.5)
    art, vein = (_contrast(light, kinds=(k,), radius_um=band) for k in (1, 2))
    assert art < 0.9 * vein
    same = _case(artery_vein_absorption_ratio=1.0)
    assert _contrast(same, kinds=(1,), radius_um=band) > art + 0.1
    # the veins do not change with the ratio
    assert _contrast(same, kinds=(2,), radius_um=band) == pytest.approx(vein, abs=0.02)


@pytest.mark.parametrize(("field", "low", "high", "base"), [
    ("full_scale_electrons", 5000.0, 300.0, {"read_noise_fraction": 0.002}),
    ("read_noise_fraction", 0.002, 0.015, {"full_scale_electrons": 1e5}),
])  # fmt: skip
def test_more_noise_gives_a_larger_residual(field, low, high, base):
    quiet = _residual_std(_case(**base, **{field: low}))
    noisy = _residual_std(_case(**base, **{field: high}))
    assert noisy > 1.5 * quiet


@pytest.mark.parametrize("bits", BIT_DEPTHS)
def test_bit_depth_sets_dtype_and_range(bits):
    c = _case(bit_depth=bits, illumination_level=1.2)
    assert c.image.dtype == (np.uint8 if bits == 8 else np.uint16)
    assert int(c.image.max()) < 2**bits
    assert int(c.image.max()) >= 2 ** (bits - 1)  # the range is used, not just 8 bits
    assert len(np.unique(c.image)) > 0.6 * min(2**bits, 4096)  # the levels are used


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_grey_camera_gives_a_two_dimensional_image(mode):
    c = _case(mode, grey=True, bit_depth=12)
    assert c.image.shape == SHAPE and c.image.dtype == np.uint16
    assert 0.3 < _contrast(c)
    colour = _case(mode)
    assert colour.image.ndim == 3


def test_illumination_level_scales_brightness():
    dim = _plane(_case(illumination_level=0.6))[_background(_case())].mean()
    bright = _plane(_case(illumination_level=1.1))[_background(_case())].mean()
    assert bright == pytest.approx(dim * 1.1 / 0.6, rel=0.1)


def _centre_to_corner(case) -> float:
    plane = ndimage.uniform_filter(_plane(case), 25)
    h, w = plane.shape
    return float(plane[h // 2, w // 2] / np.mean([plane[12, 12], plane[12, -13],
                                                   plane[-13, 12], plane[-13, -13]]))  # fmt: skip


def test_vignetting_darkens_the_corners():
    flat = _centre_to_corner(_case(vignetting=0.0, illumination_gradient=0.0))
    strong = _centre_to_corner(_case(vignetting=3.0, illumination_gradient=0.0))
    assert strong > 1.5 * flat


def _tilt(case) -> float:
    """Slope of a plane fitted to the smoothed cortex brightness, per field width."""
    bg = _background(case, away_px=10)
    plane = ndimage.uniform_filter(_plane(case), 15)
    rows, cols = np.nonzero(bg)
    a = np.column_stack([rows / SHAPE[0], cols / SHAPE[1], np.ones(rows.size)])
    coef = np.linalg.lstsq(a, plane[bg], rcond=None)[0]
    return float(np.hypot(coef[0], coef[1]) / coef[2])


def test_illumination_gradient_tilts_the_field():
    assert _tilt(_case(illumination_gradient=0.6)) > _tilt(_case(illumination_gradient=0.0)) + 0.2


def test_white_balance_gains_change_colour_ratios():
    ref, warm = _case(), _case(white_balance=(1.2, 1.0, 0.8))
    bg = _background(ref)

    def ratios(c):
        img = c.image.astype(np.float64)
        g = img[..., 1][bg].mean()
        return img[..., 0][bg].mean() / g, img[..., 2][bg].mean() / g

    (r0, b0), (r1, b1) = ratios(ref), ratios(warm)
    assert r1 > 1.1 * r0 and b1 < 0.9 * b0


def test_texture_amplitude_and_scale():
    def smooth_std(c):
        return float(ndimage.gaussian_filter(_plane(c), 3.0)[_background(c, away_px=8)].std())

    flat = {"vignetting": 0.0, "illumination_gradient": 0.0}
    assert smooth_std(_case(texture_amplitude=0.15, **flat)) > 1.5 * smooth_std(
        _case(texture_amplitude=0.02, **flat)
    )

    def coarse_share(c):
        """Texture power above 12 px over the power below it (a coarse texture: larger)."""
        plane, bg = _plane(c), _background(c, away_px=8)
        big = ndimage.gaussian_filter(plane, 12.0)
        return float(big[bg].std() / (plane - big)[bg].std())

    coarse = coarse_share(_case(texture_scale_um=1500.0, texture_amplitude=0.15, **flat))
    fine = coarse_share(_case(texture_scale_um=100.0, texture_amplitude=0.15, **flat))
    assert coarse > 1.5 * fine


def test_glints_per_mm2_adds_bright_spots():
    def bright(c):
        plane = _plane(c)
        return int((plane > np.percentile(plane[c.craniectomy], 50) + 0.25).sum())

    assert bright(_case(glints_per_mm2=1.5)) > 3 * bright(_case(glints_per_mm2=0.0)) + 10


def test_flare_lifts_the_dark_end_and_lowers_contrast():
    clean, flared = _case(flare=0.0), _case(flare=0.05)
    # about flare x the mean light (~0.3 of full scale) is added everywhere
    assert np.percentile(_plane(flared), 1) > np.percentile(_plane(clean), 1) + 0.008
    assert _contrast(flared) < _contrast(clean)


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"edge_softness_um": -1.0}, ValueError, "Imaging.edge_softness_um"),
    ({"psf_sigma_px": float("nan")}, ValueError, "Imaging.psf_sigma_px"),
    ({"veil_transmission": 0.0}, ValueError, r"Imaging.veil_transmission must be in \(0, 1\]"),
    ({"veil_transmission": 1.5}, ValueError, "Imaging.veil_transmission"),
    ({"veil_blur_px": 11.0}, ValueError, "Imaging.veil_blur_px"),
    ({"full_scale_electrons": 1.0}, ValueError, "Imaging.full_scale_electrons"),
    ({"read_noise_fraction": 0.5}, ValueError, "Imaging.read_noise_fraction"),
    ({"bit_depth": 9}, ValueError, r"Imaging.bit_depth must be one of \(8, 10, 12, 14, 16\)"),
    ({"bit_depth": 8.0}, TypeError, "Imaging.bit_depth"),
    ({"illumination_level": 0.0}, ValueError, "Imaging.illumination_level"),
    ({"vignetting": -0.1}, ValueError, "Imaging.vignetting"),
    ({"illumination_gradient": 2.0}, ValueError, "Imaging.illumination_gradient"),
    ({"white_balance": (1.0, 1.0)}, ValueError, "Imaging.white_balance"),
    ({"white_balance": (1.0, 0.0, 1.0)}, ValueError, "Imaging.white_balance"),
    ({"absorption_scale": -1.0}, ValueError, "Imaging.absorption_scale"),
    ({"artery_vein_absorption_ratio": 0.0}, ValueError, "Imaging.artery_vein_absorption_ratio"),
    ({"texture_amplitude": 0.9}, ValueError, "Imaging.texture_amplitude"),
    ({"texture_scale_um": 0.0}, ValueError, "Imaging.texture_scale_um"),
    ({"glints_per_mm2": -1.0}, ValueError, "Imaging.glints_per_mm2"),
    ({"flare": 0.6}, ValueError, "Imaging.flare"),
    ({"grey": "yes"}, TypeError, "Imaging.grey"),
    ({"psf_sigma_px": "1"}, TypeError, "Imaging.psf_sigma_px"),
])  # fmt: skip
def test_bad_fields_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Imaging(**kwargs)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"imaging": "fancy"}, ValueError, "imaging must be None, 'random' or an Imaging, got 'fancy'"),
    ({"imaging": 3}, TypeError, "imaging must be None, 'random' or an Imaging"),
    ({"thin_vessels": "yes"}, TypeError, "thin_vessels must be a bool or None"),
])  # fmt: skip
def test_bad_synthetic_cortex_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        synthetic_cortex(0, shape=(96, 96), **kwargs)


def test_imaging_is_frozen():
    with pytest.raises(AttributeError):
        Imaging().bit_depth = 12  # type: ignore[misc]


# -- recorded in files -----------------------------------------------------------------------


def test_imaging_is_written_and_read_back(tmp_path):
    c = synthetic_cortex(2, shape=(128, 128), imaging=Imaging(bit_depth=12, grey=True))
    write_case(c, tmp_path / "case")
    back = read_case(tmp_path / "case")
    assert back["imaging"] == c.imaging and back["thin_vessels"] is True
    assert back["image"].dtype == np.uint16 and back["image"].shape == (128, 128)
    np.testing.assert_array_equal(back["image"], c.image)
    readme = (tmp_path / "case" / "README.md").read_text()
    assert "imaging=Imaging(bit_depth=12, grey=True)" in readme and "12-bit" in readme


def test_cli_synth_imaging_random(tmp_path, capsys):
    out = tmp_path / "case"
    argv = ["synth", "--seed", "4", "--shape", "96", "128", "--dura-mode", "transdural"]
    assert main([*argv, "--imaging", "random", "--out", str(out)]) == 0
    back = read_case(out)
    same = ip.synthetic_cortex(4, shape=(96, 128), dura_mode="transdural", imaging="random")
    assert back["imaging"] == same.imaging == Imaging.random(4, "transdural")
    np.testing.assert_array_equal(back["image"], same.image)
    np.testing.assert_array_equal(back["mask"], same.truth.mask)
    assert 'imaging="random"' in (out / "README.md").read_text()
    assert main([*argv, "--imaging", "default", "--out", str(tmp_path / "plain")]) == 0
    assert read_case(tmp_path / "plain")["imaging"] == Imaging()
    capsys.readouterr()
