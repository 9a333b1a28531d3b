"""The Markdown job summary, rendered by a CommonMark parser with GFM tables, from real scans."""

import html
import re

from markdown_it import MarkdownIt

from dqguard.records import Finding, NodeRef, ScanResult
from dqguard.report import markup, summary
from dqguard.report.style import Style
from testing import reports
from testing.workflow_commands import commands

MARKDOWN = MarkdownIt("commonmark").enable("table")
_FLOWCHART = re.compile(r"```mermaid\n(.*?)\n```", re.DOTALL)
_NODE = re.compile(r'^  (?:\w+ --> )?(\w+)\["((?:[A-Za-z0-9 _./:,()+=-]|#\d+;|<br/>)*)"\]$')
_OTHER = re.compile(r"^  (\w+ --> \w+|classDef \w+ [\w:#,.-]+( \w+)?|class \w+ \w+)$")


def cells(markdown: str) -> list[list[str]]:
    """The table's body rows as the text a browser would show."""
    rendered = MARKDOWN.render(markdown)
    body = rendered.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    return [[html.unescape(re.sub(r"</?code>", "", c).replace("<br>", "\n"))
             for c in re.findall(r"<td>(.*?)</td>", row, re.DOTALL)] for row in rows]


def nodes(flowchart: str) -> dict[str, list[str]]:
    """Node id -> its label's lines, decoded; fails on any line the summary should not write."""
    lines = flowchart.splitlines()
    assert lines[0] == "flowchart LR"
    found = {}
    for line in lines[1:]:
        match = _NODE.match(line)
        if match:
            label = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), match.group(2))
            found[match.group(1)] = label.split("<br/>")
        else:
            assert _OTHER.match(line), line
    return found


def raw_blocks(rendered: str) -> list[str]:
    return [html.unescape(block) for block in re.findall(r"<pre>\n(.*?)\n</pre>", rendered, re.DOTALL)]


def test_table_and_one_flowchart_per_shared_dequantize() -> None:
    markdown = reports.scan("findings").out.joinpath("summary.md").read_text()
    rows = cells(markdown)
    assert [row[:3] for row in rows] == [
        ["conv-head/xnnpack-static", "✅ ok", "0"],
        ["projections/xnnpack-dynamic", "⚠️ findings", "1: DQG002"],
        ["projections/per-token-static", "❌ findings", "1: DQG001"],
    ]
    assert all(re.fullmatch(r"\d+\.\d s", row[3]) for row in rows)
    charts = _FLOWCHART.findall(markdown)
    assert len(charts) == 2
    dequantize_affine = nodes(charts[0])
    shape = "[1, 8, 16] float32"  # the example value's, from the records
    assert dequantize_affine["d"] == ["dequantize_affine", shape, "shared by 3 ops"]
    assert dequantize_affine["p"] == ["tokens (input)", shape]
    assert [dequantize_affine[f"u{i}"] for i in range(3)] == [
        ["linear", shape, "models/blocks.py:32"],
        ["linear_1", shape, "models/blocks.py:33"],
        ["linear_2", shape, "models/blocks.py:34"],
    ]
    assert "class d shared" in charts[0]  # the shared node is the highlighted one
    assert nodes(charts[1])["q"] == ["choose_qparams, quantize"]


def test_a_wide_fan_out_draws_eight_consumers_and_groups_the_rest() -> None:
    markdown = summary.render(reports.normalised("fanout"), Style())
    charts = _FLOWCHART.findall(markdown)
    assert len(charts) == 13
    wide = nodes(charts[-1])
    assert sorted(k for k in wide if k.startswith("u")) == [f"u{i}" for i in range(summary.FAN_OUT)]
    assert wide["more"] == ["+22 more ops", "at wide.py:23"]
    assert wide["d"][0] == "dequantize_per_tensor_tensor" and wide["d"][-1] == "shared by 30 ops"


def test_mermaid_labels_hold_any_text() -> None:
    evil = 'a"b]c[d`e#35;f;g<script>\n```\n%%{init: {}}%%\n--> end | & ::error::x ##[error] é \\'
    users = tuple(NodeRef(f"{evil}{i}", evil, f"{evil}.py", i + 1) for i in range(3))
    finding = Finding("DQG001", "m", "x.py", 1, dequantize=evil, users=users, producer=users[0])
    chart = summary.flowchart(finding)
    drawn = nodes(_FLOWCHART.findall(chart)[0])
    assert drawn["d"] == [evil, "shared by 3 ops"]
    assert drawn["u2"] == [f"{evil}2", f"{evil}.py:3"]
    assert chart.count("```") == 2


def test_case_error_shows_its_traceback() -> None:
    markdown = reports.scan("errors").out.joinpath("summary.md").read_text()
    rendered = MARKDOWN.render(markdown)
    assert "<h3>💥 DQG900 case-error in case <code>broken/raises-in-init</code></h3>" in rendered
    (traceback,) = raw_blocks(rendered)
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.endswith("ValueError: checkpoint 'weights/small.pt' is missing")
    assert _FLOWCHART.findall(markdown) == []
    assert ("<p><strong>Note</strong> (<code>broken/raises-in-init</code>): not weightless (building "
            "the model failed: ValueError: checkpoint 'weights/small.pt' is missing): checked with real "
            "weights</p>" in rendered)


def test_hostile_text_renders_as_written_and_starts_no_command() -> None:
    result = reports.scan("hostile").result()
    markdown = summary.render(result, Style())
    assert commands(markdown) == []
    rendered = MARKDOWN.render(markdown)
    assert "<script" not in rendered and "<b>" not in rendered
    names = [row[0] for row in cells(markdown)]
    pictured = {c: markup.control_picture(chr(c)) for c in (*range(0x20), 0x7F) if chr(c) not in "\t\r\n"}
    assert names == [case.name.translate(pictured) for case in result.cases]
    details = [f.detail for case in result.cases for f in case.findings if f.detail]
    assert raw_blocks(rendered) == details


def test_summary_stays_under_the_limit_with_a_note() -> None:
    base = reports.normalised("fanout")
    many = tuple(  # 200 copies of each case, each with findings of its own (at lines of their own)
        case._replace(name=f"{case.name}#{i}",
                      findings=tuple(f._replace(line=f.line + 1000 * i) for f in case.findings))
        for i in range(200) for case in base.cases)
    big = ScanResult(base.manifest, many)
    markdown = summary.markdown(big, Style(others=("the SARIF report x.sarif",)))
    assert len(summary.markdown(big, Style(), limit=10**9).encode()) > summary.LIMIT
    assert len(markdown.encode()) <= summary.LIMIT
    assert "**Truncated:**" in markdown and "the SARIF report x.sarif" in markdown
    small = summary.markdown(big, Style(), limit=5000)
    assert len(small.encode()) <= 5000 and small.rstrip().endswith("the log.")
    assert MARKDOWN.render(small).count("<tr>") > 1  # the table's head and the rows that fit
