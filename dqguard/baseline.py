"""The baseline: findings a repository accepted when it adopted dqguard, so only new ones fail.

`dqguard baseline` writes `dqguard-baseline.json` beside each manifest with every current finding
(not case errors: a case that cannot be checked is never accepted). `dqguard scan` then marks the
findings the baseline holds as baselined (reported, never failing) and lists the entries no
finding matched any more ("gone": fixed, so the baseline should shrink).

A finding is matched by its fingerprint (`records.fingerprint`: the finding's `records.identity`
within its case, which never holds line numbers or node names). Entries are a multiset: two
identical findings need two entries.

Since version 2 the file also locks each lowered case's delegation (`"delegation"`, by case name):
its delegate count, its coverage by compute and the ops it left outside (`{op, module, flops}`),
which the coverage ratchet (`dqguard.commands.ratchet`, DQG006) compares a scan with. Version 1
files (findings only) are still read: they lock no delegation.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.errors import DqguardError
from dqguard.records import CaseResult, Gone, fingerprint, is_case_error

FILE_NAME = "dqguard-baseline.json"
VERSION = 2
READS = (1, 2)


class Left(NamedTuple):
    """An op the locked lowering left outside its delegates."""

    op: str
    module: str | None
    flops: int


class Locked(NamedTuple):
    """A lowered case's delegation as the baseline recorded it."""

    delegates: int
    coverage: float
    outside: tuple[Left, ...]


class Baseline(NamedTuple):
    findings: list[Gone]
    delegation: dict[str, Locked]


def entries(results: list[CaseResult]) -> list[dict[str, Any]]:
    """What `dqguard baseline` writes for these results (case names as the manifest has them)."""
    return [
        {"case": result.name, "rule": f.rule, "fingerprint": fingerprint(f, result.name),
         "message": f.message, "path": f.path, "line": f.line}
        for result in results for f in result.findings if not is_case_error(f)
    ]


def locks(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    """The delegation section: each lowered case whose coverage was accounted."""
    return {
        result.name: {"delegates": d.delegates, "coverage": d.coverage,
                      "outside": [{"op": o.op, "module": o.module, "flops": o.flops} for o in d.outside]}
        for result in results if (d := result.delegation) is not None and d.coverage is not None
    }


def write(path: Path, results: list[CaseResult]) -> tuple[int, int]:
    """The file for `results`: how many findings and lowered cases it holds."""
    found, locked = entries(results), locks(results)
    text = json.dumps({"version": VERSION, "findings": found, "delegation": locked}, indent=2) + "\n"
    path.write_text(text)
    return len(found), len(locked)


def read_entries(found: list[dict[str, Any]]) -> list[Gone]:
    return [Gone(e["case"], e["rule"], e["fingerprint"], e["message"], e["path"], int(e["line"]))
            for e in found]


def read_locks(data: dict[str, Any]) -> dict[str, Locked]:
    return {case: Locked(int(e["delegates"]), float(e["coverage"]),
                         tuple(Left(o["op"], o["module"], int(o["flops"])) for o in e["outside"]))
            for case, e in data.items()}


def read(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text())
        if data.get("version") not in READS:
            raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
        return Baseline(read_entries(data["findings"]), read_locks(data.get("delegation", {})))
    except OSError as exc:
        raise DqguardError(f"{path}: cannot read the baseline: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DqguardError(f"{path}: not a dqguard baseline ({exc}): write it with "
                           "`dqguard baseline`") from None


def apply(results: list[CaseResult], known: list[Gone]) -> tuple[list[CaseResult], list[Gone]]:
    """`results` with the baseline's findings marked, and the entries nothing matched."""
    left = Counter((entry.case, entry.fingerprint) for entry in known)
    marked = []
    for result in results:
        findings = []
        for finding in result.findings:
            key = (result.name, fingerprint(finding, result.name))
            if not is_case_error(finding) and left[key] > 0:
                left[key] -= 1
                finding = finding._replace(baselined=True)
            findings.append(finding)
        marked.append(result._replace(findings=tuple(findings)))
    gone = []
    for entry in known:
        key = (entry.case, entry.fingerprint)
        if left[key] > 0:
            left[key] -= 1
            gone.append(entry)
    return marked, gone
