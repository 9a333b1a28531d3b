"""Coverage by compute where people look, rendered from records: the `-v` line, the summary's bar
and partition picture, SARIF's run properties, explain's table. Real scans: tests/test_coverage.py."""

import re

from dqguard.commands import explain
from dqguard.records import ScanResult, Segment
from dqguard.report import partition, sarif, summary, text
from dqguard.report.style import Style
from testing.lowered import SPLIT, UNSUPPORTED, WHOLE, case

LINE = ("coverage 0.25 (27.6 kFLOPs of 111 kFLOPs delegated, 2 delegates, 3 ops outside: convolution "
        "(volume) at models.py:31, 82.9 kFLOPs; dequantize_per_channel (volume) at models.py:31, 0 FLOPs; "
        "_adaptive_avg_pool2d (pool) at models.py:33, 0 FLOPs)")


def _result(*delegations: object) -> ScanResult:
    return ScanResult("dqguard.toml", tuple(case(d, f"case{i}") for i, d in enumerate(delegations)))  # type: ignore[arg-type]


def test_the_line_says_coverage_compute_delegates_and_what_stayed_out() -> None:
    assert partition.line(UNSUPPORTED) == LINE
    assert partition.line(WHOLE) == ("coverage 1.00 (6.14 kFLOPs of 6.14 kFLOPs delegated, 1 delegate, "
                                     "0 ops outside)")
    assert partition.line(WHOLE._replace(coverage=None)) is None
    assert partition.line(WHOLE._replace(flops=0, flops_delegated=0)) == (
        "coverage 1.00 (by ops: no FLOPs to count, 1 delegate, 0 ops outside)")


def test_text_shows_the_line_with_v_only() -> None:
    result = _result(UNSUPPORTED, None)
    assert f"    {LINE}\n" in text.render(result, Style(verbose=True))
    assert "coverage" not in text.render(result, Style())


def test_the_bar_leaves_a_cell_white_unless_everything_is_delegated() -> None:
    assert partition.bar(0.91) == "█████████░ 91 %"
    assert partition.bar(0.999) == "█████████░ 99 %"
    assert partition.bar(1.0) == "██████████ 100 %"
    assert partition.bar(0.0) == "░░░░░░░░░░ 0 %"


def test_the_summary_has_a_bar_per_lowered_case_and_the_partition_in_program_order() -> None:
    markdown = summary.render(_result(UNSUPPORTED, None), Style())
    assert "| `case0` | XnnpackBackend | 2 | 16 | 3 | `███░░░░░░░ 25 %` of 111 kFLOPs |" in markdown
    [chart] = re.findall(r"```mermaid\n(.*?)```", markdown, re.S)
    boxes = re.findall(r"^  s\d\[(.*)\]$", chart, re.M)
    assert boxes == ['"CPU<br/>dequantize_per_channel<br/>0 FLOPs"',
                     '"XnnpackBackend<br/>11 ops<br/>27.6 kFLOPs"',
                     '"CPU<br/>convolution, _adaptive_avg_pool2d<br/>82.9 kFLOPs"',
                     '"XnnpackBackend<br/>5 ops<br/>0 FLOPs"']
    assert "s0 --> s1" in chart and "s2 --> s3" in chart


def test_a_long_partition_folds_its_middle_and_an_island_its_runs() -> None:
    island = Segment(None, 9, 0, ("expand_copy",) * 3 + ("add", "mul", "div", "sub", "neg", "abs"))
    segments = tuple(Segment("XnnpackBackend", 3, 100) if i % 2 else island for i in range(41))
    chart = partition.flowchart(WHOLE._replace(partition=segments, delegates=20))
    assert len(re.findall(r"^  s\d+\[", chart, re.M)) == partition.SEGMENTS + 1
    assert "29 more segments: 14 delegates<br/>135 CPU ops<br/>1.4 kFLOPs" in chart
    assert "CPU<br/>expand_copy x3, add, mul, div +3 more<br/>0 FLOPs" in chart


def test_the_table_rows_are_segments_with_their_share() -> None:
    assert partition.rows(UNSUPPORTED) == [
        ("1", "CPU", "1: dequantize_per_channel", "0 FLOPs", "0.0 %"),
        ("2", "XnnpackBackend", "11", "27.6 kFLOPs", "25.0 %"),
        ("3", "CPU", "2: convolution, _adaptive_avg_pool2d", "82.9 kFLOPs", "75.0 %"),
        ("4", "XnnpackBackend", "5", "0 FLOPs", "0.0 %"),
    ]
    assert partition.table(SPLIT).splitlines()[0].split() == ["#", "runs", "on", "ops", "FLOPs", "share"]


def test_sarif_carries_each_lowered_cases_coverage_in_the_run() -> None:
    document = sarif.document(_result(UNSUPPORTED, None))
    assert document["runs"][0]["properties"]["dqguard"]["delegation"] == {
        "case0": {"backends": ["XnnpackBackend"], "delegates": 2, "coverage": 0.25, "flops": 110592,
                  "flops_delegated": 27648}}
    assert "properties" not in sarif.document(_result(None))["runs"][0]


def test_the_backends_own_figures_are_shown_beside_dqguards() -> None:
    vela = {"accelerator": "Ethos_U55_128", "cpu_ops": 0, "npu_ops": 6, "macs": 1000, "sram_kib": 1.5}
    markdown = summary.render(_result(WHOLE._replace(figures=(vela,))), Style())
    assert ("- The backend's own figures, delegate 1: accelerator Ethos\\_U55\\_128, cpu\\_ops 0, "
            "npu\\_ops 6, macs 1000, sram\\_kib 1.5") in markdown


def test_explain_draws_the_partition_after_the_findings() -> None:
    drawn = explain.markdown([], "volume", UNSUPPORTED)
    assert drawn.startswith(f"# dqguard explain volume\n\n## Partition\n\n{LINE}\n\n```mermaid\n")
    assert "Partition" not in explain.markdown([], "merged", None)
