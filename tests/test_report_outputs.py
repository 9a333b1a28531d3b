"""GITHUB_OUTPUT and the job summary files, as the real CLI writes them in a scan."""

from pathlib import Path

from dqguard.report import outputs, summary
from dqguard.report.style import Style
from testing import reports
from testing.workflow_commands import output_file

WRITTEN = {"json": "out/report.json", "sarif": "out/report.sarif", "junit": "out/report.xml",
           "summary": "out/summary.md"}


def step_outputs(run: str) -> dict[str, str]:
    return output_file((reports.scan(run).out / "github_output").read_text())


def test_counts_and_report_paths() -> None:
    assert step_outputs("findings") == {"findings": "2", "errors": "0", "cases": "3", **WRITTEN}
    assert step_outputs("errors") == {"findings": "0", "errors": "1", "cases": "2", **WRITTEN}
    assert step_outputs("fanout")["findings"] == "13"
    directory = reports.scan("findings").directory
    assert all((directory / path).is_file() for path in WRITTEN.values())


def test_the_job_summary_and_summary_file_get_the_same_report() -> None:
    out = reports.scan("findings").out
    step_summary = (out / "step_summary.md").read_text()
    assert step_summary == (out / "summary.md").read_text()
    assert step_summary.startswith("## dqguard: 3 cases, 1 ok, 2 with findings\n")


def test_a_path_with_a_line_break_cannot_add_outputs() -> None:
    result = reports.normalised("findings")
    text = outputs.step_outputs(result, [("sarif", Path("a\nerrors=0\r\nx"))])
    assert output_file(text) == {"findings": "2", "errors": "0", "cases": "3", "sarif": "a\nerrors=0\r\nx"}


def test_summaries_are_appended_within_what_the_file_has_left(tmp_path: Path) -> None:
    result = reports.normalised("fanout")
    roomy, nearly_full = tmp_path / "roomy.md", tmp_path / "full.md"
    roomy.write_text("# before\n")
    nearly_full.write_text("x" * (summary.LIMIT - 3000))
    outputs.append_summaries(result, Style(), [roomy, nearly_full])
    outputs.append_summaries(result, Style(), [roomy])
    whole = summary.markdown(result, Style())
    assert roomy.read_text() == "# before\n" + whole + whole
    assert nearly_full.stat().st_size <= summary.LIMIT
    assert "**Truncated:**" in nearly_full.read_text()
