"""White light added over part of a picture (a veil of glare, a reflection off fluid, a
fogged lens) washes its vessels out; the tissue's colour tells how much contrast is kept."""

import numpy as np
import pytest
from scipy import ndimage as ndi

import insertion_planner as ip
import insertion_planner.segmentation.segment as seg
from insertion_planner.segmentation._attenuation import COLOUR_KEPT, colour_kept, washed_out
from insertion_planner.segmentation._channels import image_channels

PX = 12.0


def _blocks(x, y, b=4):
    """A (2 b) x (len(x) b) pair of channels of blocks of the given (vessel, red) values."""
    v = np.repeat(np.asarray(x, np.float32), b)[None].repeat(2 * b, 0) * 1023
    r = np.repeat(np.asarray(y, np.float32), b)[None].repeat(2 * b, 0) * 1023
    return v, r


def test_colour_kept_reads_the_share_a_white_veil_kept():
    # tissue (0.3, 0.6) of its white; shaded to 60 %; half of white added; a quarter added
    x = [0.3, 0.3, 0.18, 0.65, 0.475]
    y = [0.6, 0.6, 0.36, 0.8, 0.7]
    v, r = _blocks(x, y)
    every = np.ones(v.shape, bool)
    k, cortex = colour_kept(v, r, every, every, block_px=4, white=(1023.0, 1023.0))
    assert k.shape == (2, 5) and cortex.min() == 1.0
    assert k[0, :3].tolist() == pytest.approx([1.0, 1.0, 1.0])  # shading keeps all
    assert k[0, 3] == pytest.approx(0.5 * 0.3 / 0.65, abs=1e-4)
    assert k[0, 4] == pytest.approx(0.75 * 0.3 / 0.475, abs=1e-4)


def test_colour_kept_leaves_out_red_at_its_top_and_grey_tissue():
    v, r = _blocks([0.3, 0.3, 0.3, 0.9], [0.6, 0.6, 0.6, 0.99])
    every = np.ones(v.shape, bool)
    k, _ = colour_kept(v, r, every, every, block_px=4, white=(1023.0, 1023.0))
    assert k[0, 3] == 1.0  # red clipped: no pixel to read, nothing judged
    v, r = _blocks([0.55, 0.55, 0.8], [0.6, 0.6, 0.85])  # rho0 0.92: not coloured
    k, _ = colour_kept(v, r, every[:, :12], every[:, :12], block_px=4, white=(1023.0, 1023.0))
    assert k.min() == 1.0


def test_a_block_mostly_left_out_is_read_on_all_of_it():
    v, r = _blocks([0.3, 0.3, 0.3, 0.65], [0.6, 0.6, 0.6, 0.8])
    every = np.ones(v.shape, bool)
    valid = every.copy()
    valid[:, 12:15] = False  # the veiled block taken for bone but one column
    k, cortex = colour_kept(v, r, every, valid, block_px=4, white=(1023.0, 1023.0))
    assert cortex[0].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert k[0, 3] == pytest.approx(0.5 * 0.3 / 0.65, abs=1e-4)


def test_a_ten_bit_colour_camera_stored_in_sixteen_bits_keeps_its_colour():
    """Its channels differ by a few hundred levels of 65535: it was read as grey (the
    tolerance was 2 levels of 8 bits scaled to 16), and lost its red channel."""
    rng = np.random.default_rng(0)
    base = rng.integers(200, 800, (64, 64))
    rgb = np.stack([base + 200, base, base - 150], axis=-1).astype(np.uint16)
    ch = image_channels(rgb)
    assert not ch.grey_as_rgb and ch.red is not None
    grey = np.stack([base, base + 8, base], axis=-1).astype(np.uint16)  # 2/255 of 1023
    assert image_channels(grey).grey_as_rgb
    off = np.stack([base, base + 9, base], axis=-1).astype(np.uint16)
    assert not image_channels(off).grey_as_rgb


def test_a_dim_eight_bit_grey_scaled_to_sixteen_keeps_its_grey():
    """Its maximum (63 x 257) reads as 14 bits in use, yet a level of its lossy channels'
    difference is 257 of 65535."""
    rng = np.random.default_rng(1)
    base = rng.integers(10, 60, (64, 64))
    grey = np.stack([base, base + 1, base - 1], axis=-1).clip(0, 63).astype(np.uint16) * 257
    assert image_channels(grey).grey_as_rgb


def test_white_is_the_vessel_channel_of_a_white_pixel():
    """Green and blue blended, each relative to its tissue level: a pixel at full scale in
    every channel reads ``white``."""
    from tests.renderers.independent import Camera, render

    img = render((256, 256), pixel_size_um=PX, camera=Camera(), rng=0).image.copy()
    img[5, 5] = 255
    ch = image_channels(img)
    assert ch.blend[1] > 0.1  # blue carries vessel contrast there
    assert ch.white > 255.0 and ch.vessel[5, 5] == pytest.approx(ch.white, rel=1e-5)


def test_a_washed_out_block_of_cortex_lends_its_share_to_its_neighbours():
    k = np.array([[1.0, 0.9, 0.7, 0.9], [1.0, 0.95, 0.3, 1.0], [1.0, 1.0, 1.0, 1.0]], np.float32)
    out = washed_out(k, np.ones_like(k))
    assert out[1, 2] == pytest.approx(0.3)
    assert out[:3, 1:4].max() == pytest.approx(0.3) and out[:, 0].tolist() == [1.0, 1.0, 1.0]
    cortex = np.ones_like(k)
    cortex[1, 2] = 0  # bone, or a veil left out as bone: no neighbour takes its share
    assert washed_out(k, cortex)[0, 1] == 1.0 and washed_out(k, cortex)[1, 2] == pytest.approx(0.3)


def _veiled(image, bit_depth, share):
    """``image`` with ``share`` of white added over a disc (radius 90 px) of a 512 px
    picture, its edge soft (sigma 10 px)."""
    yy, xx = np.mgrid[:512, :512]
    disc = np.hypot(yy - 256, xx - 300) < 90
    soft = ndi.gaussian_filter(disc.astype(float), 10)[..., None]
    full = float(2**bit_depth - 1)
    out = image.astype(float) * (1 - share * soft) + share * soft * full
    return np.clip(out, 0, full).astype(image.dtype), disc


def _scene(renderer, seed, camera):
    if renderer == "synthetic":
        imaging = ip.Imaging.random(np.random.default_rng([seed, camera]), "durectomy")
        case = ip.synthetic_cortex(seed, shape=(512, 512), pixel_size_um=PX, imaging=imaging,
                                   thin_vessels=True)  # fmt: skip
        return case.image, imaging.bit_depth, case.truth.mask, case.truth.radius_um
    from tests.renderers.independent import random_camera, render

    cam = random_camera(np.random.default_rng([seed, camera]), "durectomy")
    out = render((512, 512), pixel_size_um=PX, camera=cam, rng=seed)
    return out.image, cam.bit_depth, out.mask, out.radius_um


@pytest.mark.parametrize(
    ("renderer", "seed", "camera", "share"),
    [("synthetic", 1, 0, 0.5), ("synthetic", 1, 0, 0.7), ("independent", 0, 2, 0.7)],
)
def test_a_white_veil_over_the_cortex_is_not_trusted(renderer, seed, camera, share):
    """A veil of white light within the camera's range hid the vessels under it, and the
    floor, judging by the rest of the picture, let 45-1,110 (synthetic) and 291
    (independent, a 10-bit colour camera then read as grey) allowed pixels lie inside the
    required clearance of true vessels of 30 um or more there."""
    image, bits, truth, radius_um = _scene(renderer, seed, camera)
    img, disc = _veiled(image, bits, share)
    margins = ip.SafetyMargins()
    vm = ip.segment_vessels(img, pixel_size_um=PX)
    amap = ip.build_avoidance_map(vm, dura_mode="durectomy", margins=margins)
    radius = np.asarray(radius_um, float)
    hazard = truth & (2 * radius >= 30.0)
    d, (ir, ic) = ndi.distance_transform_edt(~hazard, return_indices=True)
    need = margins.required_um("durectomy", radius[ir, ic])
    assert int((amap.allowed & (d * PX < need)).sum()) == 0
    assert (amap.allowed & ~disc).any()  # the rest of the picture still plans


@pytest.mark.parametrize(("renderer", "seed"), [("synthetic", 0), ("synthetic", 2),
                                                ("independent", 0), ("independent", 1)])  # fmt: skip
def test_no_block_of_an_unaltered_picture_is_washed_out(renderer, seed, monkeypatch):
    seen = []
    real = seg.colour_kept

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(seg, "colour_kept", spy)
    for camera in range(2):
        image = _scene(renderer, seed, camera)[0]
        ip.segment_vessels(image, pixel_size_um=PX)
    assert seen  # colour cameras among them
    for k, cortex in seen:
        assert float(k[cortex > 0].min()) >= COLOUR_KEPT
