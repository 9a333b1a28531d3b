"""The parent side of case execution: a pool of workers, each case bounded in time and memory.

Workers are fresh interpreters (`python -m dqguard.worker`; the parent never imports torch) that
import torch once and run each job in a fork of themselves (see `dqguard.worker.serve`). A case that
passes its timeout or memory limit has its process killed (the only way to stop a hung C++
call); a case whose process dies is reported (DQG901/DQG902), never lost, and the worker goes on
with the next job. A worker that dies itself is replaced; one that cannot start (it exits, or is
not ready within `start_timeout`) is not: the cases still waiting for a worker are reported as
failed, and every case that finished is reported as it finished. Results come back in the
order of `cases`.
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
from typing import Any, NamedTuple

from dqguard.errors import DqguardError
from dqguard.locate import user_frame
from dqguard.manifest.case import Case, export_key, request_json
from dqguard.records import CaseResult, Finding, case_from_json

_POLL_S = 0.1
_TAIL_BYTES = 16_000
_DUMP_WAIT_S = 1.0
# What faulthandler prints before a thread's frames (innermost first) and after all of them.
_DUMP_HEADER = re.compile(r"^.*\(most recent call first\):$", re.MULTILINE)
_DUMP_MODULES = re.compile(r"^Extension modules: .*$\n?", re.MULTILINE)

Progress = Callable[[int, int, list[str]], None]


def rss(pid: int) -> int:
    """Resident memory of a process in bytes; 0 once it is gone, or where /proc does not exist."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


MEMORY_LIMITS = os.path.isdir("/proc/self")  # memory limits read /proc: Linux


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


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # not yet its own group leader


class _Worker:
    def __init__(self, root: Path, env: dict[str, str], module: str) -> None:
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

    def send(self, job: list[int], payload: dict[str, Any]) -> None:
        self.job, self.child, self.case, self.kill_reason = job, None, None, None
        self.stdin.write((json.dumps(payload) + "\n").encode())
        self.stdin.flush()

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

    def read(self) -> list[dict[str, Any]]:
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
        return [json.loads(line) for line in lines if line.strip()]

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
            _kill_group(self.child)

    def kill(self) -> int:
        """Kill the worker and its job's process, if any; its files stay readable until `close`."""
        if self.child is not None:
            _kill_group(self.child)
        _kill_group(self.proc.pid)
        return self.proc.wait()

    def close(self) -> None:
        self.stdin.close()
        self.stdout.close()
        self.stderr.close()


def _failure(case: Case, manifest: str, rule: str, message: str, duration: float,
             phases: dict[str, float], detail: str | None) -> CaseResult:
    finding = Finding(rule=rule, message=message, path=manifest, line=case.line, detail=detail)
    return CaseResult(name=case.name, status="error", duration_s=round(duration, 3), findings=(finding,),
                      phases={k: round(v, 3) for k, v in phases.items()})


def _where(worker: _Worker, root: Path) -> tuple[str, str | None]:
    """` (at file:line)` in the user's code from the case's stack dump, and the stderr to show."""
    tail = worker.stderr_tail(worker.stderr_mark)
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


def start_timeout() -> float:
    """Seconds a worker may take to import torch and become ready: `DQGUARD_START_TIMEOUT`, or 180.

    Generous: a CUDA build of torch imported from a cold page cache on a loaded runner takes over a
    minute; the deadline is there to end a hung start, not to hurry a slow one."""
    try:
        return max(float(os.environ.get("DQGUARD_START_TIMEOUT", "180")), 1.0)
    except ValueError:
        raise DqguardError("DQGUARD_START_TIMEOUT must be a number of seconds") from None


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


class Place(NamedTuple):
    """Where a case comes from: its project's root and the manifest's root-relative path."""

    root: Path
    manifest: str


def plan(cases: list[Case], workers: int, places: list[Place] | None = None) -> list[list[int]]:
    """Jobs: the indices of cases that share an export, in manifest order of their first case.

    A job's cases run one after another in one process, so when there are fewer jobs than
    workers the largest are split in halves until every worker has one (or every job is a single
    case): sharing an export must never leave a CPU idle. Deterministic for a given manifest and
    `workers`; the verdicts do not depend on it. Cases of different projects (`places`) never
    share a job: the same reference names different code under different roots.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, case in enumerate(cases):
        place = places[index] if places else None
        groups.setdefault((place, *export_key(case)), []).append(index)
    jobs = list(groups.values())
    while len(jobs) < workers and any(len(job) > 1 for job in jobs):
        largest = max(range(len(jobs)), key=lambda i: len(jobs[i]))
        job = jobs.pop(largest)
        half = (len(job) + 1) // 2
        jobs[largest:largest] = [job[:half], job[half:]]
    return jobs


def run(
    cases: list[Case],
    root: Path,
    manifest: str,
    jobs: int,
    exact_qparams: bool = False,
    timeout: float | None = None,
    progress: Progress | None = None,
    worker: str = "dqguard.worker",
    places: list[Place] | None = None,
) -> list[CaseResult]:
    """Run `cases` on up to `jobs` workers; `manifest` is the manifest's root-relative path.

    `places` gives each case its own project (a monorepo's manifests share one pool); without it
    every case is of `root`'s. `worker` is the module the workers run: dqguard's own, or a test
    harness's that wraps it.
    """
    where = places or [Place(root, manifest)] * len(cases)
    return _Pool(cases, where, jobs, exact_qparams, timeout, progress, worker).run()


class _Pool:
    def __init__(self, cases: list[Case], places: list[Place], jobs: int, exact_qparams: bool,
                 timeout: float | None, progress: Progress | None, worker: str) -> None:
        self.cases, self.places, self.worker = cases, places, worker
        self.jobs, self.exact_qparams, self.timeout, self.progress = jobs, exact_qparams, timeout, progress
        self.pending: deque[list[int]] = deque(plan(cases, jobs, places))
        self.results: dict[int, CaseResult] = {}
        self.workers: list[_Worker] = []
        self.selector = selectors.DefaultSelector()
        self.env = worker_env(min(jobs, len(cases)))
        # The modules each case names: workers import the libraries all of them import (preimport).
        self.env["DQGUARD_PREIMPORT"] = json.dumps([
            [reference.partition(":")[0] for reference in
             (case.model, case.inputs, case.quantizer, case.calibration_inputs) if isinstance(reference, str)]
            for case in cases])
        self.start_timeout = start_timeout()
        self.start_failure: str | None = None
        self.start_detail: str | None = None
        self.next_job = 0

    def limit(self, case: Case) -> float:
        return self.timeout or case.timeout

    def run(self) -> list[CaseResult]:
        try:
            while len(self.results) < len(self.cases):
                self._start_workers()
                self._assign()
                for key, _ in self.selector.select(_POLL_S):
                    self._receive(key.data)
                self._enforce_limits()
                if self.progress is not None:
                    running = [w.case.name for w in self.workers if w.case is not None]
                    self.progress(len(self.results), len(self.cases), running)
        finally:
            for worker in list(self.workers):
                self._retire(worker)
        return [self.results[i] for i in range(len(self.cases))]

    def _start_workers(self) -> None:
        if self.start_failure is not None and not self.workers:
            self._cannot_start(self.start_failure, self.start_detail or "")  # what a dead worker left
        busy = sum(w.job is not None for w in self.workers)
        while self.start_failure is None and len(self.workers) < min(self.jobs, len(self.pending) + busy):
            worker = _Worker(self.places[0].root if self.places else Path.cwd(), self.env, self.worker)
            self.workers.append(worker)
            self.selector.register(worker.stdout, selectors.EVENT_READ, worker)

    def _assign(self) -> None:
        for worker in self.workers:
            if worker.ready and worker.job is None and self.pending and not worker.eof:
                job = self.pending.popleft()
                place = self.places[job[0]]
                payload = {"job": self.next_job, "root": str(place.root), "manifest": place.manifest,
                           "cases": [request_json(self.cases[i]) for i in job],
                           "exact_qparams": self.exact_qparams}
                self.next_job += 1
                try:
                    worker.send(job, payload)
                except BrokenPipeError:
                    # It died idle, through no fault of this job: the end of its output retires
                    # it, and the job waits for another worker.
                    self.pending.appendleft(job)
                    worker.job = None

    def _receive(self, worker: _Worker) -> None:
        for message in worker.read():
            if "ready" in message:
                worker.ready = True
            elif "pid" in message:
                worker.child = message["pid"]
            elif "start" in message and worker.job is not None:
                worker.begin(self.cases[worker.job[0]], self.limit(self.cases[worker.job[0]]))
            elif "phase" in message:
                worker.enter(message["phase"])
            elif "result" in message and worker.job is not None:
                self.results[worker.job.pop(0)] = case_from_json(message["result"])
                worker.case, worker.deadline = None, float("inf")
            elif "exit" in message:
                self._end_job(worker, message["exit"])
        if not worker.eof or worker not in self.workers:
            return
        if not worker.ready:
            # Its output ended because it is exiting: its own status, not our kill, says why.
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=2)
        code = worker.kill()
        if not worker.ready:
            self._cannot_start(f"it {'was ' if code < 0 else ''}{_exit_reason(code)}", worker.stderr_tail())
        elif worker.job is not None:
            self._end_job(worker, code)
        self._retire(worker)

    def _end_job(self, worker: _Worker, code: int) -> None:
        """The job's process has ended: report the case it was running, requeue the rest."""
        job, case = worker.job or [], worker.case
        worker.job, worker.child, worker.case, worker.deadline = None, None, None, float("inf")
        if not job:
            return
        if case is None:  # it died before it began a case: the first one pays, or it loops forever
            case = self.cases[job[0]]
            worker.begin(case, self.limit(case))
        site, detail = _where(worker, self.places[job[0]].root)
        phase = worker.phase
        worker.enter("end")
        rule, message = worker.kill_reason or ("DQG902", _crash_message(code, phase, site, detail))
        self.results[job[0]] = _failure(case, self.places[job[0]].manifest, rule, message,
                                        time.monotonic() - worker.started, worker.phases, detail)
        if job[1:]:
            self.pending.appendleft(job[1:])

    def _cannot_start(self, why: str, tail: str) -> None:
        """No worker starts: every case still waiting for one fails, saying why."""
        self.start_failure, self.start_detail = why, tail
        last = tail.splitlines()[-1][:200] if tail else ""
        message = f"no worker could start: {why}" + (f"; stderr ends: {last}" if last else "")
        while self.pending:
            for index in self.pending.popleft():
                case = self.cases[index]
                self.results[index] = _failure(case, self.places[index].manifest, "DQG902", message, 0.0, {},
                                               tail or None)

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for worker in list(self.workers):
            if not worker.ready:
                if now > worker.launched + self.start_timeout:
                    tail = worker.stderr_tail()
                    self._retire(worker)
                    self._cannot_start(f"it was not ready after {self.start_timeout:g} s (importing torch?)",
                                       tail)
                continue
            case = worker.case
            if case is None or worker.kill_reason is not None:
                continue
            if now > worker.deadline:
                worker.dump_stacks()
                site, _ = _where(worker, self.places[worker.job[0]].root if worker.job else Path.cwd())
                limit = self.limit(case)
                worker.stop_case("DQG901", f"timed out after {limit:g} s during {worker.phase}{site}")
            elif case.memory is not None and worker.child is not None:
                resident = rss(worker.child)
                if resident > case.memory:
                    over = f"{resident / 2**20:.0f} MiB resident > {case.memory / 2**20:.0f} MiB"
                    worker.stop_case("DQG902", f"worker passed the memory limit during {worker.phase} "
                                     f"({over}); killed")

    def _retire(self, worker: _Worker) -> int:
        if worker not in self.workers:
            return worker.proc.wait()
        self.selector.unregister(worker.stdout)
        self.workers.remove(worker)
        code = worker.kill()
        worker.close()
        return code
