"""The one status line a scan on a terminal keeps rewriting on standard error while cases run."""

import sys
import time

from dqguard.run.pool import Progress

_CLEAR_LINE = "\r\033[K"


def printer() -> Progress:
    started = time.monotonic()

    def show(done: int, total: int, running: list[str]) -> None:
        names = ", ".join(running)
        line = f"[{done}/{total}] {time.monotonic() - started:5.1f}s"
        if names:
            line += f" running: {names}"
        sys.stderr.write(_CLEAR_LINE + line[:200])
        sys.stderr.flush()

    return show


def clear() -> None:
    # The reports start on a clean line.
    sys.stderr.write(_CLEAR_LINE)
