"""`dqguard scan`: manifest → plan → workers → findings → reports → exit code."""

import fnmatch
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

from dqguard import cache as cache_module
from dqguard import manifest as manifest_module
from dqguard import runner
from dqguard.cache import DIRECTORY_NAME, Cache
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS, DqguardError
from dqguard.manifest import Case
from dqguard.records import CaseResult, Finding, NodeRef, ScanResult, status_of
from dqguard.report import FORMATS, outputs
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
    weightless: bool | None = None  # None: each case's own `weightless`
    cache_dir: Path | None = None
    no_cache: bool = False
    summary: Path | None = None  # Markdown summary appended here (and to $GITHUB_STEP_SUMMARY)
    verbose: bool = False
    color: bool = False
    progress: bool = False
    docker: bool = False  # re-run the scan inside `image` (dqguard.docker)
    image: str | None = None
    torch: str | None = None  # the torch line whose image --docker runs (dqguard.lines)


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
    if options.weightless is not None:
        chosen = [c._replace(weightless=options.weightless) for c in chosen]
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


def _cache(options: ScanOptions, root: Path) -> Cache | None:
    if options.no_cache:
        return None
    configured = options.cache_dir or os.environ.get("DQGUARD_CACHE_DIR")
    return Cache(Path(configured) if configured else root / DIRECTORY_NAME)


def _at_case_line(result: CaseResult, case: Case, manifest: str) -> CaseResult:
    # The manifest location of a finding is always its case's line, which may have moved since.
    findings = tuple(f._replace(line=case.line) if f.path == manifest else f for f in result.findings)
    return result._replace(findings=findings, cached=True)


def _cached(cache: Cache, case: Case, key: dict[str, object], fingerprints: cache_module.Fingerprints,
            manifest: str) -> CaseResult | None:
    """The recorded verdict, if its key matches and every one of its dependencies is unchanged."""
    entry = cache.read(case.name)
    if entry is None or entry.key != key or fingerprints.changed(entry.result):
        return None
    return _at_case_line(entry.result, case, manifest)


def memory_warning(cases: list[Case], supported: bool) -> str | None:
    """What to say when cases set `memory` on a platform where it cannot be enforced."""
    limited = [case.name for case in cases if case.memory is not None]
    if supported or not limited:
        return None
    return (f"dqguard: warning: `memory` limits read /proc, which only Linux has: not enforced for "
            f"{', '.join(limited)}\n")


def _without_ignored(result: CaseResult, ignore: tuple[str, ...]) -> CaseResult:
    findings = tuple(f for f in result.findings if f.rule not in ignore)
    return result._replace(findings=findings, status=status_of(findings))


def execute(options: ScanOptions) -> int:
    if options.docker:
        from dqguard import docker  # imports this module

        return docker.execute(options)
    manifest_path = options.manifest or manifest_module.discover(Path.cwd())
    manifest = manifest_module.load(manifest_path)
    root = manifest.root
    cases = select(manifest.cases, options)
    manifest_rel = manifest.path.relative_to(root).as_posix()
    cache = _cache(options, root)
    env = cache_module.environment() if cache else {}
    fingerprints = cache_module.Fingerprints(root)

    keys = [cache_module.case_key(case, options.exact_qparams, env) for case in cases]
    results = [
        _cached(cache, case, key, fingerprints, manifest_rel) if cache else None
        for case, key in zip(cases, keys, strict=True)
    ]
    to_run = [index for index, result in enumerate(results) if result is None]

    warning = memory_warning([cases[i] for i in to_run], runner.MEMORY_LIMITS)
    if warning:
        sys.stderr.write(warning)
    progress = _progress_printer() if options.progress and to_run else None
    fresh = runner.run(
        [cases[i] for i in to_run],
        root,
        manifest_rel,
        jobs=options.jobs or runner.available_cpus(),
        exact_qparams=options.exact_qparams,
        timeout=options.timeout,
        progress=progress,
    )
    if progress is not None:
        sys.stderr.write("\r\033[K")
    unwritable = False
    for index, result in zip(to_run, fresh, strict=True):
        results[index] = result
        if cache and result.status != "error" and not cache.write(keys[index], result):
            unwritable = True
    if unwritable and cache:
        sys.stderr.write(f"dqguard: warning: cannot write the cache in {cache.directory}\n")

    checked = [
        _without_ignored(result, cases[i].ignore + options.ignore)
        for i, result in enumerate(results)
        if result is not None
    ]
    prefix = os.path.relpath(root, display_base())
    report = ScanResult(manifest=_rebase_path(manifest_rel, prefix), cases=tuple(rebase(checked, prefix)))
    write_reports(report, options)
    return exit_code(report)


def write_reports(result: ScanResult, options: ScanOptions) -> None:
    files = [(o.format, o.path) for o in options.outputs if o.path is not None]
    summaries = outputs.summary_files(options.summary)
    style = Style(options.color, options.verbose, outputs.elsewhere(files, summaries))
    for output in options.outputs:
        text = FORMATS[output.format](result, style if output.path is None else style._replace(color=False))
        if output.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            output.path.parent.mkdir(parents=True, exist_ok=True)
            output.path.write_text(text)
    outputs.append_summaries(result, style, summaries)
    if options.summary is not None:
        files.append(("summary", options.summary))
    outputs.write_step_outputs(result, files)
