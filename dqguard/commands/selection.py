"""Which cases a scan checks: `--case` patterns and `--shard K/N` over every project's cases.

Cases are matched by the names this scan shows (`sub/project/case` in a monorepo), so a pattern
copied from `dqguard list` or a report always selects what it named.
"""

import fnmatch
import hashlib

from dqguard.commands.options import ScanOptions
from dqguard.errors import DqguardError
from dqguard.manifest.case import Case
from dqguard.manifest.projects import Project


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Stable by name: adding or removing a case never moves any other case between shards."""
    index, count = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count == index - 1


def select(found: list[Project], options: ScanOptions) -> list[tuple[Project, Case]]:
    """The cases `--case` and `--shard` choose, in manifest order, with `--[no-]weightless` applied."""
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
