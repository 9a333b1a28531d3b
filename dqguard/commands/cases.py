"""The selected cases' verdicts: each from the cache when its key matches and nothing it depends
on changed, every other one fresh from the workers (and recorded for the next scan).
"""

import sys
from pathlib import Path
from typing import NamedTuple

from dqguard.commands import progress as progress_line
from dqguard.commands.options import ScanOptions
from dqguard.commands.selection import select
from dqguard.manifest import projects
from dqguard.manifest.case import Case
from dqguard.manifest.load import Manifest
from dqguard.records import CaseResult
from dqguard.run import cache as cache_module
from dqguard.run import pool as runner
from dqguard.run import process
from dqguard.run.cache import DIRECTORY_NAME, Cache
from dqguard.run.plan import Place


class Checked(NamedTuple):
    project: projects.Project
    case: Case
    result: CaseResult


def cache_directory(options: ScanOptions, root: Path) -> Path:
    """Where the verdicts of the project at `root` are cached: `--cache-dir` (which the command line
    takes from DQGUARD_CACHE_DIR when not given), else beside the manifest."""
    return options.cache_dir or root / DIRECTORY_NAME


def _cache(options: ScanOptions, manifest: Manifest) -> Cache | None:
    if options.no_cache:
        return None
    return Cache(cache_directory(options, manifest.root), manifest.path)


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


def _fresh(options: ScanOptions, chosen: list[tuple[projects.Project, Case]]) -> list[CaseResult]:
    """The chosen cases run by the workers, in their order."""
    warning = memory_warning([case for _, case in chosen], process.MEMORY_LIMITS)
    if warning:
        sys.stderr.write(warning)
    progress = progress_line.printer() if options.progress and chosen else None
    places = [Place(project.manifest.root, project.manifest_path) for project, _ in chosen]
    results = runner.run(
        [case for _, case in chosen],
        places[0].root if places else Path.cwd(),
        places[0].manifest if places else "",
        jobs=options.jobs or process.available_cpus(),
        exact_qparams=options.exact_qparams,
        timeout=options.timeout,
        progress=progress,
        places=places,
        start_timeout=options.start_timeout,
    )
    if progress is not None:
        progress_line.clear()
    return results


def run(options: ScanOptions) -> list[Checked]:
    """Every selected case of every project, from the cache or run, in manifest order."""
    chosen = select(projects.load(options.manifest, options.paths, options.exclude), options)
    caches = {p.manifest.root: _cache(options, p.manifest) for p, _ in chosen}
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

    unwritable: list[Path] = []
    for index, result in zip(to_run, _fresh(options, [chosen[i] for i in to_run]), strict=True):
        results[index] = result
        cache = caches[chosen[index][0].manifest.root]
        if cache and result.status != "error" and not cache.write(keys[index], result) \
                and cache.directory not in unwritable:
            unwritable.append(cache.directory)
    for directory in unwritable:
        sys.stderr.write(f"dqguard: warning: cannot write the cache in {directory}\n")
    return [Checked(project, case, result) for (project, case), result in zip(chosen, results, strict=True)
            if result is not None]
