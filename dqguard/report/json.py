"""The JSON report: a stable, versioned document for other tools, and its inverse.

The text never holds `##[` (written `#\\u0023[` inside strings, the same value to any JSON
parser), so the report can go to a CI log without being read as a workflow command.
"""

import json
from typing import Any

from dqguard import __version__
from dqguard.records import (
    CaseResult,
    Gone,
    ScanResult,
    counts,
    delegation_from_json,
    delegation_to_json,
    finding_from_json,
    finding_to_json,
    severity_of,
)
from dqguard.report.style import Style

VERSION = 1


def document(result: ScanResult) -> dict[str, Any]:
    cases = []
    for case in result.cases:
        findings = []
        for finding in case.findings:
            data = finding_to_json(finding)
            data["severity"] = severity_of(finding)
            findings.append(data)
        cases.append({
            "name": case.name,
            "status": case.status,
            "duration_s": case.duration_s,
            "cached": case.cached,
            "phases": dict(case.phases),
            "findings": findings,
            "delegation": delegation_to_json(case.delegation),
            "resolved": [finding_to_json(f) for f in case.resolved],
            "notes": list(case.notes),
        })
    return {
        "version": VERSION,
        "tool": {"name": "dqguard", "version": __version__},
        "manifest": result.manifest,
        "baseline": result.baseline,
        "cases": cases,
        "gone": [gone._asdict() for gone in result.gone],
        "summary": counts(result),
    }


def result_from_document(data: dict[str, Any]) -> ScanResult:
    """The ScanResult a report was rendered from, less what the report leaves out (deps)."""
    cases = tuple(
        CaseResult(
            name=case["name"],
            status=case["status"],
            duration_s=case["duration_s"],
            findings=tuple(finding_from_json(f) for f in case["findings"]),
            phases=case["phases"],
            cached=case["cached"],
            delegation=delegation_from_json(case["delegation"]),
            resolved=tuple(finding_from_json(f) for f in case["resolved"]),
            notes=tuple(case["notes"]),
        )
        for case in data["cases"]
    )
    return ScanResult(manifest=data["manifest"], cases=cases, baseline=data.get("baseline"),
                      gone=tuple(Gone(**gone) for gone in data.get("gone", ())))


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2).replace("##[", "#\\u0023[") + "\n"


def render(result: ScanResult, style: Style) -> str:
    return dumps(document(result))
