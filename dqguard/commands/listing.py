"""`dqguard list`: the cases a scan would check, expanded from matrices, and where each is declared.

Text is one case a line, `path:line: name`, as compilers print locations (an editor jumps to the
matrix entry or `[[case]]` table). JSON is `{"version": 1, "cases": [...]}`, each case its
manifest keys as a worker receives them plus `manifest` (relative to the current directory) and
`line`. Reading manifests only: never imports torch nor the user's code.
"""

import json
import os
from pathlib import Path
from typing import Any

from dqguard.manifest.case import request_json
from dqguard.manifest.projects import Project

VERSION = 1


def _shown(path: Path) -> str:
    relative = os.path.relpath(path, Path.cwd())
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def entries(found: list[Project]) -> list[dict[str, Any]]:
    cases = []
    for project in found:
        manifest = _shown(project.manifest.path)
        for case in project.manifest.cases:
            data = request_json(case)
            data["name"] = project.qualified(case.name)
            cases.append({"name": data.pop("name"), "manifest": manifest, "line": data.pop("line"), **data})
    return cases


def render(found: list[Project], output_format: str) -> str:
    cases = entries(found)
    if output_format == "json":
        return json.dumps({"version": VERSION, "cases": cases}, indent=2) + "\n"
    return "".join(f"{c['manifest']}:{c['line']}: {c['name']}\n" for c in cases)
