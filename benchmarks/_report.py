"""Write a benchmark's results into its own section of docs/benchmarks.md.

Each benchmark script owns the section between ``<!-- BEGIN name -->`` and
``<!-- END name -->``; running it again replaces that section and leaves the others.
"""

from __future__ import annotations

import platform
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_HEAD = """# Benchmarks

Measured by the scripts in `benchmarks/` (run by hand: `make bench`, or one script with
`.venv/bin/python benchmarks/<script>.py`). Speed is compared against the named baseline
in the same process, as a ratio, because the machines are shared and noisy.
"""


def best_of(
    fn: Callable[[], object], repeats: int = 3, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, object]:
    """Least time by ``clock`` over ``repeats`` runs of ``fn`` (wall-clock by default;
    ``time.process_time`` gives the CPU time of all threads), and the last result."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return float(best), out


def machine() -> str:
    """One line describing the machine the numbers were measured on."""
    import os

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md with ``markdown``."""
    text = DOC.read_text() if DOC.exists() else _HEAD
    block = f"<!-- BEGIN {name} -->\n{markdown.strip()}\n<!-- END {name} -->"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    DOC.write_text(text)


def table(header: list[str], rows: list[list[object]]) -> str:
    """A markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
