"""Selection on bare cases, as tests build them: one project at the current directory holds them."""

from pathlib import Path

from dqguard.commands.options import ScanOptions
from dqguard.commands.selection import select
from dqguard.manifest.case import Case
from dqguard.manifest.load import Manifest
from dqguard.manifest.projects import Project


def selected(cases: tuple[Case, ...], options: ScanOptions) -> list[Case]:
    found = [Project(Manifest(Path("dqguard.toml"), Path("."), cases), "")]
    return [case for _, case in select(found, options)]
