"""File output: atomic writes and output-path checks (images are read by ``imageio``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "atomic_write_all",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_path",
    "check_outputs",
    "check_out_dir",
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
    try:  # a folder we may not write in (read-only, /proc) is found now, not after the work
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
    except OSError as exc:
        raise ValueError(
            f"{name}: cannot write {str(target)!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    A reader never sees a half-written file; on failure the old file, if any, stays.
    """
    return atomic_write_all({path: data})[0]


def atomic_write_all(files: Mapping[str | os.PathLike[str], bytes]) -> list[Path]:
    """Write several files all or none: each is first written in full to a temporary
    file beside it (where a full disk or a refused folder shows), and only when all are
    written are they renamed into place.

    On failure no file asked for is created or changed, and the temporary ones are gone.

    Raises
    ------
    ValueError
        A path that is a folder, or whose folder does not exist.
    OSError
        A file that cannot be written, named by the path asked for.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> [p.name for p in atomic_write_all({d / "a.json": b"{}", d / "b.png": b"png"})]
    ['a.json', 'b.png']
    >>> sorted(p.name for p in d.iterdir())
    ['a.json', 'b.png']
    """
    staged: list[tuple[str, Path]] = []
    done = False
    try:
        for path, data in files.items():
            staged.append((_stage(Path(path), data), Path(path)))
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise OSError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
        done = True
    finally:
        if not done:
            for tmp, _ in staged:
                Path(tmp).unlink(missing_ok=True)
    return [target for _, target in staged]


def _stage(target: Path, data: bytes) -> str:
    """``data`` written in full and synced to a temporary file beside ``target``."""
    if target.is_dir():
        raise ValueError(f"path {str(target)!r} is a directory, not a file")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"cannot write {str(target)!r}: folder {str(parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:  # named by the file asked for, never the temporary one
        raise OSError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return tmp


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def check_outputs(
    inputs: dict[str, str | None], outputs: dict[str, str | None], *, force: bool
) -> None:
    """Refuse an output that is an input or another output of the same command (by
    resolved path and by inode, so links are caught), or that exists without ``force``.

    ``inputs`` and ``outputs`` map the option a user typed (``"--out"``) to its path (or
    None when not given); the message names the option.

    Raises
    ------
    ValueError
        Naming the output option and the input or output it collides with.
    """
    for opt, path in outputs.items():
        if path is None:
            continue
        for other, given in [*inputs.items(), *outputs.items()]:
            if given is not None and other != opt and _same_file(path, given):
                raise ValueError(f"{opt} {path!r} is the same file as {other}; choose another")
        if os.path.lexists(path) and not force:
            raise ValueError(f"{opt} {path!r} already exists; use --force to overwrite it")


def check_out_dir(
    path: str | os.PathLike[str], names: Iterable[str], *, force: bool, name: str = "--out"
) -> None:
    """Refuse an output folder that is a file, or that already holds one of the files
    ``names`` a command would write there, unless ``force``.

    Raises
    ------
    ValueError
        Naming the option ``name`` and the first file that would be overwritten.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name} {str(out)!r} exists and is not a folder")
    if force or not out.is_dir():
        return
    for n in names:
        if os.path.lexists(out / n):
            raise ValueError(f"{name} {str(out)!r} already holds {n}; use --force to overwrite it")


def _same_file(a: str, b: str) -> bool:
    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False
