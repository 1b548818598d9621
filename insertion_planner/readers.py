"""Read the other inputs of a plan from files: value maps and region polygons.

:func:`read_value_map` reads an (H, W) map of physical values (a surface height in
micrometres, a functional weight in [0, 1]) from NPY or TIFF exactly as stored, never
rescaled as an image would be. :func:`read_polygon` reads a target region drawn as a
polygon of (row, col) vertices from JSON or CSV.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["read_value_map", "read_polygon"]

_MAX_VERTICES = 100_000
"""Most polygon vertices read (a traced outline of an 8192 x 8192 image has fewer)."""


def read_value_map(
    path: str | os.PathLike[str],
    *,
    shape: tuple[int, ...],
    name: str = "map",
    low: float | None = None,
    high: float | None = None,
) -> NDArray[np.float64]:
    """Read an (H, W) map of values from an NPY or TIFF file, values as stored.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (no pickles) or ``.tif`` / ``.tiff`` holding one 2-D array of numbers.
    shape : tuple of int
        The (H, W) of the image the map belongs to (extra entries are ignored).
    name : str
        Named in error messages, e.g. ``"--surface"``.
    low, high : float, optional
        Allowed range of every value (inclusive).

    Returns
    -------
    (H, W) float64 array, read-only

    Raises
    ------
    ValueError
        The file is missing or of another kind, not 2-D, of another shape than ``shape``,
        holds NaN or infinite values, or values outside ``[low, high]``.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "height.npy"
    >>> np.save(f, np.full((3, 4), 120.0))
    >>> float(read_value_map(f, shape=(3, 4), name="--surface").mean())
    120.0
    >>> read_value_map(f, shape=(4, 4), name="--surface")
    Traceback (most recent call last):
    ...
    ValueError: --surface file '...height.npy' has shape (3, 4), the image has shape (4, 4)
    """
    p = Path(path)
    where = f"{name} file {str(p)!r}"
    if not p.is_file():
        raise ValueError(f"{where} does not exist or is not a file")
    suffix = p.suffix.lower()
    if suffix not in (".npy", ".tif", ".tiff"):
        raise ValueError(f"{where} must be .npy or .tif/.tiff, got {suffix or 'no suffix'!r}")
    kind = "NPY" if suffix == ".npy" else "TIFF"
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            import logging

            import tifffile

            log = logging.getLogger("tifffile")
            level, log.level = log.level, logging.CRITICAL  # its warnings are ours to word
            try:
                arr = tifffile.imread(p)
            finally:
                log.setLevel(level)
    except Exception as exc:  # any decoder failure: a file that is not what it claims
        raise ValueError(
            f"{where} cannot be read as {kind} ({type(exc).__name__}); save one 2-D array of "
            f"numbers (numpy.save without objects, or a one-page TIFF)"
        ) from None
    arr = np.asarray(arr)
    if arr.size == 0:  # a damaged file decodes to nothing
        raise ValueError(f"{where} cannot be read as {kind}: it holds no values")
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number) or arr.dtype.kind == "c":
        raise ValueError(
            f"{where} must hold one 2-D array of real numbers, got {arr.dtype} {arr.shape}"
        )
    want = tuple(int(s) for s in tuple(shape)[:2])
    if arr.shape != want:
        raise ValueError(f"{where} has shape {arr.shape}, the image has shape {want}")
    out = arr.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{where} holds {int((~np.isfinite(out)).sum())} NaN or infinite values")
    lo, hi = float(out.min()), float(out.max())
    if (low is not None and lo < low) or (high is not None and hi > high):
        raise ValueError(
            f"{where} holds values from {lo:g} to {hi:g}, outside the allowed "
            f"{low if low is not None else '-inf'} to {high if high is not None else 'inf'}"
        )
    out.setflags(write=False)
    return out


def read_polygon(
    path: str | os.PathLike[str], *, shape: tuple[int, ...], name: str = "polygon"
) -> NDArray[np.float64]:
    """Read a polygon of (row, col) pixel vertices from a JSON or CSV file.

    JSON: a list of ``[row, col]`` pairs, or an object with such a list under
    ``"vertices"``. CSV: two columns, (row, col) without a header or under the header
    ``row,col``; under ``x,y`` (or ``col,row``) the columns are swapped to (row, col).

    Parameters
    ----------
    path : str or path-like
    shape : tuple of int
        The (H, W) of the image; every vertex must lie inside it.
    name : str
        Named in error messages, e.g. ``"--region-polygon"``.

    Returns
    -------
    (n, 2) float64 array of (row, col), n >= 3

    Raises
    ------
    ValueError
        Unreadable or malformed file, fewer than 3 vertices, non-finite vertices, vertices
        outside the image, or a polygon enclosing no area.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "region.csv"
    >>> _ = f.write_text("row,col\\n10,10\\n10,50\\n40,30\\n")
    >>> read_polygon(f, shape=(64, 64)).tolist()
    [[10.0, 10.0], [10.0, 50.0], [40.0, 30.0]]
    """
    p = Path(path)
    where = f"{name} file {str(p)!r}"
    if not p.is_file():
        raise ValueError(f"{where} does not exist or is not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where} cannot be read as text: {exc}") from None
    rows: Any
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{where} is not valid JSON: {exc}") from None
        rows = data.get("vertices") if isinstance(data, dict) else data
    else:
        rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
        if rows and not _numeric(rows[0]):
            header = [c.strip().lower() for c in rows[0]]
            rows = rows[1:]
            if header == ["x", "y"] or header == ["col", "row"]:
                rows = [list(reversed(r)) for r in rows]  # to (row, col)
            elif header != ["row", "col"]:
                raise ValueError(
                    f"{where} has the header {','.join(header)!r}; "
                    f"name the columns row,col (or x,y: x along columns, y along rows)"
                )
    try:
        if not isinstance(rows, list) or len(rows) > _MAX_VERTICES:
            raise TypeError
        if any(isinstance(v, bool) for r in rows if isinstance(r, list) for v in r):
            raise TypeError  # true/false are not coordinates
        verts = np.array([[float(v) for v in r] for r in rows], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} must hold a list of (row, col) vertices (at most {_MAX_VERTICES:,})"
        ) from None
    if verts.ndim != 2 or verts.shape[1] != 2 or len(verts) < 3:
        raise ValueError(
            f"{where} must hold at least 3 (row, col) vertices, got shape {verts.shape}"
        )
    if not np.isfinite(verts).all():
        raise ValueError(f"{where} holds NaN or infinite vertices")
    h, w = (int(s) for s in tuple(shape)[:2])
    inside = (
        (verts[:, 0] >= -0.5)
        & (verts[:, 0] <= h - 0.5)
        & (verts[:, 1] >= -0.5)
        & (verts[:, 1] <= w - 0.5)
    )
    if not inside.all():
        r, c = verts[int(np.argmin(inside))]
        raise ValueError(f"{where} has vertex (row {r:g}, col {c:g}) outside the {h} x {w} image")
    x, y = verts[:, 1], verts[:, 0]
    if abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2 < 1.0:
        raise ValueError(f"{where} encloses less than one pixel of area")
    return verts


def _numeric(row: list[str]) -> bool:
    try:
        return all(math.isfinite(float(c)) for c in row)
    except ValueError:
        return False
