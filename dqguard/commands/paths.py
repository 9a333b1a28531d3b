"""Paths as reports show them. Workers and the cache hold paths relative to the project's root; a
report names them from the display base (the current directory, or the GitHub workspace, which
annotations and SARIF resolve paths against), so a monorepo's sub-project paths still open."""

import os
from pathlib import Path

from dqguard.records import CaseResult, Delegation, Finding, NodeRef


def display_base() -> Path:
    return Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()


def prefix(root: Path, base: Path) -> str:
    """What a path relative to `root` needs in front to be relative to `base`."""
    return os.path.relpath(root, base)


def rebase_path(path: str, prefix: str) -> str:
    return os.path.normpath(os.path.join(prefix, path))


def _rebase_node(ref: NodeRef, prefix: str) -> NodeRef:
    return ref if ref.path is None else ref._replace(path=rebase_path(ref.path, prefix))


def _rebase_finding(finding: Finding, prefix: str) -> Finding:
    producer = finding.producer
    return finding._replace(
        path=rebase_path(finding.path, prefix),
        users=tuple(_rebase_node(u, prefix) for u in finding.users),
        producer=None if producer is None else _rebase_node(producer, prefix),
    )


def _rebase_delegation(delegation: Delegation | None, prefix: str) -> Delegation | None:
    if delegation is None:
        return None
    outside = (o._replace(path=rebase_path(o.path, prefix)) if o.path is not None else o
               for o in delegation.outside)
    return delegation._replace(outside=tuple(outside))


def rebase(results: list[CaseResult], prefix: str) -> list[CaseResult]:
    """Root-relative paths (what workers and the cache hold) as the user's base sees them."""
    if prefix in ("", "."):
        return results
    return [r._replace(findings=tuple(_rebase_finding(f, prefix) for f in r.findings),
                       delegation=_rebase_delegation(r.delegation, prefix)) for r in results]
