"""From the cases' results to what a scan reports and the exit code it gives.

Each lowered case is first held to the coverage ratchet (`ratchet`, DQG006: its baseline's locked
delegation and its `min_coverage`). Each case's findings then take the severities its `[rules]` set
(ignored and "off" rules dropped), and findings a baseline holds are marked baselined: reported,
never failing. Each project is matched
against its own `dqguard-baseline.json` by the case names its manifest has; `--baseline FILE` is
one file for the whole scan, matched by the names this scan shows (`sub/project/case`).
"""

from pathlib import Path
from typing import NamedTuple

from dqguard import baseline
from dqguard.baseline import Baseline, Locked
from dqguard.commands import paths, ratchet
from dqguard.commands.cases import Checked
from dqguard.commands.options import ScanOptions
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS
from dqguard.manifest.case import Case
from dqguard.manifest.load import display_path
from dqguard.manifest.projects import Project
from dqguard.records import CaseResult, Gone, ScanResult, is_case_error, severity_of, status_of


class Verdicts(NamedTuple):
    cases: tuple[CaseResult, ...]
    gone: tuple[Gone, ...]  # baseline entries no finding matched any more
    baselines: tuple[str, ...]  # the baseline files read, as reports name them


def leveled(result: CaseResult, case: Case, ignore: tuple[str, ...]) -> CaseResult:
    """The case's findings at the severities its `[rules]` set; "off" and ignored ones dropped."""
    levels = dict(case.rules)
    findings = tuple(
        f if f.rule not in levels else f._replace(severity=levels[f.rule])
        for f in result.findings
        if f.rule not in ignore and levels.get(f.rule) != "off"
    )
    return result._replace(findings=findings, status=status_of(findings))


def exit_code(result: ScanResult, fail_on: str = "warning") -> int:
    """Case errors always fail; new findings fail at or above `fail_on`; baselined ones never."""
    failing = {"warning": ("error", "warning"), "error": ("error",), "never": ()}[fail_on]
    for case in result.cases:
        for finding in case.findings:
            if is_case_error(finding) or (not finding.baselined and severity_of(finding) in failing):
                return EXIT_FINDINGS
    return EXIT_CLEAN


class _Project(NamedTuple):
    project: Project
    results: list[CaseResult]
    own: Baseline | None  # the baseline file beside its manifest, when the scan reads it


def _own(project: Project, options: ScanOptions) -> Baseline | None:
    path = project.manifest.root / baseline.FILE_NAME
    wanted = options.baseline is None and not options.no_baseline
    return baseline.read(path) if wanted and path.is_file() else None


def _lock(item: Checked, given: Baseline | None, own: Baseline | None) -> Locked | None:
    """The case's locked delegation: `--baseline FILE` names cases as the scan shows them."""
    if given is not None:
        return given.delegation.get(item.project.qualified(item.case.name))
    return None if own is None else own.delegation.get(item.case.name)


def _by_project(checked: list[Checked], options: ScanOptions, given: Baseline | None) -> list[_Project]:
    grouped: dict[Path, _Project] = {}
    for item in checked:
        root = item.project.manifest.root
        if root not in grouped:
            grouped[root] = _Project(item.project, [], _own(item.project, options))
        group = grouped[root]
        lock = _lock(item, given, group.own)
        result = ratchet.judged(item.result, item.case, item.project.manifest_path, lock)
        group.results.append(leveled(result, item.case, item.case.ignore + options.ignore))
    return list(grouped.values())


def _own_baseline(project: Project, results: list[CaseResult], own: Baseline | None, prefix: str) -> Verdicts:
    """The project's results against the baseline file beside its manifest, if it has one."""
    if own is None:
        return Verdicts(tuple(results), (), ())
    marked, left = baseline.apply(results, own.findings)
    gone = tuple(g._replace(case=project.qualified(g.case), path=paths.rebase_path(g.path, prefix))
                 for g in left)
    return Verdicts(tuple(marked), gone, (paths.rebase_path(baseline.FILE_NAME, prefix),))


def judge(checked: list[Checked], options: ScanOptions, given: Baseline | None, base: Path) -> Verdicts:
    """The results as reported: leveled, baselined, named and located as this scan shows them.

    `given` is `--baseline FILE`, read before the scan ran (None: each project's own, unless
    `--no-baseline`)."""
    final: list[CaseResult] = []
    gone: list[Gone] = []
    shown: list[str] = []
    for project, results, own in _by_project(checked, options, given):
        prefix = paths.prefix(project.manifest.root, base)
        if own is not None:
            mine = _own_baseline(project, results, own, prefix)
            results, gone, shown = list(mine.cases), gone + list(mine.gone), shown + list(mine.baselines)
        final += [r._replace(name=project.qualified(r.name)) for r in paths.rebase(results, prefix)]
    if given is not None and options.baseline is not None:
        final, left = baseline.apply(final, given.findings)
        gone += left
        shown.append(display_path(options.baseline.resolve()))
    # baseline.apply marks findings only: a case whose findings are all baselined is "ok" now.
    final = [r._replace(status=status_of(r.findings)) for r in final]
    return Verdicts(tuple(final), tuple(gone), tuple(shown))
