"""The hooks, run by the real pre-commit on a real git repository.

pre-commit installs a hook repository at a commit, so the hooks are tried from a commit of this
checkout's working tree (`hooks`), uncommitted changes and new files included: HEAD is not the
code under test.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dqguard import lines
from testing import copy_repo

CHECKOUT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GIT_USER = ("-c", "user.name=t", "-c", "user.email=t@example.invalid")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's working tree committed in a repository of its own, and that commit."""
    snapshot = tmp_path_factory.mktemp("hooks") / "dqguard"
    listed = _git(CHECKOUT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        source = CHECKOUT / name
        if source.is_file():  # not a tracked file deleted in the working tree
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _git(snapshot, "init", "-q", "-b", "main")
    _git(snapshot, "add", ".")
    _git(snapshot, *GIT_USER, "commit", "-qm", "working tree")
    return snapshot, _git(snapshot, "rev-parse", "HEAD").strip()


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PRE_COMMIT"))}
    env.update(PRE_COMMIT_HOME=str(home), PATH=f"{BIN}{os.pathsep}{env['PATH']}",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = copy_repo("incremental", tmp_path)
    (repo / ".gitignore").write_text(".dqguard_cache/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, *GIT_USER, "commit", "-qm", "models")
    return repo


def _try_repo(hooks: Path, repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(hooks), "dqguard-system", "--verbose", *args],
        cwd=repo, env=_environment(home), capture_output=True, text=True, check=False,
    )


def _fix(model: Path) -> None:
    model.write_text(model.read_text().replace("self.left(x) + self.right(x)", "self.left(x)"))


def test_system_hook_fails_on_sharing_and_passes_when_fixed(hooks: tuple[Path, str], project: Path,
                                                            tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    failed = _try_repo(hooks[0], project, home, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "models/alpha.py:12: DQG002 " in failed.stdout
    assert "models/beta.py:12: DQG002 " in failed.stdout

    # Unrelated change, staged: every verdict comes from the cache.
    (project / "notes.py").write_text("CHANGED = 1\n")
    _git(project, "add", "notes.py")
    unrelated = _try_repo(hooks[0], project, home)
    assert "3 cases, 1 ok, 2 with findings, 3 cached" in unrelated.stdout

    # One model fixed and staged: only its case runs again.
    for name in ("alpha", "beta"):
        _fix(project / "models" / f"{name}.py")
    _git(project, "add", "models/alpha.py")
    one = _try_repo(hooks[0], project, home)
    assert "3 cases, 2 ok, 1 with findings, 2 cached" in one.stdout, one.stdout

    _git(project, "add", "models/beta.py")
    fixed = _try_repo(hooks[0], project, home)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "3 cases, 3 ok, 2 cached" in fixed.stdout


def test_python_hook_installs_its_own_environment(hooks: tuple[Path, str], project: Path,
                                                  tmp_path: Path) -> None:
    snapshot, revision = hooks
    # The line installed here: its wheels are the ones this machine already has.
    pins = lines.LINES[lines.installed() or lines.DEFAULT]
    (project / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {snapshot}\n"
        f"    rev: {revision}\n"
        "    hooks:\n"
        "      - id: dqguard\n"
        f"        additional_dependencies: [torch=={pins.torch}, torchao=={pins.torchao}]\n"
    )
    completed = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--verbose"],
        cwd=project, env=_environment(tmp_path / "pre-commit-home"), capture_output=True, text=True,
        check=False,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "models/alpha.py:12: DQG002 " in completed.stdout
