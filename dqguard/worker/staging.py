"""The case's `stages` after convert, and the check after every one of them. Worker side.

A stage is a `module:attr` reference to a callable (a class is instantiated with no arguments, as
a torch.fx pass is) applied to the previous stage's program: convert's GraphModule, an
ExportedProgram, or an ExecuTorch EdgeProgramManager. One whose signature takes two positional
arguments is called as `stage(program, example_inputs)`, with the case's inputs as an
`(args, kwargs)` pair; else `stage(program)`. It returns the next program; a pass that works in
place may return None (the same program goes on) or a torch.fx `PassResult`.

What counts is what the pipeline hands the device. After each stage its graph is checked for
shared dequantize nodes (the annotations are gone after a re-export, so `dqguard.check.quantized` reads
the structure). A lowering stage (its program holds delegate calls) is judged on the graph it
was handed, the previous stage's, since the sharing inside a delegate is the backend's business
by then; its own output gets the delegation rules (`dqguard.check.delegation`).

A sharing is a finding when it is in the last stage's graph, reported once and attributed to the
stage after which it appeared (and stayed): `convert`, or the stage's reference. The same sharing
in two graphs is the same dequantize read by the same lines of the user's code (node names change
on every re-export). A sharing that a later stage removed is no finding; the case records it in
`resolved`, with the stage that removed it.
"""

import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import torch

from dqguard.check import delegation
from dqguard.check.nodes import graphs
from dqguard.check.quantized import classifier
from dqguard.check.sharing import check, shared
from dqguard.manifest.load import Case
from dqguard.records import Delegation, Finding
from dqguard.worker import references
from dqguard.worker.examples import Example
from dqguard.worker.phases import Steps

CONVERT = "convert"
EXECUTORCH = "executorch==1.5.1"
INSTALL = f"install ExecuTorch: pip install 'dqguard[executorch]' ({EXECUTORCH})"


def needs_executorch(exc: BaseException) -> str | None:
    """What to install when a stage finds ExecuTorch missing (a Steps hint)."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "executorch":
        return INSTALL
    return None


class View(NamedTuple):
    """The graph of a program, and which of its placeholders hold weights."""

    module: torch.fx.GraphModule
    constants: frozenset[str]


def view(program: Any) -> View:
    if isinstance(program, torch.fx.GraphModule):
        return View(program, frozenset())
    exported = program
    if not isinstance(exported, torch.export.ExportedProgram) and hasattr(program, "exported_program"):
        exported = program.exported_program()  # an ExecuTorch EdgeProgramManager
    if not isinstance(exported, torch.export.ExportedProgram):
        raise TypeError(f"returned {type(program).__name__}; a stage returns a GraphModule, an "
                        "ExportedProgram or an ExecuTorch EdgeProgramManager")
    signature = exported.graph_signature
    constants = {*signature.inputs_to_parameters, *signature.inputs_to_buffers,
                 *signature.inputs_to_lifted_tensor_constants}
    return View(exported.graph_module, frozenset(constants))


def load(reference: str) -> Any:
    value = references.resolve(reference)
    if inspect.isclass(value):
        value = value()
    if not callable(value):
        raise TypeError(f"stage {reference!r} is {type(value).__name__}, not a callable")
    return value


def takes_inputs(stage: Any) -> bool:
    try:
        inspect.signature(stage).bind(None, None)
    except (TypeError, ValueError):
        return False
    return True


def apply(stage: Any, program: Any, example: Example) -> Any:
    result = stage(program, example) if takes_inputs(stage) else stage(program)
    if result is None:
        return program
    module = getattr(result, "graph_module", None)
    if isinstance(module, torch.fx.GraphModule) and hasattr(result, "modified"):
        return module  # a torch.fx PassResult
    return result


def _key(finding: Finding) -> tuple[object, ...]:
    lines = frozenset((u.path, u.line) for u in finding.users if u.line is not None)
    return (finding.rule, lines) if lines else (finding.rule, finding.dequantize)


def _keyed(findings: Iterable[Finding]) -> dict[tuple[object, ...], Finding]:
    return {_key(f): f for f in findings}


class Outcome(NamedTuple):
    findings: list[Finding]
    resolved: tuple[Finding, ...]
    delegation: Delegation | None


def run(case: Case, converted: torch.fx.GraphModule, example: Example, root: Path, fallback: tuple[str, int],
        steps: Steps) -> Outcome:
    with steps.step("check", "the check"):
        first = [finding._replace(stage=CONVERT) for finding in check(converted, root, fallback)]
    if not case.stages or any(f.rule == "DQG003" for f in first):
        return Outcome(first, (), None)  # nothing quantized: no stage can change that
    history = [(CONVERT, _keyed(first))]
    program: Any = converted
    handed = view(converted)
    lowered: tuple[str, View, View] | None = None
    for reference in case.stages:
        with steps.step("import", f"loading stage {reference!r}", needs_executorch):
            stage = load(reference)
        with steps.step(reference, f"stage {reference!r}", needs_executorch):
            program = apply(stage, program, example)
            current = view(program)
        with steps.step("check", "the check"):
            if delegation.delegate_calls(current.module):
                lowered = (reference, current, handed)
                found = history[-1][1]
            else:
                found = _keyed(shared(current.module, root, fallback, current.constants))
        history.append((reference, found))
        handed = current
    findings, resolved = _attributed(history)
    delegated = None
    if lowered is not None:
        reference, output, given = lowered
        with steps.step("check", "the check"):
            delegated = delegation.delegation(output.module)
            given_modules = list(graphs(given.module))
            quantized = classifier(given_modules, given.constants)
            origins = delegation.quantized_origins(given_modules, quantized, root)
            findings += delegation.not_delegated(output.module, output.constants, origins, reference, root,
                                                 fallback)
    if case.delegates is not None and (delegated is None or delegated.delegates != case.delegates):
        stage = lowered[0] if lowered else None
        findings.append(delegation.changed(case.delegates, delegated, stage, fallback))
    return Outcome(findings, resolved, delegated)


def _appeared(history: list[tuple[str, dict[tuple[object, ...], Finding]]], key: tuple[object, ...],
              last: int) -> Finding:
    start = last
    while start > 0 and key in history[start - 1][1]:
        start -= 1
    stage = history[start][0]
    finding = history[start][1][key]
    message = finding.message if stage == CONVERT else f"{finding.message}; appeared after stage {stage}"
    return finding._replace(stage=stage, message=message)


def _attributed(history: list[tuple[str, dict[tuple[object, ...], Finding]]]) -> tuple[list[Finding],
                                                                                       tuple[Finding, ...]]:
    final = len(history) - 1
    findings = [_appeared(history, key, final) for key in history[final][1]]
    resolved: dict[tuple[object, ...], Finding] = {}
    for index in range(final - 1, -1, -1):
        for key in history[index][1]:
            if key not in history[final][1] and key not in resolved:
                # Descending, so `index` is its last stage: the next one removed it.
                resolved[key] = _appeared(history, key, index)._replace(resolved_by=history[index + 1][0])
    return findings, tuple(resolved.values())
