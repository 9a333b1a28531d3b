"""The messages between the pool (`dqguard.run.pool`) and a worker (`dqguard.worker.serve`).

One JSON object a line, `{KIND: value}`. Both sides name the kinds by these constants and build
and read the two requests as these records, so neither can send what the other does not read.

- parent -> worker, on the worker's standard input: a `Setup` once, first, then a `Job` per job.
  What every job shares travels here, not in the environment, which every case's process
  inherits and the user's code could read;
- worker -> parent, on a private copy of the worker's original standard output (descriptor 1 is
  pointed at stderr before any user code runs, so a model that prints cannot corrupt the
  protocol): READY once, then per job PID, from the job's own process START and PHASE as it goes
  and RESULT per case, and EXIT once that process has ended.
"""

import json
from typing import Any, NamedTuple

SETUP = "setup"
JOB = "job"
READY = "ready"  # true: torch is imported; the worker takes jobs
PID = "pid"  # the process that runs the job just sent: the one the parent measures and kills
START = "start"  # the index, in its job, of the case the job's process begins
PHASE = "phase"  # the phase the running case enters (dqguard.worker.phases)
RESULT = "result"  # a case's CaseResult as JSON (dqguard.records)
EXIT = "exit"  # the job's process has ended with this code; negative: the signal that killed it


class Setup(NamedTuple):
    preimport: list[list[str]]  # the modules each case names (dqguard.run.preimport)
    fork: bool  # run each job in a fork; False: run one job in the worker itself, then exit


class Job(NamedTuple):
    root: str  # the project's root, which the cases' references resolve against
    manifest: str  # the manifest's root-relative path, which failures name
    cases: list[dict[str, Any]]  # as dqguard.manifest.case.request_json writes them
    exact_qparams: bool


class Message(NamedTuple):
    kind: str
    value: Any


def encode(kind: str, value: Any) -> str:
    return json.dumps({kind: value}) + "\n"


def decode(line: str | bytes) -> Message:
    ((kind, value),) = json.loads(line).items()
    return Message(kind, value)


def request(message: Setup | Job) -> str:
    return encode(SETUP if isinstance(message, Setup) else JOB, message._asdict())


def read_setup(line: str) -> Setup:
    kind, value = decode(line)
    if kind != SETUP:
        raise ValueError(f"expected {SETUP!r} first, got {kind!r}")
    return Setup(**value)


def read_job(line: str) -> Job:
    kind, value = decode(line)
    if kind != JOB:
        raise ValueError(f"expected {JOB!r}, got {kind!r}")
    return Job(**value)
