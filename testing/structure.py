"""Structural, exact and weightless mode, side by side, on scenario cases: the differential behind
the modes.

`compare_modes` runs every case once per mode, through dqguard's own runner with the watched
worker (`testing.observed`), and returns for each run its status, findings, notes, the signature
of the graph the check saw and how many observers structural or weightless mode patched. Scenario
repos hang, abort and eat memory on purpose: the product's runner bounds and reports them. The
parent side never imports torch.
"""

import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.manifest.case import Case
from dqguard.records import finding_to_json
from dqguard.run import pool as runner
from testing.observed import OUTPUT, graph_file

MODES = ("structural", "exact", "weightless")
# The watched worker is this checkout's `testing` package, which the scenario repos do not hold.
_CHECKOUT = str(Path(__file__).resolve().parent.parent)


class Run(NamedTuple):
    status: str
    findings: list[Any]  # as JSON
    signature: list[Any] | None  # None: the case failed (status "error") before its check
    swapped: int  # observers structural mode gave min/max qparams (0 in exact mode)
    patched: int  # observers weightless mode made fake-safe (0 unless it ran weightless)
    notes: list[str]


Key = tuple[str, str, str]  # repo, case, mode


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def compare_modes(
    jobs: list[tuple[str, Path, Case]], env: dict[str, str], children: int = 2,
    modes: tuple[str, ...] = ("structural", "exact"),
) -> dict[Key, Run]:
    """Each (repo name, repo root, case) run in each of `modes`."""
    repos: dict[tuple[str, Path], list[Case]] = {}
    for name, root, case in jobs:
        repos.setdefault((name, root), []).append(case)
    path = os.pathsep.join(filter(None, [_CHECKOUT, os.environ.get("PYTHONPATH")]))
    runs: dict[Key, Run] = {}
    for (name, root), cases in repos.items():
        for mode in modes:
            assert mode in MODES, mode
            chosen = [case._replace(weightless=mode == "weightless") for case in cases]
            with tempfile.TemporaryDirectory() as graphs, \
                    _environment({**env, OUTPUT: graphs, "PYTHONPATH": path}):
                results = runner.run(chosen, root, "dqguard.toml", jobs=children,
                                     exact_qparams=mode == "exact", worker="testing.observed")
                for case, result in zip(chosen, results, strict=True):
                    file = graph_file(Path(graphs), case.name)
                    seen = json.loads(file.read_text()) if file.exists() else {}
                    # A verdict comes from the check: if the watch saw none, it watches nothing and
                    # every comparison below would pass on nothing.
                    if result.status != "error" and seen.get("signature") is None:
                        raise AssertionError(f"{name}/{case.name} ({mode}): {result.status}, but "
                                             "testing.observed saw no check")
                    runs[name, case.name, mode] = Run(
                        status=result.status,
                        # Resolved sharings too: an Inductor case records its sharings there.
                        findings=[finding_to_json(f) for f in (*result.findings, *result.resolved)],
                        signature=seen.get("signature"),
                        swapped=seen.get("swapped", 0),
                        patched=seen.get("patched", 0),
                        notes=list(result.notes),
                    )
    return runs


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
    # Inputs as a user's script passes them: keywords for a dict (a tokenizer's output).
    inputs = _call(case.inputs)
    args, kwargs = ((), dict(inputs)) if isinstance(inputs, dict) else (tuple(inputs), {})
    quantizer = _call(case.quantizer)
    lap("import")
    # Guards off as in dqguard's pipeline: they only add a node re-checking the shapes given.
    exported = torch.export.export(model, args, kwargs, strict=case.strict).module(check_guards=False)
    lap("export")
    prepared = prepare_pt2e(exported, quantizer)
    if after_prepare is not None:
        after_prepare(prepared)
    lap("prepare")
    with torch.no_grad():
        for _ in range(case.calibration):
            prepared(*args, **kwargs)
    lap("calibrate")
    converted = convert_pt2e(prepared)
    lap("convert")
    return converted
