import numpy as np
import pytest

from insertion_planner._io import atomic_write_text
from insertion_planner._validation import as_rng, check_bool_mask, check_image
from insertion_planner.imageio import read_image


def test_check_image_scales_each_dtype_to_unit_range():
    assert check_image(np.full((3, 3), 65535, np.uint16)).max() == 1.0
    f = check_image(np.full((3, 3, 3), 0.5, np.float64))
    assert f.dtype == np.float32 and f.shape == (3, 3, 3)
    rgba = check_image(np.zeros((4, 4, 4), np.uint8))
    assert rgba.shape == (4, 4, 3)


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((4, 4, 2, 2)), ValueError, r"image must have shape \(H, W\) or \(H, W, 3\)"),
        (np.zeros((1, 1)), ValueError, "at least 2x2"),
        (np.zeros((0, 5)), ValueError, "at least 2x2"),
        (np.array([[np.nan, 0], [0, 0]]), ValueError, "1 NaN or infinite"),
        (np.zeros((4, 4), bool), TypeError, "dtype uint8, uint16 or float"),
        ("picture.png", TypeError, "numpy array, got str"),
        (
            np.full((4, 4), 255.0),
            ValueError,
            r"values must lie in \[0, 1\], got range \[255, 255\]",
        ),
        (np.full((4, 4), -0.5), ValueError, r"got range \[-0.5, -0.5\]"),
        (np.full((4, 4), 255.0), ValueError, r"image / 255 for 8-bit data"),
        # a unit range overshot by a filter: clip it, not divide it by 255
        (np.array([[-0.02, 0.5], [0.5, 1.06]]), ValueError, r"numpy.clip\(image, 0, 1\)"),
    ],
)
def test_check_image_rejects_bad_images(image, error, match):
    with pytest.raises(error, match=match):
        check_image(image)


def test_check_bool_mask_names_shape():
    with pytest.raises(ValueError, match=r"region must have shape \(4, 4\), got shape \(3, 4\)"):
        check_bool_mask(np.zeros((3, 4), bool), name="region", shape=(4, 4))
    assert check_bool_mask(np.eye(4), name="region", shape=(4, 4)).sum() == 4


def test_as_rng_is_deterministic():
    assert as_rng(3).integers(1000) == as_rng(3).integers(1000)
    assert as_rng(None).integers(1000) == as_rng(None).integers(1000)
    with pytest.raises(TypeError, match="rng must be"):
        as_rng("seed")
    with pytest.raises(ValueError, match="rng must be a non-negative seed, got -1"):
        as_rng(-1)


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert target.stat().st_mode & 0o644 == 0o644  # readable like any file, not 0600
    with pytest.raises(ValueError, match="does not exist"):
        atomic_write_text(tmp_path / "missing" / "b.txt", "x")


def test_read_image_formats_and_errors(tmp_path):
    from PIL import Image

    arr = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 3).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    np.save(tmp_path / "a.npy", arr)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png")[0], arr)
    np.testing.assert_array_equal(read_image(tmp_path / "a.npy")[0], arr)
    with pytest.raises(ValueError, match="does not exist"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="is not an image of a supported kind"):
        read_image(tmp_path / "bad.png")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="is not an image of a supported kind"):
        read_image(tmp_path / "a.txt")
