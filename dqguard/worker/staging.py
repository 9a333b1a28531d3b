"""The case's `stages` after convert (`dqguard.worker.programs` says how each is called), and the
check after every one of them. Worker side.

What counts is what the pipeline hands the device. After each stage its graph is checked for
shared dequantize nodes (the annotations are gone after a re-export, so `dqguard.check.quantized` reads
the structure). A lowering stage (its program holds delegate calls) is judged on the graph it
was handed, the previous stage's, since the sharing inside a delegate is the backend's business
by then; its own output gets the delegation rules (`dqguard.check.delegation`) and its coverage
by compute (`dqguard.check.coverage`), both timed as the check. A backend's own figures about its
compile ride on the program it returned as `backend_figures` (the Ethos-U stages' Vela summaries);
they go into the record as plain data, beside dqguard's.

A sharing is a finding when it is in the last stage's graph, reported once and attributed to the
stage after which it appeared (and stayed): `convert`, or the stage's reference. The same sharing
in two graphs is the same dequantize read by the same lines of the user's code (`_key`). A sharing
that a later stage removed is no finding; the case records it in `resolved`, with the stage that
removed it.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import torch

from dqguard.check import coverage, delegation
from dqguard.check.nodes import graphs
from dqguard.check.quantized import classifier
from dqguard.check.sharing import check, shared
from dqguard.manifest.case import Case
from dqguard.records import Delegation, Finding
from dqguard.worker import programs
from dqguard.worker.examples import Example
from dqguard.worker.phases import Steps
from dqguard.worker.programs import View, needs_executorch

CONVERT = "convert"

Key = tuple[object, ...]
History = list[tuple[str, dict[Key, Finding]]]  # each stage's reference and its sharings


def _key(finding: Finding) -> Key:
    """The same sharing in another graph of the same case. Not `records.identity`, which compares
    runs (where lines move): between the graphs of one run the lines are what survives, while
    node names change on every re-export and `to_edge` rewrites the ops themselves (a linear
    becomes an addmm), which identity's op names would take for a different finding."""
    lines = frozenset((u.path, u.line) for u in finding.users if u.line is not None)
    return (finding.rule, lines) if lines else (finding.rule, finding.dequantize)


def _keyed(findings: Iterable[Finding]) -> dict[Key, Finding]:
    return {_key(f): f for f in findings}


class Outcome(NamedTuple):
    findings: list[Finding]
    resolved: tuple[Finding, ...]
    delegation: Delegation | None


class Lowered(NamedTuple):
    """The lowering stage, its output and the program it was handed."""

    stage: str
    output: View
    given: View
    figures: tuple[dict[str, Any], ...] = ()


def run(case: Case, converted: torch.fx.GraphModule, example: Example, root: Path, fallback: tuple[str, int],
        steps: Steps, inductor: bool = False) -> Outcome:
    """`inductor`: the quantizer is Inductor's, so without stages Inductor compiles the graph."""
    with steps.step("check", "the check"):
        first = check(converted, root, fallback, inductor and not case.stages)
    if not case.stages or any(f.rule == "DQG003" for f in first):
        # No stage, or nothing quantized, which no stage can change.
        first = [f._replace(stage=CONVERT) for f in first]
        return Outcome([f for f in first if f.resolved_by is None],
                       tuple(f for f in first if f.resolved_by is not None), None)
    history, lowered = _stages(case, converted, example, root, fallback, steps, [(CONVERT, _keyed(first))])
    findings, resolved = _attributed(history)
    delegated = None
    if lowered is not None:
        with steps.step("check", "the check"):
            graph = lowered.output.module
            record = delegation.delegation(graph)._replace(figures=lowered.figures)
            delegated = coverage.account(record, graph, root)
            findings += _not_delegated(lowered, root, fallback)
    if case.delegates is not None and (delegated is None or delegated.delegates != case.delegates):
        stage = lowered.stage if lowered else None
        findings.append(delegation.changed(case.delegates, delegated, stage, fallback))
    return Outcome(findings, resolved, delegated)


def _stages(case: Case, converted: torch.fx.GraphModule, example: Example, root: Path,
            fallback: tuple[str, int], steps: Steps, history: History) -> tuple[History, Lowered | None]:
    """Each stage applied in turn and the sharings in its graph (a lowering's: its input's)."""
    program: Any = converted
    handed = programs.view(converted)
    lowered = None
    for reference in case.stages:
        with steps.step("import", f"loading stage {reference!r}", needs_executorch):
            stage = programs.load(reference)
        with steps.step(reference, f"stage {reference!r}", needs_executorch):
            program = programs.apply(stage, program, example)
            current = programs.view(program)
        with steps.step("check", "the check"):
            if delegation.delegate_calls(current.module):
                lowered = Lowered(reference, current, handed, _figures(program))
                found = history[-1][1]
            else:
                found = _keyed(shared(current.module, root, fallback, current.constants))
        history.append((reference, found))
        handed = current
    return history, lowered


def _figures(program: Any) -> tuple[dict[str, Any], ...]:
    """A backend's own figures, as plain data (a NamedTuple each, or already a mapping)."""
    figures = getattr(program, "backend_figures", None) or ()
    return tuple(f._asdict() if hasattr(f, "_asdict") else dict(f) for f in figures)


def _not_delegated(lowered: Lowered, root: Path, fallback: tuple[str, int]) -> list[Finding]:
    given_modules = list(graphs(lowered.given.module))
    quantized = classifier(given_modules, lowered.given.constants)
    origins = delegation.quantized_origins(given_modules, quantized, root)
    return delegation.not_delegated(lowered.output.module, lowered.output.constants, origins, lowered.stage,
                                    root, fallback)


def _appeared(history: History, key: Key, last: int) -> Finding:
    start = last
    while start > 0 and key in history[start - 1][1]:
        start -= 1
    stage = history[start][0]
    finding = history[start][1][key]
    message = finding.message if stage == CONVERT else f"{finding.message}; appeared after stage {stage}"
    return finding._replace(stage=stage, message=message)


def _attributed(history: History) -> tuple[list[Finding], tuple[Finding, ...]]:
    final = len(history) - 1
    findings = [_appeared(history, key, final) for key in history[final][1]]
    resolved: dict[Key, Finding] = {}
    for index in range(final - 1, -1, -1):
        for key in history[index][1]:
            if key not in history[final][1] and key not in resolved:
                # Descending, so `index` is its last stage: the next one removed it.
                resolved[key] = _appeared(history, key, index)._replace(resolved_by=history[index + 1][0])
    return findings, tuple(resolved.values())
