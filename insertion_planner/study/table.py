"""The study's results table: an append-only journal and the Parquet / CSV files made from it.

Each finished case is appended to ``DIR/results.jsonl`` as one JSON line, written with a
single ``write`` on a file opened for appending and flushed to disk (``fsync``) before the
next, so an interrupted study loses nothing already written (at most a torn last line,
which is dropped on reading). ``results.parquet`` and ``results.csv`` are regenerated
from the journal (atomically: a temporary file renamed into place); when a case appears
twice (an error retried), its last row counts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._io import atomic_write_all

__all__ = ["COLUMNS", "COLUMN_NAMES", "Journal", "write_tables", "latest_rows"]

# (name, type, meaning); type: "str", "int", "float", "bool"
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("case", "str", "unique name of the case (seed<seed>-<mode> or <image stem>-<mode>)"),
    ("source", "str", "synthetic or image"),
    ("seed", "int", "seed of the synthetic cortex (empty for image files)"),
    ("image", "str", "image file (image cases)"),
    ("truth", "str", "true vessel mask file (image cases with --truth)"),
    ("dura_mode", "str", "durectomy or transdural"),
    ("imaging", "str", "synthetic camera: default or random"),
    ("height", "int", "image rows, px"),
    ("width", "int", "image columns, px"),
    ("pixel_size_um", "float", "pixel side, um"),
    ("robot", "str", "robot preset"),
    ("n_threads", "int", "threads asked for"),
    ("margin_um", "float", "base vessel margin asked for (empty: the default 50 um)"),
    ("status", "str", "planned, refused or error"),
    ("refused", "bool", "the image could not support a plan (a valid, safe outcome)"),
    ("refusal", "str", "why it was refused (the image-quality problems)"),
    ("error", "str", "exception type, message and where it was raised; empty when none"),
    ("threads_placed", "int", "threads in the plan"),
    ("threads_validated", "int", "threads the robot simulation validated"),
    ("threads_too_close", "int", "threads closer than their required clearance to a true vessel of at least the hazard diameter (30 um)"),
    ("threads_too_close_any", "int", "the same against any true vessel"),
    ("min_clearance_to_truth_um", "float", "closest thread to any true vessel edge, um"),
    ("min_clearance_to_hazard_um", "float", "closest thread to a true vessel of at least the hazard diameter, um"),
    ("min_margin_to_truth_um", "float", "smallest (clearance to a hazard-sized true vessel - required clearance), um; negative: too close"),
    ("worst_site", "str", "row,col of the thread with that smallest margin"),
    ("dice", "float", "Dice of the segmented vessels against the truth (over the craniectomy for synthetic cases)"),
    ("allowed_share", "float", "share of the target region the avoidance map allows"),
    ("binding_constraint", "str", "what stopped more threads being placed (empty: all placed)"),
    ("region_undetectable_fraction", "float", "share of the region forbidden by the detectability floor"),
    ("undetectable_fraction", "float", "share of the image where a hazard-sized vessel could hide"),
    ("robot_time_s", "float", "simulated surgery time, s"),
    ("t_image_s", "float", "time to make or read the image (and truth), s"),
    ("t_plan_s", "float", "planning time, s"),
    ("t_simulate_s", "float", "robot simulation time, s"),
    ("t_score_s", "float", "scoring time, s"),
    ("t_total_s", "float", "the whole case on its worker, s"),
    ("peak_rss_mb", "float", "peak resident memory of the worker process so far, MB"),
    ("worker", "str", "host:pid of the worker process"),
    ("finished_at", "str", "local time the case finished"),
    ("spec", "str", "the case's full description (JSON); a rerun must match it"),
    ("package_version", "str", "insertion_planner version"),
)  # fmt: skip
"""The results table's columns, in order, as (name, type, meaning); type is "str", "int",
"float" or "bool"."""
COLUMN_NAMES: tuple[str, ...] = tuple(c[0] for c in COLUMNS)
_TYPES = {name: kind for name, kind, _ in COLUMNS}


def _coerce(name: str, value: Any) -> Any:
    """``value`` as the plain Python type of column ``name`` (None stays None)."""
    if value is None:
        return None
    kind = _TYPES[name]
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return str(value)


class Journal:
    """The append-only record of finished cases, ``DIR/results.jsonl``.

    Parameters
    ----------
    path : path-like
        The journal file; created on the first append.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.dropped = 0  # torn or unreadable lines found when reading

    def read(self) -> list[dict[str, Any]]:
        """Every complete row, in the order written (a torn last line is left out)."""
        if not self.path.exists():
            return []
        rows = []
        self.dropped = 0
        with open(self.path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    self.dropped += 1  # torn by an interruption mid-write
                    continue
                try:
                    d = json.loads(line)
                except ValueError:
                    self.dropped += 1
                    continue
                if isinstance(d, dict) and isinstance(d.get("case"), str):
                    rows.append({k: _coerce(k, d.get(k)) for k in COLUMN_NAMES})
                else:
                    self.dropped += 1
        return rows

    def repair(self) -> None:
        """Cut a torn last line, so the next row starts on a line of its own."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)
                fh.flush()
                os.fsync(fh.fileno())

    def append(self, row: dict[str, Any]) -> None:
        """Append one row in a single write, flushed to disk before returning."""
        clean = {k: _coerce(k, row.get(k)) for k in COLUMN_NAMES}
        line = (json.dumps(clean, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            view = memoryview(line)
            while view:  # one write in practice; a short write goes on where it stopped
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)


def latest_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per case, the last written, in the order cases first appeared."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out[r["case"]] = r  # dicts keep the first insertion's position
    return list(out.values())


def _arrow_table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    arrays = [pa.array([r.get(name) for r in rows], type=types[kind]) for name, kind, _ in COLUMNS]
    meta = {f"column:{name}": text for name, _, text in COLUMNS}
    schema = pa.schema(
        [pa.field(name, types[kind]) for name, kind, _ in COLUMNS],
        metadata={k.encode(): v.encode() for k, v in meta.items()},
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return str(value)


def write_tables(rows: list[dict[str, Any]], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``results.parquet`` and ``results.csv`` (one row per case) atomically.

    Returns
    -------
    dict
        ``{"parquet": path, "csv": path}``.
    """
    import pyarrow.parquet as pq

    out = Path(out_dir)
    table = _arrow_table(rows)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    for r in rows:
        writer.writerow([_csv_value(r.get(name)) for name in COLUMN_NAMES])
    parquet, csv_path = atomic_write_all(  # both tables or neither
        {out / "results.parquet": buf.getvalue(), out / "results.csv": text.getvalue().encode()}
    )
    return {"parquet": parquet, "csv": csv_path}
