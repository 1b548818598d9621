"""File input and output: atomic writes and image reading."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_path",
    "read_image",
    "IMAGE_SUFFIXES",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy")


def check_output_path(path: str | os.PathLike[str], *, name: str) -> Path:
    """Return ``path`` as a Path if a file can be written there, else raise naming ``name``.

    Checked before any work starts, so that a long run does not end in a write error.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{name}: folder {str(parent)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"{name}: {str(target)!r} is a folder")
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    A reader never sees a half-written file; on failure the old file, if any, stays.
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"path {str(target)!r} is a directory, not a file")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"cannot write {str(target)!r}: folder {str(parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    done = False
    try:
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        done = True
    finally:
        if not done:
            Path(tmp).unlink(missing_ok=True)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def read_image(path: str | os.PathLike[str], *, name: str = "image") -> NDArray[Any]:
    """Read a PNG, TIFF, JPEG or NPY image as an array, with clear errors.

    Raises
    ------
    ValueError
        When the file is missing, of an unsupported kind, or not a readable image.
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{name} file {str(p)!r} does not exist")
    if not p.is_file():
        raise ValueError(f"{name} {str(p)!r} is not a file")
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(
            f"{name} file {str(p)!r} must be one of {', '.join(IMAGE_SUFFIXES)}, got {suffix or 'no suffix'!r}"
        )
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(p)
        else:
            from PIL import Image

            with Image.open(p) as im:
                im.load()
                if im.mode in ("P", "LA", "RGBA", "CMYK", "YCbCr", "1"):
                    arr = np.asarray(im.convert("RGB" if im.mode != "1" else "L"))
                else:
                    arr = np.asarray(im)
    except Exception as exc:  # every reader has its own exception types
        raise ValueError(f"{name} file {str(p)!r} is not a readable image: {exc}") from None
    if not isinstance(arr, np.ndarray) or arr.ndim not in (2, 3):
        raise ValueError(f"{name} file {str(p)!r} does not hold a 2-D image")
    return arr
