"""The result cache: a case's verdict, reused while nothing it depends on has changed.

An entry is keyed by the case's manifest entry (everything but its line, which only moves when
other cases are edited, and the bounds and ignore list, which never change a verdict reached), the
structural/exact mode, the Python and dqguard versions and `PYTHONPATH`. It records every
dependency the case's process observed (`dqguard.run.dependencies`): the user's source files
wherever they live, the metadata of every installed distribution it imported (so its name and
version), the files under the root it opened or listed, and the importable names on its
`sys.path`. A verdict is reused only when the key matches and **every** recorded dependency
still has its recorded fingerprint, whichever files a pre-commit run names.

Only verdicts are cached (ok / findings). Failed cases (DQG9xx) always run again: a missing
module or a timeout says nothing reliable about which files would fix it.

Entries are named by the case's name and its manifest's path relative to the cache directory, so
the same-named cases of two projects sharing one `--cache-dir` never evict each other, and a
repository copied with its cache keeps its verdicts. Entries are single JSON files written
atomically (temporary file + rename), so concurrent scans never see a torn entry; an unreadable,
corrupt or foreign-format entry is a miss, never an error.
"""

import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from dqguard import __version__
from dqguard.manifest.case import Case, request_json
from dqguard.records import CaseResult, case_from_json, case_to_json
from dqguard.run.dependencies import fingerprint

# 3: findings carry shapes; 4: node references carry module and library frames; 5: entries are
# named by their manifest as well as their case; 6: delegation carries coverage by compute
FORMAT = 6
DIRECTORY_NAME = ".dqguard_cache"


class Entry(NamedTuple):
    key: dict[str, Any]
    result: CaseResult


def environment() -> dict[str, Any]:
    """What besides the recorded dependencies decides a verdict. No torch import."""
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "dqguard": __version__,
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def case_key(case: Case, exact_qparams: bool, env: Mapping[str, Any]) -> dict[str, Any]:
    entry = request_json(case)
    # Neither the line nor the bounds nor the severities change a verdict that was reached, nor
    # the coverage ratchet's keys, which the parent applies (dqguard.commands.ratchet).
    for unrelated in ("line", "timeout", "memory", "ignore", "rules", "min_coverage", "coverage_tolerance"):
        del entry[unrelated]
    entry["exact_qparams"] = case.exact_qparams or exact_qparams
    # As an entry reads it back: JSON has lists where the case has tuples (stages, dynamic_shapes),
    # or no entry would ever match.
    return json.loads(json.dumps({"format": FORMAT, "case": entry, "environment": dict(env)}))  # type: ignore[no-any-return]


class Fingerprints:
    """Current fingerprints of dependencies, each taken once per scan: cases share most of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: dict[str, str | None] = {}

    def changed(self, result: CaseResult) -> list[str]:
        """The recorded dependencies of `result` whose fingerprint differs now."""
        changed = []
        for key, recorded in result.deps.items():
            if key not in self.seen:
                self.seen[key] = fingerprint(key, self.root)
            if self.seen[key] != recorded:
                changed.append(key)
        return changed


class Cache:
    """The verdicts of the cases of `manifest` (its file), kept in `directory`."""

    def __init__(self, directory: Path, manifest: Path) -> None:
        self.directory = directory
        # Relative, not absolute: the copy of a repository and its cache is the same project.
        self.manifest = Path(os.path.relpath(manifest.resolve(), directory.resolve())).as_posix()

    def _identity(self, name: str) -> list[str]:
        return [self.manifest, name]

    def _path(self, name: str) -> Path:
        identity = json.dumps(self._identity(name))
        return self.directory / (hashlib.sha256(identity.encode()).hexdigest()[:32] + ".json")

    def read(self, name: str) -> Entry | None:
        try:
            data = json.loads(self._path(name).read_text())
            if data["key"]["format"] != FORMAT or data["identity"] != self._identity(name):
                return None
            return Entry(key=data["key"], result=case_from_json(data["result"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, key: dict[str, Any], result: CaseResult) -> bool:
        """Store a verdict; False when the directory is not writable (a read-only checkout)."""
        try:
            self._prepare()
            text = json.dumps({"identity": self._identity(result.name), "key": key,
                               "result": case_to_json(result)})
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
