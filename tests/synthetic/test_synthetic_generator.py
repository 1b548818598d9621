"""The generator's behaviour: determinism, image contrast, argument checks, files, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

import insertion_planner as ip
from insertion_planner.cli import main
from insertion_planner.synthetic import synthetic_cortex
from insertion_planner.synthetic.io import CASE_FILES, read_case, write_case


def _vessel_contrast(case) -> float:
    """Relative darkening of pial vessels against nearby cortex, green channel."""
    t = case.truth
    g = case.image[..., 1].astype(np.float64)
    pial = np.isin(t.kind, (1, 2))
    dural = ndimage.binary_dilation(t.kind == 3, iterations=4)
    vessel = ndimage.binary_erosion(pial, iterations=1) & ~dural
    near = ndimage.binary_dilation(t.mask, iterations=12) & ~ndimage.binary_dilation(
        t.mask, iterations=4
    )
    background = near & case.craniectomy & ~dural
    bg = np.median(g[background])
    return float((bg - np.median(g[vessel])) / bg)


def test_deterministic_per_seed():
    a = synthetic_cortex(5, shape=(192, 160), dura_mode="transdural")
    b = synthetic_cortex(5, shape=(192, 160), dura_mode="transdural")
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.truth.mask, b.truth.mask)
    np.testing.assert_array_equal(a.truth.penetrating, b.truth.penetrating)
    assert dict(a.truth.graph.nodes(data=True)) == dict(b.truth.graph.nodes(data=True))
    c = synthetic_cortex(6, shape=(192, 160), dura_mode="transdural")
    assert not np.array_equal(a.image, c.image)


def test_pial_vessels_do_not_depend_on_dura_mode(case_d, case_t):
    pial_d = np.isin(case_d.truth.kind, (1, 2, 4))
    # every pial/penetrating pixel of the durectomy case is a vessel in the transdural one
    assert (pial_d <= case_t.truth.mask).all()
    np.testing.assert_array_equal(case_d.truth.surface_z_um, case_t.truth.surface_z_um)
    np.testing.assert_array_equal(case_d.region, case_t.region)


def test_transdural_has_lower_vessel_contrast(case_d, case_t):
    cd, ct = _vessel_contrast(case_d), _vessel_contrast(case_t)
    assert cd > 0.25  # vessels clearly darker than cortex without dura
    assert 0.05 < ct < 0.8 * cd  # still visible, but veiled


def test_image_is_camera_like(case_d):
    img = case_d.image.astype(np.float64)
    inside = case_d.craniectomy & ~case_d.truth.mask
    r, g, b = (img[..., k][inside].mean() for k in range(3))
    assert r > g and r > b  # pink cortex
    # vessels absorb most in green: the green drop exceeds the red drop
    ves = ndimage.binary_erosion(case_d.truth.mask, iterations=1)
    drop = [
        (img[..., k][inside].mean() - img[..., k][ves].mean()) / img[..., k][inside].mean()
        for k in range(3)
    ]
    assert drop[1] > drop[0]
    # noise: a flat patch is not constant
    assert img[..., 1][inside].std() > 1.0


def test_small_field_craniectomy_rule():
    c = synthetic_cortex(1, shape=(256, 200), pixel_size_um=12.0)
    assert c.craniectomy_radius_um == pytest.approx(0.5 * 0.95 * 200 * 12.0)
    c2 = synthetic_cortex(1, shape=(128, 128), pixel_size_um=250.0)
    assert c2.craniectomy_radius_um == pytest.approx(12500.0)
    assert c2.craniectomy.sum() == pytest.approx(np.pi * (12500 / 250) ** 2, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative integer, got 1.5"),
        ({"seed": True}, TypeError, "seed"),
        ({"seed": "3"}, TypeError, "seed"),
        ({"seed": 0, "shape": (32, 256)}, ValueError, r"sides must be between 64 and 8192.*32"),
        ({"seed": 0, "shape": (256, 9000)}, ValueError, "shape"),
        ({"seed": 0, "shape": (256,)}, ValueError, "shape must be two integers"),
        ({"seed": 0, "shape": (256.0, 256)}, TypeError, "shape must be two integers"),
        ({"seed": 0, "shape": "256"}, ValueError, "shape"),
        ({"seed": 0, "pixel_size_um": 0}, ValueError, "pixel_size_um must be positive"),
        ({"seed": 0, "pixel_size_um": float("nan")}, ValueError, "pixel_size_um must be finite"),
        ({"seed": 0, "pixel_size_um": "12"}, TypeError, "pixel_size_um"),
        ({"seed": 0, "dura_mode": "intact"}, ValueError, "dura_mode must be one of.*'intact'"),
    ],
)
def test_bad_arguments_rejected(kwargs, exc, match):
    seed = kwargs.pop("seed")
    with pytest.raises(exc, match=match):
        synthetic_cortex(seed, **kwargs)


def test_write_and_read_case(tmp_path, case_t):
    written = write_case(case_t, tmp_path / "new" / "case", compact=True)
    assert [p.name for p in written] == list(CASE_FILES)
    back = read_case(tmp_path / "new" / "case")
    np.testing.assert_array_equal(back["image"], case_t.image)
    np.testing.assert_array_equal(back["mask"], case_t.truth.mask)
    np.testing.assert_array_equal(back["kind"], case_t.truth.kind)
    np.testing.assert_allclose(back["surface_z_um"], case_t.truth.surface_z_um, atol=0.5)
    assert back["dura_mode"] == "transdural" and back["seed"] == 7
    g = back["graph"]
    assert g.number_of_nodes() == case_t.truth.graph.number_of_nodes()
    n0 = next(iter(case_t.truth.graph.nodes))
    assert g.nodes[n0] == case_t.truth.graph.nodes[n0]
    with pytest.raises(ValueError, match="has no image.png"):
        (tmp_path / "empty").mkdir()
        read_case(tmp_path / "empty")


def test_cli_synth_writes_files(tmp_path, capsys):
    out = tmp_path / "case"
    rc = main(
        [
            "synth",
            "--seed",
            "4",
            "--shape",
            "96",
            "128",
            "--pixel-size-um",
            "30",
            "--dura-mode",
            "transdural",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(CASE_FILES)
    back = read_case(out)
    same = ip.synthetic_cortex(4, shape=(96, 128), pixel_size_um=30.0, dura_mode="transdural")
    np.testing.assert_array_equal(back["image"], same.image)
    np.testing.assert_array_equal(back["mask"], same.truth.mask)
    assert json.loads((out / "graph.json").read_text())["edges"]
    assert "truth.npz" in (out / "README.md").read_text()
    assert "wrote 5 files" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-3"], "argument --seed: must be an integer from 0 to"),
        (["--seed", "1", "--shape", "10", "10"], "argument --shape: must be an integer from 64"),
        (["--seed", "1", "--pixel-size-um", "-2"], "argument --pixel-size-um: must be a number"),
        (["--seed", "x"], "argument --seed: must be an integer from 0 to 4,294,967,295, got 'x'"),
        (["--seed", "1", "--dura-mode", "none"], "invalid choice"),
    ],
)
def test_cli_synth_bad_input(tmp_path, capsys, argv, message):
    out = tmp_path / "case"
    try:
        rc = main(["synth", *argv, "--out", str(out)])
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("mode", ["durectomy", "transdural"])
def test_data_samples_are_current(mode):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "data" / f"sample_{mode}_384"
    back = read_case(folder)
    case = synthetic_cortex(1, shape=(384, 384), pixel_size_um=12.0, dura_mode=mode)
    np.testing.assert_array_equal(back["image"], case.image)
    np.testing.assert_array_equal(back["mask"], case.truth.mask)
    assert back["graph"].number_of_nodes() == case.truth.graph.number_of_nodes()
