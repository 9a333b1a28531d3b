"""The result cache: reuse while nothing a case imported has changed, never a wrong verdict."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dqguard.manifest.case import Case, DynamicDim
from dqguard.run.cache import case_key, environment
from testing import copy_repo, dqguard, dqguard_without_workers, expected_line, scan_json, summary_line


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
    # Starting any worker would fail the scan: the cache answered alone.
    completed = dqguard_without_workers("scan", "--format", "json", cwd=warm)
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
    completed = dqguard_without_workers("scan", "notes.py", cwd=warm)
    assert completed.returncode == 1, completed.stderr
    assert summary_line(completed.stdout) == "3 cases, 1 ok, 2 with findings, 3 cached"


def test_files_never_hide_a_changed_dependency(warm: Path) -> None:
    # A pull, a checkout or a --no-verify commit changes files pre-commit never names. The
    # quantizer every case imports goes from dynamic to static quantization: no shared chain left.
    backends = warm / "backends.py"
    backends.write_text(backends.read_text().replace("is_dynamic=True", "is_dynamic=False"))
    completed = dqguard("scan", "notes.py", cwd=warm)
    assert completed.returncode == 0, completed.stdout
    assert summary_line(completed.stdout) == "3 cases, 3 ok"


def test_files_name_nothing_that_decides(warm: Path) -> None:
    for name in ("alpha", "beta"):
        path = warm / "models" / f"{name}.py"
        path.write_text(path.read_text() + "\n# touched\n")
    # Only alpha's change is named: beta's changed too, so it runs as well.
    assert _cached(scan_json(warm, "models/alpha.py")) == {"alpha": False, "beta": False, "gamma": True}
    assert _cached(scan_json(warm)) == {"alpha": True, "beta": True, "gamma": True}


def _sibling_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The incremental repo whose beta model lives in a package beside it, on PYTHONPATH."""
    repo = copy_repo("incremental", tmp_path)
    sibling = tmp_path / "shared" / "zoo"
    sibling.mkdir(parents=True)
    (sibling / "__init__.py").write_text("")
    shutil.copy(repo / "models" / "beta.py", sibling / "beta.py")
    manifest = repo / "dqguard.toml"
    manifest.write_text(manifest.read_text().replace('"models.beta:', '"zoo.beta:'))
    return repo, {"PYTHONPATH": str(tmp_path / "shared")}


def test_a_model_package_beside_the_project_is_a_dependency(tmp_path: Path) -> None:
    repo, env = _sibling_repo(tmp_path)
    assert dqguard("scan", cwd=repo, env=env).returncode == 1
    beta = tmp_path / "shared" / "zoo" / "beta.py"
    beta.write_text(beta.read_text().replace("super().__init__()", "raise RuntimeError('broken')"))
    completed = dqguard("scan", "--format", "json", cwd=repo, env=env)
    cases = {case["name"]: case for case in json.loads(completed.stdout)["cases"]}
    assert (cases["beta"]["cached"], cases["beta"]["status"]) == (False, "error")
    # Its location is the sibling's own file, relative to the project root.
    assert "(at ../shared/zoo/beta.py:" in cases["beta"]["findings"][0]["message"]
    assert (cases["alpha"]["cached"], cases["gamma"]["cached"]) == (True, True)


def _installed(site: Path, version: str) -> None:
    """A distribution `tinydist` of `version` in a site-packages directory, as pip leaves one."""
    for old in site.glob("tinydist-*.dist-info"):
        shutil.rmtree(old)
    package = site / "tinydist"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("WIDTH = 8\n")
    info = site / f"tinydist-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tinydist\nVersion: {version}\n")
    (info / "top_level.txt").write_text("tinydist\n")
    (info / "RECORD").write_text("tinydist/__init__.py,,\n")


def test_upgrading_an_imported_distribution_reruns_the_cases_that_imported_it(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    site = tmp_path / "lib" / "site-packages"
    _installed(site, "1.0")
    gamma = repo / "models" / "gamma.py"
    gamma.write_text("import tinydist  # noqa: F401\n" + gamma.read_text())
    env = {"PYTHONPATH": str(site)}
    assert dqguard("scan", cwd=repo, env=env).returncode == 1
    # Installed files are keyed by their distribution's name and version, not hashed one by one.
    (site / "tinydist" / "__init__.py").write_text("WIDTH = 8  # patched in place\n")
    assert _cached(scan_json_env(repo, env)) == {"alpha": True, "beta": True, "gamma": True}
    _installed(site, "2.0")
    assert _cached(scan_json_env(repo, env)) == {"alpha": True, "beta": True, "gamma": False}


def scan_json_env(repo: Path, env: dict[str, str]) -> dict[str, object]:
    completed = dqguard("scan", "--format", "json", cwd=repo, env=env)
    assert completed.returncode in (0, 1), completed.stderr
    document: dict[str, object] = json.loads(completed.stdout)
    return document


def test_a_project_under_the_interpreters_prefix_keeps_its_dependencies_and_lines(tmp_path: Path) -> None:
    # As with Debian's system Python (code under /usr) or a virtualenv that holds the project:
    # the project lies under sys.prefix, and is still the user's.
    prefix = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    [site] = (prefix / "lib").glob("python3*/site-packages")
    # torch, torchao and dqguard come from the test environment's own site directory.
    (site / "test-env.pth").write_text(f"import site; site.addsitedir({_site_packages()!r})\n")
    repo = copy_repo("findings", prefix)
    python = prefix / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    def scan() -> dict[str, Any]:
        completed = subprocess.run([str(python), "-m", "dqguard", "scan", "--format", "json", "--case",
                                    "three-heads/dynamic"], cwd=repo, env=env, capture_output=True,
                                   text=True, check=False)
        assert completed.returncode == 1, completed.stderr
        [case] = json.loads(completed.stdout)["cases"]
        return case
    first = scan()
    assert [(u["path"], u["line"]) for u in first["findings"][0]["users"]] == [
        ("graphs.py", expected_line(repo / "graphs.py", marker))
        for marker in ("first consumer", "second consumer", "third consumer")]
    assert scan()["cached"]
    (repo / "graphs.py").write_text((repo / "graphs.py").read_text() + "\n# edited\n")
    assert not scan()["cached"]


def _site_packages() -> str:
    import torch

    return str(Path(torch.__file__).parent.parent)


def test_a_data_file_the_model_reads_is_a_dependency(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    (repo / "width.json").write_text('{"width": 8}\n')
    gamma = repo / "models" / "gamma.py"
    gamma.write_text(gamma.read_text().replace(
        "self.only = nn.Linear(8, 8)",
        "width = json.loads(open('width.json').read())['width']\n        self.only = nn.Linear(width, 8)",
    ).replace("import torch\n", "import json\n\nimport torch\n", 1))
    assert dqguard("scan", cwd=repo).returncode == 1
    assert _cached(scan_json(repo)) == {"alpha": True, "beta": True, "gamma": True}
    (repo / "width.json").write_text('{"width": 4}\n')
    [*_, gamma_case] = scan_json(repo)["cases"]
    # The model now expects 4 features but is fed 8: the edit reached it.
    assert (gamma_case["cached"], gamma_case["status"]) == (False, "error")


def test_a_new_module_that_would_shadow_an_import_reruns(warm: Path) -> None:
    (warm / "torchao.py").write_text("raise ImportError('shadowed')\n")
    document = scan_json(warm)
    assert _cached(document) == {"alpha": False, "beta": False, "gamma": False}
    assert {case["status"] for case in document["cases"]} == {"error"}


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


def test_the_option_beats_the_variable_and_baseline_reads_the_same_cache(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    variable, option = tmp_path / "variable", tmp_path / "option"
    env = {"DQGUARD_CACHE_DIR": str(variable)}
    assert dqguard("scan", "--case", "gamma", "--cache-dir", str(option), cwd=repo, env=env).returncode == 0
    assert not variable.exists() and len(list(option.glob("*.json"))) == 1
    assert dqguard("baseline", "--cache-dir", str(option), cwd=repo).returncode == 0
    assert len(list(option.glob("*.json"))) == 3 and not (repo / ".dqguard_cache").exists()


def test_concurrent_scans_leave_a_valid_cache(tmp_path: Path) -> None:
    repo = copy_repo("incremental", tmp_path)
    scans = [subprocess.Popen([sys.executable, "-m", "dqguard", "scan", "-j", "1"], cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    assert [scan.wait() for scan in scans] == [1, 1]
    assert not list((repo / ".dqguard_cache").glob("*.tmp"))
    assert _cached(scan_json(repo)) == {"alpha": True, "beta": True, "gamma": True}


def test_a_key_equals_the_key_its_entry_reads_back() -> None:
    # Tuples in a case (its dynamic shapes) come back from the entry's JSON as lists.
    case = Case(name="a", model="m:M", inputs="m:x", quantizer="q:Q", line=1,
                dynamic_shapes=(DynamicDim("x", 0, "batch", 1, 8),))
    key = case_key(case, False, environment())
    assert json.loads(json.dumps(key)) == key


def test_same_named_cases_of_two_projects_keep_their_own_entries_in_one_cache_dir(tmp_path: Path) -> None:
    # Monorepo projects a/ and b/ each have a case `projections-dynamic`, of different models.
    repo = copy_repo("monorepo", tmp_path)
    shared = str(tmp_path / "shared")
    first = scan_json(repo, "--cache-dir", shared, "a", "b")
    assert _cached(first) == {"a/projections-dynamic": False, "b/projections-dynamic": False}
    second = scan_json(repo, "--cache-dir", shared, "a", "b")
    assert _cached(second) == {"a/projections-dynamic": True, "b/projections-dynamic": True}
    assert _strip_timing(second) == _strip_timing(first)
