"""Structural and exact mode, side by side, on scenario cases: the differential behind the mode.

`compare_modes` runs every case twice, once per mode, through the real `pipeline.run` in a child
interpreter (`python -m testing.structure`), and returns for each run its status, findings,
converted graph's `structural.signature` and how many observers structural mode swapped. Scenario
repos hang, abort and eat memory on purpose, so the child is killed and replaced the way dqguard's
own runner does it: after a crash, at a case's timeout or past its memory limit. The parent side
never imports torch.
"""

import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, NamedTuple

from dqguard.manifest import Case
from dqguard.runner import rss

MODES = ("structural", "exact")
_STARTUP_S = 300.0  # importing torch and transformers on a loaded CI machine
_POLL_S = 0.2


class Run(NamedTuple):
    status: str
    findings: list[Any]  # as JSON
    signature: list[Any] | None  # None: the case never reached the check
    swapped: int  # observers structural mode gave min/max qparams (0 in exact mode)


Key = tuple[str, str, str]  # repo, case, mode


class _Child:
    def __init__(self, jobs: list[tuple[Path, Case, str]], env: dict[str, str]) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the child)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "testing.structure"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=Path(__file__).parent.parent,
            env={**os.environ, **env},
            start_new_session=True,
            text=True,
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        requests = [{"root": str(root), "case": case._asdict(), "mode": mode} for root, case, mode in jobs]
        threading.Thread(target=self._write, args=(self.proc.stdin, requests), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    @staticmethod
    def _write(stream: IO[str], requests: list[dict[str, Any]]) -> None:
        try:
            for request in requests:
                stream.write(json.dumps(request) + "\n")
            stream.close()
        except BrokenPipeError:  # the child died first; the reader reports it
            pass

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.messages.put(json.loads(line))
        self.messages.put(None)

    def next_result(self, case: Case) -> dict[str, Any] | str:
        """The child's result for its next job, or why it has none (the child is then dead)."""
        deadline = time.monotonic() + _STARTUP_S
        while True:
            if case.memory is not None and rss(self.proc.pid) > case.memory:
                return self.kill(f"over its memory limit of {case.memory} bytes")
            if time.monotonic() > deadline:
                return self.kill(f"still running after {case.timeout} s")
            try:
                message = self.messages.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if message is None:
                return self.kill(f"exited with status {self.proc.wait()}")
            if "started" in message:
                deadline = time.monotonic() + case.timeout
                continue
            return message

    def kill(self, reason: str) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.stderr.seek(0)
        tail = self.stderr.read()[-600:].decode(errors="replace")
        self.stderr.close()
        return f"{reason}; stderr ends: {tail}"


def compare_modes(
    jobs: list[tuple[str, Path, Case]], env: dict[str, str], children: int = 2
) -> dict[Key, Run | str]:
    """Each (repo name, repo root, case) run in both modes: a Run, or why the child died."""
    results: dict[Key, Run | str] = {}
    with ThreadPoolExecutor(children) as pool:
        for part in pool.map(lambda i: _compare(jobs[i::children], env), range(children)):
            results.update(part)
    return results


def _compare(jobs: list[tuple[str, Path, Case]], env: dict[str, str]) -> dict[Key, Run | str]:
    pending = deque((name, root, case, mode) for name, root, case in jobs for mode in MODES)
    results: dict[Key, Run | str] = {}
    while pending:
        child = _Child([(root, case, mode) for _, root, case, mode in pending], env)
        while pending:
            name, _, case, mode = pending.popleft()
            answer = child.next_result(case)
            results[name, case.name, mode] = answer if isinstance(answer, str) else Run(**answer)
            if isinstance(answer, str):
                # A case that kills its process never converts, so there is nothing to compare:
                # its exact run would only cost another child.
                if mode == MODES[0] and pending and pending[0][2] == case:
                    results[name, case.name, pending.popleft()[3]] = "not run: " + answer
                break
        else:
            child.kill("done")
    return results


def _call(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)()


def plain_convert(
    case: Case,
    phases: dict[str, float] | None = None,
    after_prepare: Callable[[Any], object] | None = None,
) -> Any:
    """What a user's own script does, with no dqguard in it, so the quantizer's own numbers.

    The case's repo must be on sys.path; its references must be callables (classes or factories).
    `phases` receives each step's seconds; `after_prepare` sees the prepared model.
    """
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    timings = {} if phases is None else phases
    start = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal start
        now = time.perf_counter()
        timings[phase] = now - start
        start = now

    model = _call(case.model).eval()
    args = tuple(_call(case.inputs))
    quantizer = _call(case.quantizer)
    lap("import")
    # Guards off as in dqguard's pipeline: they only add a node re-checking the shapes given.
    exported = torch.export.export(model, args, strict=case.strict).module(check_guards=False)
    lap("export")
    prepared = prepare_pt2e(exported, quantizer)
    if after_prepare is not None:
        after_prepare(prepared)
    lap("prepare")
    with torch.no_grad():
        for _ in range(case.calibration):
            prepared(*args)
    lap("calibrate")
    converted = convert_pt2e(prepared)
    lap("convert")
    return converted


def _serve() -> None:
    # As in dqguard's worker: models print, so the protocol gets a private copy of stdout.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    from dqguard import pipeline, structural
    from dqguard.records import finding_to_json

    seen: dict[str, Any] = {}
    check, swap = pipeline.check, pipeline.use_minmax_qparams

    # Observe the real pipeline from inside: both callees still run, unchanged.
    def observed_check(graph: Any, root: Path, fallback: tuple[str, int]) -> Any:
        seen["signature"] = structural.signature(graph.owning_module)
        return check(graph, root, fallback)

    def observed_swap(prepared: Any) -> int:
        seen["swapped"] = swap(prepared)
        return seen["swapped"]

    pipeline.check = observed_check  # type: ignore[assignment]
    pipeline.use_minmax_qparams = observed_swap

    previous: Path | None = None
    for line in sys.stdin:
        request = json.loads(line)
        case = Case(**{**request["case"], "ignore": tuple(request["case"]["ignore"])})
        root = Path(request["root"])
        if previous not in (None, root):
            # A dqguard worker serves one repo; here repos take turns, and two of them may
            # both have a `models` module.
            while str(previous) in sys.path:
                sys.path.remove(str(previous))
            for module in pipeline.user_modules(previous):
                del sys.modules[module]
        previous = root
        protocol.write(json.dumps({"started": case.name}) + "\n")
        seen.clear()
        result = pipeline.run(case, root, "dqguard.toml", request["mode"] == "exact")
        protocol.write(json.dumps({
            "status": result.status,
            "findings": [finding_to_json(f) for f in result.findings],
            "signature": seen.get("signature"),
            "swapped": seen.get("swapped", 0),
        }) + "\n")


if __name__ == "__main__":
    _serve()
