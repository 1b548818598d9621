"""Argument types for the command line: every number a user can type has a stated range.

argparse names the option in its error (``argument --threads: ...``), so a value out of
range is answered with one line naming the flag the user typed, the range allowed and the
value received, before any work starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["int_in", "float_in", "robot_choice", "SEED_MAX"]

SEED_MAX = 2**32 - 1
"""Largest seed accepted on the command line (numpy seeds are non-negative integers)."""


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers from ``low`` to ``high`` inclusive.

    Examples
    --------
    >>> int_in(1, 64)("12")
    12
    >>> int_in(1, 64)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer from 1 to 64, got 0
    """

    def parse(text: str) -> int:
        try:
            if "_" in text:  # Python's digit grouping ("6_4" is 64) is no number a user means
                raise ValueError(text)
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low:,} to {high:,}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low:,} to {high:,}, got {value:,}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def float_in(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` accepting finite numbers in ``[low, high]`` (``(low, high]``
    with ``low_open``).

    Examples
    --------
    >>> float_in(0.5, 100.0)("12")
    12.0
    >>> float_in(0.5, 100.0)("0.012")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number from 0.5 to 100, got 0.012
    >>> float_in(0.5, 100.0)("1_2")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number from 0.5 to 100, got 1_2
    """
    opening = "above" if low_open else "from"

    def parse(text: str) -> float:
        try:
            if "_" in text:  # Python's digit grouping ("1_2" is 12) is no number a user means
                raise ValueError(text)
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (low < value if low_open else low <= value) and value <= high
        if not ok:
            raise argparse.ArgumentTypeError(
                f"must be a number {opening} {low:g} to {high:g}, got {text}"
            )
        return value

    parse.__name__ = "number"
    return parse


def robot_choice(text: str) -> str:
    """An argparse ``type`` for ``--robot``: a preset name or an existing robot JSON file.

    Examples
    --------
    >>> robot_choice("R1-2019")
    'R1-2019'
    >>> robot_choice("nosuch")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a robot preset (R1-2019, R1-2024, next-gen) or a robot JSON file, got 'nosuch'
    """
    import os

    from ..robots import PRESETS

    if text in PRESETS or os.path.isfile(text):
        return text
    names = ", ".join(PRESETS)
    raise argparse.ArgumentTypeError(
        f"must be a robot preset ({names}) or a robot JSON file, got {text!r}"
    )
