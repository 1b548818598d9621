"""Plans for other tools: a 3D Slicer markups file and a CSV table of threads.

``to_slicer_markups`` and ``to_csv_text`` are pure views of an
:class:`~insertion_planner.plan.InsertionPlan` (the plan JSON stays the record);
``write_slicer_markups`` and ``write_csv`` write them atomically. Threads are listed in insertion order and named by
:attr:`~insertion_planner.plan.Thread.label` (``T01`` is inserted first).

Frame mapping (3D Slicer)
-------------------------
The plan frame (``docs/frames-and-units.md``) is right-handed: x along image columns,
y along image rows, origin at the centre of pixel (0, 0), z up out of the brain, in
micrometres. The markups file states its frame and unit (``coordinateSystem``,
``coordinateUnits: "mm"``) and maps a plan point by a fixed proper rotation, without
translation::

    LPS_mm = ( x,  y, z) / 1000      (default)
    RAS_mm = (-x, -y, z) / 1000

so columns run to the patient's Left, rows to Posterior, and z to Superior. That is the
orientation of an axial DICOM slice with identity ``ImageOrientationPatient``
(``1, 0, 0, 0, 1, 0``), so the image, read by ITK/Slicer with origin 0 and identity
directions and given a spacing of ``pixel_size_um / 1000`` mm, lies under the markups, and
Slicer's axial view shows the sites as the photograph shows them (column to the right, row
down). The labels L, P, S are only nominal: a camera image is not registered to the
patient, so anatomical use needs a registration transform applied in Slicer.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from skimage import measure

from ._io import atomic_write_text, check_output_path
from .plan import InsertionPlan, Thread
from .plan import _r as _round_um

__all__ = [
    "COORDINATE_SYSTEMS",
    "CSV_COLUMNS",
    "SLICER_MARKUPS_SCHEMA",
    "to_slicer_markups",
    "to_csv_text",
    "write_slicer_markups",
    "write_csv",
]

COORDINATE_SYSTEMS = ("LPS", "RAS")
"""Patient frames a markups file can be written in (the two Slicer's schema allows)."""

SLICER_MARKUPS_SCHEMA = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/"
    "Resources/Schema/markups-schema-v1.0.3.json#"
)
"""The ``@schema`` Slicer itself writes (``MARKUPS_SCHEMA`` in Slicer's
``vtkMRMLMarkupsJsonStorageNode.cxx``); Slicer reads any ``markups-schema-v1.x.y``."""

CSV_COLUMNS = (
    "label", "id", "order", "status", "pixel_row_px", "pixel_col_px",
    "entry_x_um", "entry_y_um", "entry_z_um", "direction_x", "direction_y", "direction_z",
    "depth_um", "target_x_um", "target_y_um", "target_z_um",
    "clearance_um", "required_clearance_um", "margin_um", "weight",
)  # fmt: skip
"""Columns of :func:`to_csv_text`, in order; lengths in um in the plan frame."""

_OUTLINE_TOLERANCE_PX = 0.5
"""Largest distance (pixels) the region outline's vertices may be simplified away from the
traced pixel-edge outline: half a pixel, the resolution of the mask itself. The default
6 mm disc at 12 um per pixel keeps 291 vertices of the 1,997 traced (measured)."""

_INACTIVE = ("removed", "failed")
"""Thread statuses that occupy no site (as ``InsertionPlan.active_threads``)."""

_COLOURS = {
    "entry": [0.15, 0.75, 1.0],
    "target": [1.0, 0.55, 0.1],
    "region": [0.3, 0.9, 0.3],
}


def to_slicer_markups(plan: InsertionPlan, *, coordinate_system: str = "LPS") -> dict[str, Any]:
    """The plan as a 3D Slicer markups document (the content of a ``.mrk.json`` file).

    Markups, in this order (Slicer loads each as its own node, named as here):

    - ``"<prefix> entry"``: a Fiducial list, one control point per thread where the needle
      meets the pia (``Thread.entry_um``);
    - ``"<prefix> target"``: a Fiducial list, one control point per thread at the needle
      tip, ``entry_um + depth_um * direction`` (rounded to 1e-6 um, as the plan's lengths);
    - ``"<prefix> region"`` (and ``region 2``, ...): a ClosedCurve per outline of the
      target region, traced on the pixel edges of the plan's region mask
      (:func:`skimage.measure.find_contours`), simplified within half a pixel, at the
      surface height; holes in the region are ``... region hole``. None when the plan has
      no region.

    ``<prefix>`` is ``"plan"``. Control points follow insertion order and carry the
    thread's label (``T01``...), its id as ``id`` and its status, depth and clearances in
    ``description``; every one has ``positionStatus: "defined"``. Threads that occupy no
    site (status ``removed`` or ``failed``) are kept, hidden (``visibility: false``). The
    markups are locked, so the plan is not moved by a stray click (unlock them in Slicer to
    edit). Positions are in millimetres in ``coordinate_system`` (see the module docstring
    for the mapping from the plan frame); the document also records, under
    ``"insertion_planner"``, the mapping, the image's SHA-256 and the package version.

    Parameters
    ----------
    plan : InsertionPlan
        The plan, e.g. from :func:`~insertion_planner.load_plan`.
    coordinate_system : {"LPS", "RAS"}, optional
        Patient frame of the positions. ``"LPS"`` (default, DICOM's and the schema's
        default): ``(x, y, z) / 1000``; ``"RAS"`` (Slicer's internal frame):
        ``(-x, -y, z) / 1000``, in mm from plan (x, y, z) in um.

    Returns
    -------
    dict
        JSON-ready document, valid against Slicer's markups schema v1.0.3; its text is
        written by :func:`write_slicer_markups`.

    Raises
    ------
    TypeError
        ``plan`` is not an :class:`~insertion_planner.InsertionPlan`.
    ValueError
        ``coordinate_system`` is not ``"LPS"`` or ``"RAS"``.

    Examples
    --------
    >>> from insertion_planner.plan import _example_plan
    >>> plan = _example_plan()                 # two vertical threads, 3500 um deep
    >>> doc = to_slicer_markups(plan)
    >>> [m["name"] for m in doc["markups"]]
    ['plan entry', 'plan target']
    >>> entry, target = doc["markups"]
    >>> entry["coordinateSystem"], entry["coordinateUnits"]
    ('LPS', 'mm')
    >>> [p["label"] for p in entry["controlPoints"]]
    ['T01', 'T02']
    >>> plan.threads[0].entry_um, entry["controlPoints"][0]["position"]
    ((1200.0, 1200.0, 0.0), [1.2, 1.2, 0.0])
    >>> target["controlPoints"][0]["position"]
    [1.2, 1.2, -3.5]
    >>> to_slicer_markups(plan, coordinate_system="RAS")["markups"][1]["controlPoints"][0]["position"]
    [-1.2, -1.2, -3.5]
    """
    _check_plan(plan)
    frame = _check_coordinate_system(coordinate_system)
    sign = (1.0, 1.0, 1.0) if frame == "LPS" else (-1.0, -1.0, 1.0)

    def to_mm(point_um: tuple[float, ...]) -> list[float]:
        # + 0.0 turns -0.0 into 0.0, so the file never shows "-0.0"
        return [s * v / 1000.0 + 0.0 for s, v in zip(sign, point_um, strict=True)]

    def fiducials(which: str) -> dict[str, Any]:
        points = []
        for t in plan.threads:
            where = t.entry_um if which == "entry" else _target_um(t)
            points.append({
                "id": str(t.id),
                "label": t.label,
                "description": _describe(t),
                "position": to_mm(where),
                "selected": True,
                "locked": True,
                "visibility": t.status not in _INACTIVE,
                "positionStatus": "defined",
            })  # fmt: skip
        return _markup("Fiducial", f"plan {which}", frame, points, colour=_COLOURS[which])

    markups = [fiducials("entry"), fiducials("target")]
    for name, outline_um in _region_outlines(plan):
        points = [
            {"id": str(i), "label": f"R{i + 1}", "position": to_mm(tuple(p)),
             "selected": True, "locked": True, "visibility": True, "positionStatus": "defined"}
            for i, p in enumerate(outline_um.tolist())
        ]  # fmt: skip
        markups.append(_markup("ClosedCurve", name, frame, points, colour=_COLOURS["region"]))
    from ._version import __version__

    mapping = "(x, y, z) / 1000" if frame == "LPS" else "(-x, -y, z) / 1000"
    return {
        "@schema": SLICER_MARKUPS_SCHEMA,
        "markups": markups,
        "insertion_planner": {
            "package_version": __version__,
            "image_sha256": plan.image_sha256,
            "frame": (
                f"{frame} mm = {mapping}, from the plan frame in um: x along image columns, "
                "y along image rows, origin at the centre of pixel (0, 0), z up out of the brain"
            ),
        },
    }


def to_csv_text(plan: InsertionPlan) -> str:
    """The plan's threads as CSV text: a header, then one row per thread in insertion order.

    Columns are :data:`CSV_COLUMNS`; each name carries its unit (``entry_x_um``; the
    ``direction_*`` unit vector, ``weight`` and the ids have none). Lengths are in
    micrometres in the plan frame (x along columns, y along rows, z up); ``pixel_row_px``
    and ``pixel_col_px`` are the site's fractional (row, col). ``target_*_um`` is
    ``entry_um + depth_um * direction`` and ``margin_um`` is
    ``clearance_um - required_clearance_um``, each rounded to 1e-6 um as every length of a
    plan file is (``round(v, 6)``). Floats are written as ``repr(float)``, the shortest text that reads back as the same double, so
    :class:`csv.DictReader` plus ``float()`` gives exactly the plan's numbers. Every thread is
    listed, whatever its status. Lines end with ``\\n``.

    Parameters
    ----------
    plan : InsertionPlan
        The plan.

    Returns
    -------
    str
        The CSV text, ``len(plan.threads) + 1`` lines.

    Raises
    ------
    TypeError
        ``plan`` is not an :class:`~insertion_planner.InsertionPlan`.

    Examples
    --------
    >>> import csv, io
    >>> from insertion_planner.plan import _example_plan
    >>> plan = _example_plan()
    >>> text = to_csv_text(plan)
    >>> text.splitlines()[0].split(",")[:6]
    ['label', 'id', 'order', 'status', 'pixel_row_px', 'pixel_col_px']
    >>> rows = list(csv.DictReader(io.StringIO(text)))
    >>> [r["label"] for r in rows], rows[1]["entry_x_um"], rows[1]["target_z_um"]
    (['T01', 'T02'], '1200.0', '-3500.0')
    >>> float(rows[0]["clearance_um"]) == plan.threads[0].clearance_um
    True
    """
    _check_plan(plan)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in plan.threads:
        row: list[Any] = [t.label, t.id, t.order, t.status, *t.pixel, *t.entry_um, *t.direction,
                          t.depth_um, *_target_um(t), t.clearance_um, t.required_clearance_um,
                          _round_um(t.clearance_um - t.required_clearance_um), t.weight]  # fmt: skip
        writer.writerow([repr(float(v)) if isinstance(v, float) else str(v) for v in row])
    return buf.getvalue()


def write_slicer_markups(
    plan: InsertionPlan, path: str | os.PathLike[str], *, coordinate_system: str = "LPS"
) -> Path:
    """Write :func:`to_slicer_markups` to ``path`` (a ``.mrk.json`` file) atomically.

    The text is indented JSON, byte-identical for identical plans; an existing file is
    replaced (the command line refuses that without ``--force``).

    Parameters
    ----------
    plan : InsertionPlan
        The plan.
    path : str or os.PathLike
        File to write; its folder must exist.
    coordinate_system : {"LPS", "RAS"}, optional
        As for :func:`to_slicer_markups`.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        ``plan`` is not an :class:`~insertion_planner.InsertionPlan`.
    ValueError
        A bad ``coordinate_system``; ``path`` is a folder or its folder does not exist.
    OSError
        The file cannot be written.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from insertion_planner.plan import _example_plan
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = write_slicer_markups(_example_plan(), pathlib.Path(d) / "plan.mrk.json")
    ...     json.loads(out.read_text())["markups"][0]["type"]
    'Fiducial'
    """
    target = check_output_path(path, name="path")
    doc = to_slicer_markups(plan, coordinate_system=coordinate_system)
    atomic_write_text(target, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return target


def write_csv(plan: InsertionPlan, path: str | os.PathLike[str]) -> Path:
    """Write :func:`to_csv_text` to ``path`` atomically (UTF-8); an existing file is replaced.

    Parameters
    ----------
    plan : InsertionPlan
        The plan.
    path : str or os.PathLike
        File to write; its folder must exist.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        ``plan`` is not an :class:`~insertion_planner.InsertionPlan`.
    ValueError
        ``path`` is a folder or its folder does not exist.
    OSError
        The file cannot be written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from insertion_planner.plan import _example_plan
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = write_csv(_example_plan(), pathlib.Path(d) / "threads.csv")
    ...     len(out.read_text().splitlines())
    3
    """
    target = check_output_path(path, name="path")
    atomic_write_text(target, to_csv_text(plan))
    return target


# ---------------------------------------------------------------------------- helpers


def _check_plan(plan: Any) -> None:
    if not isinstance(plan, InsertionPlan):
        raise TypeError(f"plan must be an InsertionPlan, got {type(plan).__name__}")


def _check_coordinate_system(value: Any) -> str:
    if value not in COORDINATE_SYSTEMS:
        raise ValueError(f"coordinate_system must be 'LPS' or 'RAS', got {value!r}")
    return str(value)


def _target_um(t: Thread) -> tuple[float, float, float]:
    """The needle tip (x, y, z) in um: ``Thread.target_um`` (``entry_um + depth_um *
    direction``, rounded to 1e-6 um like every length of the plan; the plan file's own)."""
    return t.target_um


def _describe(t: Thread) -> str:
    return (
        f"thread id {t.id}, status {t.status}, depth {t.depth_um:g} um, clearance "
        f"{t.clearance_um:g} um (required {t.required_clearance_um:g} um)"
    )


def _markup(
    kind: str, name: str, frame: str, points: list[dict[str, Any]], *, colour: list[float]
) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "coordinateSystem": frame,
        "coordinateUnits": "mm",
        "locked": True,
        "labelFormat": "%N-%d",
        "controlPoints": points,
        "measurements": [],
        "display": {
            "visibility": True,
            "color": colour,
            "selectedColor": colour,
            "pointLabelsVisibility": kind == "Fiducial",
            "propertiesLabelVisibility": False,
        },
    }


def _region_outlines(plan: InsertionPlan) -> list[tuple[str, NDArray[np.float64]]]:
    """Named closed outlines (n, 3) in um of the plan's region mask; [] without a region.

    Outer boundaries first (``plan region``, ``plan region 2``...), then holes
    (``plan region hole``...), each without its repeated closing vertex. Traced by marching
    squares (Lorensen & Cline 1987, DOI 10.1145/37402.37422) at level 0.5, i.e. on the pixel
    edges, and simplified by Douglas-Peucker (1973, DOI 10.3138/FM57-6770-U75U-7727) within
    ``_OUTLINE_TOLERANCE_PX``.
    """
    if plan.region is None or not plan.region.any():
        return []
    # pad so that a region touching the image edge still gives a closed outline
    padded = np.pad(np.asarray(plan.region, np.float32), 1)
    outer: list[NDArray[np.float64]] = []
    holes: list[NDArray[np.float64]] = []
    for contour in measure.find_contours(padded, 0.5):
        rc = measure.approximate_polygon(contour - 1.0, _OUTLINE_TOLERANCE_PX)[:-1]
        if len(rc) < 3:
            continue
        rows, cols = rc[:, 0], rc[:, 1]
        # shoelace in (col, row): positive around the region, negative around a hole
        area = float(np.dot(cols, np.roll(rows, -1)) - np.dot(np.roll(cols, -1), rows))
        (outer if area > 0 else holes).append(rc)
    out = []
    for kind, group in (("region", outer), ("region hole", holes)):
        for i, rc in enumerate(group):
            name = f"plan {kind}" + (f" {i + 1}" if i else "")
            out.append((name, _rc_to_um(plan, rc)))
    return out


def _rc_to_um(plan: InsertionPlan, rc: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n, 2) pixel (row, col) -> (n, 3) (x, y, z) um, z on the plan's coarse surface."""
    px = plan.pixel_size_um
    xyz = np.zeros((len(rc), 3))
    xyz[:, 0] = rc[:, 1] * px
    xyz[:, 1] = rc[:, 0] * px
    surface = plan.geometry.surface
    if surface is not None:
        z = np.asarray(surface["z_um"], dtype=np.float64)
        ox, oy = surface["origin_um"]
        step = float(surface["step_um"])
        where = np.stack([(xyz[:, 1] - oy) / step, (xyz[:, 0] - ox) / step])
        xyz[:, 2] = ndimage.map_coordinates(z, where, order=1, mode="nearest")
    return xyz
