"""The gate refuses frames without any vessel, and passes every cortex.

A frame of smooth shading (a ramp, a vignetted empty field, a radial fall-off), however
quantised, noisy or JPEG-compressed, shows no vessel, yet the detector, whose background is
a local envelope, takes its darker parts for wide vessels. ``line_excess`` asks the image
itself: noise, texture, quantisation steps, block borders and shading give lines darker and
lighter than their surroundings alike, vessels give dark lines only.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import insertion_planner as ip
from insertion_planner.quality import MIN_LINE_EXCESS, line_excess

PX = 12.0
_YY, _XX = np.mgrid[:512, :512]
_R = np.hypot(_YY - 256, _XX - 256) / 256


def _jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def _field(sigma: float, seed: int, fall: float = 0.5) -> np.ndarray:
    """A lit microscope field, no tissue: vignetting, colour, Gaussian noise."""
    rng = np.random.default_rng(seed)
    ff = np.clip(0.9 - fall * _R**2, 0, 1)
    a = np.stack([ff * c for c in (0.85, 0.62, 0.5)], -1) + rng.normal(0, sigma, (512, 512, 3))
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


VESSEL_FREE = {
    "radial gradient": lambda: np.round(np.clip(230 - 150 * _R, 0, 255)).astype(np.uint8),
    "vertical ramp 12 bit": lambda: np.round(200 + 3800 * _YY / 511).astype(np.uint16),
    "diagonal ramp": lambda: np.round((_YY + _XX) / 1022 * 230 + 15).astype(np.uint8),
    "shallow colour ramp": lambda: np.dstack(
        [
            np.round(150 + 30 * _YY / 511),
            np.round(100 + 40 * _YY / 511),
            np.round(90 + 35 * _YY / 511),
        ]
    ).astype(np.uint8),
    "field 0.3% noise": lambda: _field(0.003, 1),
    "field 2% noise": lambda: _field(0.02, 2),
    "field strong fall-off": lambda: _field(0.01, 4, fall=0.8),
    "field JPEG 75": lambda: _jpeg(_field(0.01, 6), 75),
    "off-centre lamp": lambda: np.round(
        np.dstack(
            [
                np.clip(1 - 0.3 * np.hypot(_YY - 100, _XX - 400) / 256, 0, 1) * k
                for k in (230, 150, 140)
            ]
        )
    ).astype(np.uint8),
}


@pytest.mark.parametrize("name", sorted(VESSEL_FREE))
def test_frames_without_vessels_are_refused(name):
    image = VESSEL_FREE[name]()
    q = ip.assess_image(image, pixel_size_um=PX)
    assert q.problems, name
    assert q.line_excess != q.line_excess or q.line_excess < 2.0, (
        q.line_excess
    )  # nan: refused earlier
    with pytest.raises(ip.ImageQualityError):
        ip.plan_insertions(image, pixel_size_um=PX, n_threads=8)


def _cortices():
    for seed in (0, 3, 7):
        for mode in ("durectomy", "transdural"):
            for imaging in (None, "random"):
                yield (
                    f"synthetic {seed} {mode} {imaging}",
                    ip.synthetic_cortex(
                        seed, shape=(384, 384), dura_mode=mode, imaging=imaging
                    ).image,
                    mode,
                )
    from tests.renderers.independent import random_camera, render

    for seed in range(4):
        for mode in ("durectomy", "transdural"):
            cam = random_camera(np.random.default_rng([seed, 99]), mode)
            yield (
                f"independent {seed} {mode}",
                render((384, 384), pixel_size_um=PX, camera=cam, rng=seed).image,
                mode,
            )


def test_every_cortex_shows_vessel_lines_well_above_the_bar():
    """Measured minimum over 120 cortices of both renderers: 4.8 (MIN_LINE_EXCESS is 3)."""
    lowest = np.inf
    for name, image, mode in _cortices():
        q = ip.assess_image(image, pixel_size_um=PX, dura_mode=mode)
        assert not q.problems, (name, q.problems)
        lowest = min(lowest, q.line_excess)
    assert lowest >= 1.5 * MIN_LINE_EXCESS


def test_line_excess_is_polarity_aware():
    image = ip.synthetic_cortex(2, shape=(384, 384)).image
    dark = line_excess(image, pixel_size_um=PX)
    bright = line_excess(255 - image, pixel_size_um=PX, vessel_polarity="bright")
    assert dark > 2 * MIN_LINE_EXCESS and bright > 2 * MIN_LINE_EXCESS
    assert line_excess(image, pixel_size_um=PX, vessel_polarity="bright") < MIN_LINE_EXCESS


@pytest.mark.parametrize("kind", ["jpeg field", "16-bit radial tiff"])
def test_vessel_free_files_are_refused_by_the_cli_in_one_line(tmp_path, kind):
    import subprocess
    import sys

    import tifffile

    if kind == "jpeg field":
        src = tmp_path / "field.jpg"
        Image.fromarray(_field(0.01, 9)).save(src, quality=85)
    else:
        src = tmp_path / "field.tif"
        tifffile.imwrite(src, np.round(np.clip(50000 - 30000 * _R**2, 0, 65535)).astype(np.uint16))
    out = tmp_path / "plan.json"
    r = subprocess.run(
        [sys.executable, "-m", "insertion_planner.cli", "plan", str(src), "--pixel-size-um",
         "12", "--threads", "8", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "image cannot support a plan" in lines[0]
    assert not out.exists()


def test_white_light_cortex_declared_bright_is_refused_naming_the_polarity():
    """Includes the faintest white-light cortex measured (independent renderer, seed 31:
    line asymmetry -0.0796, inside the +-0.08 the asymmetry test leaves undecided), which
    the line excess refuses (dark 15.4, bright 2.2)."""
    from tests.renderers.independent import random_camera, render

    faint = render(
        (512, 512), pixel_size_um=PX, rng=31,
        camera=random_camera(np.random.default_rng([31, 99]), "durectomy"),
    ).image  # fmt: skip
    for image in [
        ip.synthetic_cortex(s, shape=(384, 384), imaging="random").image for s in (0, 5)
    ] + [faint]:
        q = ip.assess_image(image, pixel_size_um=PX, vessel_polarity="bright")
        assert any("vessels look dark, not bright" in p for p in q.problems), q.problems
        assert line_excess(image, pixel_size_um=PX, vessel_polarity="bright") < MIN_LINE_EXCESS
