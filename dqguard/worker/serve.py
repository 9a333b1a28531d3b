"""A worker: imports torch once, then runs every job the parent sends in a fresh fork of itself.

A job is a list of cases that share a model's export (`dqguard.manifest.case.export_key`), with the project
root they resolve against. The worker never runs any of the user's code itself: it reads a job
from stdin, forks, and the child runs the job and exits. So every job starts from the same
interpreter state, the one right after importing torch, torchao and the installed libraries the
manifest's modules import (`dqguard.worker.warm`), whichever jobs ran before it on this worker:
import-time registrations (`torch.library` ops, pytree nodes), global torch settings and module
state of one case can never reach another, and `-j 1` and `-j 8` give the same verdicts. A crash,
a timeout or a memory blow-up kills only the child; the worker forks the next job at once,
without importing torch again.

Forking a process that imported torch is safe only while no OpenMP thread pool exists in it: the
worker never runs a torch op, so the pool is created in each child. Where fork is unsafe (macOS's
system libraries), the parent's setup says so (`Setup.fork`), the worker runs one job itself and
exits, and the parent starts a fresh worker for the next: the same isolation, one torch import
per job.

The messages are those of `dqguard.run.protocol`: the setup, then jobs, one a line on stdin; on a
private copy of the original stdout (file descriptor 1 is pointed at stderr before any user code
runs) READY, then per job PID, START and PHASE as the job's process goes, RESULT per case, and
EXIT when that process has ended. The child's standard input is `/dev/null`, so user code calling
`input()` gets EOF at once.

faulthandler writes the Python stack to stderr when a case crashes, and on SIGUSR1, which the
parent sends a case that timed out before killing it: that is how both reports say where.
"""

import faulthandler
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn, TextIO

from dqguard.run import protocol

Index = dict[str, list[Path]]
_PR_SET_PDEATHSIG = 1


def _send(messages: TextIO, kind: str, value: Any) -> None:
    messages.write(protocol.encode(kind, value))
    messages.flush()


def _run_job(messages: TextIO, job: protocol.Job, index: Index) -> None:
    """Everything a job's own process does."""
    from dqguard.manifest.case import case_from_request
    from dqguard.records import case_to_json
    from dqguard.run.dependencies import Recorder
    from dqguard.worker import pipeline

    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    sys.stdin = open(os.devnull)  # noqa: SIM115 (lives as long as the process)
    root = Path(job.root)
    os.chdir(root)
    sys.path.insert(0, str(root))
    recorder = Recorder(root, index)
    recorder.start()
    cases = [case_from_request(raw) for raw in job.cases]
    results = pipeline.run_job(cases, root, job.manifest, job.exact_qparams,
                               lambda position: _send(messages, protocol.START, position),
                               lambda phase: _send(messages, protocol.PHASE, phase))
    for result in results:
        result = result._replace(deps=recorder.record(list(sys.modules.values())))
        _send(messages, protocol.RESULT, case_to_json(result))


def _die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux), so that a scan killed
    outright, or a worker killed mid-fork, never leaves a case running on its own."""
    if sys.platform != "linux":
        return
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def _run_and_exit(messages: TextIO, job: protocol.Job, index: Index) -> NoReturn:
    # os._exit: the interpreter's own exit would spend most of a second tearing torch down.
    code = 0
    try:
        _run_job(messages, job, index)
    except BaseException:
        traceback.print_exc()
        code = 70
    finally:
        sys.stderr.flush()
        os._exit(code)


def _fork_job(messages: TextIO, job: protocol.Job, index: Index) -> None:
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)  # a kill of the job reaches whatever the model code started too
        _die_with_parent()
        _run_and_exit(messages, job, index)
    _send(messages, protocol.PID, pid)
    _, status = os.waitpid(pid, 0)
    _send(messages, protocol.EXIT, os.waitstatus_to_exitcode(status))


def main() -> None:
    _die_with_parent()
    messages = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1)
    first = sys.stdin.readline()
    if not first:  # the parent is gone before it said anything
        return
    setup = protocol.read_setup(first)
    from dqguard.worker import warm  # imports torch: once per worker, before any fork

    index = warm.up(setup.preimport)
    _send(messages, protocol.READY, True)
    for line in sys.stdin:
        job = protocol.read_job(line)
        if not setup.fork:
            _send(messages, protocol.PID, os.getpid())
            _run_and_exit(messages, job, index)
        _fork_job(messages, job, index)
