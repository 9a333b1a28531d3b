"""The timed steps of a case, and how a step that fails becomes a case error saying what it did.

Each step that fails becomes a DQG900 finding at the case's manifest line, naming the step and the
exception, so one broken case never hides another. No torch here.
"""

import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StepFailed(Exception):
    def __init__(self, step: str, message: str, detail: str | None) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.detail = detail


def one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."


class Steps:
    """Phase timings of one case; `on_phase` hears each phase as it starts."""

    def __init__(self, on_phase: Callable[[str], None]) -> None:
        self.phases: dict[str, float] = {}
        self.on_phase = on_phase

    @contextmanager
    def step(self, name: str, doing: str, hint: Callable[[BaseException], str | None] | None = None,
             ) -> Iterator[None]:
        """Time phase `name`; a failure inside becomes StepFailed saying what was being done, and
        what to change when `hint` knows."""
        self.on_phase(name)
        start = time.perf_counter()
        try:
            yield
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc)).rstrip()
            message = f"{doing} failed: {one_line(exc)}"
            advice = hint(exc) if hint is not None else None
            raise StepFailed(name, message + (f" ({advice})" if advice else ""), detail) from exc
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {name: round(seconds, 3) for name, seconds in self.phases.items()}
