"""Monorepos: which manifests a scan reads, how their cases are named, and a real scan of two."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testing import copy_repo, dqguard, expected_line


def _git(repo: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "gitignore").rename(repo / ".gitignore")
    return repo


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    return _git(copy_repo("monorepo", tmp_path))


def _listed(repo: Path, *args: str, cwd: Path | None = None) -> list[tuple[str, str]]:
    completed = dqguard("list", "--format", "json", *args, cwd=cwd or repo)
    assert completed.returncode == 0, completed.stderr
    return [(case["name"], case["manifest"]) for case in json.loads(completed.stdout)["cases"]]


def test_every_manifest_below_is_read_less_gitignored_and_excluded(monorepo: Path) -> None:
    assert _listed(monorepo, "--exclude", "vendor") == [
        ("a/projections-dynamic", "a/dqguard.toml"),
        ("b/projections-dynamic", "b/pyproject.toml"),
    ]
    # .gitignore hides generated/; only --exclude hides vendor/.
    assert [name for name, _ in _listed(monorepo)] == [
        "a/projections-dynamic", "b/projections-dynamic", "vendor/c/broken"]
    assert [name for name, _ in _listed(monorepo, "--exclude", "vendor/*")] == [
        "a/projections-dynamic", "b/projections-dynamic"]


def test_outside_git_hidden_and_environment_directories_are_skipped(tmp_path: Path) -> None:
    repo = copy_repo("monorepo", tmp_path)
    for skipped in (".hidden", "env", "node_modules/x"):
        (repo / skipped).mkdir(parents=True)
        (repo / skipped / "dqguard.toml").write_text((repo / "vendor" / "c" / "dqguard.toml").read_text())
    (repo / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    # No git: .gitignore is not read (git decides what it means), so generated/ is scanned.
    assert [name for name, _ in _listed(repo)] == [
        "a/projections-dynamic", "b/projections-dynamic", "generated/d/broken", "vendor/c/broken"]


def test_a_path_argument_limits_the_scan_to_manifests_under_it(monorepo: Path) -> None:
    assert _listed(monorepo, "b") == [("b/projections-dynamic", "b/pyproject.toml")]


def test_inside_a_project_its_manifest_is_found_upwards_and_names_are_its_own(monorepo: Path) -> None:
    assert _listed(monorepo, cwd=monorepo / "a") == [("projections-dynamic", "dqguard.toml")]
    # Above the current directory, the manifest is shown by its absolute path, as manifest errors are.
    manifest = str(monorepo / "a" / "dqguard.toml")
    assert _listed(monorepo, cwd=monorepo / "a" / "models") == [("projections-dynamic", manifest)]


def test_manifest_errors_of_every_project_at_once(monorepo: Path) -> None:
    (monorepo / "a" / "dqguard.toml").write_text('[[case]]\nname = "x"\n')
    (monorepo / "b" / "pyproject.toml").write_text('[tool.dqguard]\nunknown = 1\n')
    completed = dqguard("list", "--exclude", "vendor", cwd=monorepo)
    assert completed.returncode == 2
    assert "a/dqguard.toml:1: case 'x': missing required key" in completed.stderr
    assert "b/pyproject.toml:2: unknown key 'tool.dqguard.unknown'" in completed.stderr


def test_no_manifest_anywhere_is_a_usage_error(tmp_path: Path) -> None:
    completed = dqguard("list", cwd=tmp_path)
    assert completed.returncode == 2
    assert "no dqguard.toml, nor a pyproject.toml with [tool.dqguard]" in completed.stderr


@pytest.fixture(scope="module")
def monorepo_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    repo = _git(copy_repo("monorepo", tmp_path_factory.mktemp("monorepo")))
    completed = dqguard("scan", "--exclude", "vendor", "--format", "json", "-j", "1", cwd=repo)
    assert completed.returncode == 1, completed.stderr
    return repo, json.loads(completed.stdout)


def test_two_projects_with_same_named_packages_scan_with_their_own_imports(
        monorepo_scan: tuple[Path, dict[str, Any]]) -> None:
    repo, document = monorepo_scan
    statuses = {case["name"]: case["status"] for case in document["cases"]}
    # b's models.blocks has no Projections: had it imported a's package, it would find one.
    assert statuses == {"a/projections-dynamic": "findings", "b/projections-dynamic": "ok"}
    [finding] = document["cases"][0]["findings"]
    line = expected_line(repo / "a" / "models" / "blocks.py", "shared")
    assert (finding["rule"], finding["path"], finding["line"]) == ("DQG002", "a/models/blocks.py", line)
    assert document["manifest"] == "a/dqguard.toml, b/pyproject.toml"


def test_each_project_keeps_its_cache_beside_its_manifest(monorepo_scan: tuple[Path, dict[str, Any]]) -> None:
    repo, _ = monorepo_scan
    assert (repo / "a" / ".dqguard_cache").is_dir() and (repo / "b" / ".dqguard_cache").is_dir()
    again = json.loads(dqguard("scan", "--exclude", "vendor", "--format", "json", cwd=repo).stdout)
    assert [case["cached"] for case in again["cases"]] == [True, True]


def test_a_manifest_named_by_option_keeps_its_case_names(monorepo: Path) -> None:
    assert _listed(monorepo, "--manifest", "a/dqguard.toml") == [("projections-dynamic", "a/dqguard.toml")]
