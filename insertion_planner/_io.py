"""File output: atomic writes and output-path checks (images are read by ``imageio``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_path",
]


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
