"""The JSON report: a stable, versioned document for other tools, and its inverse.

The text never holds `##[` (written `#\\u0023[` inside strings, the same value to any JSON
parser), so the report can go to a CI log without being read as a workflow command.
"""

import json
from typing import Any

from dqguard import __version__
from dqguard.records import CaseResult, ScanResult, counts, finding_from_json, finding_to_json
from dqguard.report.style import Style
from dqguard.rules import RULES

VERSION = 1


def document(result: ScanResult) -> dict[str, Any]:
    cases = []
    for case in result.cases:
        findings = []
        for finding in case.findings:
            data = finding_to_json(finding)
            data["severity"] = RULES[finding.rule].severity
            findings.append(data)
        cases.append({
            "name": case.name,
            "status": case.status,
            "duration_s": case.duration_s,
            "cached": case.cached,
            "phases": dict(case.phases),
            "findings": findings,
            "notes": list(case.notes),
        })
    return {
        "version": VERSION,
        "tool": {"name": "dqguard", "version": __version__},
        "manifest": result.manifest,
        "cases": cases,
        "summary": counts(result),
    }


def result_from_document(data: dict[str, Any]) -> ScanResult:
    """The ScanResult a report was rendered from, less what the report leaves out (deps)."""
    cases = tuple(
        CaseResult(
            name=case["name"],
            status=case["status"],
            duration_s=case["duration_s"],
            findings=tuple(
                finding_from_json({k: v for k, v in f.items() if k != "severity"})
                for f in case["findings"]
            ),
            phases=case["phases"],
            cached=case["cached"],
            notes=tuple(case["notes"]),
        )
        for case in data["cases"]
    )
    return ScanResult(manifest=data["manifest"], cases=cases)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2).replace("##[", "#\\u0023[") + "\n"


def render(result: ScanResult, style: Style) -> str:
    return dumps(document(result))
