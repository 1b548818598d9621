"""Progress of a command whose work cannot be counted: its stage and the time spent,
on stderr when it is a terminal (tqdm), refreshed twice a second by a timer thread."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import IO, Any

__all__ = ["Stages"]


class Stages:
    """A context manager showing ``desc: stage, elapsed`` while a command works.

    Quiet unless ``file`` (default stderr) is a terminal, or ``enabled`` is True; the line
    is cleared when the work ends, whether it succeeded or not.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Stages("plan", file=out, enabled=True) as stages:
    ...     stages.stage("segmenting the vessels")
    >>> "plan: segmenting the vessels" in out.getvalue()
    True
    >>> with Stages("plan", file=io.StringIO()) as quiet:  # not a terminal: nothing shown
    ...     quiet.stage("x")
    """

    def __init__(self, desc: str, *, file: IO[str] | None = None, enabled: bool | None = None):
        self._file = sys.stderr if file is None else file
        isatty = getattr(self._file, "isatty", None)
        self._enabled = bool(isatty and isatty()) if enabled is None else bool(enabled)
        self._desc = desc
        self._bar: Any = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def __enter__(self) -> Stages:
        if self._enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=None, desc=self._desc, file=self._file, leave=False,
                             bar_format="{desc}, {elapsed}")  # fmt: skip
            self._timer = threading.Thread(target=self._tick, daemon=True)
            self._timer.start()
        return self

    def stage(self, text: str) -> None:
        """Name the stage now running."""
        if self._bar is not None:
            self._bar.set_description_str(f"{self._desc}: {text}")

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._bar.refresh()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        if self._bar is not None:
            self._bar.close()
