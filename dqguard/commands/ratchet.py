"""The coverage ratchet, DQG006: a lowered case may not lose coverage by compute or gain delegates
against what its baseline locked in, nor fall below its `min_coverage`. Parent side, no torch.

Coverage is the delegated share of the lowered program's FLOPs (`dqguard.check.coverage`), and
`dqguard baseline` locks each lowered case's coverage, delegate count and the ops it left outside
(`dqguard.baseline.Locked`). A scan then fails a case whose coverage fell by more than its
`coverage_tolerance` (0.005: FLOPs are exact, but a model's shapes may move a little) or whose
program was cut into more delegates; the message names the ops that left the delegates (the ops
outside now that the baseline did not have outside, by op and submodule) and the FLOPs they took to
the CPU. A gain is a note, never a failure: the baseline moves only when someone runs
`dqguard baseline`. `min_coverage` is a floor checked on every scan, baseline or not.

A case without coverage (not lowered, or a result from before coverage was accounted) is left alone.
"""

from collections import Counter

from dqguard.baseline import Locked
from dqguard.manifest.case import Case
from dqguard.records import CaseResult, Delegation, Finding, NodeRef, Outside, short_op
from dqguard.report.partition import named
from dqguard.words import coverage, flops

RULE = "DQG006"
LOCK_IN = "`dqguard baseline` locks it in"


def left(current: Delegation, locked: Locked) -> list[Outside]:
    """The ops outside now that the locked lowering delegated: by op and submodule, as a multiset."""
    before = Counter((o.op, o.module) for o in locked.outside)
    found = []
    for op in current.outside:
        if before[(op.op, op.module)] > 0:
            before[(op.op, op.module)] -= 1
        else:
            found.append(op)
    return found


def _ref(op: Outside) -> NodeRef:
    return NodeRef(node=op.op, target=short_op(op.op), path=op.path, line=op.line, module=op.module)


def _finding(message: str, ops: list[Outside], fallback: tuple[str, int]) -> Finding:
    """At the first of `ops` the user's code made, else at the case's manifest line."""
    lines = [(op.path, op.line) for op in ops if op.path is not None and op.line is not None]
    path, line = lines[0] if lines else fallback
    return Finding(rule=RULE, message=message, path=path, line=line, users=tuple(_ref(op) for op in ops))


def regressed(current: Delegation, locked: Locked, tolerance: float) -> tuple[str, list[Outside]] | None:
    """DQG006's message and the ops that left, when `current` is worse than `locked`."""
    assert current.coverage is not None
    fell = locked.coverage - current.coverage > tolerance
    grew = current.delegates > locked.delegates
    if not (fell or grew):
        return None
    changes = f"coverage {coverage(locked.coverage)} → {coverage(current.coverage)}"
    delegates = f"delegates {locked.delegates} → {current.delegates}"
    if fell and grew:
        message = f"{changes} and {delegates} since the baseline"
    elif fell:
        message = f"{changes} since the baseline (tolerance {tolerance:g})"
    else:
        message = f"{delegates} since the baseline ({changes})"
    ops = left(current, locked)
    if ops:
        message += (f": {named(ops)} left the delegates, taking {flops(sum(op.flops for op in ops))} "
                    "to the CPU")
    return message, ops


def below(current: Delegation, floor: float) -> tuple[str, list[Outside]] | None:
    """DQG006's message and the ops outside, when coverage is under the case's `min_coverage`."""
    assert current.coverage is not None and current.flops is not None
    if current.coverage >= floor:
        return None
    message = f"coverage {coverage(current.coverage)} is below min_coverage {floor:g}"
    if current.flops:
        cpu = current.flops - (current.flops_delegated or 0)
        heavy = [op for op in current.outside if op.flops > 0]
        message += f": {flops(cpu)} of {flops(current.flops)} run outside the delegates"
        return (message + (f", largest {named(heavy)}" if heavy else ""), heavy)
    return message + f": {len(current.outside)} ops outside the delegates", list(current.outside)


def improved(current: Delegation, locked: Locked, tolerance: float) -> str | None:
    assert current.coverage is not None
    gains = []
    if current.coverage - locked.coverage > tolerance:
        gains.append(f"coverage {coverage(locked.coverage)} → {coverage(current.coverage)}")
    if current.delegates < locked.delegates:
        gains.append(f"delegates {locked.delegates} → {current.delegates}")
    return f"{', '.join(gains)}: {LOCK_IN}" if gains else None


def judged(result: CaseResult, case: Case, manifest: str, locked: Locked | None) -> CaseResult:
    """`result` with DQG006 for each way its delegation got worse, and a note when it got better."""
    current = result.delegation
    if current is None or current.coverage is None:
        return result
    worse = None if locked is None else regressed(current, locked, case.coverage_tolerance)
    floor = None if case.min_coverage is None else below(current, case.min_coverage)
    findings = [_finding(text, ops, (manifest, case.line)) for text, ops in filter(None, (worse, floor))]
    better = None if locked is None or worse else improved(current, locked, case.coverage_tolerance)
    notes = (*result.notes, better) if better else result.notes
    return result._replace(findings=(*result.findings, *findings), notes=notes)
