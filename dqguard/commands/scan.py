"""`dqguard scan`: manifest → plan → workers → findings → reports → exit code."""

from pathlib import Path

from dqguard import baseline
from dqguard.commands import cases, docker, paths, reports, verdicts
from dqguard.commands.options import ScanOptions
from dqguard.manifest import projects
from dqguard.manifest.load import display_path
from dqguard.records import ScanResult


def _manifests(checked: list[cases.Checked], options: ScanOptions, base: Path) -> str:
    """The manifests the scan read, as reports name them."""
    shown = [paths.rebase_path(item.project.manifest_path, paths.prefix(item.project.manifest.root, base))
             for item in checked]
    if not shown:  # nothing selected: still name what was read
        shown = [display_path(p) for p in projects.find(options.manifest, options.paths, options.exclude)]
    return ", ".join(dict.fromkeys(shown))


def execute(options: ScanOptions) -> int:
    if options.docker:
        return docker.execute(options)
    # Read first: a broken baseline should not cost a scan.
    given = None if options.baseline is None or options.no_baseline else baseline.read(options.baseline)
    checked = cases.run(options)
    base = paths.display_base()
    judged = verdicts.judge(checked, options, given, base)
    report = ScanResult(manifest=_manifests(checked, options, base), cases=judged.cases,
                        baseline=", ".join(judged.baselines) or None, gone=judged.gone)
    reports.write(report, options)
    return verdicts.exit_code(report, options.fail_on)
