"""The result cache: reuse while nothing a case imported has changed, never a wrong verdict."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing import copy_repo, dqguard, poisoned_torch, scan_json, summary_line


@pytest.fixture(scope="module")
def warmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_repo("incremental", tmp_path_factory.mktemp("warmed"))
    completed = dqguard("scan", cwd=repo)
    assert completed.returncode == 1, completed.stderr
    assert summary_line(completed.stdout) == "3 cases, 1 ok, 2 with findings"
    return repo


@pytest.fixture
def warm(warmed: Path, tmp_path: Path) -> Path:
    """A private copy of the incremental repo after one full scan, cache included: the cache
    records root-relative paths, so a copied repository keeps its verdicts."""
    return Path(shutil.copytree(warmed, tmp_path / "incremental"))


def _cached(document: dict[str, object]) -> dict[str, bool]:
    return {case["name"]: case["cached"] for case in document["cases"]}  # type: ignore[attr-defined, index]


def _strip_timing(document: dict[str, object]) -> list[object]:
    return [{k: v for k, v in case.items() if k not in ("cached", "duration_s", "phases")}
            for case in document["cases"]]  # type: ignore[attr-defined]


def test_warm_scan_reports_the_same_verdict_without_torch(warm: Path, tmp_path: Path) -> None:
    cold = scan_json(warm, "--no-cache")
    # With torch unimportable, starting any worker would fail the scan: the cache answered alone.
    completed = dqguard("scan", "--format", "json", cwd=warm, env=poisoned_torch(tmp_path))
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert _cached(document) == {"alpha": True, "beta": True, "gamma": True}
    assert _strip_timing(document) == _strip_timing(cold)


def test_the_parent_process_never_imports_torch(warm: Path) -> None:
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", "dqguard", "scan"],
                               cwd=warm, capture_output=True, text=True, check=False)
    assert completed.returncode == 1
    imported = {line.split("|")[-1].strip() for line in completed.stderr.splitlines() if "|" in line}
    assert "click" in imported
    assert not {name for name in imported if name.split(".")[0] in ("torch", "torchao")}


def test_editing_a_model_reruns_exactly_its_case(warm: Path) -> None:
    model = warm / "models" / "beta.py"
    model.write_text(model.read_text().replace("self.left(x) + self.right(x)", "self.left(x)"))
    document = scan_json(warm)
    assert _cached(document) == {"alpha": True, "beta": False, "gamma": True}
    assert [c["status"] for c in document["cases"]] == ["findings", "ok", "ok"]


def test_editing_the_shared_quantizer_reruns_everything(warm: Path) -> None:
    (warm / "backends.py").write_text((warm / "backends.py").read_text() + "\n# changed\n")
    assert _cached(scan_json(warm)) == {"alpha": False, "beta": False, "gamma": False}


def test_an_unrelated_file_reruns_nothing(warm: Path, tmp_path: Path) -> None:
    (warm / "notes.py").write_text("CHANGED = True\n")
    completed = dqguard("scan", "notes.py", cwd=warm, env=poisoned_torch(tmp_path))
    assert completed.returncode == 1, completed.stderr
    assert summary_line(completed.stdout) == "3 cases, 1 ok, 2 with findings, 3 cached"


def test_files_limit_which_changes_count(warm: Path) -> None:
    for name in ("alpha", "beta"):
        path = warm / "models" / f"{name}.py"
        path.write_text(path.read_text() + "\n# touched\n")
    # Only alpha's change is passed: beta keeps reporting its recorded verdict.
    assert _cached(scan_json(warm, "models/alpha.py")) == {"alpha": False, "beta": True, "gamma": True}
    assert _cached(scan_json(warm)) == {"alpha": True, "beta": False, "gamma": True}


def test_a_changed_manifest_entry_reruns_only_that_case(warm: Path) -> None:
    manifest = warm / "dqguard.toml"
    text = manifest.read_text().replace('name = "gamma"\n', 'name = "gamma"\ncalibration = 2\n')
    manifest.write_text("# a comment that moves every case down\n" + text)
    document = scan_json(warm, "dqguard.toml")
    assert _cached(document) == {"alpha": True, "beta": True, "gamma": False}


def test_cached_findings_at_the_manifest_follow_their_case(tmp_path: Path) -> None:
    repo = copy_repo("findings", tmp_path)
    assert scan_json(repo, "--case", "*/nothing")["cases"][0]["findings"][0]["line"] == 25
    manifest = repo / "dqguard.toml"
    manifest.write_text("# one more line above every case\n" + manifest.read_text())
    [case] = scan_json(repo, "--case", "*/nothing")["cases"]
    assert (case["cached"], case["findings"][0]["line"]) == (True, 26)


def test_failed_cases_are_not_cached(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    manifest = repo / "dqguard.toml"
    manifest.write_text(manifest.read_text().replace("models.gamma:Net", "models.gamma:Missing"))
    assert scan_json(repo)["cases"][2]["status"] == "error"
    assert _cached(scan_json(repo)) == {"alpha": True, "beta": True, "gamma": False}


def test_corrupt_entries_are_rebuilt(warm: Path) -> None:
    entries = sorted((warm / ".dqguard_cache").glob("*.json"))
    assert len(entries) == 3
    entries[0].write_text("{not json")
    entries[1].write_text(json.dumps({"key": {"format": 999}, "result": {}}))
    document = scan_json(warm)
    assert sorted(_cached(document).values()) == [False, False, True]
    assert sorted(_cached(scan_json(warm)).values()) == [True, True, True]


def test_cache_directory_layout_and_overrides(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    scan_json(repo, "--no-cache")
    assert not (repo / ".dqguard_cache").exists()
    elsewhere = tmp_path / "elsewhere"
    completed = dqguard("scan", "--case", "gamma", cwd=repo, env={"DQGUARD_CACHE_DIR": str(elsewhere)})
    assert completed.returncode == 0
    assert (elsewhere / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (elsewhere / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert len(list(elsewhere.glob("*.json"))) == 1


def test_concurrent_scans_leave_a_valid_cache(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    scans = [subprocess.Popen([sys.executable, "-m", "dqguard", "scan", "-j", "1"], cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    assert [scan.wait() for scan in scans] == [1, 1]
    assert not list((repo / ".dqguard_cache").glob("*.tmp"))
    assert _cached(scan_json(repo)) == {"alpha": True, "beta": True, "gamma": True}
