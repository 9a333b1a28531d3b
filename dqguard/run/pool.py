"""The parent side of case execution: a pool of workers, each case bounded in time and memory.

Workers are fresh interpreters (`python -m dqguard.worker`; the parent never imports torch) that
import torch once and run each job in a fork of themselves (see `dqguard.worker.serve`); the two
sides speak the messages of `dqguard.run.protocol`. A case that passes its timeout or memory
limit has its process killed (the only way to stop a hung C++ call); a case whose process dies is
reported (DQG901/DQG902), never lost, and the worker goes on with the next job. A worker that
dies itself is replaced; one that cannot start (it exits, or is not ready within
`start_timeout`) is not: the cases still waiting for a worker are reported as failed, and every
case that finished is reported as it finished. Results come back in the order of `cases`.
"""

import contextlib
import selectors
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from dqguard.manifest.case import Case, request_json
from dqguard.records import CaseResult, Finding, case_from_json
from dqguard.run import preimport, process, protocol
from dqguard.run.client import Worker
from dqguard.run.plan import Place, plan

# Generous: a CUDA build of torch imported from a cold page cache on a loaded runner takes over a
# minute; the deadline is there to end a hung start, not to hurry a slow one.
START_TIMEOUT = 180.0
_POLL_S = 0.1

Progress = Callable[[int, int, list[str]], None]


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
    start_timeout: float | None = None,
    fork: bool = process.FORK,
) -> list[CaseResult]:
    """Run `cases` on up to `jobs` workers; `manifest` is the manifest's root-relative path.

    `places` gives each case its own project (a monorepo's manifests share one pool); without it
    every case is of `root`'s. `worker` is the module the workers run: dqguard's own, or a test
    harness's that wraps it. `start_timeout` (default START_TIMEOUT) bounds a worker's start,
    torch's import included; without `fork` each job gets a worker of its own.
    """
    where = places or [Place(root, manifest)] * len(cases)
    setup = protocol.Setup(preimport=preimport.named(cases), fork=fork)
    return _Pool(cases, where, jobs, exact_qparams, timeout, progress, worker, setup,
                 start_timeout or START_TIMEOUT).run()


def _failure(case: Case, manifest: str, rule: str, message: str, duration: float,
             phases: dict[str, float], detail: str | None, step: str | None = None) -> CaseResult:
    finding = Finding(rule=rule, message=message, path=manifest, line=case.line, detail=detail, step=step)
    return CaseResult(name=case.name, status="error", duration_s=round(duration, 3), findings=(finding,),
                      phases={k: round(v, 3) for k, v in phases.items()})


class _Pool:
    def __init__(self, cases: list[Case], places: list[Place], jobs: int, exact_qparams: bool,
                 timeout: float | None, progress: Progress | None, worker: str, setup: protocol.Setup,
                 start_timeout: float) -> None:
        self.cases, self.places, self.worker, self.setup = cases, places, worker, setup
        self.jobs, self.exact_qparams, self.timeout, self.progress = jobs, exact_qparams, timeout, progress
        self.start_timeout = start_timeout
        self.pending: deque[list[int]] = deque(plan(cases, jobs, places))
        self.results: dict[int, CaseResult] = {}
        self.workers: list[Worker] = []
        self.selector = selectors.DefaultSelector()
        self.env = process.worker_env(min(jobs, len(cases)))
        self.start_failure: str | None = None
        self.start_detail: str | None = None

    def limit(self, case: Case) -> float:
        return self.timeout or case.timeout

    def run(self) -> list[CaseResult]:
        try:
            while len(self.results) < len(self.cases):
                self._start_workers()
                self._assign()
                self._flush()
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
            root = self.places[0].root if self.places else Path.cwd()
            worker = Worker(root, self.env, self.worker, self.setup)
            self.workers.append(worker)
            self.selector.register(worker.stdout, selectors.EVENT_READ, worker)

    def _assign(self) -> None:
        for worker in self.workers:
            if worker.ready and worker.job is None and self.pending and not worker.eof:
                job = self.pending.popleft()
                place = self.places[job[0]]
                request = protocol.Job(root=str(place.root), manifest=place.manifest,
                                       cases=[request_json(self.cases[i]) for i in job],
                                       exact_qparams=self.exact_qparams)
                try:
                    worker.send(job, request)
                except BrokenPipeError:
                    # It died idle, through no fault of this job: the end of its output retires
                    # it, and the job waits for another worker.
                    self.pending.appendleft(job)
                    worker.job = None

    def _flush(self) -> None:
        """What a worker's pipe could not take at once (a long setup or job) goes on as it reads."""
        for worker in self.workers:
            with contextlib.suppress(BrokenPipeError):  # it died: the end of its output says why
                worker.flush()

    def _receive(self, worker: Worker) -> None:
        for kind, value in worker.read():
            if kind == protocol.READY:
                worker.ready = True
            elif kind == protocol.PID:
                worker.child = value
            elif kind == protocol.START and worker.job is not None:
                worker.begin(self.cases[worker.job[0]], self.limit(self.cases[worker.job[0]]))
            elif kind == protocol.PHASE:
                worker.enter(value)
            elif kind == protocol.RESULT and worker.job is not None:
                self.results[worker.job.pop(0)] = case_from_json(value)
                worker.case, worker.deadline = None, float("inf")
            elif kind == protocol.EXIT:
                self._end_job(worker, value)
        if not worker.eof or worker not in self.workers:
            return
        if not worker.ready:
            # Its output ended because it is exiting: its own status, not our kill, says why.
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=2)
        code = worker.kill()
        if not worker.ready:
            reason = f"it {'was ' if code < 0 else ''}{process.exit_reason(code)}"
            self._cannot_start(reason, worker.stderr_tail())
        elif worker.job is not None:
            self._end_job(worker, code)
        self._retire(worker)

    def _end_job(self, worker: Worker, code: int) -> None:
        """The job's process has ended: report the case it was running, requeue the rest."""
        job, case = worker.job or [], worker.case
        worker.job, worker.child, worker.case, worker.deadline = None, None, None, float("inf")
        if not job:
            return
        if case is None:  # it died before it began a case: the first one pays, or it loops forever
            case = self.cases[job[0]]
            worker.begin(case, self.limit(case))
        site, detail = process.where(worker.stderr_tail(worker.stderr_mark), self.places[job[0]].root)
        phase = worker.phase
        worker.enter("end")
        rule, message = worker.kill_reason or ("DQG902", process.crash_message(code, phase, site, detail))
        self.results[job[0]] = _failure(case, self.places[job[0]].manifest, rule, message,
                                        time.monotonic() - worker.started, worker.phases, detail, phase)
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
                root = self.places[worker.job[0]].root if worker.job else Path.cwd()
                site, _ = process.where(worker.stderr_tail(worker.stderr_mark), root)
                limit = self.limit(case)
                worker.stop_case("DQG901", f"timed out after {limit:g} s during {worker.phase}{site}")
            elif case.memory is not None and worker.child is not None:
                resident = process.rss(worker.child)
                if resident > case.memory:
                    over = f"{resident / 2**20:.0f} MiB resident > {case.memory / 2**20:.0f} MiB"
                    worker.stop_case("DQG902", f"worker passed the memory limit during {worker.phase} "
                                     f"({over}); killed")

    def _retire(self, worker: Worker) -> int:
        if worker not in self.workers:
            return worker.proc.wait()
        self.selector.unregister(worker.stdout)
        self.workers.remove(worker)
        code = worker.kill()
        worker.close()
        return code
