"""The image-quality gate: images that cannot support a plan are refused with the reason."""

from pathlib import Path

import numpy as np
import pytest

import insertion_planner as ip
from insertion_planner.cli import main

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"


def _cortex(seed=0):
    return ip.synthetic_cortex(seed, shape=(384, 384)).image


@pytest.mark.parametrize(
    "image, words",
    [
        (np.zeros((128, 128, 3), np.uint8), "lit"),  # black frame
        (np.full((128, 128), 255, np.uint8), "saturated"),  # saturated frame
        (np.full((128, 128), 140, np.uint16), "vessel contrast"),  # constant frame
        (
            np.dstack([np.full((128, 128, 3), 150, np.uint8), np.zeros((128, 128), np.uint8)]),
            "transparent",
        ),
    ],
)
def test_blank_frames_are_refused(image, words):
    q = ip.assess_image(image, pixel_size_um=12.0)
    assert not q.usable and words in q.problems[0]
    with pytest.raises(ip.ImageQualityError, match=words):
        ip.plan_insertions(image, pixel_size_um=12.0, n_threads=4)


@pytest.mark.parametrize("px", [0.012, 1.2e-8, 250.0])
def test_pixel_size_in_the_wrong_unit_is_refused_before_any_work(px):
    img = _cortex()
    with pytest.raises(ip.ImageQualityError, match="pixel_size_um .* outside the plausible"):
        ip.plan_insertions(img, pixel_size_um=px, n_threads=4)


def test_a_cortex_passes_the_gate():
    q = ip.assess_image(_cortex(), pixel_size_um=12.0)
    assert q.usable and q.problems == ()
    assert 0.02 < q.vessel_fraction < 0.4 and q.background_darkness < 0.05
    assert q.median_detectable_diameter_um <= 30.0


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not present")
def test_fluorescence_case_refused_as_dark_planned_safely_as_bright():
    img, _ = ip.read_image(CASES / "icg_bright_vessels_256.png")
    truth = np.load(CASES / "icg_mask_256.npy")
    with pytest.raises(ip.ImageQualityError):
        ip.plan_insertions(img, pixel_size_um=12.0, n_threads=8)
    plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=8, vessel_polarity="bright")
    from scipy import ndimage as ndi

    dist = ndi.distance_transform_edt(~truth)
    assert len(plan.threads) >= 1
    for t in plan.threads:
        r, c = (int(round(v)) for v in t.pixel)
        assert max(dist[r, c] - 1, 0) * 12.0 >= t.required_clearance_um


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not present")
def test_cli_refuses_the_black_frame_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "p.json"
    status = main(
        ["plan", str(CASES / "black_frame_256.png"), "--pixel-size-um", "12", "--out", str(out)]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        status != 0
        and not out.exists()
        and len(err) == 1
        and "image cannot support a plan" in err[0]
    )


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not present")
def test_the_detectability_floor_is_named_when_it_binds():
    """Through a thick dura veil a 30 um vessel could hide unseen in most of the field: the
    plan says so, and records the share of the region forbidden for that reason."""
    from skimage import io

    img = io.imread(CASES / "other_renderer_transdural_512.png")
    plan = ip.plan_insertions(img, pixel_size_um=12.0, dura_mode="transdural", n_threads=16)
    params = plan.provenance["parameters"]
    assert plan.binding_constraint == "detectability"
    assert params["hazard_diameter_um"] == 30.0
    assert 0.3 < params["region_undetectable_fraction"] <= 1.0


def test_a_defocused_half_is_not_planned_blind():
    """The right half defocused (Gaussian 4 px): every site keeps its clearance from the
    true vessels of the hazard diameter, and the defocused half is judged less visible."""
    from scipy import ndimage as ndi

    case = ip.synthetic_cortex(5, shape=(512, 512), imaging=ip.Imaging())
    img = case.image.astype(float)
    for k in range(3):
        img[:, 256:, k] = ndi.gaussian_filter(img[..., k], 4.0)[:, 256:]
    img = np.clip(img, 0, 255).astype(np.uint8)
    region = np.zeros((512, 512), bool)
    region[60:450, 60:450] = True
    plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=32, region=region)
    # the guarantee covers vessels of the hazard diameter (30 um) and wider
    hazard = case.truth.mask & (case.truth.radius_um >= 15.0)
    dist = ndi.distance_transform_edt(~hazard)
    for t in plan.threads:
        r, c = (int(round(v)) for v in t.pixel)
        assert max(dist[r, c] - 1, 0) * 12.0 >= t.required_clearance_um
    blur = plan.vessels.blur_px
    assert np.median(blur[100:400, 320:450]) >= 3.0 > np.median(blur[100:400, 60:200])
    det = plan.vessels.detectable_diameter_um[100:400, 320:450]
    assert np.median(det[np.isfinite(det)]) > 30.0  # a 30 um vessel would be blurred away


def _defocused_at_capture(image, levels):
    """``image`` defocused before the sensor: for each ``(sigma_px, weight)`` of
    ``levels`` (weight (H, W) in [0, 1]) the light blurred by that much where the weight
    says, then the sensor's own noise (measured on the picture, per channel) added back
    where anything was blurred, as a camera out of focus records it."""
    from scipy import ndimage as ndi

    img = image.astype(float)
    if img.ndim == 2:
        img = img[..., None]
    resid = img - ndi.gaussian_filter(img, (1.0, 1.0, 0))
    med = np.median(resid, axis=(0, 1))
    noise = 1.4826 * np.median(np.abs(resid - med), axis=(0, 1)) / 0.873
    out = img.copy()
    for sigma_px, weight in levels:
        w = weight[..., None]
        out = out * (1 - w) + ndi.gaussian_filter(img, (sigma_px, sigma_px, 0)) * w
    touched = np.clip(sum(w for _, w in levels), 0.0, 1.0)[..., None]
    out += np.random.default_rng(7).normal(0.0, 1.0, out.shape) * noise * touched
    full = float(np.iinfo(image.dtype).max)
    return np.clip(np.rint(out), 0, full).astype(image.dtype).reshape(image.shape)


def _inside_clearance(case, amap):
    """Allowed pixels within the required clearance of a true vessel of 30 um or more."""
    from scipy import ndimage as ndi

    hazard = case.truth.mask & (case.truth.radius_um >= 15.0)
    d, (ir, ic) = ndi.distance_transform_edt(~hazard, return_indices=True)
    need = amap.margins.required_um("durectomy", case.truth.radius_um[ir, ic])
    return amap.allowed & (np.maximum(d - 1.0, 0.0) * 12.0 < need)


@pytest.mark.parametrize("sigma_px", [4.0, 10.0])
def test_a_frame_out_of_focus_at_capture_is_judged_blurred(sigma_px):
    """Defocused before the sensor, a frame keeps the sensor's noise, which made a
    blurred vessel edge look sharp (a 10 px defocus read 0.6-0.9 px, and up to 14 of 64
    threads were planned within their clearance of a true vessel). The background's
    gradient power is taken off: the blur reads near its truth, and nothing within a
    hazard vessel's clearance is allowed."""
    case = ip.synthetic_cortex(1, shape=(512, 512))
    img = _defocused_at_capture(case.image, [(sigma_px, np.ones((512, 512)))])
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    am = ip.build_avoidance_map(vm)
    assert np.median(vm.blur_px[np.isfinite(vm.blur_px)]) >= 0.75 * sigma_px
    assert int(_inside_clearance(case, am).sum()) == 0


@pytest.mark.parametrize("seed", [0, 2])
def test_a_depth_ramp_out_of_focus_at_capture_is_not_planned_blind(seed):
    """The left half increasingly out of focus (to 8 px at the frame's edge, a tilted
    field), the sensor's noise kept: no allowed pixel within a hazard vessel's clearance,
    and the blurred side is judged blurrier than the sharp one."""
    case = ip.synthetic_cortex(seed, shape=(512, 512), imaging="random")
    xx = np.mgrid[0:512, 0:512][1].astype(float)
    ramp = np.clip((0.55 * 512 - xx) / (0.45 * 512), 0.0, 1.0)
    # three steps of defocus, deepest at the left edge
    levels = [(8.0 * (k + 1) / 3, np.clip(3 * ramp - k, 0.0, 1.0)) for k in range(3)]
    img = _defocused_at_capture(case.image, levels)
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    am = ip.build_avoidance_map(vm)
    assert int(_inside_clearance(case, am).sum()) == 0
    assert np.median(vm.blur_px[:, :100]) > np.median(vm.blur_px[:, 350:])


@pytest.mark.parametrize("seed", [0, 1])
def test_a_disc_out_of_focus_at_capture_is_not_planned_blind(seed):
    """A disc (radius 90 px) over a vessel defocused by 10 px before the sensor, the rest
    sharp: its few wide-vessel edges read sharp beside the sharp ones of the same block,
    and its blocks without one took a sharp neighbour's blur (38-52 allowed pixels on
    30-32 um vessels, a thread within its clearance). No allowed pixel now lies within a
    hazard vessel's clearance."""
    case = ip.synthetic_cortex(seed, shape=(512, 512))
    t = case.truth.mask & (case.truth.radius_um >= 15.0)
    r, c = np.nonzero(t)
    i = np.argmin((r - 280) ** 2 + (c - 220) ** 2)
    yy, xx = np.mgrid[0:512, 0:512]
    disc = np.clip((105 - np.hypot(yy - r[i], xx - c[i])) / 30.0, 0.0, 1.0)
    img = _defocused_at_capture(case.image, [(10.0, disc)])
    am = ip.build_avoidance_map(ip.segment_vessels(img, pixel_size_um=12.0))
    assert int(_inside_clearance(case, am).sum()) == 0


def _fluorescein_like(seed):
    """A synthetic cortex's green channel inverted into a 12-bit grey frame: sparse
    vessels bright on a dim background, with the true vessel mask."""
    case = ip.synthetic_cortex(seed, shape=(512, 512))
    green = case.image[..., 1].astype(np.float64) / 255.0
    return np.rint((1.0 - green) * 0.8 * 4095).astype(np.uint16), case.truth.mask


@pytest.mark.parametrize("seed", [1, 4])
def test_fluorescein_like_bright_vessels_declared_bright_are_avoided(seed):
    """Another instance of fluorescence: declared bright, every site keeps its clearance
    from the true vessels."""
    from scipy import ndimage as ndi

    img, truth = _fluorescein_like(seed)
    plan = ip.plan_insertions(img, pixel_size_um=12.0, n_threads=16, vessel_polarity="bright")
    dist = ndi.distance_transform_edt(~truth)
    assert len(plan.threads) >= 1
    for t in plan.threads:
        r, c = (int(round(v)) for v in t.pixel)
        assert max(dist[r, c] - 1, 0) * 12.0 >= t.required_clearance_um


def test_sparse_bright_vessels_declared_dark_are_refused():
    img, _ = _fluorescein_like(1)
    with pytest.raises(ip.ImageQualityError, match="vessels look bright"):
        ip.plan_insertions(img, pixel_size_um=12.0, n_threads=8)


@pytest.mark.parametrize("blur_px", [10.0, 20.0])
def test_heavy_defocus_allows_nothing_near_a_hazard_vessel(blur_px):
    """A whole frame defocused by 10 or 20 px: the re-blur estimate is refined until it
    settles, so the floor forbids what could no longer be seen."""
    from scipy import ndimage as ndi

    case = ip.synthetic_cortex(0, shape=(512, 512))
    img = case.image.astype(float)
    for k in range(3):
        img[..., k] = ndi.gaussian_filter(img[..., k], blur_px)
    img = np.clip(img, 0, 255).astype(np.uint8)
    vm = ip.segment_vessels(img, pixel_size_um=12.0)
    am = ip.build_avoidance_map(vm)
    assert np.median(vm.blur_px) >= 0.5 * blur_px
    hazard = case.truth.mask & (case.truth.radius_um >= 15.0)
    assert not (hazard & am.allowed).any()


def _polarity_pictures():
    """White-light cortices from both renderers under random cameras (dark vessels)."""
    from tests.renderers.independent import random_camera, render

    for seed in range(3):
        for mode in ("durectomy", "transdural"):
            yield (
                f"synthetic {seed} {mode}",
                ip.synthetic_cortex(seed, shape=(384, 384), dura_mode=mode, imaging="random").image,
            )
            cam = random_camera(np.random.default_rng([seed, 99]), mode)
            yield f"independent {seed} {mode}", render((384, 384), pixel_size_um=12.0,
                                                       camera=cam, rng=seed).image  # fmt: skip


def test_line_asymmetry_tells_dark_from_bright_vessels_on_both_renderers():
    from insertion_planner.quality import POLARITY_LINE_ASYMMETRY, line_asymmetry

    for name, image in _polarity_pictures():
        top = np.iinfo(image.dtype).max if image.dtype.kind == "u" else 1.0
        dark = line_asymmetry(image, pixel_size_um=12.0)
        bright = line_asymmetry(top - image, pixel_size_um=12.0)
        assert dark <= -POLARITY_LINE_ASYMMETRY, (name, dark)
        assert bright >= POLARITY_LINE_ASYMMETRY, (name, bright)


def test_declared_polarity_against_the_image_is_refused_both_ways():
    image = ip.synthetic_cortex(5, shape=(384, 384), imaging="random").image
    top = np.iinfo(image.dtype).max
    wrong = ip.assess_image(image, pixel_size_um=12.0, vessel_polarity="bright")
    assert any("vessels look dark, not bright" in p for p in wrong.problems), wrong.problems
    assert wrong.line_asymmetry < 0
    inverted = ip.assess_image(top - image, pixel_size_um=12.0, vessel_polarity="dark")
    assert any("vessels look bright, not dark" in p for p in inverted.problems)
    assert not ip.assess_image(image, pixel_size_um=12.0).problems
    assert not ip.assess_image(top - image, pixel_size_um=12.0, vessel_polarity="bright").problems


def _discs(shape, centres, radius):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape, bool)
    for r, c in centres:
        out |= (yy - r) ** 2 + (xx - c) ** 2 < radius**2
    return out


def test_glints_do_not_make_a_photograph_look_bright():
    """Unclipped glints (blobs brighter than the tissue) are not bright vessels."""
    for seed in (0, 2, 3):
        image = ip.synthetic_cortex(seed, shape=(512, 512)).image.copy()
        rng = np.random.default_rng(seed)
        image[_discs(image.shape[:2], rng.integers(20, 492, (12, 2)), 10)] = 240
        q = ip.assess_image(image, pixel_size_um=12.0)
        assert not q.problems, (seed, q.problems)
        assert q.line_asymmetry < 0


def test_dark_blobs_do_not_hide_bright_vessels_declared_dark():
    """Bright vessels with dark spots beside them, declared dark, are still refused."""
    image = np.full((256, 256), 110, np.uint8)
    for c in (40, 100, 160, 220):
        image[:, c : c + 4] = 200
    rng = np.random.default_rng(0)
    image[_discs(image.shape, rng.integers(10, 246, (15, 2)), 5)] = 30
    q = ip.assess_image(image, pixel_size_um=12.0, vessel_polarity="dark")
    assert any("vessels look bright, not dark" in p for p in q.problems), q.problems
    with pytest.raises(ip.ImageQualityError):
        ip.plan_insertions(image, pixel_size_um=12.0, n_threads=16)


# --- exposed for a bright patch -----------------------------------------------------------------


def _bright_patch(seed: int, hot: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A 10-bit camera's cortex in a 16-bit file with a soft disc brightened to 60 % of the
    16-bit range (a glare), or with three hot pixels at 65535."""
    from scipy import ndimage as ndi

    case = ip.synthetic_cortex(seed, shape=(512, 512), imaging="random")
    im = case.image.astype(float)
    if im.max() > 1023 or im.ndim != 3:  # the random camera drew another bit depth
        im = im / im.max() * 1000.0
    yy, xx = np.mgrid[:512, :512]
    disc = np.hypot(yy - 256, xx - 300) < 90
    if hot:
        out = im.copy()
        out[[10, 200, 400], [20, 300, 50]] = 65535
    else:
        soft = ndi.gaussian_filter(disc.astype(float), 10)[..., None]
        out = im * (1 - 0.7 * soft) + 0.7 * soft * 0.85 * 65535
    return np.clip(out, 0, 65535).astype(np.uint16), disc


@pytest.mark.parametrize(("seed", "hot"), [(1, False), (3, False), (1, True)])
def test_a_cortex_exposed_for_a_bright_patch_is_refused(seed, hot):
    """A glare or hot pixels set a 16-bit file's range; the cortex, at 0.5-1.5 % of it,
    was taken for the unlit surround and the glare's disc alone was judged, by vessels
    found on its rim: 12 of 44 threads were planned within their clearance of a true
    vessel. The dim part shows vessels, so the image is refused, saying why."""
    img, disc = _bright_patch(seed, hot)
    q = ip.assess_image(img, pixel_size_um=12.0)
    assert not q.usable
    assert q.problems[0].startswith("exposed for a bright patch:")
    with pytest.raises(ip.ImageQualityError, match="exposed for a bright patch"):
        ip.plan_insertions(img, pixel_size_um=12.0, n_threads=8, region=disc)


def test_a_black_surround_is_not_taken_for_a_dim_cortex():
    """A lit disc in a black surround (35 % of the frame, noise and an offset, no vessel)
    plans as before: the dim part shows no vessel lines."""
    case = ip.synthetic_cortex(0, shape=(512, 512))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:512, :512]
    outside = np.hypot(yy - 256, xx - 256) > 245
    img = case.image.copy()
    img[outside] = np.clip(rng.normal(6, 2, (int(outside.sum()), 3)), 0, 255).astype(np.uint8)
    q = ip.assess_image(img, pixel_size_um=12.0)
    assert not any(p.startswith("exposed for a bright patch") for p in q.problems)
    assert q.usable, q.problems
