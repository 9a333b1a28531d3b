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


def _first_line(exc: BaseException, limit: int) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= limit else first[:limit - 3] + "..."


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a `raise ... from` chain. Implicit context ("during handling of
    the above exception") is a second failure, not the cause, and is not followed."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def one_line(exc: BaseException) -> str:
    """The exception's first line and, when a library wrapped the real error (ExecuTorch's pass
    manager raising `Exception: An error occurred when running the ... pass` from it), the root
    cause's: the wrapper alone says where, never why. A wrapper that already quotes its cause
    (dqguard's own "install the Arm backend" hint) is enough. The traceback keeps everything."""
    first, cause = _first_line(exc, 300), root_cause(exc)
    if cause is exc or str(cause).strip() in str(exc):
        return first
    return f"{first} (caused by {_first_line(cause, 200)})"


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
