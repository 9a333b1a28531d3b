"""Severities: `[rules]` levels, `--fail-on`, and case errors that nothing turns off."""

import json
from pathlib import Path

import pytest

from dqguard.commands.verdicts import exit_code, leveled
from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS
from dqguard.manifest.case import Case
from dqguard.records import CaseResult, Finding, ScanResult
from testing import copy_repo, dqguard

CASE = Case("c", "m:M", "m:inputs", "q:q", 1, rules=(("DQG001", "warning"), ("DQG003", "off")))


def _result(*rules: str) -> CaseResult:
    return CaseResult("c", "findings", 0.0, tuple(Finding(rule, "m", "f.py", 1) for rule in rules))


def test_levels_set_severities_and_off_drops_the_finding() -> None:
    result = leveled(_result("DQG001", "DQG002", "DQG003"), CASE, ())
    assert [(f.rule, f.severity) for f in result.findings] == [("DQG001", "warning"), ("DQG002", None)]
    assert leveled(_result("DQG003"), CASE, ()).status == "ok"
    assert leveled(_result("DQG002"), CASE, ("DQG002",)).findings == ()


@pytest.mark.parametrize(("rules", "fail_on", "code"), [
    (("DQG002",), "warning", EXIT_FINDINGS),
    (("DQG002",), "error", EXIT_CLEAN),
    (("DQG001",), "error", EXIT_FINDINGS),
    (("DQG001",), "never", EXIT_CLEAN),
    (("DQG900",), "never", EXIT_FINDINGS),  # a case no one checked is never a pass
])
def test_fail_on_decides_which_severities_fail(rules: tuple[str, ...], fail_on: str, code: int) -> None:
    assert exit_code(ScanResult("m", (_result(*rules),)), fail_on) == code


def test_a_baselined_finding_never_fails() -> None:
    result = _result("DQG001")
    accepted = result._replace(findings=(result.findings[0]._replace(baselined=True),))
    assert exit_code(ScanResult("m", (accepted,)), "warning") == EXIT_CLEAN


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_repo("zoo", tmp_path_factory.mktemp("zoo"))
    # Fill the cache once: a verdict does not depend on levels, so every scan below reuses it.
    assert dqguard("scan", "-j", "1", cwd=repo).returncode == 1
    return repo


def _with_rules(repo: Path, table: str) -> None:
    manifest = repo / "dqguard.toml"
    text = manifest.read_text().split("[rules]")[0]
    manifest.write_text(text + table)


def test_dqg002_is_a_warning_that_fails_unless_fail_on_error(zoo: Path) -> None:
    _with_rules(zoo, "")
    default = dqguard("scan", "--format", "json", cwd=zoo)
    assert default.returncode == 1
    severities = {f["severity"] for c in json.loads(default.stdout)["cases"] for f in c["findings"]}
    assert severities == {"warning"}
    assert dqguard("scan", "--fail-on", "error", cwd=zoo).returncode == 0
    assert dqguard("scan", "--fail-on", "never", cwd=zoo).returncode == 0


def test_rules_table_raises_and_silences(zoo: Path) -> None:
    _with_rules(zoo, '\n[rules]\nDQG002 = "error"\n')
    raised = dqguard("scan", "--fail-on", "error", "--format", "sarif", cwd=zoo)
    assert raised.returncode == 1
    assert {r["level"] for r in json.loads(raised.stdout)["runs"][0]["results"]} == {"error"}
    _with_rules(zoo, '\n[rules]\nDQG002 = "off"\n')
    silenced = dqguard("scan", "--format", "json", cwd=zoo)
    assert silenced.returncode == 0
    assert all(c["findings"] == [] for c in json.loads(silenced.stdout)["cases"])


def test_fail_on_refuses_other_values(zoo: Path) -> None:
    completed = dqguard("scan", "--fail-on", "findings", cwd=zoo)
    assert completed.returncode == 2 and "--fail-on" in completed.stderr
