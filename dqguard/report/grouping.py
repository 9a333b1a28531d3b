"""Which findings the reports show first, and which are one and the same.

The same shared dequantize found in several cases (one model under several quantizers or
settings) is one place to fix, so reports that point at code show it once, naming every case:
findings with the same `records.identity` at the same line are one group.
Order is by what a reviewer acts on: findings before case errors (a failed case is fixed in the
manifest or the environment, not at a line of the model), errors before warnings, then scan order.
"""

import posixpath
from typing import NamedTuple

from dqguard.records import Finding, ScanResult, identity, is_case_error, severity_of


class Group(NamedTuple):
    finding: Finding
    cases: tuple[str, ...]


def _rank(finding: Finding) -> tuple[int, int]:
    return (is_case_error(finding), severity_of(finding) != "error")


def grouped(result: ScanResult) -> list[Group]:
    first: dict[object, Finding] = {}
    cases: dict[object, list[str]] = {}
    for case in result.cases:
        for finding in case.findings:
            if finding.baselined:  # known and accepted: nothing to point a reviewer at
                continue
            # A case error is about its case (its traceback differs from case to case), not a place.
            key = finding if is_case_error(finding) else (identity(finding), finding.path, finding.line)
            first.setdefault(key, finding)
            names = cases.setdefault(key, [])
            if case.name not in names:
                names.append(case.name)
    groups = [Group(first[key], tuple(names)) for key, names in cases.items()]
    return sorted(groups, key=lambda group: _rank(group.finding))  # stable: scan order within a rank


def finding_count(result: ScanResult) -> int:
    """New findings over all cases, one in two cases counting twice; case errors, baselined not counted."""
    return sum(not is_case_error(f) and not f.baselined for case in result.cases for f in case.findings)


def in_workspace(path: str) -> bool:
    """Whether annotations and code scanning can attach to `path` (relative, not above the root)."""
    normal = posixpath.normpath(path)
    return not (posixpath.isabs(normal) or normal == ".." or normal.startswith("../"))
