"""The check on real converted graphs from the scenario repositories."""

import operator
from pathlib import Path

import pytest
import torch

from dqguard.check import DEQUANTIZE_OPS, check, is_quantized, op_name
from testing import RESOURCES, expected_line
from tests.conftest import InProcess

GRAPHS = RESOURCES / "findings" / "graphs.py"


def _shared_dequantizes(graph: torch.fx.Graph) -> list[torch.fx.Node]:
    return [n for n in graph.nodes if op_name(n) in DEQUANTIZE_OPS and len(n.users) > 1]


@pytest.mark.parametrize("name", ["chain", "fan-out", "fan-out-add-not-quantized", "pool-own-config"])
def test_seed_scenarios_are_clean(in_process: InProcess, name: str) -> None:
    result = in_process.run("seed", name)
    assert result.status == "ok", result.findings
    assert set(result.phases) == {"import", "export", "prepare", "calibrate", "convert", "check"}


def test_a_dequantize_shared_only_by_float_ops_is_fine(in_process: InProcess) -> None:
    # add and mul stay in float and keep the original dequantize between them: that is no group
    # boundary a backend has to decide, so it is not a finding.
    graph = in_process.convert("seed", "fan-out-add-not-quantized").graph
    [shared] = _shared_dequantizes(graph)
    assert {torch.ops.aten.add.Tensor, torch.ops.aten.mul.Tensor} <= {u.target for u in shared.users}
    assert not any(is_quantized(u) for u in shared.users)


def test_dynamic_quantization_shares_one_dequantize(in_process: InProcess) -> None:
    result = in_process.run("findings", "three-heads/dynamic")
    [finding] = result.findings
    assert finding.rule == "DQG002"
    assert finding.dequantize == "dequantize_per_tensor_tensor"
    assert [u.node for u in finding.users] == ["linear", "linear_1", "linear_2"]
    lines = [expected_line(GRAPHS, m) for m in ("first consumer", "second consumer", "third consumer")]
    assert [u.line for u in finding.users] == lines
    assert {u.path for u in finding.users} == {"graphs.py"}
    assert (finding.path, finding.line) == ("graphs.py", lines[0])
    assert finding.producer is not None
    assert (finding.producer.node, finding.producer.target) == ("tokens", "input")


def test_affine_dequantize_is_caught_as_the_packet(in_process: InProcess) -> None:
    graph = in_process.convert("findings", "three-heads/per-token").graph
    [shared] = _shared_dequantizes(graph)
    # convert_pt2e emits the overload packet, not .default: the op list must match both.
    assert shared.target is torch.ops.torchao.dequantize_affine
    result = in_process.run("findings", "three-heads/per-token")
    [finding] = result.findings
    assert finding.rule == "DQG001"
    assert finding.dequantize == shared.name
    assert len(finding.users) == 3


def test_shared_dequantize_through_a_list_argument(in_process: InProcess) -> None:
    result = in_process.run("findings", "concat/per-token")
    [finding] = result.findings
    assert finding.rule == "DQG001"
    assert [u.target for u in finding.users] == ["cat", "linear"]
    assert finding.line == expected_line(GRAPHS, "cat consumer")
    assert finding.users[1].line == expected_line(GRAPHS, "linear consumer")


def test_empty_annotations_are_not_quantized_ops(in_process: InProcess) -> None:
    graph = in_process.convert("findings", "fan-out/empty-annotations").graph
    [shared] = _shared_dequantizes(graph)
    users = list(shared.users)
    assert {u.target for u in users} == {torch.ops.aten.relu.default, torch.ops.aten.sigmoid.default}
    # Both users carry an annotation object; the seed test's `is not None` would flag them.
    assert all(u.meta.get("quantization_annotation") is not None for u in users)
    assert in_process.run("findings", "fan-out/empty-annotations").status == "ok"


def test_a_quantizer_that_matches_nothing_is_a_finding(in_process: InProcess) -> None:
    result = in_process.run("findings", "three-heads/nothing")
    [finding] = result.findings
    assert finding.rule == "DQG003"
    assert (finding.path, finding.line) == ("dqguard.toml", 25)


def _single_user_dequantize(graph: torch.fx.Graph) -> torch.fx.Node:
    return next(n for n in graph.nodes if op_name(n) in DEQUANTIZE_OPS and len(n.users) == 1)


def test_sym_size_users_do_not_make_a_dequantize_shared(in_process: InProcess) -> None:
    graph = in_process.convert("seed", "chain").graph
    dequantize = _single_user_dequantize(graph)
    with graph.inserting_after(dequantize):
        graph.call_function(torch.ops.aten.sym_size.int, (dequantize, 0))
    assert check(graph, Path("/nonexistent"), ("dqguard.toml", 1)) == []

    with graph.inserting_after(dequantize):
        graph.call_function(torch.ops.aten.relu.default, (dequantize,))
    [finding] = check(graph, Path("/nonexistent"), ("dqguard.toml", 1))
    assert finding.rule == "DQG001"
    # No frame lies under the root: the finding falls back to the case's manifest line.
    assert (finding.path, finding.line) == ("dqguard.toml", 1)


def test_a_consumer_reached_through_kwargs_counts(in_process: InProcess) -> None:
    graph = in_process.convert("seed", "chain").graph
    dequantize = _single_user_dequantize(graph)
    with graph.inserting_after(dequantize):
        graph.call_function(torch.ops.aten.add.Tensor, (dequantize,), {"other": dequantize})
        graph.call_function(operator.neg, (dequantize,))
    [finding] = check(graph, Path("/nonexistent"), ("dqguard.toml", 1))
    assert len(finding.users) == 3


def test_sharing_survives_re_export_without_annotations(in_process: InProcess) -> None:
    converted = in_process.convert("findings", "three-heads/per-token")
    program = torch.export.export(converted, (torch.randn(2, 4, 16),), strict=False)
    graph = program.graph
    assert not any("quantization_annotation" in n.meta for n in graph.nodes)
    assert len(_shared_dequantizes(graph)) == 1
    # Without annotations nothing counts as quantized: the check says so instead of passing.
    [finding] = check(graph, Path("/nonexistent"), ("dqguard.toml", 1))
    assert finding.rule == "DQG003"
