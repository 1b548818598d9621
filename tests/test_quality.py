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
    assert 0.02 < q.vessel_fraction < 0.4 and q.opposite_vessel_fraction < 3 * q.vessel_fraction
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
