"""Read images and region masks from files as the camera and the viewer meant them.

One reader for the command line and the API. The kind of file is found from its content
(PNG, JPEG, TIFF, NPY, and BMP, WebP, GIF, PPM, JPEG 2000 through Pillow); the size is
checked from the header before anything is decoded; EXIF orientation is applied; an alpha
channel is kept as a no-data layer; grey stored as RGB becomes grey; the bit depth in use
is found from the data; the pixel size is read from TIFF and OME-TIFF metadata.
"""

from __future__ import annotations

import math
import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._jpeg_check import _block_row_steps, _check_jpeg, _jpeg_segments  # noqa: F401
from ._refusal import Refused as _Refused  # a refusal worded here

__all__ = ["read_image", "read_mask", "bit_depth", "no_data_mask", "MAX_SIDE"]

MAX_SIDE = 8192
"""Largest image side in pixels (the segmentation's limit)."""

_PIL_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "PPM", "JPEG2000")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_KINDS = "PNG, JPEG, TIFF, NPY, BMP, WebP or GIF"
_UM_PER_UNIT = {"µm": 1.0, "μm": 1.0, "um": 1.0, "micron": 1.0, "microns": 1.0,
                "\\u00B5m": 1.0, "nm": 1e-3, "Å": 1e-4, "mm": 1e3, "cm": 1e4, "m": 1e6}  # fmt: skip
_UM_PER_RESUNIT = {2: 25400.0, 3: 1e4, 4: 1e3, 5: 1.0}  # inch, cm, mm, um (TIFF 6.0 + common)
_PRINT_DPI_MAX = 1200.0
"""Resolution in pixels per inch up to which it is a print setting (72-1200 dpi, written by
editors, printers and scanners), not the size of a pixel on the object: a pixel of 21.2 um
or more given in inches is not taken as a pixel size (microscopes write cm, um or OME)."""



def read_image(
    path: str | os.PathLike[str], *, name: str = "image"
) -> tuple[NDArray[Any], dict[str, Any]]:
    """Read an image file as the viewer shows it, with what the file says about it.

    Parameters
    ----------
    path : str or path-like
        PNG, JPEG, TIFF (any codec of ``imagecodecs``: LZW, deflate, zstd...), NPY, or
        BMP / WebP / GIF / PPM / JPEG 2000. The kind is found from the content.
    name : str
        What the file is, used in error messages (e.g. ``"--region"``).

    Returns
    -------
    image : (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) array, uint8, uint16 or float32
        Upright (EXIF / TIFF orientation applied). Grey stored as RGB is returned as grey.
        A last alpha channel (grey + alpha or RGBA) is kept only when some pixel has alpha
        below half its range (no data, see :func:`no_data_mask`). uint16 keeps its values;
        1-bit becomes uint8 0/255; signed integers are cast to unsigned when none is
        negative, shifted by half their type's range when their negatives reach
        ``OFFSET_BINARY_SHARE`` of their range (offset binary), and refused with
        shallower negatives; floats must be finite and in [0, 1] (integral floats up to
        65535 become uint8/uint16).
    meta : dict
        ``format`` (``"PNG"``, ``"TIFF"``, ``"NPY"``...), ``source_dtype`` (str),
        ``bit_depth`` (int, see :func:`bit_depth`; None for float), ``exif_orientation``
        (1-8), ``grey_as_rgb`` (bool), ``alpha`` (bool: a no-data channel is returned),
        ``no_data_fraction`` (float), ``pixel_size_um`` (float or None) and
        ``pixel_size_source`` (``"ome-tiff"``, ``"tiff-resolution"`` or None).

    Raises
    ------
    ValueError
        One line naming ``name`` and the file: missing, a folder, empty, not an image of
        a supported kind, truncated or damaged, larger than ``MAX_SIDE`` on a side (from
        the header, before decoding), several frames (with their count), NaN / infinite
        or out-of-range values, non-square pixels in the metadata.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> grey = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (4, 1))
    >>> f = Path(tempfile.mkdtemp()) / "grey_as_rgb.png"
    >>> Image.fromarray(np.dstack([grey] * 3)).save(f)
    >>> img, meta = read_image(f)
    >>> img.shape, img.dtype, meta["grey_as_rgb"], meta["bit_depth"], meta["pixel_size_um"]
    ((4, 25), dtype('uint8'), True, 8, None)
    """
    p = Path(path)
    where = f"{name} file {str(p)!r}"
    if not p.exists():
        raise ValueError(f"{where} does not exist")
    if not p.is_file():
        raise ValueError(f"{where} is not a file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
        if not head:
            raise _Refused(f"{where} is empty")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library warnings never reach the user
            if head.startswith(b"\x93NUMPY"):
                raw, info = _read_npy(p, where)
            elif head[:4] in _TIFF_MAGIC:
                raw, info = _read_tiff(p, where)
            else:
                raw, info = _read_pillow(p, where)
    except _Refused as exc:
        raise ValueError(str(exc)) from None
    except Exception as exc:  # every decoder has its own exception types
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{where} could not be read (truncated or damaged?): {why}") from None
    try:
        return _finish(raw, info, where)
    except _Refused as exc:
        raise ValueError(str(exc)) from None


def read_mask(
    path: str | os.PathLike[str], *, shape: tuple[int, ...], name: str = "region"
) -> NDArray[np.bool_]:
    """Read a drawn mask (a region, a craniectomy) with :func:`read_image`, as drawn.

    An RGBA or grey + alpha layer: the drawn pixels are the opaque ones (alpha at least half
    its range). Otherwise the pixels brighter than half the range (the brightest channel of
    colour), so lossy-compression ringing is thresholded away; a mask holding only 0 and 1
    is taken as is.

    Parameters
    ----------
    path : str or path-like
    shape : tuple of int
        The (H, W) of the image the mask belongs to (extra entries are ignored).
    name : str
        Used in error messages, e.g. ``"--region"``.

    Returns
    -------
    (H, W) bool array

    Raises
    ------
    ValueError
        As :func:`read_image`; also when the shape differs from ``shape`` (both named) or
        no pixel is drawn.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> layer = np.zeros((4, 6, 4), np.uint8)
    >>> layer[..., :3] = 255            # white everywhere, transparent...
    >>> layer[1:3, 2:4] = (255, 0, 0, 255)  # ...but a red square drawn opaque
    >>> f = Path(tempfile.mkdtemp()) / "region.png"
    >>> Image.fromarray(layer).save(f)
    >>> read_mask(f, shape=(4, 6)).astype(int)
    array([[0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 0, 0],
           [0, 0, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    image, meta = read_image(path, name=name)
    where = f"{name} file {str(Path(path))!r}"
    want = tuple(int(s) for s in tuple(shape)[:2])
    if image.shape[:2] != want:
        raise ValueError(f"{where} has shape {image.shape[:2]}, the image has shape {want}")
    if meta["alpha"]:
        drawn = ~no_data_mask(image)
    else:
        level = image if image.ndim == 2 else image.max(axis=2)
        if level.dtype.kind == "u" and int(level.max()) <= 1:
            drawn = level == 1
        else:
            top = 1.0 if level.dtype.kind == "f" else float(2 ** bit_depth(level) - 1)
            drawn = level > top / 2
    if not drawn.any():
        raise ValueError(f"{where} marks no pixel (nothing opaque or brighter than half)")
    return np.ascontiguousarray(drawn)


def bit_depth(array: NDArray[Any]) -> int:
    """The bits in use of an integer image: 8 for uint8; for uint16 the smallest of 10, 12,
    14 and 16 whose maximum covers the data (camera data in a 16-bit container).

    A last alpha channel ((H, W, 2) or (H, W, 4)) is left out: alpha uses the full range.

    Raises
    ------
    TypeError
        When ``array`` is not uint8 or uint16 (float images are already scaled to [0, 1]).

    Examples
    --------
    >>> import numpy as np
    >>> bit_depth(np.array([[0, 4095]], np.uint16)), bit_depth(np.array([[0, 4096]], np.uint16))
    (12, 14)
    >>> bit_depth(np.zeros((2, 2), np.uint8))
    8
    """
    a = np.asarray(array)
    if a.dtype == np.uint8:
        return 8
    if a.dtype != np.uint16:
        raise TypeError(f"bit_depth needs a uint8 or uint16 array, got dtype {a.dtype}")
    colour = a[..., :-1] if a.ndim == 3 and a.shape[2] in (2, 4) else a
    top = int(colour.max()) if colour.size else 0
    return next(b for b in (10, 12, 14, 16) if top <= 2**b - 1)


def no_data_mask(image: NDArray[Any]) -> NDArray[np.bool_]:
    """(H, W) bool: True where the alpha channel of ``image`` is below half its range.

    Alpha is the last channel of an (H, W, 2) or (H, W, 4) image, on the full range of the
    dtype (255, 65535, or 1.0 for float) whatever the bit depth of the colour. All False
    when the image has no alpha channel.

    Examples
    --------
    >>> import numpy as np
    >>> no_data_mask(np.array([[[9, 255], [9, 127]]], np.uint8))
    array([[False,  True]])
    """
    a = np.asarray(image)
    if not (a.ndim == 3 and a.shape[2] in (2, 4)):
        return np.zeros(a.shape[:2], bool)
    full = 1.0 if a.dtype.kind == "f" else float(np.iinfo(a.dtype).max)
    return np.asarray(a[..., -1] < full / 2)


# --- decoders: each returns the raw array (rows, cols[, channels]) and what it learnt ------


def _check_size(where: str, rows: int, cols: int, frames: int = 1) -> None:
    if rows < 1 or cols < 1:
        raise _Refused(f"{where} holds no pixels ({rows} rows x {cols} columns)")
    if max(rows, cols) > MAX_SIDE:
        raise _Refused(
            f"{where} has {rows} rows x {cols} columns, more than the limit of "
            f"{MAX_SIDE} x {MAX_SIDE} pixels"
        )
    if frames > 1:
        raise _Refused(f"{where} holds {frames} frames (an animation or a stack); save one frame")


def _read_npy(p: Path, where: str) -> tuple[NDArray[Any], dict[str, Any]]:
    mm = np.load(p, mmap_mode="r", allow_pickle=False)  # the header only, until copied
    shape = mm.shape
    if len(shape) < 2:
        raise _Refused(f"{where} holds an array of shape {shape}, not an image")
    if len(shape) == 3 and 4 < shape[-1] < min(shape[0], shape[1]) and shape[-1] <= 16:
        raise _Refused(
            f"{where} holds {shape[-1]} channels per pixel (shape {shape}); save grey, RGB or RGBA"
        )
    lead = 3 if len(shape) >= 3 and shape[-1] in (1, 2, 3, 4) else 2
    rows, cols = shape[-lead], shape[-lead + 1]
    _check_size(where, rows, cols, math.prod(shape[:-lead]))
    return np.array(mm), {"format": "NPY"}


def _read_tiff(p: Path, where: str) -> tuple[NDArray[Any], dict[str, Any]]:
    import tifffile

    with tifffile.TiffFile(p) as tf:
        series = tf.series[0]
        axes, shape = series.axes, series.shape
        # reduced-resolution pages (thumbnails, pyramids: NewSubfileType bit 0) are
        # previews of the image, not more frames
        frames = sum(
            math.prod(n for a, n in zip(s.axes, s.shape, strict=True) if a not in "YXS")
            for s in tf.series
            if not (int(getattr(s.keyframe, "subfiletype", 0) or 0) & 1)
        )
        _check_size(where, shape[axes.index("Y")], shape[axes.index("X")], frames)
        page: Any = series.keyframe
        arr = series.asarray()
        drop = tuple(i for i, a in enumerate(axes) if a not in "YXS")
        arr = arr.squeeze(axis=drop) if drop else arr
        rest = [a for a in axes if a in "YXS"]
        arr = np.moveaxis(arr, [rest.index(a) for a in "YXS" if a in rest], range(len(rest)))
        orientation = int(page.tags["Orientation"].value) if "Orientation" in page.tags else 1
        photometric = int(page.photometric)
        if photometric == 0:  # MINISWHITE: shown inverted
            arr = ~arr if arr.dtype == bool else np.iinfo(arr.dtype).max - arr
        elif photometric == 3:  # PALETTE
            cmap = page.colormap.astype(np.uint16)  # 16-bit entries, shown as 8-bit colour
            cmap = (
                cmap // 257 if (cmap % 257 == 0).all() else cmap >> 8 if cmap.max() > 255 else cmap
            )
            arr = np.moveaxis(cmap.astype(np.uint8)[:, arr], 0, -1)
        elif photometric == 6 and "JPEG" not in page.compression.name:
            arr = _ycbcr_to_rgb(arr, where)  # raw Y, Cb, Cr samples (JPEG ones come as RGB)
        elif photometric not in (1, 2, 6):
            raise _Refused(f"{where} is a {page.photometric.name} TIFF; save it as grey or RGB")
        n_colour = 3 if photometric in (2, 3, 6) else 1
        if arr.ndim == 3 and arr.shape[2] > n_colour:
            extra = tuple(int(e) for e in page.extrasamples)
            if not extra or extra[0] not in (1, 2) or arr.shape[2] > n_colour + 1:
                raise _Refused(f"{where} holds {arr.shape[2]} channels per pixel; save grey or RGB")
        size_um, source = _tiff_pixel_size(tf, page, where)
        lossy = any(k in page.compression.name for k in ("JPEG", "WEBP"))
    info = {"format": "TIFF", "lossy": lossy, "exif_orientation": orientation,
            "pixel_size_um": size_um, "pixel_size_source": source}  # fmt: skip
    return _orient(arr, orientation), info


def _ycbcr_to_rgb(arr: NDArray[Any], where: str) -> NDArray[np.uint8]:
    """8-bit Y, Cb, Cr samples to RGB (full-range ITU-R BT.601, as JFIF and Pillow write)."""
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise _Refused(f"{where} is a YCbCr TIFF that is not 8-bit 3-sample; save it as RGB")
    y, cb, cr = (arr[..., k].astype(np.float32) for k in range(3))
    cb -= 128.0
    cr -= 128.0
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _tiff_pixel_size(tf: Any, page: Any, where: str) -> tuple[float | None, str | None]:
    """Square pixel side in um from OME PhysicalSizeX/Y or the resolution tags, if real."""
    if tf.is_ome and tf.ome_metadata:
        ome = _ome_size(tf.ome_metadata)
        if ome is not None:
            return _square(where, *ome, "OME PhysicalSizeX/Y"), "ome-tiff"
    tags = page.tags
    if "XResolution" not in tags:
        return None, None
    unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
    um = _UM_PER_RESUNIT.get(unit)
    if unit == 1 and tf.is_imagej:  # ImageJ: no TIFF unit, its own in the description
        um = _UM_PER_UNIT.get(str((tf.imagej_metadata or {}).get("unit", "")))
    num, den = tags["XResolution"].value
    per_x = num / den if den else 0.0
    num, den = tags["YResolution"].value if "YResolution" in tags else (num, den)
    per_y = num / den if den else 0.0
    if um is None or per_x <= 0 or per_y <= 0 or per_x == 1 or per_y == 1:
        return None, None
    if unit == 2 and max(per_x, per_y) <= _PRINT_DPI_MAX:
        return None, None
    return _square(where, um / per_x, um / per_y, "TIFF XResolution/YResolution"), "tiff-resolution"


def _ome_size(xml: str) -> tuple[float, float] | None:
    for el in ET.fromstring(xml).iter():
        if el.tag.rsplit("}", 1)[-1] == "Pixels":
            sx, ux = el.get("PhysicalSizeX"), el.get("PhysicalSizeXUnit", "µm")
            if sx is None:
                return None
            x = float(sx) * _UM_PER_UNIT.get(ux, math.nan)
            y = float(el.get("PhysicalSizeY", sx))
            y *= _UM_PER_UNIT.get(el.get("PhysicalSizeYUnit", ux), math.nan)
            return (x, y) if min(x, y) > 0 and math.isfinite(x + y) else None
    return None


def _square(where: str, x_um: float, y_um: float, what: str) -> float:
    if abs(x_um - y_um) > 0.01 * max(x_um, y_um):
        raise _Refused(
            f"{where} has non-square pixels ({x_um:g} x {y_um:g} um from {what}); "
            "resample it to square pixels"
        )
    return float(x_um)


def _read_pillow(p: Path, where: str) -> tuple[NDArray[Any], dict[str, Any]]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        im = Image.open(p, formats=_PIL_FORMATS)
    except UnidentifiedImageError:
        raise _Refused(f"{where} is not an image of a supported kind ({_KINDS})") from None
    except Image.DecompressionBombError:  # more than twice Pillow's own limit
        rows, cols = _header_size(p)
        _check_size(where, rows, cols)
        raise
    with im:
        fmt = str(im.format)
        frames = 1 if fmt == "MPO" else int(getattr(im, "n_frames", 1))  # MPO: previews follow
        _check_size(where, im.height, im.width, frames)
        orientation = int(im.getexif().get(0x0112, 1) or 1)
        with open(p, "rb") as fh:
            ihdr = fh.read(26)
        if fmt == "PNG" and ihdr[24] == 16 and ihdr[25] in (2, 4, 6):  # Pillow keeps 8 bits
            import imagecodecs

            arr = _orient(imagecodecs.png_decode(p.read_bytes()), orientation)
        else:
            if fmt in ("JPEG", "MPO"):
                _check_jpeg(p.read_bytes(), np.asarray(im), where)
            arr = _pillow_array(ImageOps.exif_transpose(im))
    lossy = fmt in ("JPEG", "MPO", "WEBP", "JPEG2000")
    return arr, {"format": fmt, "lossy": lossy, "exif_orientation": orientation}


def _header_size(p: Path) -> tuple[int, int]:
    """(rows, cols) from the header alone, bypassing Pillow's decompression-bomb check."""
    from PIL import Image

    Image.init()
    with open(p, "rb") as fh:
        head = fh.read(16)
        for fmt in _PIL_FORMATS:
            factory, accept = Image.OPEN.get(fmt, (None, None))
            if factory is None or (accept is not None and not accept(head)):
                continue
            fh.seek(0)
            try:
                with factory(fh, str(p)) as im:
                    return int(im.height), int(im.width)
            except Exception:  # not this format after all
                continue
    return MAX_SIDE + 1, MAX_SIDE + 1


def _pillow_array(im: Any) -> NDArray[Any]:
    mode, transparent = im.mode, "transparency" in im.info
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if transparent or mode == "PA" else "RGB")
    elif mode in ("L", "RGB") and transparent:
        im = im.convert(mode[0] + "A")
    elif mode not in ("1", "L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I", "F"):
        im = im.convert("RGBA" if "A" in mode or "a" in mode else "RGB")  # CMYK, YCbCr, ...
    return np.asarray(im)


def _orient(a: NDArray[Any], code: int) -> NDArray[Any]:
    """Apply EXIF / TIFF orientation ``code`` (1-8) to the first two axes."""
    turns = {2: a[:, ::-1], 3: a[::-1, ::-1], 4: a[::-1], 5: a.swapaxes(0, 1),
             6: np.rot90(a, -1), 7: a[::-1, ::-1].swapaxes(0, 1), 8: np.rot90(a, 1)}  # fmt: skip
    return np.ascontiguousarray(turns.get(code, a))


# --- from the raw array to the returned one -----------------------------------------------


def _finish(
    raw: NDArray[Any], info: dict[str, Any], where: str
) -> tuple[NDArray[Any], dict[str, Any]]:
    source_dtype = str(raw.dtype)
    a = _as_image_dtype(raw, where)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (2, 3, 4))):
        raise _Refused(f"{where} holds an array of shape {raw.shape}, not an image")
    no_data = no_data_mask(a)
    if a.ndim == 3 and a.shape[2] in (2, 4) and not no_data.any():
        a = a[..., :-1] if a.shape[2] == 4 else a[..., 0]  # fully opaque: alpha says nothing
    alpha = a.ndim == 3 and a.shape[2] in (2, 4)
    grey = a.ndim == 3 and a.shape[2] >= 3 and _grey_as_rgb(a, no_data, info.get("lossy", False))
    if grey:
        level = _mean3(a) if info.get("lossy") and a.dtype == np.uint8 else a[..., 1]
        a = np.dstack([level, a[..., 3]]) if alpha else level
    meta = {
        "format": info["format"],
        "source_dtype": source_dtype,
        "bit_depth": None if a.dtype.kind == "f" else bit_depth(a),
        "exif_orientation": info.get("exif_orientation", 1),
        "grey_as_rgb": bool(grey),
        "alpha": bool(alpha),
        "no_data_fraction": float(no_data.mean()) if alpha else 0.0,
        "pixel_size_um": info.get("pixel_size_um"),
        "pixel_size_source": info.get("pixel_size_source"),
    }
    return np.ascontiguousarray(a), meta


OFFSET_BINARY_SHARE = 0.1
"""A signed image whose negative values reach at least this share of its range below zero
is read as offset binary (the type's minimum the darkest level, as FITS' ``BZERO``) and
shifted; one with shallower negatives (a dark frame taken off, the noise left below zero)
is refused: neither reading is safe to guess."""


def _as_image_dtype(a: NDArray[Any], where: str) -> NDArray[Any]:
    """uint8 / uint16 / float32 in [0, 1], in native byte order."""
    kind, size = a.dtype.kind, a.dtype.itemsize
    if kind == "b":
        return a.astype(np.uint8) * np.uint8(255)
    if kind == "i":
        a = a.astype(a.dtype.newbyteorder("="))
        low = int(a.min()) if a.size else 0
        if low < 0:
            half = 1 << (8 * size - 1)
            high = int(a.max())
            if -low < OFFSET_BINARY_SHARE * (high - low):
                # a few levels below zero under a positive picture (a dark frame taken
                # off): not light levels, and shifting by half the type's range would
                # flatten the picture into a sliver of it
                raise _Refused(
                    f"{where} holds negative values (down to {low}, against a maximum of "
                    f"{high}) in a signed {a.dtype} array: light levels start at 0; if a "
                    f"dark frame was taken off, clip at 0; if it is offset binary, add "
                    f"{half}; then save as unsigned"
                )
            # offset binary (FITS' BZERO): the type's minimum is the darkest level
            a = a.view(f"u{size}") ^ np.array(half, f"u{size}")
        a, kind = a.astype(f"u{size}"), "u"
    if kind == "u":
        if size <= 2:
            return a.astype(np.uint8 if size == 1 else np.uint16)
        top = int(a.max()) if a.size else 0
        if top <= 65535:
            return a.astype(np.uint16)
        return (a / float(2 ** top.bit_length() - 1)).astype(np.float32)
    if kind != "f":
        raise _Refused(f"{where} holds values of type {a.dtype}, not an image")
    finite = np.isfinite(a)
    if not finite.all():
        raise _Refused(f"{where} holds {int(a.size - finite.sum())} NaN or infinite values")
    low, high = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if 0.0 <= low and high <= 1.0:
        return a.astype(np.float32)
    if 0.0 <= low and high <= 65535 and bool((a == np.round(a)).all()):
        return a.astype(np.uint8 if high <= 255 else np.uint16)
    raise _Refused(
        f"{where} holds float values in [{low:g}, {high:g}]; float images must be scaled to [0, 1]"
    )


def _grey_as_rgb(a: NDArray[Any], no_data: NDArray[np.bool_], lossy: bool) -> bool:
    """R == G == B at every pixel with data (within 2 levels for 8-bit lossy files)."""
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    if lossy and a.dtype == np.uint8:
        r, g, b = (c.astype(np.int16) for c in (r, g, b))
        same = (np.abs(r - g) <= 2) & (np.abs(g - b) <= 2)
    else:
        same = (r == g) & (g == b)
    return bool((same | no_data).all())


def _mean3(a: NDArray[Any]) -> NDArray[Any]:
    total = a[..., 0].astype(np.uint16) + a[..., 1] + a[..., 2]
    return ((total + 1) // 3).astype(a.dtype)
