"""``insertion-planner schema``: print the JSON Schema of plan files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``schema`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "schema", help="print the JSON Schema of plan files",
        description="Print the JSON Schema (draft 2020-12) that plan files are validated against.",
    )  # fmt: skip
    p.add_argument("--markdown", action="store_true", help="print it as a markdown table instead")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the schema; returns 0."""
    from ..plan import _schema_text, schema_markdown

    sys.stdout.write(schema_markdown() if args.markdown else _schema_text())
    return 0
