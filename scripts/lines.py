#!/usr/bin/env python3
"""Run the core test subset (testing.lines.CORE) under every supported torch line but the main one.

    scripts/lines.py [LINE ...]      default: every line in dqguard/lines.py but the main one

Each line gets its own virtualenv in the test cache (DQGUARD_TEST_CACHE, default
~/.cache/dqguard-tests), kept between runs on one machine and rebuilt when its pins or this
Python change: torch and torchao of the line first, as a user's project has them, then
`pip install -e '.[test]'` from this checkout, which must leave both as they were (dqguard's own
requirements never replace the user's torch). Prints how long each part of each line took; exits
with the first failing line's status after running them all.
"""

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dqguard.lines import DEFAULT, LINES
from testing.lines import CACHE, CORE, REPO, lock, requirements


def _stamp(line: str) -> str:
    return " ".join([*requirements(line), sys.version.split()[0]])


def _versions(python: Path) -> str:
    done = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True,
                          text=True, check=True)
    return " ".join(sorted(p for p in done.stdout.split() if p.startswith(("torch==", "torchao=="))))


def _venv(line: str) -> tuple[Path, bool]:
    """The line's virtualenv with its torch and torchao, and whether it had to be made."""
    key = hashlib.sha256(_stamp(line).encode()).hexdigest()[:12]
    venv = CACHE / "lines" / line / f"venv-{key}"
    python = venv / "bin" / "python"
    if (venv / ".complete").is_file():
        return python, False
    for stale in venv.parent.glob("venv-*"):  # other pins' venvs: gigabytes each
        shutil.rmtree(stale, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wheels = CACHE / "lines" / line / "wheels"
    # The container tests may have downloaded this line's wheels for its image already: all of
    # them, so no index (pip would otherwise take the same files from it again).
    local = ["--no-index", "--find-links", str(wheels)] if (wheels / ".complete").is_file() else []
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *local, *requirements(line)], check=True)
    (venv / ".complete").write_text(_stamp(line))
    return python, True


def run(line: str) -> int:
    timings = []
    started = time.monotonic()
    with lock(CACHE / "lines" / line / "venv.lock"):
        python, made = _venv(line)
        timings.append(f"venv {time.monotonic() - started:.0f} s ({'installed' if made else 'cached'})")
        before = _versions(python)
        step = time.monotonic()
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{REPO}[test]"], check=True)
        timings.append(f"pip install -e .[test] {time.monotonic() - step:.0f} s")
        after = _versions(python)
        if after != before:
            print(f"torch {line}: pip install -e . changed the environment's torch: {before} -> {after}",
                  file=sys.stderr)
            return 1
        step = time.monotonic()
        tests = subprocess.run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", *CORE],
                               cwd=REPO, check=False)
        timings.append(f"core tests {time.monotonic() - step:.0f} s")
    print(f"torch {line} ({after}; kept by pip install -e .): {', '.join(timings)}; "
          f"{time.monotonic() - started:.0f} s in all, pytest exit {tests.returncode}", flush=True)
    return tests.returncode


def main(argv: list[str]) -> int:
    chosen = argv or [line for line in LINES if line != DEFAULT]
    unknown = [line for line in chosen if line not in LINES]
    if unknown:
        print(f"lines.py: no such line {', '.join(unknown)}; known: {', '.join(LINES)}", file=sys.stderr)
        return 2
    codes = [run(line) for line in chosen]
    return next((code for code in codes if code != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
