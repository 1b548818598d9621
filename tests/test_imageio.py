"""``read_image`` / ``read_mask``: every file is read as the camera and the viewer meant it."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

import insertion_planner as ip
from insertion_planner.imageio import MAX_SIDE, bit_depth, no_data_mask, read_image, read_mask

CASES = Path(__file__).parents[1].parent / "shared" / "cases"


def _ramp(h: int = 24, w: int = 32) -> np.ndarray:
    """A colour test card: no two pixels alike, R, G, B all different."""
    r = np.linspace(20, 230, w, dtype=np.uint8)[None, :].repeat(h, 0)
    g = np.linspace(200, 40, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return np.dstack([r, g, ((r.astype(int) + g) // 2).astype(np.uint8)])


def _grey(h: int = 24, w: int = 32) -> np.ndarray:
    return (np.add.outer(np.arange(h) * 3, np.arange(w) * 5) % 200 + 30).astype(np.uint8)


def _strict_warnings():
    """Any warning a library emits during the call becomes a test failure."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")
    return ctx


# --- formats, by content --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP", "GIF", "PPM", "TIFF"])
def test_lossless_formats_read_back_exactly(tmp_path, fmt):
    rgb = _ramp()
    f = tmp_path / "img.x"
    kw = {"lossless": True} if fmt == "WEBP" else {}
    img = Image.fromarray(rgb)
    if fmt == "GIF":  # a palette format: the test card reduced to its palette
        img = img.quantize(64)
        rgb = np.asarray(img.convert("RGB"))
    img.save(f, format=fmt, **kw)
    out, meta = read_image(f)
    np.testing.assert_array_equal(out, rgb)
    assert meta["format"] == fmt and meta["bit_depth"] == 8 and not meta["grey_as_rgb"]


def test_kind_is_found_from_content_not_suffix(tmp_path):
    Image.fromarray(_ramp()).save(tmp_path / "photo.png", format="JPEG", quality=95)
    np.save(tmp_path / "a.npy", _grey())
    (tmp_path / "a.npy").rename(tmp_path / "array.tif")
    assert read_image(tmp_path / "photo.png")[1]["format"] == "JPEG"
    img, meta = read_image(tmp_path / "array.tif")
    assert meta["format"] == "NPY"
    np.testing.assert_array_equal(img, _grey())


def test_jpeg_colour_reads_close_to_the_original(tmp_path):
    Image.fromarray(_ramp()).save(tmp_path / "a.jpg", quality=95)
    img, meta = read_image(tmp_path / "a.jpg")
    assert img.shape == (24, 32, 3) and meta["format"] == "JPEG"
    assert np.abs(img.astype(int) - _ramp()).mean() < 3


@pytest.mark.parametrize("compression", ["lzw", "zlib", "zstd", "packbits"])
def test_compressed_tiff(tmp_path, compression):
    data = (np.arange(24 * 32, dtype=np.uint16).reshape(24, 32) * 5).astype(np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data, compression=compression)
    img, meta = read_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(img, data)
    assert img.dtype == np.uint16 and meta["format"] == "TIFF" and meta["bit_depth"] == 12


def test_tiff_layouts(tmp_path):
    rgb = _ramp()
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(rgb, 2, 0), photometric="rgb",
                     planarconfig="separate")  # fmt: skip
    np.testing.assert_array_equal(read_image(tmp_path / "planar.tif")[0], rgb)
    tifffile.imwrite(tmp_path / "white.tif", _grey(), photometric="miniswhite")
    np.testing.assert_array_equal(read_image(tmp_path / "white.tif")[0], 255 - _grey())
    Image.fromarray(rgb).quantize(32).save(tmp_path / "palette.tif")
    expect = np.asarray(Image.open(tmp_path / "palette.tif").convert("RGB"))
    np.testing.assert_array_equal(read_image(tmp_path / "palette.tif")[0], expect)
    tifffile.imwrite(tmp_path / "sep.tif", np.zeros((24, 32, 4), np.uint8), photometric="separated")
    with pytest.raises(ValueError, match="SEPARATED TIFF"):
        read_image(tmp_path / "sep.tif")


# --- orientation ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, code):
    exif = Image.Exif()
    exif[0x0112] = code
    Image.fromarray(_ramp(20, 30)).save(tmp_path / "a.png", exif=exif)
    img, meta = read_image(tmp_path / "a.png")
    upright = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "a.png")))
    np.testing.assert_array_equal(img, upright)
    assert meta["exif_orientation"] == code
    assert img.shape[:2] == ((30, 20) if code >= 5 else (20, 30))


@pytest.mark.parametrize("code", range(1, 9))
def test_tiff_orientation_matches_exif(tmp_path, code):
    exif = Image.Exif()
    exif[0x0112] = code
    Image.fromarray(_ramp(20, 30)).save(tmp_path / "a.png", exif=exif)
    tifffile.imwrite(tmp_path / "a.tif", _ramp(20, 30), photometric="rgb",
                     extratags=[(274, "H", 1, code, False)])  # fmt: skip
    img, meta = read_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(img, read_image(tmp_path / "a.png")[0])
    assert meta["exif_orientation"] == code


# --- size from the header, before decoding --------------------------------------------------


@pytest.mark.parametrize("side", [9000, 14000])  # 9000 x 9000, and 100 rows x 14000
def test_too_large_png_is_refused_from_the_header(tmp_path, side, monkeypatch):
    Image.new("1", (side, 100 if side > 9000 else side)).save(tmp_path / "big.png")
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    limit = Image.MAX_IMAGE_PIXELS
    ctx = _strict_warnings()
    try:
        with pytest.raises(ValueError) as err:
            read_image(tmp_path / "big.png", name="IMAGE")
    finally:
        ctx.__exit__(None, None, None)
    msg = str(err.value)
    rows = 100 if side > 9000 else side
    assert f"{rows} rows x {side} columns" in msg and f"{MAX_SIDE} x {MAX_SIDE}" in msg
    assert "IMAGE file" in msg and "big.png" in msg and "\n" not in msg
    assert Image.MAX_IMAGE_PIXELS == limit  # global state left as it was


def test_bomb_sized_png_is_refused_with_its_size(tmp_path):
    Image.new("1", (14000, 14000)).save(tmp_path / "bomb.png")  # past Pillow's bomb error
    ctx = _strict_warnings()
    try:
        with pytest.raises(ValueError, match="14000 rows x 14000 columns, more than the limit"):
            read_image(tmp_path / "bomb.png")
    finally:
        ctx.__exit__(None, None, None)


def test_too_large_tiff_and_npy_are_refused_from_the_header(tmp_path):
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((20, 9000), bool), compression="zlib")
    with pytest.raises(ValueError, match="20 rows x 9000 columns"):
        read_image(tmp_path / "big.tif")
    mm = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.uint8,
                                   shape=(9000, 8000))  # fmt: skip
    del mm
    with pytest.raises(ValueError, match="9000 rows x 8000 columns"):
        read_image(tmp_path / "big.npy")


# --- multi-frame files ----------------------------------------------------------------------


def test_multi_frame_files_are_refused_with_the_count(tmp_path):
    frames = [Image.fromarray(_ramp() // (k + 1)) for k in range(3)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:])
    tifffile.imwrite(tmp_path / "pages.tif", np.stack([_grey()] * 4), photometric="minisblack")
    np.save(tmp_path / "stack.npy", np.stack([_grey()] * 5))
    np.save(tmp_path / "cube.npy", np.zeros((8, 8, 8, 2), np.uint8))
    for f, n in [("anim.png", 3), ("anim.gif", 3), ("anim.webp", 3), ("pages.tif", 4),
                 ("stack.npy", 5), ("cube.npy", 8)]:  # fmt: skip
        with pytest.raises(ValueError, match=rf"{f}' holds {n} frames"):
            read_image(tmp_path / f)


# --- alpha = no data ------------------------------------------------------------------------


def test_rgba_keeps_alpha_only_when_some_pixel_is_transparent(tmp_path):
    rgba = np.dstack([_ramp(), np.full((24, 32), 255, np.uint8)])
    rgba[:6, :, 3] = 127  # below half: no data
    rgba[6:8, :, 3] = 128  # half: data
    Image.fromarray(rgba).save(tmp_path / "a.png")
    img, meta = read_image(tmp_path / "a.png")
    assert img.shape == (24, 32, 4) and meta["alpha"]
    np.testing.assert_array_equal(img, rgba)
    assert meta["no_data_fraction"] == pytest.approx(6 / 24)
    np.testing.assert_array_equal(no_data_mask(img)[:, 0], np.arange(24) < 6)
    rgba[..., 3] = 200
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    img, meta = read_image(tmp_path / "opaque.png")
    assert img.shape == (24, 32, 3) and not meta["alpha"] and meta["no_data_fraction"] == 0.0
    assert not no_data_mask(img).any()


def test_grey_plus_alpha(tmp_path):
    la = np.dstack([_grey(), np.full((24, 32), 255, np.uint8)])
    la[:, :10, 1] = 0
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    img, meta = read_image(tmp_path / "la.png")
    assert img.shape == (24, 32, 2) and meta["alpha"]
    np.testing.assert_array_equal(img, la)
    assert meta["no_data_fraction"] == pytest.approx(10 / 32)
    la[..., 1] = 255
    Image.fromarray(la, "LA").save(tmp_path / "opaque.png")
    img, meta = read_image(tmp_path / "opaque.png")
    assert img.shape == (24, 32) and not meta["alpha"]
    # grey stored as RGBA becomes grey + alpha
    rgba = np.dstack(
        [_grey()] * 3 + [np.where(np.arange(32) < 4, 0, 255).astype(np.uint8)[None].repeat(24, 0)]
    )
    Image.fromarray(rgba).save(tmp_path / "grey_rgba.png")
    img, meta = read_image(tmp_path / "grey_rgba.png")
    assert img.shape == (24, 32, 2) and meta["grey_as_rgb"] and meta["alpha"]
    np.testing.assert_array_equal(img[..., 0], _grey())


def test_palette_and_trns_transparency_become_no_data(tmp_path):
    idx = (np.arange(24 * 32).reshape(24, 32) % 4).astype(np.uint8)
    pal = Image.fromarray(idx, "P")
    pal.putpalette([200, 30, 30, 30, 200, 30, 30, 30, 200, 90, 90, 90])
    pal.save(tmp_path / "p.png", transparency=3)
    img, meta = read_image(tmp_path / "p.png")
    assert img.shape == (24, 32, 4) and meta["alpha"]
    np.testing.assert_array_equal(no_data_mask(img), idx == 3)
    np.testing.assert_array_equal(img[idx == 0][0], [200, 30, 30, 255])
    Image.fromarray(_grey()).save(tmp_path / "l_trns.png", transparency=int(_grey()[0, 0]))
    img, meta = read_image(tmp_path / "l_trns.png")
    assert img.shape == (24, 32, 2)
    np.testing.assert_array_equal(no_data_mask(img), _grey() == _grey()[0, 0])


def test_rgba_tiff(tmp_path):
    rgba = np.dstack([_ramp(), np.full((24, 32), 255, np.uint8)])
    rgba[-3:, :, 3] = 0
    tifffile.imwrite(tmp_path / "a.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    img, meta = read_image(tmp_path / "a.tif")
    assert img.shape == (24, 32, 4) and meta["no_data_fraction"] == pytest.approx(3 / 24)


def test_no_data_mask_uses_the_full_range_of_the_dtype():
    la16 = np.zeros((1, 3, 2), np.uint16)
    la16[0, :, 1] = [32767, 32768, 65535]
    np.testing.assert_array_equal(no_data_mask(la16), [[True, False, False]])
    laf = np.zeros((1, 2, 2), np.float32)
    laf[0, :, 1] = [0.49, 0.5]
    np.testing.assert_array_equal(no_data_mask(laf), [[True, False]])
    assert no_data_mask(np.zeros((2, 3, 3), np.uint8)).shape == (2, 3)


# --- grey stored as RGB ---------------------------------------------------------------------


def test_grey_as_rgb_png_and_jpeg(tmp_path):
    g = _grey()
    Image.fromarray(np.dstack([g] * 3)).save(tmp_path / "g.png")
    img, meta = read_image(tmp_path / "g.png")
    assert img.shape == (24, 32) and meta["grey_as_rgb"]
    np.testing.assert_array_equal(img, g)
    Image.fromarray(np.dstack([g] * 3)).save(tmp_path / "g.jpg", quality=90)
    img, meta = read_image(tmp_path / "g.jpg")
    assert img.shape == (24, 32) and meta["grey_as_rgb"]
    raw = np.asarray(Image.open(tmp_path / "g.jpg")).astype(float)
    assert np.abs(img - raw.mean(axis=2)).max() <= 0.5 + 1e-9  # the rounded mean of R, G, B
    assert np.abs(img.astype(int) - g).mean() < 2
    near = np.dstack([g] * 3)
    near[5, 5, 0] += 1  # lossless: one level of colour is colour
    Image.fromarray(near).save(tmp_path / "near.png")
    img, meta = read_image(tmp_path / "near.png")
    assert img.shape == (24, 32, 3) and not meta["grey_as_rgb"]


def test_grey_as_rgb_16_bit_png_keeps_16_bits(tmp_path):
    import imagecodecs

    g16 = _grey().astype(np.uint16) * 16  # 12-bit data
    (tmp_path / "g16.png").write_bytes(imagecodecs.png_encode(np.dstack([g16] * 3)))
    img, meta = read_image(tmp_path / "g16.png")
    assert img.dtype == np.uint16 and img.shape == (24, 32) and meta["grey_as_rgb"]
    np.testing.assert_array_equal(img, g16)
    assert meta["bit_depth"] == 12


# --- bit depth and dtypes -------------------------------------------------------------------


@pytest.mark.parametrize(("top", "bits"), [(0, 10), (1023, 10), (1024, 12), (4095, 12),
                                           (16383, 14), (16384, 16), (65535, 16)])  # fmt: skip
def test_bit_depth_of_uint16_data(tmp_path, top, bits):
    data = np.zeros((8, 8), np.uint16)
    data[3, 4] = top
    tifffile.imwrite(tmp_path / "a.tif", data)
    img, meta = read_image(tmp_path / "a.tif")
    assert meta["bit_depth"] == bits == bit_depth(img)
    np.testing.assert_array_equal(img, data)  # values kept, never rescaled


def test_bit_depth_leaves_alpha_out_and_refuses_floats():
    la = np.zeros((2, 2, 2), np.uint16)
    la[..., 1] = 65535
    la[0, 0, 0] = 4000
    assert bit_depth(la) == 12
    assert bit_depth(np.zeros((2, 2, 3), np.uint8)) == 8
    with pytest.raises(TypeError, match="float32"):
        bit_depth(np.zeros((2, 2), np.float32))


def test_one_bit_signed_and_float_data(tmp_path):
    bits = _grey() > 100
    Image.fromarray(bits).save(tmp_path / "bits.png")
    img, meta = read_image(tmp_path / "bits.png")
    assert img.dtype == np.uint8 and set(np.unique(img)) == {0, 255}
    np.testing.assert_array_equal(img == 255, bits)
    signed = np.array([[-32768, 0], [100, 32767]], np.int16)
    np.save(tmp_path / "s.npy", signed)
    img, meta = read_image(tmp_path / "s.npy")
    assert img.dtype == np.uint16 and meta["source_dtype"] == "int16"
    np.testing.assert_array_equal(img, signed.astype(int) + 32768)
    np.save(tmp_path / "pos.npy", np.array([[0, 4000]], np.int16))
    img, meta = read_image(tmp_path / "pos.npy")
    assert img.dtype == np.uint16 and img.max() == 4000 and meta["bit_depth"] == 12
    np.save(tmp_path / "f64.npy", np.linspace(0, 1, 16).reshape(4, 4))
    img, meta = read_image(tmp_path / "f64.npy")
    assert img.dtype == np.float32 and meta["bit_depth"] is None and img.max() == 1.0
    np.save(tmp_path / "f12.npy", np.array([[0.0, 4095.0]]))
    img, meta = read_image(tmp_path / "f12.npy")
    assert img.dtype == np.uint16 and meta["bit_depth"] == 12
    np.save(tmp_path / "neg.npy", np.array([[-0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"neg.npy' holds float values in \[-0.5, 0.5\]"):
        read_image(tmp_path / "neg.npy")


def test_nan_is_refused_naming_the_file(tmp_path):
    a = np.zeros((8, 8), np.float32)
    a[2, 3] = np.nan
    a[4, 4] = np.inf
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(ValueError, match=r"IMAGE file '.*nan.npy' holds 2 NaN or infinite"):
        read_image(tmp_path / "nan.npy", name="IMAGE")


# --- pixel size from the file ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "size_um"),
    [
        ({"resolution": (1 / 12e-4, 1 / 12e-4), "resolutionunit": "CENTIMETER"}, 12.0),
        ({"resolution": (25400 / 12.0, 25400 / 12.0), "resolutionunit": "INCH"}, 12.0),
        ({"resolution": (72, 72), "resolutionunit": "INCH"}, None),  # software default
        ({"resolution": (300, 300), "resolutionunit": "INCH"}, None),
        ({"resolution": (600, 600), "resolutionunit": "INCH"}, None),  # print setting
        ({"resolution": (1200, 1200), "resolutionunit": "INCH"}, None),
        ({"resolution": (1, 1), "resolutionunit": "CENTIMETER"}, None),
        ({"resolution": (800, 800), "resolutionunit": "NONE"}, None),
        ({}, None),
    ],
)
def test_pixel_size_from_tiff_resolution(tmp_path, kwargs, size_um):
    tifffile.imwrite(tmp_path / "a.tif", _grey(), **kwargs)
    meta = read_image(tmp_path / "a.tif")[1]
    if size_um is None:
        assert meta["pixel_size_um"] is None and meta["pixel_size_source"] is None
    else:
        assert meta["pixel_size_um"] == pytest.approx(size_um)
        assert meta["pixel_size_source"] == "tiff-resolution"


def test_pixel_size_from_imagej_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "ij.tif", _grey(), imagej=True, resolution=(1 / 7.5, 1 / 7.5),
                     metadata={"unit": "um"})  # fmt: skip
    meta = read_image(tmp_path / "ij.tif")[1]
    assert meta["pixel_size_um"] == pytest.approx(7.5)
    assert meta["pixel_size_source"] == "tiff-resolution"


@pytest.mark.parametrize(("value", "unit", "size_um"), [(12.0, "µm", 12.0), (8000.0, "nm", 8.0),
                                                        (0.02, "mm", 20.0)])  # fmt: skip
def test_pixel_size_from_ome_tiff(tmp_path, value, unit, size_um):
    md = {"PhysicalSizeX": value, "PhysicalSizeXUnit": unit,
          "PhysicalSizeY": value, "PhysicalSizeYUnit": unit}  # fmt: skip
    tifffile.imwrite(tmp_path / "a.ome.tif", _ramp(), ome=True, photometric="rgb", metadata=md)
    img, meta = read_image(tmp_path / "a.ome.tif")
    assert img.shape == (24, 32, 3)
    assert meta["pixel_size_um"] == pytest.approx(size_um)
    assert meta["pixel_size_source"] == "ome-tiff"


def test_anisotropic_pixels_are_refused(tmp_path):
    tifffile.imwrite(tmp_path / "r.tif", _grey(), resolution=(1 / 12e-4, 1 / 13e-4),
                     resolutionunit="CENTIMETER")  # fmt: skip
    with pytest.raises(ValueError, match=r"r.tif' has non-square pixels \(12 x 13 um"):
        read_image(tmp_path / "r.tif")
    md = {"PhysicalSizeX": 10.0, "PhysicalSizeY": 12.0}
    tifffile.imwrite(tmp_path / "o.ome.tif", _grey(), ome=True, metadata=md)
    with pytest.raises(ValueError, match="non-square pixels"):
        read_image(tmp_path / "o.ome.tif")
    tifffile.imwrite(tmp_path / "ok.tif", _grey(), resolution=(1 / 12e-4, 1 / 12.1e-4),
                     resolutionunit="CENTIMETER")  # fmt: skip
    assert read_image(tmp_path / "ok.tif")[1]["pixel_size_um"] == pytest.approx(12.0)


# --- errors ---------------------------------------------------------------------------------


def test_errors_name_the_file_in_one_line(tmp_path):
    Image.fromarray(_ramp()).save(tmp_path / "good.png")
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    Image.fromarray(_ramp()).save(tmp_path / "good.jpg")
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    tifffile.imwrite(tmp_path / "good.tif", _grey(), compression="lzw")
    data = (tmp_path / "good.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:100])
    np.save(tmp_path / "good.npy", _grey())
    (tmp_path / "cut.npy").write_bytes((tmp_path / "good.npy").read_bytes()[:200])
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "vec.npy", np.zeros(5))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "folder.png").mkdir()
    cases = {
        "missing.png": "does not exist",
        "folder.png": "is not a file",
        "empty.png": "is empty",
        "notes.txt": "is not an image of a supported kind",
        "cut.png": "could not be read",
        "cut.jpg": "could not be read",
        "cut.tif": "could not be read",
        "cut.npy": "could not be read",
        "obj.npy": "could not be read",
        "vec.npy": "not an image",
    }
    for f, what in cases.items():
        with pytest.raises(ValueError) as err:
            read_image(tmp_path / f, name="--region")
        msg = str(err.value)
        assert msg.startswith(f"--region file '{tmp_path / f}'") and what in msg, msg
        assert "\n" not in msg


# --- masks ----------------------------------------------------------------------------------


def _disc(h: int = 40, w: int = 50) -> np.ndarray:
    rr, cc = np.mgrid[:h, :w]
    return (rr - 20) ** 2 + (cc - 25) ** 2 < 12**2


def test_mask_from_rgba_layer_is_the_opaque_pixels(tmp_path):
    layer = np.full((40, 50, 4), 255, np.uint8)  # transparent white...
    layer[..., 3] = 0
    layer[_disc()] = (255, 0, 0, 255)  # ...with a red disc drawn opaque
    Image.fromarray(layer).save(tmp_path / "layer.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "layer.png", shape=(40, 50)), _disc())
    la = np.zeros((40, 50, 2), np.uint8)
    la[..., 1] = np.where(_disc(), 255, 0)  # black drawn on transparent black
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "la.png", shape=(40, 50, 3)), _disc())


def test_mask_brightness_rule(tmp_path):
    opaque = np.zeros((40, 50, 4), np.uint8)
    opaque[..., 3] = 255
    opaque[_disc(), :3] = 255  # all opaque: falls back to brightness
    Image.fromarray(opaque).save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "opaque.png", shape=(40, 50)), _disc())
    red = np.zeros((40, 50, 3), np.uint8)
    red[_disc(), 0] = 255
    Image.fromarray(red).save(tmp_path / "red.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "red.png", shape=(40, 50)), _disc())
    Image.fromarray(_disc().astype(np.uint8)).save(tmp_path / "zero_one.png")  # 0/1 mask
    np.testing.assert_array_equal(read_mask(tmp_path / "zero_one.png", shape=(40, 50)), _disc())
    np.save(tmp_path / "m.npy", _disc())
    np.testing.assert_array_equal(read_mask(tmp_path / "m.npy", shape=(40, 50)), _disc())
    tifffile.imwrite(tmp_path / "m12.tif", (_disc() * 4095).astype(np.uint16))
    np.testing.assert_array_equal(read_mask(tmp_path / "m12.tif", shape=(40, 50)), _disc())


def test_jpeg_mask_is_thresholded_not_grown(tmp_path):
    Image.fromarray((_disc() * 255).astype(np.uint8)).save(tmp_path / "m.jpg", quality=60)
    ringing = np.asarray(Image.open(tmp_path / "m.jpg"))
    assert ((ringing != 0) & ~_disc()).any()  # the ringing is there...
    mask = read_mask(tmp_path / "m.jpg", shape=(40, 50))
    assert (mask != _disc()).sum() <= 4  # ...and thresholded away


def test_mask_gets_the_exif_orientation(tmp_path):
    stored = np.rot90(_disc(), 1)  # as a camera stores it; orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray((stored * 255).astype(np.uint8)).save(tmp_path / "m.png", exif=exif)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", shape=(40, 50)), _disc())


def test_mask_errors(tmp_path):
    Image.fromarray((_disc() * 255).astype(np.uint8)).save(tmp_path / "m.png")
    with pytest.raises(
        ValueError,
        match=r"--region file '.*m.png' has shape \(40, 50\), the image has shape \(64, 64\)",
    ):
        read_mask(tmp_path / "m.png", shape=(64, 64), name="--region")
    Image.fromarray(np.zeros((40, 50), np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="blank.png' marks no pixel"):
        read_mask(tmp_path / "blank.png", shape=(40, 50))


def test_reader_is_public():
    assert ip.read_image is read_image
    assert "read_image" in ip.__all__


# --- the shared cases -----------------------------------------------------------------------

needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="shared cases folder not present")


@needs_cases
def test_case_grey_as_rgb():
    img, meta = read_image(CASES / "grey_as_rgb_256.png")
    raw = np.asarray(Image.open(CASES / "grey_as_rgb_256.png"))
    assert img.shape == (256, 256) and meta["grey_as_rgb"]
    np.testing.assert_array_equal(img, raw[..., 0])


@needs_cases
def test_case_12_bit_in_uint16():
    img, meta = read_image(CASES / "grey12bit_in_uint16_256.tif")
    assert img.dtype == np.uint16 and meta["bit_depth"] == 12 and img.max() < 4096


@needs_cases
def test_case_rgba_transparent_outside_disc():
    img, meta = read_image(CASES / "rgba_transparent_outside_disc_256.png")
    raw = np.asarray(Image.open(CASES / "rgba_transparent_outside_disc_256.png"))
    assert img.shape == (256, 256, 4) and meta["alpha"]
    np.testing.assert_array_equal(no_data_mask(img), raw[..., 3] < 128)
    assert no_data_mask(img)[0, 0] and not no_data_mask(img)[128, 128]  # outside / centre
    assert 0.5 < meta["no_data_fraction"] < 0.9


@needs_cases
def test_case_exif_orientation_6_is_upright():
    img, meta = read_image(CASES / "exif_orientation6_256.jpg")
    stored = np.asarray(Image.open(CASES / "exif_orientation6_256.jpg")).astype(int)
    reference = np.asarray(Image.open(CASES / "cortex_rgb_256.png")).astype(int)
    assert meta["exif_orientation"] == 6
    np.testing.assert_array_equal(img, np.rot90(stored, -1))
    assert np.abs(img - reference).mean() < 5 < np.abs(stored - reference).mean()


@needs_cases
def test_case_region_rgba_layer():
    mask = read_mask(CASES / "region_rgba_transparent_white_256.png", shape=(256, 256))
    disc = np.load(CASES / "region_drawn_disc_256.npy")
    assert (mask != disc).sum() <= 2


@needs_cases
def test_case_region_drawn_on_displayed_photo():
    f = CASES / "region_drawn_on_displayed_photo_256.png"
    mask = read_mask(f, shape=read_image(CASES / "exif_orientation6_256.jpg")[0].shape)
    np.testing.assert_array_equal(mask, np.asarray(Image.open(f).convert("L")) > 127)


def test_16_bit_grey_png_and_cmyk_jpeg(tmp_path):
    g16 = (_grey().astype(np.uint16) * 64).astype(np.uint16)  # 14-bit data
    Image.fromarray(g16).save(tmp_path / "g16.png")
    img, meta = read_image(tmp_path / "g16.png")
    assert img.dtype == np.uint16 and meta["bit_depth"] == 14
    np.testing.assert_array_equal(img, g16)
    Image.fromarray(_ramp()).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    img, meta = read_image(tmp_path / "cmyk.jpg")
    assert img.shape == (24, 32, 3) and np.abs(img.astype(int) - _ramp()).mean() < 4


# --- signed integers --------------------------------------------------------------------


def test_signed_images_are_cast_shifted_or_refused_by_their_range(tmp_path):
    grey = _grey().astype(np.int16) * 40  # 1200-9160: light levels, all positive
    np.save(tmp_path / "pos.npy", grey)
    img, _ = read_image(tmp_path / "pos.npy")
    assert img.dtype == np.uint16 and int(img.min()) == int(grey.min())
    # offset binary (FITS' BZERO = 32768): the type's minimum is the darkest level
    np.save(tmp_path / "offset.npy", (grey.astype(np.int32) - 32768).astype(np.int16))
    img, _ = read_image(tmp_path / "offset.npy")
    assert np.array_equal(img, grey.astype(np.uint16))
    # a dark frame taken off: a few levels below zero; once read as half-scale grey
    # with no vessel, now named
    np.save(tmp_path / "dark_subtracted.npy", grey - 1250)
    with pytest.raises(ValueError, match=r"negative values \(down to -50, against a maximum of "
                       r"7910\) in a signed int16 array.*clip at 0.*add 32768"):  # fmt: skip
        read_image(tmp_path / "dark_subtracted.npy")
    # offset binary of a bright picture (true levels 20000-60000): shifted
    bright = 20000 + (_grey().astype(np.int32) - 30) * 200
    np.save(tmp_path / "bright_offset.npy", (bright - 32768).astype(np.int16))
    img, _ = read_image(tmp_path / "bright_offset.npy")
    assert int(img.min()) == 20000 and int(img.max()) == int(bright.max())
