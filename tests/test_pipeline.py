import json

import numpy as np
import pytest
from PIL import Image

import insertion_planner as ip
from insertion_planner.cli import main


@pytest.fixture(scope="module")
def case():
    return ip.synthetic_cortex(1, shape=(384, 384), dura_mode="durectomy")


@pytest.fixture(scope="module")
def plan(case):
    return ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, dura_mode="durectomy",
                              n_threads=24, surface_height_um=case.grid.surface_z_um,
                              rng=5)  # fmt: skip


def test_plan_insertions_is_safe_against_ground_truth(plan, case):
    from scipy import ndimage

    assert 0 < len(plan.threads) <= 24
    assert (len(plan.threads) == 24) == (plan.binding_constraint is None)
    d = ndimage.distance_transform_edt(~case.truth.mask) * case.pixel_size_um
    for t in plan.threads:
        r, c = (int(v) for v in t.pixel)
        assert d[r, c] >= 50.0
        assert t.clearance_um >= t.required_clearance_um
    assert ip.check_plan(plan) == []
    assert plan.provenance["seed"] == 5 and plan.vessels is not None
    assert plan.image_sha256 != "0" * 64


def test_vessel_segments_lie_on_the_surface(plan, case):
    seg = plan.geometry.vessel_segments_um
    assert len(seg) > 10
    px = case.pixel_size_um
    rc = np.clip(np.rint(seg[:, [1, 0]] / px).astype(int), 0, np.array(case.grid.shape) - 1)
    surface = case.grid.surface_z_um[rc[:, 0], rc[:, 1]]
    # each end sits its node's vessel radius above the pia (not at a flat z = 0); the
    # segment radius is the mean of its two nodes'
    above = seg[:, 2] - surface
    assert (above > 0).all() and (above <= 2.5 * seg[:, 6] + 15.0).all()
    assert np.ptp(seg[:, 2]) > 50.0


def test_head_collision_binds_in_a_small_craniectomy(case):
    """A 4.4 mm opening is too small for the insertion head anywhere."""
    small = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, n_threads=4,
                               surface_height_um=case.grid.surface_z_um, craniectomy=case.craniectomy)  # fmt: skip
    assert len(small.threads) == 0 and small.binding_constraint == "head_collision"


def test_pipeline_deterministic_and_margin_shortcut(case, plan):
    again = ip.plan_insertions(case.image, pixel_size_um=case.pixel_size_um, dura_mode="durectomy",
                               n_threads=24, surface_height_um=case.grid.surface_z_um,
                               rng=5)  # fmt: skip
    assert again.to_json_text() == plan.to_json_text()
    wide = ip.plan_insertions(
        case.image, pixel_size_um=case.pixel_size_um, n_threads=4, margin_um=150.0
    )
    assert wide.margins.base_margin_um == 150.0
    assert all(t.required_clearance_um >= 150.0 for t in wide.threads)


def test_pipeline_bad_input(case):
    with pytest.raises(ValueError, match="at most 64"):
        ip.plan_insertions(case.image, pixel_size_um=12.0, n_threads=100)
    with pytest.raises(ValueError, match="pixel_size_um"):
        ip.plan_insertions(case.image, pixel_size_um=-1.0)
    with pytest.raises(ValueError, match="dura_mode"):
        ip.plan_insertions(case.image, pixel_size_um=12.0, dura_mode="open")


def test_cli_plan_and_schema(tmp_path, case, capsys):
    img = tmp_path / "img.png"
    Image.fromarray(case.image).save(img)
    region = tmp_path / "region.png"
    Image.fromarray((case.region * 255).astype(np.uint8)).save(region)
    out = tmp_path / "plan.json"
    code = main(["plan", str(img), "--pixel-size-um", "12", "--threads", "8", "--region", str(region),
                 "--spacing-um", "300", "--out", str(out)])  # fmt: skip
    assert code == 0 and "placed" in capsys.readouterr().out
    p = ip.load_plan(out)
    assert p.config.min_spacing_um == 300.0 and len(p.threads) <= 8
    assert all(case.region[int(t.pixel[0]), int(t.pixel[1])] for t in p.threads)
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "insertion_planner plan"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--threads", "65"], "argument --threads: must be an integer from 1 to 64, got 65"),
        (["--pixel-size-um", "0"], "argument --pixel-size-um: must be a number from 0.5 to 100"),
        (["--region", "missing.png"], "does not exist"),
    ],
)
def test_cli_plan_errors_write_nothing(tmp_path, case, capsys, args, message):
    img = tmp_path / "img.npy"
    np.save(img, case.image)
    out = tmp_path / "plan.json"
    base = ["plan", str(img), "--pixel-size-um", "12", "--out", str(out)]
    code = main(base + args)
    err = capsys.readouterr().err
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_avoidance_for_plan_checks_the_image(tmp_path):
    img = np.full((160, 160), 200, np.uint8)
    img[:, 70:76] = 90
    ip.plan_insertions(img, pixel_size_um=12.0, n_threads=4).to_json(tmp_path / "p.json")
    plan = ip.load_plan(tmp_path / "p.json")
    amap = ip.avoidance_for_plan(plan, img)
    assert not amap.allowed[:, 70:76].any() and amap.allowed[80, 20]
    other = img.copy()
    other[5, 5] = 201
    with pytest.raises(ValueError, match="not the one the plan was made from"):
        ip.avoidance_for_plan(plan, other)
    with pytest.raises(ValueError, match="shape"):
        ip.avoidance_for_plan(plan, img[:100])
    with pytest.raises(TypeError, match="InsertionPlan"):
        ip.avoidance_for_plan({"threads": []}, img)
