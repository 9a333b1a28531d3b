"""`dqguard scan` end to end: the real command on the scenario repositories."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testing import RESOURCES, copy_repo, dqguard, expected_line, matches_golden

GOLDEN = Path(__file__).parent / "golden" / "cli"
GRAPHS = RESOURCES / "findings" / "graphs.py"


def _stable(document: dict[str, Any]) -> str:
    for case in document["cases"]:
        case["duration_s"] = 0.0
        case["phases"] = {name: 0.0 for name in case["phases"]}
        for finding in case["findings"]:
            # Tracebacks hold absolute paths and dqguard's own line numbers.
            finding["detail"] = finding["detail"] and finding["detail"].splitlines()[-1]
    return json.dumps(document, indent=2) + "\n"


@pytest.fixture(scope="module")
def findings_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str, str]:
    """One scan of the findings repo writing three formats at once."""
    repo = copy_repo("findings", tmp_path_factory.mktemp("scan"))
    completed = dqguard("scan", "--format", "text", "--format", "github:out/github.txt",
                        "--format", "json:out/report.json", "--format", "sarif:out/report.sarif", cwd=repo)
    return repo, completed.returncode, completed.stdout, completed.stderr


def test_seed_scenarios_exit_clean() -> None:
    completed = dqguard("scan", "--no-cache", cwd=RESOURCES / "seed")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout == "4 cases, 4 ok\n"


def test_findings_exit_1_with_text_golden(findings_scan: tuple[Path, int, str, str]) -> None:
    _, code, stdout, _ = findings_scan
    assert code == 1
    assert matches_golden(GOLDEN / "findings.txt", stdout)


def test_findings_github_golden(findings_scan: tuple[Path, int, str, str]) -> None:
    repo, _, _, _ = findings_scan
    assert matches_golden(GOLDEN / "findings.github", (repo / "out" / "github.txt").read_text())


def test_findings_json_golden(findings_scan: tuple[Path, int, str, str]) -> None:
    repo, _, _, _ = findings_scan
    document = json.loads((repo / "out" / "report.json").read_text())
    assert document["summary"] == {"cases": 7, "ok": 1, "findings": 6, "errors": 0}
    assert matches_golden(GOLDEN / "findings.json", _stable(document))


def test_findings_sarif_file_golden(findings_scan: tuple[Path, int, str, str]) -> None:
    # The file the command line itself wrote, not a rendering of a parsed report.
    repo, _, _, _ = findings_scan
    assert matches_golden(GOLDEN / "findings.sarif", (repo / "out" / "report.sarif").read_text())


def test_output_file_holds_the_report_stdout_would(findings_scan: tuple[Path, int, str, str],
                                                   tmp_path: Path) -> None:
    repo, _, stdout, _ = findings_scan
    completed = dqguard("scan", "-o", "out/report.txt", cwd=repo)
    assert (completed.returncode, completed.stdout) == (1, "")
    # The cache answered this time, and says so in its summary line.
    cached = stdout.replace("cases, 1 ok, 6 with findings", "cases, 1 ok, 6 with findings, 7 cached")
    assert (repo / "out" / "report.txt").read_text() == cached


def test_output_file_with_several_reports_is_refused(tmp_path: Path) -> None:
    completed = dqguard("scan", "-o", "out.txt", "--format", "text", "--format", "json",
                        cwd=RESOURCES / "seed")
    assert completed.returncode == 2
    assert "-o FILE takes one report, but 2 would go to it (text, json): give each its own file " \
           "with --format FORMAT:PATH" in completed.stderr
    assert not (RESOURCES / "seed" / "out.txt").exists()


def test_output_file_in_github_actions_keeps_the_annotations_on_stdout(tmp_path: Path) -> None:
    repo = copy_repo("findings", tmp_path)
    completed = dqguard("scan", "--case", "three-heads/dynamic", "-o", "report.txt", cwd=repo,
                        env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo)})
    assert completed.returncode == 1
    assert (repo / "report.txt").read_text().splitlines()[-1] == "1 case, 1 with findings"
    line = expected_line(GRAPHS, "first consumer")
    assert completed.stdout.startswith(f"::warning file=graphs.py,line={line},")


def test_case_errors_do_not_hide_other_cases() -> None:
    completed = dqguard("scan", "--no-cache", "--format", "json", cwd=RESOURCES / "broken")
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    assert [(c["name"], c["status"]) for c in document["cases"]] == [
        ("fine", "ok"),
        ("missing-module", "error"),
        ("factory-raises", "error"),
        ("bad-inputs", "error"),
        ("export-fails", "error"),
        ("prepare-fails", "error"),
    ]
    messages = {c["name"]: c["findings"][0]["message"] for c in document["cases"] if c["findings"]}
    assert messages["missing-module"].startswith(
        "building the model failed: ModuleNotFoundError: No module named 'no_such_module'")
    assert messages["factory-raises"] == (
        "building the model failed: RuntimeError: weights file missing (at steps.py:29)")
    assert messages["bad-inputs"].startswith("building the inputs failed: TypeError")
    assert messages["export-fails"].startswith("torch.export failed:")
    assert messages["prepare-fails"].startswith("prepare_pt2e failed: ValueError: unsupported op")
    lines = {c["name"]: c["findings"][0]["line"] for c in document["cases"] if c["findings"]}
    assert lines == {"missing-module": 7, "factory-raises": 13, "bad-inputs": 19,
                     "export-fails": 25, "prepare-fails": 31}
    assert {f["rule"] for c in document["cases"] for f in c["findings"]} == {"DQG900"}
    assert matches_golden(GOLDEN / "broken.json", _stable(document))


def test_github_actions_prints_text_and_annotations(tmp_path: Path) -> None:
    repo = copy_repo("findings", tmp_path)
    completed = dqguard("scan", "--case", "three-heads/dynamic", cwd=repo,
                        env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)})
    assert completed.returncode == 1
    lines = completed.stdout.splitlines()
    line = expected_line(GRAPHS, "first consumer")
    assert lines[0].startswith(f"findings/graphs.py:{line}: DQG002 ")
    assert lines[1] == "1 case, 1 with findings"
    assert lines[2].startswith(
        f"::warning file=findings/graphs.py,line={line},title=DQG002 shared-dynamic-dequantize::")


def test_paths_are_relative_to_where_you_run(tmp_path: Path) -> None:
    repo = copy_repo("findings", tmp_path)
    completed = dqguard("scan", "--manifest", "findings/dqguard.toml", "--case", "concat/*", cwd=tmp_path)
    line = expected_line(GRAPHS, "cat consumer")
    assert completed.stdout.startswith(f"findings/graphs.py:{line}: DQG001 ")
    nested = repo / "sub"
    nested.mkdir()
    completed = dqguard("scan", "--case", "concat/*", cwd=nested)
    assert completed.stdout.startswith(f"../graphs.py:{line}: DQG001 ")


def test_pyproject_manifest_and_ignore(tmp_path: Path) -> None:
    repo = copy_repo("findings", tmp_path)
    manifest = (repo / "dqguard.toml").read_text().replace("[[case]]", "[[tool.dqguard.case]]")
    (repo / "dqguard.toml").unlink()
    (repo / "pyproject.toml").write_text('[project]\nname = "models"\n\n' + manifest)
    completed = dqguard("scan", "--case", "three-heads/dynamic", "--ignore", "DQG002", cwd=repo)
    assert (completed.returncode, completed.stdout) == (0, "1 case, 1 ok\n")


def test_manifest_errors_exit_2_and_run_nothing(tmp_path: Path) -> None:
    (tmp_path / "dqguard.toml").write_text('[[case]]\nname = "a"\nmodel = "m:Net"\n')
    completed = dqguard("scan", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "dqguard.toml:1: case 'a': missing required key 'inputs', 'quantizer'" in completed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "'3/2' is not K/N"),
        (["--format", "yaml"], "'yaml' is not one of"),
        (["--case", "nope"], "--case 'nope' matches no case"),
        (["--manifest", "missing.toml"], "cannot read the manifest"),
        (["--ignore", "DQG900"], "'DQG900' is not one of 'DQG001', 'DQG002', 'DQG003'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    completed = dqguard("scan", "--no-cache", *args, cwd=RESOURCES / "seed")
    assert completed.returncode == 2
    assert message in completed.stderr


def test_no_manifest_found(tmp_path: Path) -> None:
    completed = dqguard("scan", cwd=tmp_path)
    assert completed.returncode == 2
    assert "no dqguard.toml" in completed.stderr


def test_rules_lists_the_registry() -> None:
    completed = dqguard("rules", cwd=RESOURCES)
    for code in ("DQG001", "DQG002", "DQG003", "DQG900", "DQG901", "DQG902"):
        assert code in completed.stdout


def _workers_of(parent: int) -> list[int]:
    """The dqguard workers under `parent`, and the processes running their cases (their forks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{parent}\n" in status and b"dqguard.worker" in command:
            found += [int(entry.name), *_workers_of(int(entry.name))]
    return found


def test_interrupt_exits_130_and_stops_the_workers(tmp_path: Path) -> None:
    repo = copy_repo("unruly", tmp_path)
    scan = subprocess.Popen(
        [sys.executable, "-m", "dqguard", "scan", "--no-cache", "--case", "hangs", "--timeout", "600"],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while len(workers := _workers_of(scan.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) == 2, "the scan started no worker, or it runs no case"
    time.sleep(1)
    scan.send_signal(signal.SIGINT)
    _, stderr = scan.communicate(timeout=60)
    assert scan.returncode == 130
    assert "dqguard: interrupted" in stderr
    # Every process was sent SIGKILL before the scan exited; a process with torch loaded can take
    # a moment to finish dying on a loaded machine, so its end is awaited, as after a kill below.
    deadline = time.monotonic() + 30
    while (alive := [pid for pid in workers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive


def test_a_scan_killed_outright_leaves_no_case_running(tmp_path: Path) -> None:
    repo = copy_repo("unruly", tmp_path)
    scan = subprocess.Popen(
        [sys.executable, "-m", "dqguard", "scan", "--no-cache", "--case", "hangs", "--timeout", "600"],
        cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(workers := _workers_of(scan.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) == 2, "the scan started no worker, or it runs no case"
    scan.kill()  # no handler runs: the kernel takes the worker, and the worker's case, down with it
    scan.wait()
    deadline = time.monotonic() + 30
    while (alive := [pid for pid in workers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive


def _running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
