"""`dqguard explain CASE`: one case through the real runner, each finding's neighbourhood."""

import re
from pathlib import Path

import pytest

from testing import RESOURCES, copy_repo, dqguard, expected_line, poisoned_torch

BLOCKS = RESOURCES / "zoo" / "models" / "blocks.py"
CASE = "zoo/Projections/xnnpack_dynamic"


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo("zoo", tmp_path_factory.mktemp("zoo"))


def test_explain_prints_producer_chain_dequantize_and_consumers_with_shapes(zoo: Path,
                                                                          tmp_path: Path) -> None:
    graph = tmp_path / "graph.svg"
    completed = dqguard("explain", CASE, "--graph", str(graph), cwd=zoo)
    assert completed.returncode == 1, completed.stderr
    line = expected_line(BLOCKS, "projections")
    out = completed.stdout
    assert f"models/blocks.py:{line}: DQG002 shared-dynamic-dequantize (warning) [{CASE}]" in out
    assert re.search(r"producer +tokens \(input\) \[1, 8, 16\] float32", out)
    assert "quantize    choose_qparams -> quantize" in out
    assert re.search(r"dequantize +\S+ \[1, 8, 16\] float32, shared by 3 ops", out)
    consumers = re.findall(r"consumer +(\S+) \((\S+)\) \[1, 8, 16\] float32 +at models/blocks.py:(\d+)", out)
    assert [(target, int(at)) for _, target, at in consumers] == [("linear", line + i) for i in range(3)]
    assert out.rstrip().endswith(f"{CASE}: findings, 1 finding\nwrote {graph}")
    svg = graph.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "shared by 3 ops" in svg  # rendered by dot


def test_explain_writes_dot_and_mermaid(zoo: Path, tmp_path: Path) -> None:
    # Mermaid labels spell brackets as entities (report.markup.mermaid_label).
    for suffix, marker, shape in ((".dot", "digraph dqguard {", "[1, 8, 16] float32"),
                                  (".md", "```mermaid", "#91;1, 8, 16#93; float32")):
        graph = tmp_path / f"graph{suffix}"
        completed = dqguard("explain", CASE, "--graph", str(graph), cwd=zoo)
        assert completed.returncode == 1, completed.stderr
        text = graph.read_text()
        assert marker in text and "shared by 3 ops" in text and shape in text


def test_a_clean_case_explains_nothing_and_exits_0(zoo: Path) -> None:
    completed = dqguard("explain", "zoo/conv/xnnpack_static", cwd=zoo)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "zoo/conv/xnnpack_static: ok\n"


@pytest.mark.parametrize(("args", "message"), [
    (("zoo/*",), "'zoo/*' matches 6 cases (zoo/conv/xnnpack_static, "),
    (("nothing",), "--case 'nothing' matches no case in the manifest"),
    ((CASE, "--graph", "out.png"), "--graph out.png: the suffix picks the format: .svg, .dot, .md"),
])
def test_explain_usage_errors_run_nothing(zoo: Path, tmp_path: Path, args: tuple[str, ...],
                                          message: str) -> None:
    completed = dqguard("explain", *args, cwd=zoo, env=poisoned_torch(tmp_path))
    assert completed.returncode == 2
    assert message in completed.stderr
