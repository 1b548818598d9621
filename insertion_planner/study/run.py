"""Run a study on Dask: one task per case, results appended as they finish, resumable."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from .cases import StudyCase
from .table import Journal, latest_rows, write_tables
from .task import _describe, empty_row, run_case

__all__ = [
    "run_study",
    "check_study",
    "check_memory_limit",
    "check_scheduler_address",
    "StudyResult",
    "DEFAULT_MEMORY_LIMIT",
    "STUDY_FILES",
]

DEFAULT_MEMORY_LIMIT = "4GiB"
"""Memory limit of each worker of the default LocalCluster. A 1024 x 1024 case peaks at
about 0.5 GB in a worker, a 2048 x 2048 case at about 1.5 GB (docs/studies.md); Dask pauses
a worker at 80 % of its limit and restarts it at 95 % (the case then fails, recorded)."""

STUDY_FILES = ("results.jsonl", "results.parquet", "results.csv", "study.json", "summary.md",
               "summary.png")  # fmt: skip
"""What a study folder holds; a folder holding anything else is not taken as a study."""

_TABLE_EVERY_S = 5.0  # rewrite results.parquet / .csv at most this often while running
_CONNECT_TIMEOUT_S = 20.0
_WORKER_WAIT_S = 60.0


@dataclass(frozen=True, eq=False)
class StudyResult:
    """What :func:`run_study` did and where its results are.

    Attributes
    ----------
    out_dir : Path
    rows : tuple of dict
        One row per case given, in the order given (the table's columns:
        :data:`~insertion_planner.study.table.COLUMNS`), from this run or an earlier one.
    n_executed : int
        Cases run now (the others were already in the table).
    n_skipped : int
    n_errors, n_refused, n_planned : int
        Outcomes over ``rows``.
    n_workers : int
        Workers of the cluster that ran them (0 when nothing needed running).
    wall_time_s : float
        The whole call, cluster start and files included.
    compute_time_s : float
        From submitting the first case to the last result.
    cases_per_minute : float
        ``n_executed / compute_time_s * 60`` (NaN when nothing ran).
    files : dict of str to Path
        ``journal``, ``parquet``, ``csv``, ``study``, ``summary_md`` and, with
        matplotlib, ``summary_png``.
    """

    out_dir: Path
    rows: tuple[dict[str, Any], ...] = field(repr=False)
    n_executed: int
    n_skipped: int
    n_errors: int
    n_refused: int
    n_planned: int
    n_workers: int
    wall_time_s: float
    compute_time_s: float
    cases_per_minute: float
    files: dict[str, Path] = field(repr=False)

    @property
    def n_cases(self) -> int:
        """Cases in the study (the rows)."""
        return len(self.rows)

    def table(self) -> Any:
        """The rows as a ``pyarrow.Table`` (the schema of ``results.parquet``)."""
        from .table import _arrow_table

        return _arrow_table(list(self.rows))


def run_study(
    cases: Iterable[StudyCase],
    *,
    out_dir: str | os.PathLike[str],
    client: Any = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    memory_limit: str | int = DEFAULT_MEMORY_LIMIT,
    retry_errors: bool = False,
    progress: bool | None = None,
    parameters: dict[str, Any] | None = None,
) -> StudyResult:
    """Plan, simulate and score many cases on a Dask cluster; one results table, resumable.

    Each case is one task (:func:`~insertion_planner.study.task.run_case`): make or read the
    image, :func:`~insertion_planner.plan_insertions`, :func:`~insertion_planner.simulate`
    and, where a ground truth exists, score against it. Rows are appended to
    ``out_dir/results.jsonl`` as cases finish (each in one flushed write), so an interrupted
    study loses nothing written; ``results.parquet``, ``results.csv``, ``summary.md``,
    ``summary.png`` and ``study.json`` are rewritten from it (atomically). A rerun skips the
    cases already in the table (by name; their description must be the same). A case that
    raises is recorded with its error and the study goes on; an image that cannot support a
    plan is recorded as refused, with the reason.

    Parameters
    ----------
    cases : iterable of StudyCase
        Unique names (:func:`~insertion_planner.study.synthetic_cases`,
        :func:`~insertion_planner.study.image_cases`).
    out_dir : path-like
        The study's folder: created, or an earlier study's folder to resume.
    client : dask.distributed.Client, optional
        Run on this client's cluster (left open). Default: a ``LocalCluster`` started here
        and closed before returning: worker processes (not threads), one thread each,
        ``memory_limit`` each, listening on 127.0.0.1 only, no dashboard.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``), instead of ``client``.
    n_workers : int, optional
        Workers of the default LocalCluster; default the cores this process may use.
    memory_limit : str or int
        Per worker of the default LocalCluster (``"4GiB"``, bytes).
    retry_errors : bool
        Run again the cases recorded with an error (their new row replaces the old).
    progress : bool or None
        Progress bar on stderr; None: when stderr is a terminal.
    parameters : dict, optional
        Recorded in ``study.json`` (the command line passes its options).

    Returns
    -------
    StudyResult

    Raises
    ------
    TypeError
        A case is not a StudyCase, or a bad option type.
    ValueError
        No case, two cases with one name, ``out_dir`` is a file or a folder holding other
        things than a study, a case already in the table with another description, or a
        bad option value.
    OSError
        The scheduler cannot be reached, or has no workers.

    Examples
    --------
    The cluster must start under ``if __name__ == "__main__":`` in a script (its workers
    are new processes)::

        import insertion_planner as ip
        from insertion_planner.study import synthetic_cases

        if __name__ == "__main__":
            study = ip.run_study(synthetic_cases(100), out_dir="study/")
            print(study.cases_per_minute, study.n_errors)
    """
    t_start = time.perf_counter()
    todo_all, out, done = check_study(cases, out_dir)
    _check_options(client, scheduler, n_workers, memory_limit, retry_errors, progress, parameters)
    journal = Journal(out / "results.jsonl")
    todo = [
        c for c in todo_all
        if c.name not in done or (retry_errors and done[c.name]["status"] == "error")
    ]  # fmt: skip
    run: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cases": len(todo_all),
        "executed": 0,
        "skipped": len(todo_all) - len(todo),
        "interrupted": False,
    }
    compute_s = 0.0
    n_workers_used = 0
    cl: Any = None
    with contextlib.ExitStack() as stack:
        if todo:  # the cluster first: an unreachable scheduler leaves no folder behind
            cl, where = stack.enter_context(_cluster(client, scheduler, n_workers, memory_limit))
            n_workers_used = len(cl.scheduler_info().get("workers", {}))
            run.update(scheduler=where, workers=n_workers_used)
            if where == "LocalCluster":
                run["memory_limit_per_worker"] = memory_limit
        out.mkdir(exist_ok=True)
        journal.repair()
        info = _study_info(out, todo_all, parameters, run)
        atomic_write_text(out / "study.json", json.dumps(info, indent=2) + "\n")
        t0 = time.perf_counter()
        last_tables = time.monotonic()
        try:
            for row in _execute(cl, todo, progress) if todo else ():
                journal.append(row)
                done[row["case"]] = row
                run["executed"] += 1
                if time.monotonic() - last_tables >= _TABLE_EVERY_S:
                    write_tables(latest_rows(journal.read()), out)
                    last_tables = time.monotonic()
            compute_s = time.perf_counter() - t0 if todo else 0.0
        except KeyboardInterrupt:
            run["interrupted"] = True
            compute_s = time.perf_counter() - t0
            raise
        finally:
            run["compute_time_s"] = round(compute_s, 3)
            run["cases_per_minute"] = (
                round(60.0 * run["executed"] / compute_s, 3)
                if run["executed"] and compute_s
                else None
            )
            files = _write_outputs(out, journal, info, run, t_start)
    rows = tuple(done[c.name] for c in todo_all)
    return StudyResult(
        out_dir=out,
        rows=rows,
        n_executed=run["executed"],
        n_skipped=run["skipped"],
        n_errors=sum(r["status"] == "error" for r in rows),
        n_refused=sum(r["status"] == "refused" for r in rows),
        n_planned=sum(r["status"] == "planned" for r in rows),
        n_workers=n_workers_used,
        wall_time_s=time.perf_counter() - t_start,
        compute_time_s=compute_s,
        cases_per_minute=run["cases_per_minute"] or math.nan,
        files=files,
    )


# ----------------------------------------------------------------------------- checks
def check_study(
    cases: Iterable[StudyCase], out_dir: str | os.PathLike[str], *, name: str = "out_dir"
) -> tuple[list[StudyCase], Path, dict[str, dict[str, Any]]]:
    """Check a study before anything runs or is written.

    Returns
    -------
    cases : list of StudyCase
    out : Path
    done : dict
        The rows already in ``out``'s table, by case name.

    Raises
    ------
    TypeError, ValueError
        As :func:`run_study`, naming ``name`` for the folder.
    """
    todo = _check_cases(cases)
    out = _check_out_dir(out_dir, name=name)
    done = {r["case"]: r for r in latest_rows(Journal(out / "results.jsonl").read())}
    _check_same_cases(todo, done, name=name)
    return todo, out, done


def _check_cases(cases: Iterable[StudyCase]) -> list[StudyCase]:
    if isinstance(cases, (str, bytes, StudyCase)) or not isinstance(cases, Iterable):
        raise TypeError(f"cases must be an iterable of StudyCase, got {type(cases).__name__}")
    out = list(cases)
    for c in out:
        if not isinstance(c, StudyCase):
            raise TypeError(f"cases must hold StudyCase objects, got a {type(c).__name__}")
    if not out:
        raise ValueError("cases is empty: a study needs at least one case")
    seen: set[str] = set()
    dup = [c.name for c in out if c.name in seen or seen.add(c.name)]  # type: ignore[func-returns-value]
    if dup:
        raise ValueError(
            f"cases must have unique names; repeated: {', '.join(sorted(set(dup))[:5])}"
        )
    return out


def _check_out_dir(out_dir: str | os.PathLike[str], *, name: str) -> Path:
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(out_dir).__name__}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name} {str(out)!r} is a file, not a folder")
    parent = out.resolve().parent
    if not out.exists() and not parent.is_dir():
        raise ValueError(f"{name} {str(out)!r}: folder {str(parent)!r} does not exist")
    if out.is_dir():
        others = sorted(
            p.name for p in out.iterdir() if p.name not in STUDY_FILES and not p.name.startswith(".")
        )  # fmt: skip
        if others and not (out / "results.jsonl").exists():
            raise ValueError(
                f"{name} {str(out)!r} holds other files than a study ({', '.join(others[:3])}); "
                "give a new or empty folder, or an earlier study's folder to resume it"
            )
    return out


def _check_options(
    client: Any, scheduler: Any, n_workers: Any, memory_limit: Any, retry_errors: Any,
    progress: Any, parameters: Any,
) -> None:  # fmt: skip
    from .._validation import check_int_range

    if client is not None and scheduler is not None:
        raise ValueError("give client or scheduler, not both")
    if scheduler is not None:
        check_scheduler_address(scheduler, name="scheduler")
    if n_workers is not None:
        if client is not None or scheduler is not None:
            raise ValueError(
                "n_workers is for the default LocalCluster; the given cluster has its own"
            )
        check_int_range(n_workers, name="n_workers", low=1, high=1024)
    check_memory_limit(memory_limit, name="memory_limit")
    if not isinstance(retry_errors, bool):
        raise TypeError(f"retry_errors must be a bool, got {retry_errors!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool or None, got {progress!r}")
    if parameters is not None and not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")


def check_scheduler_address(address: str, *, name: str = "scheduler") -> str:
    """``address`` if it reads as a Dask scheduler's (``tcp://host:port``), or raise naming ``name``.

    Checked before connecting: a malformed address would otherwise leave a half-made client.

    Examples
    --------
    >>> check_scheduler_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    """
    if not isinstance(address, str) or not address.strip():
        raise TypeError(f"{name} must be an address such as 'tcp://host:8786', got {address!r}")
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme not in ("tcp", "tls", "ws", "wss"):
            raise ValueError(f"protocol {scheme!r} is not tcp, tls, ws or wss")
        _, port = parse_host_port(loc)
        if not 0 < int(port) < 65536:
            raise ValueError(f"port {port} is not in 1-65535")
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} must be an address such as 'tcp://host:8786', got {address!r} ({exc})"
        ) from None
    return address


def check_memory_limit(value: str | int, *, name: str = "memory_limit") -> int:
    """``value`` (``"4GiB"``, ``"500MB"`` or bytes) in bytes, at least 256 MiB, or raise naming ``name``.

    Examples
    --------
    >>> check_memory_limit("4GiB")
    4294967296
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{name} must be a size such as '4GiB' or bytes, got {value!r}")
    size = value
    if isinstance(value, str):
        from dask.utils import parse_bytes

        try:
            size = parse_bytes(value)
        except (ValueError, TypeError):
            raise ValueError(f"{name} must be a size such as '4GiB', got {value!r}") from None
    if int(size) < 2**28:
        raise ValueError(f"{name} must be at least 256 MiB, got {value!r}")
    return int(size)


def _check_same_cases(
    cases: list[StudyCase], done: dict[str, dict[str, Any]], *, name: str
) -> None:
    """A case already in the table must be described the same way (else resume would lie)."""
    for c in cases:
        row = done.get(c.name)
        if row is None or row["spec"] == c.spec():
            continue
        old, new = json.loads(row["spec"] or "{}"), json.loads(c.spec())
        diff = [
            f"{k} {old.get(k)!r} there, {new.get(k)!r} now" for k in new if old.get(k) != new.get(k)
        ]
        raise ValueError(
            f"{name} already holds case {c.name!r} with other settings ({'; '.join(diff[:3])}): "
            f"give another {name}, or other case names"
        )


# ---------------------------------------------------------------------------- running
@contextlib.contextmanager
def _cluster(
    client: Any, scheduler: str | None, n_workers: int | None, memory_limit: str | int
) -> Iterator[tuple[Any, str]]:
    """The client to run on and what it is; a cluster or client made here is closed after."""
    if client is not None:
        yield client, str(getattr(client, "scheduler", None) and client.scheduler.address)
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            c = Client(scheduler, timeout=_CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:
            raise OSError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
        try:
            try:
                c.wait_for_workers(1, timeout=_WORKER_WAIT_S)
            except TimeoutError:
                raise OSError(
                    f"the Dask scheduler {scheduler!r} has no worker after {_WORKER_WAIT_S:.0f} s: "
                    f"start some with 'dask worker {scheduler}'"
                ) from None
            yield c, scheduler
        finally:
            c.close()
        return
    n = n_workers or _cores()
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit,
            host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
            scheduler_kwargs={"dashboard": False},  # health routes only, on 127.0.0.1
        ) as cluster,
        Client(cluster, set_as_default=False) as c,
    ):  # fmt: skip
        from ._worker import StdoutToStderr

        c.register_plugin(StdoutToStderr())
        yield c, "LocalCluster"


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _execute(
    client: Any, cases: list[StudyCase], progress: bool | None
) -> Iterator[dict[str, Any]]:
    """Submit one task per case; yield each case's row as it finishes (errors as rows)."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(run_case, c, key=f"study-{token}-{c.name}", pure=False, retries=0): c
        for c in cases
    }
    bar = tqdm(
        total=len(cases), desc="study", unit="case", file=sys.stderr, disable=_quiet(progress)
    )
    counts = {"errors": 0, "refused": 0}
    try:
        for fut in as_completed(list(futures), loop=client.loop):
            case = futures.pop(fut)
            try:
                row = fut.result()
            except Exception as exc:  # the worker died (e.g. out of memory), the task was lost
                row = empty_row(case)
                row.update(status="error", error=_describe(exc))
            finally:
                fut.release()
            counts["errors"] += row["status"] == "error"
            counts["refused"] += row["status"] == "refused"
            bar.set_postfix(counts, refresh=False)
            bar.update()
            yield row
    finally:
        bar.close()
        if futures:  # interrupted: drop what has not run
            client.cancel(list(futures))


def _quiet(progress: bool | None) -> bool | None:
    if progress is None:
        return None if sys.stderr.isatty() else True
    return not progress


# ------------------------------------------------------------------------------ files
def _study_info(
    out: Path, cases: list[StudyCase], parameters: dict[str, Any] | None, run: dict[str, Any]
) -> dict[str, Any]:
    from .._version import __version__

    old: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        old = json.loads((out / "study.json").read_text(encoding="utf-8"))
    params = dict(parameters or {})
    params.setdefault("cases", len(cases))
    for key, attr in (("sources", "source"), ("dura_modes", "dura_mode"), ("imaging", "imaging"),
                      ("robots", "robot"), ("n_threads", "n_threads")):  # fmt: skip
        params.setdefault(key, sorted({getattr(c, attr) for c in cases}))
    shapes = sorted({f"{c.shape[0]}x{c.shape[1]}" for c in cases if c.shape is not None})
    if shapes:
        params.setdefault("shapes", shapes)
    runs = old.get("runs", []) if isinstance(old.get("runs"), list) else []
    return {
        "package_version": __version__,
        "parameters": params,
        "runs": [*runs, run],
        "files": {
            "results.jsonl": "journal: one JSON line per finished case (the source of the tables)",
            "results.parquet": "one row per case (columns described in the file's metadata)",
            "results.csv": "the same table as CSV",
            "summary.md": "distributions and worst cases",
            "summary.png": "the same as figures",
        },
    }


def _write_outputs(
    out: Path, journal: Journal, info: dict[str, Any], run: dict[str, Any], t_start: float
) -> dict[str, Path]:
    from .summary import write_summary

    rows = latest_rows(journal.read())
    files: dict[str, Path] = {"journal": journal.path}
    tables = write_tables(rows, out)
    files.update(tables)
    run["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    run["wall_time_s"] = round(time.perf_counter() - t_start, 3)
    files["study"] = atomic_write_text(out / "study.json", json.dumps(info, indent=2) + "\n")
    files.update(write_summary(rows, out, run=run))
    return files
