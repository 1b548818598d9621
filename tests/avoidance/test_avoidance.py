from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage as ndi

import insertion_planner as ip


@pytest.fixture(scope="module")
def line_map():
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(200, 2, (128, 128)), 0, 255).astype(np.uint8)
    img[:, 60:70] = 80  # 120 um wide vessel at 12 um/px
    return ip.segment_vessels(img, pixel_size_um=12.0)


def test_clearance_and_required(line_map):
    am = ip.build_avoidance_map(line_map)
    assert am.clearance_um[64, 64] == 0 and not am.allowed[64, 64]
    # 20 px right of the rightmost mask pixel (in any row: the noise-free box edges
    # leave specks beside the vessel in some rows): clearance at least about 20 * 12 um
    # (3 px less: pixels dropped from the lumen by the thin-vessel width step stay
    # uncertain, and uncertain pixels are hazards), never more than the distance to the
    # nearest mask pixel
    edge = np.nonzero(line_map.mask.any(axis=0))[0].max()
    c = am.clearance_um[64, edge + 20]
    nearest_px = ndi.distance_transform_edt(~line_map.mask)[64, edge + 20]
    assert 20 * 12 - 3 * 12 <= c <= nearest_px * 12
    m = ip.SafetyMargins()
    assert am.required_um[64, edge + 20] == pytest.approx(m.required_um("durectomy"), abs=0.01)
    assert np.array_equal(am.allowed, (am.clearance_um >= am.required_um) & am.allowed)
    assert (am.clearance_um[am.allowed] >= am.required_um[am.allowed]).all()


def test_transdural_needs_more(line_map):
    a = ip.build_avoidance_map(line_map, dura_mode="durectomy")
    b = ip.build_avoidance_map(line_map, dura_mode="transdural")
    assert b.dura_mode is ip.DuraMode.TRANSDURAL
    assert (b.required_um >= a.required_um).all() and b.allowed.sum() < a.allowed.sum()


def test_margins_terms_move_the_boundary(line_map):
    a = ip.build_avoidance_map(line_map)
    wide = ip.SafetyMargins().replace(needle_radius_um=60.0)
    b = ip.build_avoidance_map(line_map, margins=wide)
    assert (b.required_um - a.required_um).min() == pytest.approx(48.0, abs=0.01)
    assert b.allowed.sum() < a.allowed.sum()


def test_large_vessels_demand_more():
    img = np.full((160, 160), 200, np.uint8)
    img[:, 20:24] = 80  # 48 um
    img[:, 100:120] = 60  # 240 um: radius >= large_vessel_radius_um
    am = ip.build_avoidance_map(ip.segment_vessels(img, pixel_size_um=12.0))
    m = ip.SafetyMargins()
    assert am.required_um[80, 45] == pytest.approx(m.required_um("durectomy"), abs=0.01)
    assert am.required_um[80, 140] >= m.required_um("durectomy") + m.large_vessel_extra_um - 0.01


def test_low_confidence_forbids_more(line_map):
    am = ip.build_avoidance_map(line_map)
    low = line_map.confidence < 0.5
    base = ip.SafetyMargins().required_um("durectomy", am.nearest_radius_um)
    extra = ip.SafetyMargins().low_confidence_extra_um
    assert np.allclose(am.required_um[low], base[low] + extra)


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
@pytest.mark.parametrize("seed", range(6))
def test_safety_rule(seed, mode):
    """No ground-truth vessel pixel (stumps and dural vessels included) is allowed."""
    case = ip.synthetic_cortex(seed, shape=(384, 384), dura_mode=mode)
    vm = ip.segment_vessels(case.image, pixel_size_um=case.pixel_size_um, dura_mode=mode)
    am = ip.build_avoidance_map(vm)
    assert not (case.truth.mask & am.allowed).any()
    # the cost of caution: the detectability floor forbids where a 30 um vessel could
    # hide unseen; a bare synthetic cortex leaves a usable share of the opening, through
    # the dura one case in six (seed 1) is judged too faint to plan on at all
    share = am.allowed[case.craniectomy].mean()
    assert share < 0.95
    if mode == "durectomy" or seed != 1:
        assert share > 0.1
    assert not (am.allowed & (vm.detectable_diameter_um > 30.0)).any()


def test_uncertain_candidates_are_hazards():
    """A faint vessel below the detection threshold still forbids its surroundings."""
    rng = np.random.default_rng(2)
    img = np.full((160, 160), 200.0) + rng.normal(0, 2, (160, 160))
    img[:, 40:46] = 80  # a clear vessel
    img[:, 110:113] -= 12  # a faint one, about 6 % darker
    vm = ip.segment_vessels(np.clip(img, 0, 255).astype(np.uint8), pixel_size_um=12.0)
    am = ip.build_avoidance_map(vm)
    assert not am.allowed[20:140, 108:115].any()
    assert am.allowed[80, 75]  # between the two, far from both


def test_faint_specks_below_the_seed_response_do_not_forbid():
    """A compact faint speck that crosses only the low threshold (as noise and texture do
    thousands of times per image) is not a hazard; one reaching the seed response is."""
    rng = np.random.default_rng(2)
    img = np.full((160, 160), 200.0) + rng.normal(0, 2, (160, 160))
    img[:, 40:46] = 80
    specks = [(30, 90), (80, 90), (130, 90)]
    for r, c in specks:
        img[r - 2 : r + 2, c - 2 : c + 2] -= 1  # 48 um across, 0.5 % darker: noise-deep
    vm = ip.segment_vessels(np.clip(img, 0, 255).astype(np.uint8), pixel_size_um=12.0)
    for r, c in specks:
        near = np.s_[r - 6 : r + 7, c - 6 : c + 7]
        assert not vm.mask[near].any() and vm.vesselness[near].max() < 0.5
    am = ip.build_avoidance_map(vm)
    assert all(am.allowed[r, c] and am.allowed[r, c + 9] for r, c in specks)
    # the same specks with candidates at the seed response forbid around them
    cand = np.zeros_like(vm.mask)
    for r, c in specks:
        cand[r - 2 : r + 2, c - 2 : c + 2] = True
    strong = replace(
        vm,
        vesselness=np.where(cand, np.float32(0.6), vm.vesselness),
        confidence=np.where(cand, np.float32(0.0), vm.confidence),
    )
    am2 = ip.build_avoidance_map(strong)
    assert not any(am2.allowed[r, c + 9] for r, c in specks)


def test_bad_input(line_map):
    with pytest.raises(TypeError, match="vessels"):
        ip.build_avoidance_map(np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="dura_mode"):
        ip.build_avoidance_map(line_map, dura_mode="x")
    with pytest.raises(TypeError, match="margins"):
        ip.build_avoidance_map(line_map, margins={"base_margin_um": 1})
    am = ip.build_avoidance_map(line_map)
    with pytest.raises(ValueError, match="rc"):
        am.clearance_at([[500, 3]])
    assert am.clearance_at([[64, 64]])[0] == 0


def test_a_faint_veiled_vessel_in_short_groups_is_a_hazard_through_the_dura():
    """A pial vessel under the dura veil that shows only as short faint groups beside a
    dark dural vessel is kept clear of (a random camera of the robustness benchmark left
    33 px of a 38 um vessel allowed)."""
    draw = np.random.default_rng([1, 3])
    imaging = ip.Imaging.random(draw, "transdural")
    case = ip.synthetic_cortex(
        1, shape=(1024, 1024), dura_mode="transdural", imaging=imaging, thin_vessels=True
    )
    vm = ip.segment_vessels(case.image, pixel_size_um=12.0, dura_mode="transdural")
    am = ip.build_avoidance_map(vm, margins=ip.SafetyMargins(needle_radius_um=6.0))
    hazard = case.truth.mask & (case.truth.radius_um >= 15.0)
    assert not (hazard & am.allowed).any()


@pytest.mark.parametrize(("seed", "mode"), [(2, "durectomy"), (8, "transdural")])
def test_wide_vein_interior_is_never_allowed(seed, mode):
    """Synthetic cases at 2048 x 2048 whose widest veins (about 490 and 560 um) were found
    by their edges only: no true vessel pixel of the hazard diameter lies where the map
    allows insertion (1,043 and 204 did before)."""
    case = ip.synthetic_cortex(seed, shape=(2048, 2048), dura_mode=mode)
    vm = ip.segment_vessels(case.image, pixel_size_um=case.pixel_size_um, dura_mode=mode)
    am = ip.build_avoidance_map(vm)
    truth = case.truth.mask & case.craniectomy & (case.truth.radius_um >= 15.0)
    assert int((truth & am.allowed).sum()) == 0


def test_a_large_vessel_is_kept_clear_of_even_where_its_radius_reads_small():
    """Beside a 112 um-radius vessel whose edge pixels read 78-89 um (a narrowing), every
    allowed pixel keeps the large-vessel clearance from it, measured on the truth."""
    from scipy import ndimage as ndi

    case = ip.synthetic_cortex(0, shape=(1024, 1024), dura_mode="durectomy")
    margins = ip.SafetyMargins()
    vm = ip.segment_vessels(case.image, pixel_size_um=case.pixel_size_um)
    am = ip.build_avoidance_map(vm, margins=margins)
    assert not am.allowed[734, 430]  # 102 um from the 112 um vessel's edge, 111.5 required
    truth = case.truth.mask & (2 * case.truth.radius_um >= margins.hazard_diameter_um)
    dist, (ri, ci) = ndi.distance_transform_edt(~truth, return_indices=True)
    need = np.asarray(margins.required_um("durectomy", case.truth.radius_um[ri, ci]))
    edge = np.maximum(dist - 0.5, 0) * case.pixel_size_um
    short = np.asarray(am.allowed) & case.craniectomy & (edge < need)
    assert int(short.sum()) == 0
