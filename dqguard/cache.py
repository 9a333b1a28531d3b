"""The result cache: a case's verdict, reused while nothing it depends on has changed.

An entry is keyed by the case's manifest entry (everything but its line, which only moves when
other cases are edited), the structural/exact mode, and the versions of Python, torch, torchao
and dqguard. It records the content hash of every file under the project root that the worker
imported while running the case, collected from the worker's `sys.modules` after the case, so
the dependency set is observed rather than guessed. Files a model reads with `open()` (a JSON
config, say) are not seen: list them as Python modules or run with --no-cache after changing
them.

Only verdicts are cached (ok / findings). Failed cases (DQG9xx) always run again: a missing
module or a timeout says nothing reliable about which files would fix it.

Entries are single JSON files written atomically (temporary file + rename), so concurrent scans
never see a torn entry; an unreadable, corrupt or foreign-format entry is a miss, never an error.
"""

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from dqguard import __version__
from dqguard.manifest import Case
from dqguard.records import CaseResult, case_from_json, case_to_json

FORMAT = 1
DIRECTORY_NAME = ".dqguard_cache"


class Entry(NamedTuple):
    key: dict[str, Any]
    result: CaseResult


def file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """What besides the user's files decides a verdict. Read from metadata: no torch import."""
    return {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "torchao": _version("torchao"),
        "dqguard": __version__,
    }


def case_key(case: Case, exact_qparams: bool, env: Mapping[str, Any]) -> dict[str, Any]:
    entry = case._asdict()
    # Neither the line nor the bounds nor the ignore list change a verdict that was reached.
    for unrelated in ("line", "timeout", "memory", "ignore"):
        del entry[unrelated]
    entry["exact_qparams"] = case.exact_qparams or exact_qparams
    return {"format": FORMAT, "case": entry, "environment": dict(env)}


def changed_dependencies(result: CaseResult, root: Path, only: set[str] | None = None) -> list[str]:
    """Recorded dependencies whose content differs now (all, or only those in `only`)."""
    return [
        path for path, digest in result.deps.items()
        if (only is None or path in only) and file_hash(root / path) != digest
    ]


class Cache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".json")

    def read(self, name: str) -> Entry | None:
        try:
            data = json.loads(self._path(name).read_text())
            if data["key"]["format"] != FORMAT or data["result"]["name"] != name:
                return None
            return Entry(key=data["key"], result=case_from_json(data["result"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, key: dict[str, Any], result: CaseResult) -> bool:
        """Store a verdict; False when the directory is not writable (a read-only checkout)."""
        try:
            self._prepare()
            text = json.dumps({"key": key, "result": case_to_json(result)})
            descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.replace(temporary, self._path(result.name))
            return True
        except OSError:
            return False

    def _prepare(self) -> None:
        if (self.directory / "CACHEDIR.TAG").exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / ".gitignore").write_text("# Created by dqguard.\n*\n")
        (self.directory / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by dqguard.\n"
        )
