"""The torch line the tests run on, what each scenario must give on it, and each line's test setup.

Standard library only: scripts/lines.py imports this before any virtualenv exists.
"""

import fcntl
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import IO

from dqguard.lines import DEFAULT, LINES, installed

REPO = Path(__file__).resolve().parent.parent
VERDICTS = Path(__file__).with_name("verdicts.toml")
CACHE = Path(os.environ.get("DQGUARD_TEST_CACHE") or Path.home() / ".cache" / "dqguard-tests")
# The core subset every line runs (scripts/lines.py): the pipeline, the check, structural mode and
# the CLI's verdicts on the seed, demo, findings and legacy scenarios. The main line runs it all.
CORE = ("tests/test_lines.py", "tests/test_check.py", "tests/test_pipeline.py", "tests/test_structural.py")


def current() -> str:
    line = installed()
    if line not in LINES:
        raise AssertionError(f"the tests run on torch line {line}, which dqguard/lines.py does not support")
    return line


def verdicts(repo: str, line: str) -> dict[str, list[str]]:
    """Each case of `repo` (relative to the checkout) and the rules it reports on `line`."""
    tables = tomllib.loads(VERDICTS.read_text())[repo]
    return {**tables["all"], **tables.get(line, {})}


def scenarios() -> list[str]:
    return list(tomllib.loads(VERDICTS.read_text()))


def lock(path: Path) -> IO[str]:
    """An exclusive lock on `path`, waited for: runs on one machine share each line's cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def wheels(line: str) -> Path:
    """A directory holding torch and torchao of `line` and everything they need, downloaded once
    (pip's own cache would not serve them to an image build)."""
    directory = CACHE / "lines" / line / "wheels"
    done = directory / ".complete"
    pins = requirements(line)
    if done.is_file() and done.read_text() == " ".join(pins):
        return directory
    with lock(CACHE / "lines" / line / "wheels.lock"):
        if not (done.is_file() and done.read_text() == " ".join(pins)):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(directory),
                            *pins], check=True)
            done.write_text(" ".join(pins))
    return directory


def requirements(line: str) -> list[str]:
    pair = LINES[line]
    return [f"torch=={pair.torch}", f"torchao=={pair.torchao}"]


__all__ = ["CORE", "DEFAULT", "LINES", "current", "requirements", "scenarios", "verdicts", "wheels"]
