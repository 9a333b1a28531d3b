"""The parent's end of one worker: its process and pipes, the job it runs, and the running case's
clock, phase and share of stderr. The pool (`dqguard.run.pool`) decides; this only keeps count.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dqguard.manifest.case import Case
from dqguard.run import protocol
from dqguard.run.process import kill_group

_TAIL_BYTES = 16_000
_DUMP_WAIT_S = 1.0


class Worker:
    def __init__(self, root: Path, env: dict[str, str], module: str, setup: protocol.Setup) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=root,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.stdout = self.proc.stdout
        self.stdin = self.proc.stdin
        os.set_blocking(self.stdout.fileno(), False)
        # Never blocking: a worker that hangs before it reads its setup must not hang the parent.
        os.set_blocking(self.stdin.fileno(), False)
        self.outbox = protocol.request(setup).encode()
        self.buffer = b""
        self.ready = False
        self.launched = time.monotonic()
        self.eof = False
        self.job: list[int] | None = None  # indices of the cases it still has to report
        self.child: int | None = None  # the pid of the process running the job
        self.case: Case | None = None  # the case running now
        self.kill_reason: tuple[str, str] | None = None  # (rule, message) once the parent killed it
        self.deadline = float("inf")
        self.started = 0.0
        self.phase = "start"
        self.phases: dict[str, float] = {}
        self.phase_started = 0.0
        self.stderr_mark = 0
        with contextlib.suppress(BrokenPipeError):  # it exited already: the end of its output says why
            self.flush()

    def flush(self) -> None:
        """Write as much of what waits for the worker as its pipe takes now; BrokenPipeError (and
        nothing left to write) once it is gone."""
        while self.outbox:
            try:
                written = os.write(self.stdin.fileno(), self.outbox)
            except BlockingIOError:
                return
            except BrokenPipeError:
                self.outbox = b""
                raise
            self.outbox = self.outbox[written:]

    def send(self, job: list[int], request: protocol.Job) -> None:
        self.job, self.child, self.case, self.kill_reason = job, None, None, None
        self.outbox += protocol.request(request).encode()
        self.flush()

    def begin(self, case: Case, timeout: float) -> None:
        self.case = case
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.phase, self.phases, self.phase_started = "start", {}, self.started
        self.stderr_mark = self._stderr_size()

    def enter(self, phase: str) -> None:
        """Time phases as the parent sees them, so a case that never returns still has them."""
        now = time.monotonic()
        if self.phase != "start":
            self.phases[self.phase] = self.phases.get(self.phase, 0.0) + now - self.phase_started
        self.phase, self.phase_started = phase, now

    def read(self) -> list[protocol.Message]:
        """Complete messages so far; sets `eof` once every writer has closed its end."""
        chunks = []
        while True:
            try:
                chunk = os.read(self.stdout.fileno(), 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                # What came before the end still counts: a phase sent just before a crash.
                self.eof = True
                break
            chunks.append(chunk)
        *lines, self.buffer = (self.buffer + b"".join(chunks)).split(b"\n")
        return [protocol.decode(line) for line in lines if line.strip()]

    def _stderr_size(self) -> int:
        return os.fstat(self.stderr.fileno()).st_size

    def stderr_tail(self, since: int = 0) -> str:
        size = self._stderr_size()
        start = max(since, size - _TAIL_BYTES)
        return os.pread(self.stderr.fileno(), size - start, start).decode(errors="replace").strip()

    def dump_stacks(self) -> None:
        """Have a hung case's faulthandler write where it is, waiting a moment for it."""
        if self.child is None:
            return
        size = self._stderr_size()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.child, signal.SIGUSR1)
        give_up = time.monotonic() + _DUMP_WAIT_S
        while time.monotonic() < give_up and self._stderr_size() == size:
            time.sleep(0.02)
        time.sleep(0.05)  # the dump is several writes

    def stop_case(self, rule: str, message: str) -> None:
        """Kill the running case's process; its end is reported as `rule` with `message`."""
        self.kill_reason = (rule, message)
        if self.child is not None:
            kill_group(self.child)

    def kill(self) -> int:
        """Kill the worker and its job's process, if any; its files stay readable until `close`."""
        if self.child is not None:
            kill_group(self.child)
        kill_group(self.proc.pid)
        return self.proc.wait()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # closing flushes nothing: writes are unbuffered
            self.stdin.close()
        self.stdout.close()
        self.stderr.close()
