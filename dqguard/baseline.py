"""The baseline: findings a repository accepted when it adopted dqguard, so only new ones fail.

`dqguard baseline` writes `dqguard-baseline.json` beside each manifest with every current finding
(not case errors: a case that cannot be checked is never accepted). `dqguard scan` then marks the
findings the baseline holds as baselined (reported, never failing) and lists the entries no
finding matched any more ("gone": fixed, so the baseline should shrink).

A finding is matched by its fingerprint (`records.fingerprint`: the finding's `records.identity`
within its case, which never holds line numbers or node names). Entries are a multiset: two
identical findings need two entries.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any

from dqguard.errors import DqguardError
from dqguard.records import CaseResult, Gone, fingerprint, is_case_error

FILE_NAME = "dqguard-baseline.json"
VERSION = 1


def entries(results: list[CaseResult]) -> list[dict[str, Any]]:
    """What `dqguard baseline` writes for these results (case names as the manifest has them)."""
    return [
        {"case": result.name, "rule": f.rule, "fingerprint": fingerprint(f, result.name),
         "message": f.message, "path": f.path, "line": f.line}
        for result in results for f in result.findings if not is_case_error(f)
    ]


def write(path: Path, results: list[CaseResult]) -> int:
    found = entries(results)
    text = json.dumps({"version": VERSION, "findings": found}, indent=2) + "\n"
    path.write_text(text)
    return len(found)


def read_entries(found: list[dict[str, Any]]) -> list[Gone]:
    return [Gone(e["case"], e["rule"], e["fingerprint"], e["message"], e["path"], int(e["line"]))
            for e in found]


def read(path: Path) -> list[Gone]:
    try:
        data = json.loads(path.read_text())
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
        return read_entries(data["findings"])
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
