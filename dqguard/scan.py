"""`dqguard scan`: manifest → plan → workers → findings → reports → exit code."""

import fnmatch
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

from dqguard import manifest as manifest_module
from dqguard import runner
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS, DqguardError
from dqguard.manifest import Case
from dqguard.records import CaseResult, Finding, NodeRef, ScanResult
from dqguard.report import FORMATS
from dqguard.report.style import Style


class Output(NamedTuple):
    format: str
    path: Path | None  # None: standard output


class ScanOptions(NamedTuple):
    manifest: Path | None = None
    outputs: tuple[Output, ...] = (Output("text", None),)
    jobs: int | None = None
    timeout: float | None = None
    shard: tuple[int, int] | None = None
    cases: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exact_qparams: bool = False
    verbose: bool = False
    color: bool = False
    progress: bool = False


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Stable by name: adding or removing a case never moves any other case between shards."""
    index, count = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count == index - 1


def select(cases: tuple[Case, ...], options: ScanOptions) -> list[Case]:
    chosen = list(cases)
    if options.cases:
        unmatched = [p for p in options.cases if not any(fnmatch.fnmatchcase(c.name, p) for c in cases)]
        if unmatched:
            raise DqguardError(f"--case {unmatched[0]!r} matches no case in the manifest")
        chosen = [c for c in chosen if any(fnmatch.fnmatchcase(c.name, p) for p in options.cases)]
    if options.shard:
        chosen = [c for c in chosen if in_shard(c.name, options.shard)]
    return chosen


def _rebase_path(path: str, prefix: str) -> str:
    return os.path.normpath(os.path.join(prefix, path))


def _rebase_node(ref: NodeRef, prefix: str) -> NodeRef:
    return ref if ref.path is None else ref._replace(path=_rebase_path(ref.path, prefix))


def _rebase_finding(finding: Finding, prefix: str) -> Finding:
    producer = finding.producer
    return finding._replace(
        path=_rebase_path(finding.path, prefix),
        users=tuple(_rebase_node(u, prefix) for u in finding.users),
        producer=None if producer is None else _rebase_node(producer, prefix),
    )


def rebase(results: list[CaseResult], prefix: str) -> list[CaseResult]:
    """Root-relative paths (what workers and the cache hold) as the user's base sees them."""
    if prefix in ("", "."):
        return results
    return [r._replace(findings=tuple(_rebase_finding(f, prefix) for f in r.findings)) for r in results]


def display_base() -> Path:
    # In GitHub Actions, annotations and SARIF resolve paths against the workspace.
    return Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()


def _progress_printer() -> runner.Progress:
    started = time.monotonic()

    def show(done: int, total: int, running: list[str]) -> None:
        names = ", ".join(running)
        line = f"[{done}/{total}] {time.monotonic() - started:5.1f}s"
        if names:
            line += f" running: {names}"
        sys.stderr.write("\r\033[K" + line[:200])
        sys.stderr.flush()

    return show


def exit_code(result: ScanResult) -> int:
    return EXIT_FINDINGS if any(c.status != "ok" for c in result.cases) else EXIT_CLEAN


def execute(options: ScanOptions) -> int:
    manifest_path = options.manifest or manifest_module.discover(Path.cwd())
    manifest = manifest_module.load(manifest_path)
    cases = [c._replace(ignore=c.ignore + options.ignore) for c in select(manifest.cases, options)]
    manifest_rel = manifest.path.relative_to(manifest.root).as_posix()
    progress = _progress_printer() if options.progress else None
    results = runner.run(
        cases,
        manifest.root,
        manifest_rel,
        jobs=options.jobs or default_jobs(),
        exact_qparams=options.exact_qparams,
        timeout=options.timeout,
        progress=progress,
    )
    if progress is not None:
        sys.stderr.write("\r\033[K")
    prefix = os.path.relpath(manifest.root, display_base())
    result = ScanResult(
        manifest=_rebase_path(manifest_rel, prefix),
        cases=tuple(rebase(results, prefix)),
    )
    write_reports(result, options)
    return exit_code(result)


def write_reports(result: ScanResult, options: ScanOptions) -> None:
    style = Style(color=options.color, verbose=options.verbose)
    for output in options.outputs:
        text = FORMATS[output.format](result, style if output.path is None else Style(False, options.verbose))
        if output.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            output.path.parent.mkdir(parents=True, exist_ok=True)
            output.path.write_text(text)
