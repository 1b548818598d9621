"""The ``insertion-planner`` command line.

Each subcommand lives in its own module of this package with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``. Bad input and refusals (a
``PlannerError``: an image that cannot support a plan, ``plan --strict`` when fewer threads
fit, an untrustworthy plan file) are answered with a one-line error on stderr and exit
status 2, never a traceback; ``simulate`` returns 1 when some thread was not validated.
Output files are written atomically, so none is left half-written.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

SUBCOMMANDS: tuple[str, ...] = (
    "demo", "synth", "plan", "schema", "simulate", "export", "show", "study",
)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per subcommand."""
    from .._version import __version__

    parser = _Parser(
        prog="insertion-planner",
        description="Plan vessel-avoiding insertion of electrode threads with an R1-like robot.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f".{name}", __name__)
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (one line, exit 2)
        return exc.code if isinstance(exc.code, int) else 2
    from ..errors import PlannerError

    try:
        return int(args.run(args))
    except (ValueError, TypeError, OSError) as exc:
        sys.stderr.write(f"insertion-planner {args.command}: error: {_one_line(exc)}\n")
        return 2
    except PlannerError as exc:  # a refusal: the request cannot be met as given
        sys.stderr.write(f"insertion-planner {args.command}: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("insertion-planner: interrupted\n")
        return 130


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
