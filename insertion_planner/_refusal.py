"""The refusal of an input file, worded where the file is read."""

from __future__ import annotations


class Refused(ValueError):
    """A refusal worded where a file is read (passed on as it is, never wrapped)."""
