"""Which cases run together: jobs of cases that share an export, enough of them for every worker."""

from pathlib import Path
from typing import NamedTuple

from dqguard.manifest.case import Case, export_key


class Place(NamedTuple):
    """Where a case comes from: its project's root and the manifest's root-relative path."""

    root: Path
    manifest: str


def plan(cases: list[Case], workers: int, places: list[Place] | None = None) -> list[list[int]]:
    """Jobs: the indices of cases that share an export, in manifest order of their first case.

    A job's cases run one after another in one process, so when there are fewer jobs than
    workers the largest are split in halves until every worker has one (or every job is a single
    case): sharing an export must never leave a CPU idle. Deterministic for a given manifest and
    `workers`; the verdicts do not depend on it. Cases of different projects (`places`) never
    share a job: the same reference names different code under different roots.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, case in enumerate(cases):
        place = places[index] if places else None
        groups.setdefault((place, *export_key(case)), []).append(index)
    jobs = list(groups.values())
    while len(jobs) < workers and any(len(job) > 1 for job in jobs):
        largest = max(range(len(jobs)), key=lambda i: len(jobs[i]))
        job = jobs.pop(largest)
        half = (len(job) + 1) // 2
        jobs[largest:largest] = [job[:half], job[half:]]
    return jobs
