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
import re
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
from dqguard.locate import user_frame
from dqguard.manifest import Case
from dqguard.records import CaseResult, Finding, case_from_json

CASES_PER_WORKER = 25
RECYCLE_RSS = 3 * 2**30
_POLL_S = 0.1
_TAIL_BYTES = 16_000
_DUMP_WAIT_S = 1.0
# What faulthandler prints before a thread's frames (innermost first) and after all of them.
_DUMP_HEADER = re.compile(r"^.*\(most recent call first\):$", re.MULTILINE)
_DUMP_MODULES = re.compile(r"^Extension modules: .*$\n?", re.MULTILINE)

Progress = Callable[[int, int, list[str]], None]


def rss(pid: int) -> int:
    """Resident memory of a process in bytes; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _dump_site(text: str, root: Path) -> tuple[str, int] | None:
    """The innermost frame of the user's code in a faulthandler dump, if any."""
    for header in _DUMP_HEADER.finditer(text):
        frames = text[header.end():].strip("\n").split("\n\n")[0].splitlines()
        # user_frame reads tracebacks, which list the innermost frame last.
        site = user_frame("\n".join(reversed(frames)), root)
        if site is not None:
            return site
    return None


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class _Worker:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dqguard.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=root,
            env=env,
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
        self.phases: dict[str, float] = {}
        self.phase_started = 0.0
        self.stderr_mark = 0
        self.done = 0
        self.eof = False

    def send(self, index: int, case: Case, payload: dict[str, Any], timeout: float) -> None:
        self.index, self.case = index, case
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.phase, self.phases, self.phase_started = "start", {}, self.started
        self.stderr_mark = self._stderr_size()
        self.stdin.write((json.dumps(payload) + "\n").encode())
        self.stdin.flush()

    def enter(self, phase: str) -> None:
        """Time phases as the parent sees them, so a case that never returns still has them."""
        now = time.monotonic()
        if self.phase != "start":
            self.phases[self.phase] = self.phases.get(self.phase, 0.0) + now - self.phase_started
        self.phase, self.phase_started = phase, now

    def read(self) -> list[dict[str, Any]]:
        """Complete messages so far; sets `eof` once the worker has closed its end."""
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
        return [json.loads(line) for line in lines if line.strip()]

    def _stderr_size(self) -> int:
        return os.fstat(self.stderr.fileno()).st_size

    def stderr_tail(self) -> str:
        size = self._stderr_size()
        start = max(self.stderr_mark, size - _TAIL_BYTES)
        return os.pread(self.stderr.fileno(), size - start, start).decode(errors="replace").strip()

    def dump_stacks(self) -> None:
        """Have a hung worker's faulthandler write where it is, waiting a moment for it."""
        size = self._stderr_size()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGUSR1)
        give_up = time.monotonic() + _DUMP_WAIT_S
        while time.monotonic() < give_up and self._stderr_size() == size:
            time.sleep(0.02)
        time.sleep(0.05)  # the dump is several writes

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
    worker.enter("end")
    finding = Finding(rule=rule, message=message, path=manifest, line=case.line, detail=detail)
    return CaseResult(name=case.name, status="error",
                      duration_s=round(time.monotonic() - worker.started, 3), findings=(finding,),
                      phases={k: round(v, 3) for k, v in worker.phases.items()})


def _where(worker: _Worker, root: Path) -> tuple[str, str | None]:
    """` (at file:line)` in the user's code from the worker's stack dump, and the stderr to show."""
    tail = worker.stderr_tail()
    site = _dump_site(tail, root)
    detail = _DUMP_MODULES.sub("", tail).strip() or None
    return (f" (at {site[0]}:{site[1]})" if site else ""), detail


def _crash_message(code: int, phase: str, site: str, detail: str | None) -> str:
    message = f"worker {_exit_reason(code)} during {phase}{site}"
    if code == -signal.SIGKILL:
        message += " (the kernel's out-of-memory killer sends SIGKILL)"
    if not site and detail:
        message += f"; stderr ends: {detail.splitlines()[-1][:200]}"
    return message


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_env(workers: int) -> dict[str, str]:
    """The environment workers start with: the CPUs shared out among them.

    torch gives each process one intra-op thread per core; several workers each running that
    many threads oversubscribe the machine, and OpenMP threads that spin while they wait take
    CPU from the other workers. A thread count the user set is kept.
    """
    env = dict(os.environ)
    if workers > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, available_cpus() // workers))
    return env


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
    env = worker_env(min(jobs, len(cases)))

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
                worker = _Worker(root, env)
                workers.append(worker)
                selector.register(worker.stdout, selectors.EVENT_READ, worker)
            for worker in workers:
                if worker.ready and worker.case is None and pending:
                    index = pending.popleft()
                    case = cases[index]
                    payload = {"case": case._asdict(), "root": str(root), "manifest": manifest,
                               "exact_qparams": exact_qparams}
                    try:
                        worker.send(index, case, payload, timeout or case.timeout)
                    except BrokenPipeError:
                        # It died idle, through no fault of this case: the end of its output
                        # retires it below, and the case waits for another worker.
                        pending.appendleft(index)
                        worker.index, worker.case, worker.deadline = None, None, float("inf")

            for key, _ in selector.select(_POLL_S):
                worker = key.data
                for message in worker.read():
                    if "ready" in message:
                        worker.ready = True
                    elif "phase" in message:
                        worker.enter(message["phase"])
                    elif "result" in message:
                        finish(worker, case_from_json(message["result"]))
                        worker.done += 1
                        if worker.done >= CASES_PER_WORKER or rss(worker.proc.pid) > RECYCLE_RSS:
                            retire(worker)
                if not worker.eof or worker not in workers:
                    continue
                if worker.case is None:
                    tail = worker.stderr_tail()
                    code = retire(worker)
                    if not worker.ready:
                        raise DqguardError(f"a worker failed to start ({_exit_reason(code)}):\n{tail}")
                    continue  # an idle worker died (the OOM killer?): the loop starts another
                site, detail = _where(worker, root)
                message = _crash_message(retire(worker), worker.phase, site, detail)
                finish(worker, _failure(worker.case, manifest, "DQG902", message, worker, detail))

            now = time.monotonic()
            for worker in list(workers):
                if worker.case is None:
                    continue
                case = worker.case
                if now > worker.deadline:
                    limit = timeout or case.timeout
                    worker.dump_stacks()
                    site, detail = _where(worker, root)
                    retire(worker)
                    finish(worker, _failure(
                        case, manifest, "DQG901",
                        f"timed out after {limit:g} s during {worker.phase}{site}", worker, detail))
                elif case.memory is not None and (resident := rss(worker.proc.pid)) > case.memory:
                    _, detail = _where(worker, root)
                    retire(worker)
                    finish(worker, _failure(
                        case, manifest, "DQG902",
                        f"worker passed the memory limit during {worker.phase} "
                        f"({resident / 2**20:.0f} MiB resident > {case.memory / 2**20:.0f} MiB); killed",
                        worker, detail))
            if progress is not None:
                progress(len(results), len(cases), [w.case.name for w in workers if w.case])
    finally:
        for worker in list(workers):
            retire(worker)
    return [results[i] for i in range(len(cases))]
