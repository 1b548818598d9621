import numpy as np
import pytest

from insertion_planner import Grid


def test_round_trip_pixels_to_um_and_back():
    g = Grid((50, 80), pixel_size_um=12.5)
    rc = np.array([[0, 0], [3.5, 7.25], [49, 79]])
    xyz = g.to_um(rc)
    assert xyz.shape == (3, 3)
    np.testing.assert_allclose(xyz[1], [7.25 * 12.5, 3.5 * 12.5, 0.0])
    np.testing.assert_allclose(g.to_pixel(xyz), rc)


def test_surface_height_and_normals_follow_a_plane():
    rows, cols = np.mgrid[0:40, 0:60]
    slope = 0.2  # dz/dx
    z = (cols * 10.0 * slope).astype(np.float32)
    g = Grid((40, 60), pixel_size_um=10.0, surface_z_um=z)
    np.testing.assert_allclose(g.to_um([[5, 10]])[0, 2], 20.0, atol=1e-4)
    n = g.normals([[20, 30]])[0]
    expected = np.array([-slope, 0.0, 1.0]) / np.hypot(slope, 1.0)
    np.testing.assert_allclose(n, expected, atol=1e-5)
    assert g.slope_rad()[20, 30] == pytest.approx(np.arctan(slope), abs=1e-5)
    assert not g.surface_z_um.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shape": (10, 10), "pixel_size_um": 0}, "pixel_size_um must be positive"),
        ({"shape": (10, 10), "pixel_size_um": float("nan")}, "pixel_size_um must be finite"),
        ({"shape": (0, 10), "pixel_size_um": 1.0}, "shape"),
        (
            {"shape": (4, 4), "pixel_size_um": 1.0, "surface_z_um": np.zeros((3, 4))},
            "surface_z_um must have shape",
        ),
    ],
)
def test_grid_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Grid(**kwargs)


def test_surface_gradient_is_computed_once_and_read_only():
    z = np.arange(12, dtype=np.float32).reshape(3, 4) * 5.0
    g = Grid((3, 4), pixel_size_um=5.0, surface_z_um=z)
    first, second = g.surface_gradient(), g.surface_gradient()
    assert first[0] is second[0] and first[1] is second[1]
    np.testing.assert_allclose(first[1], 1.0)  # dz/dx: 5 um per 5 um pixel
    np.testing.assert_allclose(first[0], 4.0)  # dz/dy: 20 um per 5 um pixel
    assert not first[0].flags.writeable
