"""The text report on hostile input: one line per finding, no command, exact after unescaping."""

from dqguard.report import logsafe, text
from dqguard.report.style import Style
from testing import reports
from testing.logsafe import unescape
from testing.workflow_commands import commands


def test_hostile_text_is_inert_and_round_trips() -> None:
    result = reports.scan("hostile").result()
    output = text.render(result, Style(verbose=True))
    assert commands(output) == []
    lines = iter(output.splitlines())
    for case in result.cases:
        for finding in case.findings:
            expected = f"{finding.path}:{finding.line}: {finding.rule} {finding.message} [{case.name}]"
            assert unescape(next(lines)) == expected
            if finding.detail:
                shown = [next(lines) for _ in finding.detail.split("\n")]
                assert all(line.startswith("    ") for line in shown)
                assert "\n".join(unescape(line[4:]) for line in shown) == finding.detail
        status = unescape(next(lines))
        assert status.startswith(f"  {case.name}: {case.status} in ")
    assert next(lines) == text.summary_line(result)


def test_escape_inverts_for_every_kind_of_line_start() -> None:
    values = ("::error::x", "  ::warning::y", "\u3000::notice::z", "a\\n", "##[error]", "###[x", "\r\n\x1b")
    for value in values:
        for start in (True, False):
            escaped = logsafe.escape(value, line_start=start)
            assert unescape(escaped) == value
            assert "\n" not in escaped and "\r" not in escaped and "##[" not in escaped
            if start:
                assert commands(escaped) == []
