"""Read-only arrays for the frozen result types."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

__all__ = ["readonly"]

A = TypeVar("A", bound=np.ndarray[Any, Any])


def readonly(a: A) -> A:
    """Mark ``a`` read-only in place and return it.

    Examples
    --------
    >>> import numpy as np
    >>> readonly(np.zeros(3)).flags.writeable
    False
    """
    a.setflags(write=False)
    return a
