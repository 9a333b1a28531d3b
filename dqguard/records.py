"""The records checks hand to reporters. Plain data: JSON in, JSON out, no torch."""

from types import MappingProxyType
from typing import Any, NamedTuple

from dqguard.rules import CASE_ERRORS


class NodeRef(NamedTuple):
    """A graph node and where the user's source created it (None when no frame is in the repo)."""

    node: str
    target: str
    path: str | None
    line: int | None


class Finding(NamedTuple):
    rule: str
    message: str
    path: str
    line: int
    dequantize: str | None = None
    users: tuple[NodeRef, ...] = ()
    producer: NodeRef | None = None
    detail: str | None = None  # multi-line text (a traceback, a stderr tail), never on one line


class CaseResult(NamedTuple):
    name: str
    status: str  # "ok" | "findings" | "error"
    duration_s: float
    findings: tuple[Finding, ...] = ()
    phases: dict[str, float] = MappingProxyType({})  # type: ignore[assignment]
    # What the verdict depends on (dqguard.dependencies): recorded path -> fingerprint
    deps: dict[str, str | None] = MappingProxyType({})  # type: ignore[assignment]
    cached: bool = False
    # Facts about how the case ran that are not findings (weightless mode fell back, and why)
    notes: tuple[str, ...] = ()


class ScanResult(NamedTuple):
    manifest: str  # the manifest's path as shown to the user
    cases: tuple[CaseResult, ...]


def is_case_error(finding: Finding) -> bool:
    """DQG9xx: the case could not be checked, as opposed to a finding about its graph."""
    return finding.rule in CASE_ERRORS


def status_of(findings: tuple[Finding, ...]) -> str:
    if any(is_case_error(f) for f in findings):
        return "error"
    return "findings" if findings else "ok"


def _node_to_json(ref: NodeRef | None) -> dict[str, Any] | None:
    return None if ref is None else ref._asdict()


def _node_from_json(data: dict[str, Any] | None) -> NodeRef | None:
    return None if data is None else NodeRef(**data)


def finding_to_json(finding: Finding) -> dict[str, Any]:
    data = finding._asdict()
    data["users"] = [_node_to_json(u) for u in finding.users]
    data["producer"] = _node_to_json(finding.producer)
    return data


def finding_from_json(data: dict[str, Any]) -> Finding:
    users = tuple(NodeRef(**u) for u in data["users"])
    return Finding(**{**data, "users": users, "producer": _node_from_json(data["producer"])})


def case_to_json(result: CaseResult) -> dict[str, Any]:
    data = result._asdict()
    data["findings"] = [finding_to_json(f) for f in result.findings]
    data["phases"] = dict(result.phases)
    data["deps"] = dict(result.deps)
    data["notes"] = list(result.notes)
    return data


def case_from_json(data: dict[str, Any]) -> CaseResult:
    return CaseResult(
        **{
            **data,
            "findings": tuple(finding_from_json(f) for f in data["findings"]),
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
