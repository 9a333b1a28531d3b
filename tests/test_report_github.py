"""Annotations as a GitHub runner reads them (testing.workflow_commands), from real scans."""

from dqguard.commands.paths import rebase
from dqguard.records import CaseResult, ScanResult
from dqguard.report import github, text
from dqguard.report.style import Style
from dqguard.rules import RULES
from testing import reports
from testing.logsafe import unescape
from testing.workflow_commands import Command, commands

ANNOTATIONS = ("error", "warning", "notice")


def annotations(output: str) -> list[Command]:
    return [c for c in commands(output) if c.name in ANNOTATIONS]


def test_more_than_ten_errors_give_ten_annotations_and_one_notice() -> None:
    run = reports.scan("fanout")  # 12 shared affine dequantizes (errors) and one 30-way (warning)
    result = run.result()
    found = annotations(run.stdout)
    levels = [c.name for c in found]
    assert sum(f.rule == "DQG001" for case in result.cases for f in case.findings) == 12
    assert levels.count("error") == github.LIMIT
    assert levels.count("warning") == 1
    assert levels.count("notice") == 1
    notice = found[-1]
    assert notice.name == "notice"
    assert notice.properties["title"] == "dqguard: 2 more findings"
    assert "2 errors were not annotated" in notice.data
    for place in ("the SARIF report out/report.sarif", "the job summary",
                  "the Markdown summary out/summary.md"):
        assert place in notice.data
    # The two left out are still in the log, as plain lines a runner does not act on.
    left_out = [g for g in reports.normalised("fanout").cases[1].findings][github.LIMIT:]
    for finding in left_out:
        assert text.finding_line(finding, "many/12-shared") in run.stdout.splitlines()


def test_annotation_points_at_the_consumer_and_says_what_to_do() -> None:
    run = reports.scan("findings")
    by_title = {c.properties["title"]: c for c in annotations(run.stdout)}
    dynamic = by_title["DQG002 shared-dynamic-dequantize"]
    assert dynamic.name == "warning"
    assert (dynamic.properties["file"], dynamic.properties["line"]) == ("models/blocks.py", "32")
    message, cases, fix = dynamic.data.split("\n")
    assert "linear at line 32, linear_1 at line 33, linear_2 at line 34" in message
    assert cases == "Case: projections/xnnpack-dynamic"
    assert fix == f"Fix: {RULES['DQG002'].fix}"
    assert by_title["DQG001 shared-dequantize"].name == "error"


def test_findings_come_before_case_errors() -> None:
    demo, errors = reports.normalised("findings"), reports.normalised("errors")
    both = ScanResult("dqguard.toml", errors.cases + demo.cases)
    titles = [c.properties["title"].split()[0] for c in annotations(github.render(both, Style()))]
    assert titles == ["DQG001", "DQG002", "DQG900"]


def test_one_annotation_per_shared_node_naming_every_case() -> None:
    case = reports.normalised("findings").cases[1]
    twice = ScanResult("dqguard.toml", (case, case._replace(name="projections/again")))
    (only,) = annotations(github.render(twice, Style()))
    assert "\nCases: projections/xnnpack-dynamic, projections/again\n" in only.data


def test_paths_outside_the_workspace_lose_file_but_keep_the_location() -> None:
    outside = rebase(list(reports.normalised("findings").cases), "../elsewhere")
    found = annotations(github.render(ScanResult("../elsewhere/dqguard.toml", tuple(outside)), Style()))
    assert found
    for annotation in found:
        assert "file" not in annotation.properties
        assert annotation.data.startswith("../elsewhere/models/blocks.py:32: ")


def test_hostile_text_starts_no_command_and_round_trips() -> None:
    run = reports.scan("hostile")
    result = run.result()
    carried_out = commands(run.stdout)
    assert {c.name for c in carried_out} <= {*ANNOTATIONS, "group", "endgroup"}
    found = annotations(run.stdout)
    assert [c.properties.get("file") for c in found] == ["hostile.py", "dqguard.toml", "dqguard.toml"]
    assert all(set(c.properties) == {"file", "line", "title"} for c in found)
    # Each case's name and message reach the reviewer exactly as the user wrote them.
    for case, annotation in zip(result.cases, found, strict=True):
        (finding,) = case.findings
        assert annotation.data == f"{finding.message}\nCase: {case.name}\nFix: {RULES[finding.rule].fix}"
    # The raw traceback and stderr are in the log, inside stop-commands blocks.
    details = [f.detail for case in result.cases for f in case.findings if f.detail]
    assert len(details) == 2
    for detail in details:
        assert detail in run.stdout
    starts = [line for line in run.stdout.splitlines() if line.startswith("::stop-commands::")]
    assert len(starts) == 2 + 1  # our two blocks, and one line of the stderr inside a block


def test_stop_token_is_fresh_each_run() -> None:
    result = reports.normalised("errors")
    first, second = (github.render(result, Style()) for _ in range(2))
    token = [line for line in first.splitlines() if line.startswith("::stop-commands::")]
    assert len(token) == 1 and token[0] not in second


def test_plain_log_lines_escape_and_unescape() -> None:
    hostile = CaseResult("x\n::error::y ##[warning]z", "findings", 0.0,
                         reports.normalised("findings").cases[1].findings)
    line = text.finding_line(hostile.findings[0], hostile.name)
    assert "\n" not in line and "##[" not in line
    assert commands(line) == []
    assert unescape(line).endswith(f"[{hostile.name}]")
