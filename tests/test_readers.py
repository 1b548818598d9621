"""Value maps and region polygons read from files: what is read, and what is refused."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from insertion_planner.readers import read_polygon, read_value_map


def test_polygon_csv_headers(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("row,col\n10,20\n10,50\n40,30\n")
    assert read_polygon(f, shape=(64, 64)).tolist() == [[10, 20], [10, 50], [40, 30]]
    f.write_text("x,y\n20,10\n50,10\n30,40\n")  # x along columns: swapped to (row, col)
    assert read_polygon(f, shape=(64, 64)).tolist() == [[10, 20], [10, 50], [40, 30]]
    f.write_text("a,b\n20,10\n50,10\n30,40\n")
    with pytest.raises(ValueError, match="has the header 'a,b'; name the columns row,col"):
        read_polygon(f, shape=(64, 64), name="--region-polygon")


def test_polygon_json_refuses_booleans(tmp_path):
    f = tmp_path / "p.json"
    f.write_text("[[true, 5], [10, 50], [40, 30]]")
    with pytest.raises(ValueError, match="list of \\(row, col\\) vertices"):
        read_polygon(f, shape=(64, 64))


@pytest.mark.parametrize("content", [b"garbage", b"\x93NUMPY\x01\x00garbage"])
def test_unreadable_npy_is_one_line_naming_the_flag(tmp_path, content):
    f = tmp_path / "g.npy"
    f.write_bytes(content)
    with pytest.raises(ValueError) as err:
        read_value_map(f, shape=(8, 8), name="--surface")
    msg = str(err.value)
    assert msg.startswith("--surface file") and "cannot be read as NPY" in msg
    assert "unsafe" not in msg and "pickle" not in msg.lower() and "\n" not in msg


def test_object_npy_is_refused_without_suggesting_pickles(tmp_path):
    f = tmp_path / "o.npy"
    np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="cannot be read as NPY") as err:
        read_value_map(f, shape=(8, 8), name="--weight")
    assert "pickle" not in str(err.value).lower()


def test_corrupt_tiff_is_one_message_and_no_log(tmp_path, caplog):
    f = tmp_path / "bad.tif"
    f.write_bytes(b"II*\x00" + b"\xff" * 64)
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(ValueError, match="cannot be read as TIFF"),
    ):
        read_value_map(f, shape=(8, 8), name="--surface")
    assert not [r for r in caplog.records if r.name.startswith("tifffile")]


def test_tiff_value_map_as_stored(tmp_path):
    import tifffile

    f = tmp_path / "h.tif"
    a = np.linspace(-100.0, 250.0, 64, dtype=np.float32).reshape(8, 8)
    tifffile.imwrite(f, a)
    out = read_value_map(f, shape=(8, 8), name="--surface")
    assert out.dtype == np.float64 and np.array_equal(out, a.astype(np.float64))
    assert not out.flags.writeable
