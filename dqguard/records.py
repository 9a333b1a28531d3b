"""The records checks hand to reporters. Plain data: JSON in, JSON out, no torch.

Also what every reporter and the baseline read off a record the same way: where a node is
(`source_line`, `place`) and when two findings are the same one (`identity`, `fingerprint`).
"""

import hashlib
from types import MappingProxyType
from typing import Any, NamedTuple

from dqguard.rules import CASE_ERRORS, RULES


class NodeRef(NamedTuple):
    """A graph node and where the user's source created it (None when no frame is in the repo).

    `module` is the submodule that ran it (`layers.0.attention.q_proj`; None for the model's own
    forward); `library_path`/`library_line` the installed library's frame that created it, when
    that is inner to any frame of the user's (`transformers/models/vit/modeling_vit.py`, relative
    to its site-packages directory)."""

    node: str
    target: str
    path: str | None
    line: int | None
    module: str | None = None
    library_path: str | None = None
    library_line: int | None = None


class Finding(NamedTuple):
    rule: str
    message: str
    path: str
    line: int
    dequantize: str | None = None
    users: tuple[NodeRef, ...] = ()
    producer: NodeRef | None = None
    detail: str | None = None  # multi-line text (a traceback, a stderr tail), never on one line
    severity: str | None = None  # "error" | "warning" as the manifest's [rules] set it; None: the rule's
    baselined: bool = False  # in the baseline (dqguard.baseline): reported, never failing
    # (node name, "[1, 16] float32") for the producer, the dequantize and its users, where known
    shapes: tuple[tuple[str, str], ...] = ()
    # The stage after which the finding first appeared ("convert", or a `stages` reference); None
    # for a case error. For a sharing a later stage removed (CaseResult.resolved), `resolved_by`
    # names that stage.
    stage: str | None = None
    resolved_by: str | None = None
    # For a case error: the step it stopped at, as the case's `phases` name it ("import", "export",
    # "prepare", "calibrate", "convert", a stage reference, "check"; "start" before the case began);
    # None for a finding, and for a case no worker started.
    step: str | None = None


class Outside(NamedTuple):
    """An op a lowering left outside every delegate: its op (`aten.convolution.default`), the
    submodule that ran it, the user's line that made it (None when no frame is the user's) and its
    FLOPs as `torch.utils.flop_counter` counts them (0 for q/dq, views and elementwise ops)."""

    op: str
    module: str | None
    path: str | None
    line: int | None
    flops: int


def short_op(name: str) -> str:
    """`convolution` for `aten.convolution.default`: an op as a sentence or a picture names it."""
    parts = name.split(".")
    return parts[1] if len(parts) == 3 else name


class Segment(NamedTuple):
    """A run of the lowered program, in program order: one delegate (`backend` set, `ops` inside
    it), or a CPU island of consecutive ops left outside (`backend` None, `names` their ops)."""

    backend: str | None
    ops: int
    flops: int
    names: tuple[str, ...] = ()


class Delegation(NamedTuple):
    """What a lowering stage delegated: the lowered program's top-level delegate calls, the ops
    inside them and the ops left outside (getitem and outputs not counted).

    Coverage by compute (`dqguard.check.coverage`; None where it was not accounted): the program's
    FLOPs, those inside a delegate, and `coverage`, their share (the delegated share of ops when
    the program has no FLOPs at all). `outside` is largest first; `uncounted` names the ops the
    counter has no formula for (custom ops), which count 0 and are never guessed. `figures` are
    the backend's own, one plain dict per delegate (Vela's `{accelerator, cpu_ops, npu_ops, macs,
    sram_kib}`), kept beside dqguard's and never mixed with them."""

    backends: tuple[str, ...]
    delegates: int
    delegated_ops: int
    non_delegated_ops: int
    flops: int | None = None
    flops_delegated: int | None = None
    coverage: float | None = None
    outside: tuple[Outside, ...] = ()
    uncounted: tuple[str, ...] = ()
    figures: tuple[dict[str, Any], ...] = ()
    partition: tuple[Segment, ...] = ()


class CaseResult(NamedTuple):
    name: str
    status: str  # "ok" | "findings" | "error"
    duration_s: float
    findings: tuple[Finding, ...] = ()
    phases: dict[str, float] = MappingProxyType({})  # type: ignore[assignment]
    # What the verdict depends on (dqguard.run.dependencies): recorded path -> fingerprint
    deps: dict[str, str | None] = MappingProxyType({})  # type: ignore[assignment]
    cached: bool = False
    delegation: Delegation | None = None  # after a lowering stage
    resolved: tuple[Finding, ...] = ()  # sharings a later stage removed: no finding, for the record
    # Facts about how the case ran that are not findings (weightless mode fell back, and why)
    notes: tuple[str, ...] = ()


class Gone(NamedTuple):
    """A baseline entry no finding matched: fixed, so the baseline can shrink."""

    case: str
    rule: str
    fingerprint: str
    message: str
    path: str
    line: int


class ScanResult(NamedTuple):
    manifest: str  # the manifest's path as shown to the user (several: comma-separated)
    cases: tuple[CaseResult, ...]
    baseline: str | None = None  # the baseline file the scan compared against, as shown
    gone: tuple[Gone, ...] = ()


def is_case_error(finding: Finding) -> bool:
    """DQG9xx: the case could not be checked, as opposed to a finding about its graph."""
    return finding.rule in CASE_ERRORS


def severity_of(finding: Finding) -> str:
    return finding.severity or RULES[finding.rule].severity


def status_of(findings: tuple[Finding, ...]) -> str:
    """A case with only baselined findings is "ok": nothing new to fix."""
    if any(is_case_error(f) for f in findings):
        return "error"
    return "findings" if any(not f.baselined for f in findings) else "ok"


def source_line(ref: NodeRef) -> str | None:
    """`path:line` of the user's code that made the node; None when no frame of it is in the repo."""
    return f"{ref.path}:{ref.line}" if ref.path is not None and ref.line is not None else None


def place(ref: NodeRef) -> str | None:
    """Where a reader finds the node: its `source_line`, else the submodule that ran it (a library
    model's node, which no line of the user's made); None when neither is known."""
    return source_line(ref) or ref.module


def _anchor(ref: NodeRef | None) -> str:
    if ref is None:
        return ""
    return f"{ref.target}@{ref.module}" if ref.module else f"{ref.target}@{ref.path or ''}"


def identity(finding: Finding) -> tuple[str, ...]:
    """What makes two findings one: the rule, the stage it appeared after, and the dequantize's
    producer and consumers (in any order), each by its op and the submodule that ran it, or its
    source file when the records name no submodule.

    The baseline (another commit's scan), code scanning (SARIF's fingerprints, another run) and the
    grouped reports (another case of the same model) all ask this one question. It deliberately
    ignores line numbers, which move with any unrelated edit above them, and node names, which
    renumber when a node is added upstream and change on every re-export; the message names nodes,
    so it is left out too. The case is not in it: `fingerprint` adds it where runs are compared.
    """
    return (finding.rule, finding.stage or "", _anchor(finding.producer),
            *sorted(_anchor(user) for user in finding.users))


def fingerprint(finding: Finding, case: str) -> str:
    """`identity` within `case`, hashed: a baseline entry's key and SARIF's partial fingerprint."""
    return hashlib.sha256("\0".join((case, *identity(finding))).encode()).hexdigest()[:20]


def _node_to_json(ref: NodeRef | None) -> dict[str, Any] | None:
    return None if ref is None else ref._asdict()


def _node_from_json(data: dict[str, Any] | None) -> NodeRef | None:
    return None if data is None else NodeRef(**data)


def finding_to_json(finding: Finding) -> dict[str, Any]:
    data = finding._asdict()
    data["users"] = [_node_to_json(u) for u in finding.users]
    data["producer"] = _node_to_json(finding.producer)
    data["shapes"] = [list(pair) for pair in finding.shapes]
    return data


def finding_from_json(data: dict[str, Any]) -> Finding:
    users = tuple(NodeRef(**u) for u in data["users"])
    shapes = tuple((name, value) for name, value in data.get("shapes", ()))
    producer = _node_from_json(data["producer"])
    return Finding(**{**data, "users": users, "producer": producer, "shapes": shapes})


def case_to_json(result: CaseResult) -> dict[str, Any]:
    data = result._asdict()
    data["findings"] = [finding_to_json(f) for f in result.findings]
    data["phases"] = dict(result.phases)
    data["deps"] = dict(result.deps)
    data["delegation"] = delegation_to_json(result.delegation)
    data["resolved"] = [finding_to_json(f) for f in result.resolved]
    data["notes"] = list(result.notes)
    return data


def delegation_to_json(delegation: Delegation | None) -> dict[str, Any] | None:
    if delegation is None:
        return None
    return {**delegation._asdict(), "backends": list(delegation.backends),
            "outside": [o._asdict() for o in delegation.outside], "uncounted": list(delegation.uncounted),
            "figures": [dict(f) for f in delegation.figures],
            "partition": [{**s._asdict(), "names": list(s.names)} for s in delegation.partition]}


def delegation_from_json(data: dict[str, Any] | None) -> Delegation | None:
    """Also reads a record from before coverage (no `flops`, `outside`...)."""
    if data is None:
        return None
    return Delegation(**{
        **data,
        "backends": tuple(data["backends"]),
        "outside": tuple(Outside(**o) for o in data.get("outside", ())),
        "uncounted": tuple(data.get("uncounted", ())),
        "figures": tuple(dict(f) for f in data.get("figures", ())),
        "partition": tuple(Segment(**{**s, "names": tuple(s.get("names", ()))})
                           for s in data.get("partition", ())),
    })


def case_from_json(data: dict[str, Any]) -> CaseResult:
    return CaseResult(
        **{
            **data,
            "findings": tuple(finding_from_json(f) for f in data["findings"]),
            "delegation": delegation_from_json(data.get("delegation")),
            "resolved": tuple(finding_from_json(f) for f in data.get("resolved", ())),
            "notes": tuple(data.get("notes", ())),
        }
    )


def counts(result: ScanResult) -> dict[str, int]:
    statuses = [case.status for case in result.cases]
    return {
        "cases": len(statuses),
        "ok": statuses.count("ok"),
        "findings": statuses.count("findings"),
        "errors": statuses.count("error"),
    }
