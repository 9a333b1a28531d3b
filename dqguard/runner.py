"""The parent side of case execution: a pool of worker processes, bounded per case.

Workers are fresh interpreters (`python -m dqguard.worker`; the parent never imports torch, and
never forks a process that did). Each imports torch once and runs many cases. One is replaced
when it crashes, when a case passes its timeout or memory limit (the worker is killed: the only
way to stop a hung C++ call), after `CASES_PER_WORKER` cases, or when its resident memory passes
`RECYCLE_RSS`, so memory stays flat over a long scan. A case that was running when its worker
died is reported (DQG901/DQG902), never lost. Results come back in the order of `cases`.
"""

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dqguard.errors import DqguardError
from dqguard.manifest import Case
from dqguard.records import CaseResult, Finding, case_from_json

CASES_PER_WORKER = 25
RECYCLE_RSS = 3 * 2**30
_POLL_S = 0.1
_TAIL_BYTES = 1500

Progress = Callable[[int, int, list[str]], None]


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class _Worker:
    def __init__(self, root: Path) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dqguard.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=root,
            start_new_session=True,  # so a kill reaches whatever the model code started too
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.stdout = self.proc.stdout
        self.stdin = self.proc.stdin
        os.set_blocking(self.stdout.fileno(), False)
        self.buffer = b""
        self.ready = False
        self.index: int | None = None
        self.case: Case | None = None
        self.deadline = float("inf")
        self.started = 0.0
        self.phase = "start"
        self.stderr_mark = 0
        self.done = 0

    def send(self, index: int, case: Case, payload: dict[str, Any], timeout: float) -> None:
        self.index, self.case = index, case
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.phase = "start"
        self.stderr_mark = os.fstat(self.stderr.fileno()).st_size
        self.stdin.write((json.dumps(payload) + "\n").encode())
        self.stdin.flush()

    def read(self) -> list[dict[str, Any]] | None:
        """Complete messages so far; None once the worker has closed its end."""
        chunks = []
        while True:
            try:
                chunk = os.read(self.stdout.fileno(), 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                return None
            chunks.append(chunk)
        *lines, self.buffer = (self.buffer + b"".join(chunks)).split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def stderr_tail(self) -> str:
        size = os.fstat(self.stderr.fileno()).st_size
        start = max(self.stderr_mark, size - _TAIL_BYTES)
        return os.pread(self.stderr.fileno(), size - start, start).decode(errors="replace").strip()

    def kill(self) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        self.stdin.close()
        self.stdout.close()
        self.stderr.close()
        return code


def _failure(case: Case, manifest: str, rule: str, message: str, worker: _Worker,
             detail: str | None) -> CaseResult:
    finding = Finding(rule=rule, message=message, path=manifest, line=case.line, detail=detail)
    return CaseResult(name=case.name, status="error",
                      duration_s=round(time.monotonic() - worker.started, 3), findings=(finding,))


def run(
    cases: list[Case],
    root: Path,
    manifest: str,
    jobs: int,
    exact_qparams: bool = False,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> list[CaseResult]:
    """Run `cases` on up to `jobs` workers; `manifest` is the manifest's root-relative path."""
    pending = deque(range(len(cases)))
    results: dict[int, CaseResult] = {}
    workers: list[_Worker] = []
    selector = selectors.DefaultSelector()

    def retire(worker: _Worker) -> int:
        selector.unregister(worker.stdout)
        workers.remove(worker)
        return worker.kill()

    def finish(worker: _Worker, result: CaseResult) -> None:
        assert worker.index is not None
        results[worker.index] = result
        worker.index, worker.case, worker.deadline = None, None, float("inf")

    try:
        while len(results) < len(cases):
            busy = sum(w.case is not None for w in workers)
            while len(workers) < min(jobs, len(pending) + busy):
                worker = _Worker(root)
                workers.append(worker)
                selector.register(worker.stdout, selectors.EVENT_READ, worker)
            for worker in workers:
                if worker.ready and worker.case is None and pending:
                    index = pending.popleft()
                    case = cases[index]
                    payload = {"case": case._asdict(), "root": str(root), "manifest": manifest,
                               "exact_qparams": exact_qparams}
                    worker.send(index, case, payload, timeout or case.timeout)

            for key, _ in selector.select(_POLL_S):
                worker = key.data
                messages = worker.read()
                if messages is None:
                    tail = worker.stderr_tail()
                    code = retire(worker)
                    if worker.case is None:
                        raise DqguardError(f"a worker failed to start ({_exit_reason(code)}):\n{tail}")
                    finish(worker, _failure(
                        worker.case, manifest, "DQG902",
                        f"worker {_exit_reason(code)} during {worker.phase}"
                        + (f"; stderr ends: {tail.splitlines()[-1][:200]}" if tail else ""),
                        worker, tail or None))
                    continue
                for message in messages:
                    if "ready" in message:
                        worker.ready = True
                    elif "phase" in message:
                        worker.phase = message["phase"]
                    elif "result" in message:
                        finish(worker, case_from_json(message["result"]))
                        worker.done += 1
                        if worker.done >= CASES_PER_WORKER or _rss(worker.proc.pid) > RECYCLE_RSS:
                            retire(worker)

            now = time.monotonic()
            for worker in list(workers):
                if worker.case is None:
                    continue
                case = worker.case
                if now > worker.deadline:
                    limit = timeout or case.timeout
                    retire(worker)
                    finish(worker, _failure(
                        case, manifest, "DQG901",
                        f"timed out after {limit:g} s during {worker.phase}", worker, None))
                elif case.memory is not None and (rss := _rss(worker.proc.pid)) > case.memory:
                    tail = worker.stderr_tail()
                    retire(worker)
                    finish(worker, _failure(
                        case, manifest, "DQG902",
                        f"worker passed the memory limit during {worker.phase} "
                        f"({rss / 2**20:.0f} MiB resident > {case.memory / 2**20:.0f} MiB); killed",
                        worker, tail or None))
            if progress is not None:
                progress(len(results), len(cases), [w.case.name for w in workers if w.case])
    finally:
        for worker in list(workers):
            retire(worker)
    return [results[i] for i in range(len(cases))]
