"""`dqguard baseline`: accept today's findings, so later scans fail only on new ones.

Each manifest's findings go to the `dqguard-baseline.json` beside it, named as that manifest names
its cases; `--baseline FILE` writes one file for the whole scan, named as the scan shows them.
Case errors are never accepted: each is printed, and the command exits 1. Each lowered case's
delegation (delegate count, coverage by compute, ops left outside) is locked in beside the findings:
the coverage ratchet (DQG006) compares later scans with it.
"""

import sys
from pathlib import Path

from dqguard import baseline
from dqguard.commands import cases
from dqguard.commands.options import ScanOptions
from dqguard.commands.verdicts import leveled
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS
from dqguard.manifest.load import display_path
from dqguard.records import CaseResult, is_case_error
from dqguard.words import plural


def execute(options: ScanOptions, path: Path | None) -> int:
    """Every finding of a fresh scan, written down; 1 when a case failed."""
    failed = False
    written: dict[Path, list[CaseResult]] = {}
    for item in cases.run(options):
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
        count, locked = baseline.write(target, results)
        lowered = f", {plural(locked, 'lowered case')}" if locked else ""
        sys.stderr.write(f"dqguard: wrote {display_path(target.resolve())} "
                         f"({plural(count, 'finding')}{lowered})\n")
    return EXIT_FINDINGS if failed else EXIT_CLEAN
