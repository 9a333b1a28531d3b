"""Helpers for dqguard's tests: scenario repositories and a way to run the real CLI on them."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).parent / "resources"
REPO = Path(__file__).resolve().parent.parent


def copy_repo(name: str, destination: Path) -> Path:
    """A private copy of a scenario repository, so tests may edit it and write caches into it."""
    target = destination / name
    shutil.copytree(RESOURCES / name, target, ignore=shutil.ignore_patterns("__pycache__", ".dqguard_cache"))
    return target


def dqguard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh interpreter, as a user would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dqguard", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def scan_json(repo: Path, *args: str) -> dict[str, Any]:
    completed = dqguard("scan", "--format", "json", *args, cwd=repo)
    assert completed.returncode in (0, 1), completed.stderr
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def expected_line(path: Path, marker: str) -> int:
    """The line carrying `# expect: <marker>` in a scenario source file."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if re.search(rf"# expect: {re.escape(marker)}\b", line):
            return number
    raise AssertionError(f"no '# expect: {marker}' in {path}")


def matches_golden(path: Path, actual: str) -> bool:
    """Whether `actual` is the golden file's text byte for byte (a CR that a model printed is
    part of a report); DQGUARD_UPDATE_GOLDEN=1 rewrites the file instead."""
    if os.environ.get("DQGUARD_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
    return path.read_bytes().decode() == actual


_NO_SUBPROCESS = """\
import subprocess, sys
def refuse(*args, **kwargs):
    raise RuntimeError("dqguard test: a subprocess was started")
subprocess.Popen.__init__ = refuse
from dqguard.cli import main
sys.argv = ["dqguard", *sys.argv[1:]]
main()
"""


def dqguard_without_workers(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line in a process that cannot start another: proof it needed no worker."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run([sys.executable, "-c", _NO_SUBPROCESS, *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, check=False)


def poisoned(name: str, directory: Path) -> dict[str, str]:
    """An environment in which importing the package `name` fails, as if it were not installed."""
    package = directory / "poison" / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(f"raise ModuleNotFoundError('dqguard test: {name} was imported', "
                                         f"name={name!r})\n")
    return {"PYTHONPATH": str(package.parent)}


def poisoned_torch(directory: Path) -> dict[str, str]:
    """An environment in which importing torch fails: proof that a run never needed it."""
    return poisoned("torch", directory)


def summary_line(stdout: str) -> str:
    return stdout.rstrip("\n").splitlines()[-1]
