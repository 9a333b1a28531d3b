"""The JSON report: a stable, versioned document for other tools."""

import json
from typing import Any

from dqguard import __version__
from dqguard.records import ScanResult, counts, finding_to_json
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
            "phases": case.phases,
            "findings": findings,
        })
    return {
        "version": VERSION,
        "tool": {"name": "dqguard", "version": __version__},
        "manifest": result.manifest,
        "cases": cases,
        "not_run": list(result.not_run),
        "summary": counts(result),
    }


def render(result: ScanResult, style: Style) -> str:
    return json.dumps(document(result), indent=2) + "\n"
