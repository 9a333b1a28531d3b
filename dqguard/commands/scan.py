"""`dqguard scan`: manifest → plan → workers → findings → reports → exit code."""

import fnmatch
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

from dqguard import baseline
from dqguard.commands.options import ScanOptions
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS, DqguardError
from dqguard.manifest import load as manifest_module
from dqguard.manifest import projects
from dqguard.manifest.load import Case
from dqguard.records import (
    CaseResult,
    Finding,
    Gone,
    NodeRef,
    ScanResult,
    is_case_error,
    severity_of,
    status_of,
)
from dqguard.report import FORMATS, outputs
from dqguard.report.style import Style
from dqguard.run import cache as cache_module
from dqguard.run import pool as runner
from dqguard.run.cache import DIRECTORY_NAME, Cache
from dqguard.words import plural


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Stable by name: adding or removing a case never moves any other case between shards."""
    index, count = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count == index - 1


def select(cases: tuple[Case, ...], options: ScanOptions) -> list[Case]:
    return [case for _, case in select_in([projects.Project(manifest_module.Manifest(
        Path("dqguard.toml"), Path("."), cases), "")], options)]


def select_in(found: list[projects.Project], options: ScanOptions) -> list[tuple[projects.Project, Case]]:
    """The cases `--case` and `--shard` choose, matched by their names in this scan."""
    chosen = [(project, case) for project in found for case in project.manifest.cases]
    if options.cases:
        names = [project.qualified(case.name) for project, case in chosen]
        unmatched = [p for p in options.cases if not any(fnmatch.fnmatchcase(n, p) for n in names)]
        if unmatched:
            raise DqguardError(f"--case {unmatched[0]!r} matches no case in the manifest")
        chosen = [(project, case) for (project, case), name in zip(chosen, names, strict=True)
                  if any(fnmatch.fnmatchcase(name, p) for p in options.cases)]
    if options.shard:
        chosen = [(p, c) for p, c in chosen if in_shard(p.qualified(c.name), options.shard)]
    if options.weightless is not None:
        chosen = [(p, c._replace(weightless=options.weightless)) for p, c in chosen]
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


def exit_code(result: ScanResult, fail_on: str = "warning") -> int:
    """Case errors always fail; new findings fail at or above `fail_on`; baselined ones never."""
    failing = {"warning": ("error", "warning"), "error": ("error",), "never": ()}[fail_on]
    for case in result.cases:
        for finding in case.findings:
            if is_case_error(finding) or (not finding.baselined and severity_of(finding) in failing):
                return EXIT_FINDINGS
    return EXIT_CLEAN


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


class Checked(NamedTuple):
    project: projects.Project
    case: Case
    result: CaseResult


def run_cases(options: ScanOptions) -> list[Checked]:
    """Every selected case of every project, from the cache or run, in manifest order."""
    found = projects.load(options.manifest, options.paths, options.exclude)
    chosen = select_in(found, options)
    caches = {p.manifest.root: _cache(options, p.manifest.root) for p, _ in chosen}
    env = cache_module.environment() if any(caches.values()) else {}
    fingerprints = {root: cache_module.Fingerprints(root) for root in caches}

    keys = [cache_module.case_key(case, options.exact_qparams, env) for _, case in chosen]
    results: list[CaseResult | None] = []
    for (project, case), key in zip(chosen, keys, strict=True):
        root = project.manifest.root
        cache = caches[root]
        results.append(None if cache is None else
                       _cached(cache, case, key, fingerprints[root], project.manifest_path))
    to_run = [index for index, result in enumerate(results) if result is None]

    warning = memory_warning([chosen[i][1] for i in to_run], runner.MEMORY_LIMITS)
    if warning:
        sys.stderr.write(warning)
    progress = _progress_printer() if options.progress and to_run else None
    places = [runner.Place(chosen[i][0].manifest.root, chosen[i][0].manifest_path) for i in to_run]
    fresh = runner.run(
        [chosen[i][1] for i in to_run],
        places[0].root if places else Path.cwd(),
        places[0].manifest if places else "",
        jobs=options.jobs or runner.available_cpus(),
        exact_qparams=options.exact_qparams,
        timeout=options.timeout,
        progress=progress,
        places=places,
    )
    if progress is not None:
        sys.stderr.write("\r\033[K")
    unwritable: list[Path] = []
    for index, result in zip(to_run, fresh, strict=True):
        results[index] = result
        cache = caches[chosen[index][0].manifest.root]
        if cache and result.status != "error" and not cache.write(keys[index], result) \
                and cache.directory not in unwritable:
            unwritable.append(cache.directory)
    for directory in unwritable:
        sys.stderr.write(f"dqguard: warning: cannot write the cache in {directory}\n")
    return [Checked(project, case, result) for (project, case), result in zip(chosen, results, strict=True)
            if result is not None]


def leveled(result: CaseResult, case: Case, ignore: tuple[str, ...]) -> CaseResult:
    """The case's findings at the severities its `[rules]` set; "off" and ignored ones dropped."""
    levels = dict(case.rules)
    findings = tuple(
        f if f.rule not in levels else f._replace(severity=levels[f.rule])
        for f in result.findings
        if f.rule not in ignore and levels.get(f.rule) != "off"
    )
    return result._replace(findings=findings, status=status_of(findings))


def _baselined(result: CaseResult) -> CaseResult:
    return result._replace(status=status_of(result.findings))


def execute(options: ScanOptions) -> int:
    if options.docker:
        from dqguard.commands import docker  # imports this module

        return docker.execute(options)
    # Read first: a broken baseline should not cost a scan.
    given = None if options.baseline is None or options.no_baseline else baseline.read(options.baseline)
    checked = run_cases(options)
    base = display_base()
    by_project: dict[Path, list[CaseResult]] = {}
    order: list[projects.Project] = []
    for item in checked:
        root = item.project.manifest.root
        if root not in by_project:
            by_project[root] = []
            order.append(item.project)
        by_project[root].append(leveled(item.result, item.case, item.case.ignore + options.ignore))
    final: list[CaseResult] = []
    gone: list[Gone] = []
    shown_baseline: list[str] = []
    for project in order:
        results = by_project[project.manifest.root]
        prefix = os.path.relpath(project.manifest.root, base)
        if options.baseline is None and not options.no_baseline:
            path = project.manifest.root / baseline.FILE_NAME
            if path.is_file():
                results, left = baseline.apply(results, baseline.read(path))
                gone += [g._replace(case=project.qualified(g.case), path=_rebase_path(g.path, prefix))
                         for g in left]
                shown_baseline.append(_rebase_path(baseline.FILE_NAME, prefix))
        final += [r._replace(name=project.qualified(r.name)) for r in rebase(results, prefix)]
    if given is not None and options.baseline is not None:
        final, left = baseline.apply(final, given)
        gone += left
        shown_baseline.append(manifest_module.display_path(options.baseline.resolve()))
    final = [_baselined(r) for r in final]
    manifests = ", ".join(dict.fromkeys(
        _rebase_path(p.manifest_path, os.path.relpath(p.manifest.root, base)) for p in order))
    if not order:  # nothing selected: still name what was read
        manifests = ", ".join(manifest_module.display_path(p) for p in projects.find(
            options.manifest, options.paths, options.exclude))
    report = ScanResult(manifest=manifests, cases=tuple(final),
                        baseline=", ".join(shown_baseline) or None, gone=tuple(gone))
    write_reports(report, options)
    return exit_code(report, options.fail_on)


def write_baseline(options: ScanOptions, path: Path | None) -> int:
    """`dqguard baseline`: every finding of a fresh scan, written down; 1 when a case failed."""
    checked = run_cases(options)
    failed = False
    written: dict[Path, list[CaseResult]] = {}
    for item in checked:
        result = leveled(item.result, item.case, item.case.ignore)
        for finding in result.findings:
            if is_case_error(finding):
                failed = True
                sys.stderr.write(f"dqguard: {item.project.qualified(item.case.name)}: {finding.rule} "
                                 f"{finding.message} (not baselined)\n")
        if path is None:
            written.setdefault(item.project.manifest.root / baseline.FILE_NAME, []).append(result)
        else:
            written.setdefault(path, []).append(result._replace(name=item.project.qualified(result.name)))
    for target, results in written.items():
        count = baseline.write(target, results)
        sys.stderr.write(f"dqguard: wrote {manifest_module.display_path(target.resolve())} "
                         f"({plural(count, 'finding')})\n")
    return EXIT_FINDINGS if failed else EXIT_CLEAN


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
