"""``read_image`` refuses JPEGs whose compressed data is damaged, and reads sound ones.

Decoders (Pillow, imagecodecs) fill damaged entropy-coded data in silently: blocks decoded
out of step, and every later block shifted in brightness. ``_jpeg_check._check_jpeg`` finds it
from the file's own structure (each segment used to its end, no further) and from the step
the shift leaves along a row of 8 x 8 block borders.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import insertion_planner as ip
from insertion_planner.imageio import _block_row_steps, _jpeg_segments, read_image


def _jpeg(image: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", **options)
    return buf.getvalue()


@pytest.fixture(scope="module")
def cortex():
    return ip.synthetic_cortex(10, shape=(512, 512)).image


def _refusal(tmp_path, data: bytes) -> str | None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(data)
    try:
        read_image(src)
    except ValueError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    "options",
    [dict(quality=90), dict(quality=30), dict(quality=98, subsampling=0),
     dict(quality=85, optimize=True), dict(quality=80, progressive=True),
     dict(quality=90, restart_marker_rows=1), dict(quality=75, restart_marker_blocks=7)],
)  # fmt: skip
def test_sound_jpegs_are_read_as_pillow_decodes_them(tmp_path, cortex, options):
    data = _jpeg(cortex, **options)
    assert _refusal(tmp_path, data) is None
    image, meta = read_image(tmp_path / "photo.jpg")
    assert meta["format"] == "JPEG"
    assert np.array_equal(image, np.asarray(Image.open(io.BytesIO(data))))


def test_sound_jpegs_with_straight_edges_on_block_borders_are_read(tmp_path, cortex):
    boxed = cortex.copy()
    boxed[:32] = 0  # a letterbox bar ending on a block border
    boxed[-48:] = 255
    grey = np.zeros((256, 256), np.uint8)
    grey[:, :128] = 90  # a vertical edge on a block border, and a flat field
    for image in (boxed, grey, np.full((64, 80, 3), 77, np.uint8)):
        assert _refusal(tmp_path, _jpeg(image, quality=90)) is None


def test_segments_are_the_restart_intervals(cortex):
    plain, _ = _jpeg_segments(_jpeg(cortex, quality=90))
    rows, sequential = _jpeg_segments(_jpeg(cortex, quality=90, restart_marker_rows=1))
    assert len(plain) == 1 and sequential
    assert len(rows) == 512 // 16  # one interval per row of 16 x 16 MCUs (4:2:0)
    scans, sequential = _jpeg_segments(_jpeg(cortex, quality=90, progressive=True))
    assert len(scans) > 3 and not sequential


@pytest.mark.parametrize("damage", ["zeros", "random"])
def test_damaged_middle_is_refused_in_one_line(tmp_path, cortex, damage):
    data = bytearray(_jpeg(cortex, quality=90))
    mid = len(data) // 2
    rng = np.random.default_rng(1)
    data[mid : mid + 200] = bytes(200) if damage == "zeros" else rng.bytes(200)
    why = _refusal(tmp_path, bytes(data))
    assert why is not None and "\n" not in why, why
    assert "photo.jpg" in why and ("damaged" in why or "could not be read" in why)


def test_resynchronised_decoder_leaves_a_step_along_block_borders(cortex):
    good = _jpeg(cortex, quality=90)
    bad = bytearray(good)
    bad[len(bad) // 2 : len(bad) // 2 + 200] = bytes(200)
    decoded = np.asarray(Image.open(io.BytesIO(bytes(bad))))
    step, inside = _block_row_steps(decoded)
    assert step > 20.0 and step > 5 * inside  # every block after the damage shifted
    step, inside = _block_row_steps(np.asarray(Image.open(io.BytesIO(good))))
    assert step < 5.0


@pytest.mark.parametrize(("seed", "quality"), [(10, 90), (3, 90), (10, 75), (3, 75)])
def test_damage_anywhere_in_a_sequential_jpeg_is_refused(tmp_path, seed, quality):
    """200 bytes zeroed or randomised at 21 places: at least 19 of 21 refused (measured:
    all but 0-3 of 41 places)."""
    image = ip.synthetic_cortex(seed, shape=(512, 512)).image
    good = _jpeg(image, quality=quality)
    rng = np.random.default_rng(seed)
    for damage in ("zeros", "random"):
        refused = 0
        for frac in np.linspace(0.1, 0.9, 21):
            data = bytearray(good)
            at = int(frac * len(data))
            data[at : at + 200] = bytes(200) if damage == "zeros" else rng.bytes(200)
            refused += _refusal(tmp_path, bytes(data)) is not None
        assert refused >= 19, (damage, refused)


def test_truncated_jpeg_is_refused(tmp_path, cortex):
    data = _jpeg(cortex, quality=90)
    for keep in (len(data) // 3, 2 * len(data) // 3, len(data) - 2):
        why = _refusal(tmp_path, data[:keep])
        assert why is not None and "\n" not in why, keep
