"""The check on real converted graphs from the scenario repositories."""

from pathlib import Path

import pytest
import torch
from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import X86InductorQuantizer
from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer

from dqguard.check.nodes import graphs
from dqguard.check.ops import DEQUANTIZE_OPS, op_name
from dqguard.check.quantized import by_annotation
from dqguard.check.sharing import check
from dqguard.worker import flows
from testing import RESOURCES, expected_line
from testing.inprocess import InProcess
from testing.lines import current, verdicts

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
    assert not any(by_annotation(u) for u in shared.users)


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


def test_shape_queries_do_not_make_a_dequantize_shared(in_process: InProcess) -> None:
    converted = in_process.convert("seed", "chain")
    graph = converted.graph
    dequantize = _single_user_dequantize(graph)
    with graph.inserting_after(dequantize):
        graph.call_function(torch.ops.aten.sym_size.int, (dequantize, 0))
        graph.call_function(torch.ops.aten.sym_numel.default, (dequantize,))
    assert check(converted, Path("/nonexistent"), ("dqguard.toml", 1)) == []

    with graph.inserting_after(dequantize):
        graph.call_function(torch.ops.aten.relu.default, (dequantize,))
    [finding] = check(converted, RESOURCES / "seed", ("dqguard.toml", 1))
    assert finding.rule == "DQG001"
    relu, conv = finding.users
    # The inserted relu has no stack trace: the finding goes to the quantized consumer's line.
    assert (relu.target, relu.line, conv.target) == ("relu", None, "conv2d")
    assert (finding.path, finding.line) == ("seed_models.py", conv.line)


def test_a_consumer_reached_only_through_kwargs_counts(in_process: InProcess) -> None:
    converted = in_process.convert("seed", "chain")
    graph = converted.graph
    dequantize = _single_user_dequantize(graph)
    [consumer] = dequantize.users
    with graph.inserting_after(dequantize):
        ones = graph.call_function(torch.ops.aten.ones_like.default, (consumer,))
        user = graph.call_function(torch.ops.aten.mul.Tensor, (ones,), {"other": dequantize})
    assert dequantize not in user.args
    [finding] = check(converted, Path("/nonexistent"), ("dqguard.toml", 1))
    assert sorted(u.node for u in finding.users) == sorted([consumer.name, user.name])


def test_a_shared_dequantize_in_a_while_loop_body_is_found(in_process: InProcess) -> None:
    # prepare_pt2e and convert_pt2e quantize while_loop bodies as graphs of their own; the
    # top-level graph holds no quantized op at all.
    converted = in_process.convert("findings", "loop/dynamic")
    assert not any(by_annotation(n) for n in converted.graph.nodes)
    [finding] = in_process.run("findings", "loop/dynamic").findings
    [rule] = verdicts("testing/resources/findings", current())["loop/dynamic"]
    assert finding.rule == rule
    if rule == "DQG002":
        assert len(finding.users) == 3
        assert (finding.path, finding.line) == ("graphs.py", expected_line(GRAPHS, "loop body"))
    else:
        # This torch's prepare left the body alone as well (torch 2.9): the body is there, in float.
        bodies = [module for module in graphs(converted) if module is not converted]
        assert bodies and not any(by_annotation(n) for module in bodies for n in module.graph.nodes)
        assert finding.rule == "DQG003"


def test_annotations_that_quantize_nothing_are_a_finding(in_process: InProcess) -> None:
    converted = in_process.convert("findings", "three-heads/half")
    assert sum(by_annotation(n) for n in converted.graph.nodes) == 3
    assert not any(op_name(n) in DEQUANTIZE_OPS for n in converted.graph.nodes)
    [finding] = in_process.run("findings", "three-heads/half").findings
    assert finding.rule == "DQG003"
    assert "annotated 3 ops but convert produced no quantize or dequantize op" in finding.message


def test_messages_say_why_convert_left_each_family_shared(in_process: InProcess) -> None:
    [dynamic] = in_process.run("findings", "three-heads/dynamic").findings
    assert dynamic.message.endswith("; dynamic quantization: DuplicateDQPass leaves the choose_qparams "
                                    "-> quantize -> dequantize chain shared on purpose")
    [affine] = in_process.run("findings", "three-heads/per-token").findings
    assert affine.message.endswith("; DuplicateDQPass never de-duplicates dequantize_affine")


@pytest.fixture
def without_duplicate_dq_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch.fx.passes.infra.pass_base import PassResult
    from torchao.quantization.pt2e.quantizer import DuplicateDQPass

    monkeypatch.setattr(DuplicateDQPass, "call", lambda self, module: PassResult(module, False))


@pytest.mark.parametrize(("name", "rules"), [
    ("chain", []),
    ("fan-out", ["DQG001"]),
    ("fan-out-add-not-quantized", ["DQG001"]),
    ("pool-own-config", ["DQG001"]),
])
def test_the_check_flags_the_seed_graphs_when_convert_does_not_duplicate(
    in_process: InProcess, without_duplicate_dq_pass: None, name: str, rules: list[str]
) -> None:
    # The negative control: the seed's graphs are clean because of DuplicateDQPass, and the check
    # sees it. Without the pass, every graph the pass mends is flagged on its real converted form.
    assert [f.rule for f in in_process.run("seed", name).findings] == rules


def test_sharing_survives_re_export_without_annotations(in_process: InProcess) -> None:
    converted = in_process.convert("findings", "three-heads/per-token")
    program = torch.export.export(converted, (torch.randn(2, 4, 16),), strict=False)
    graph = program.graph
    assert not any("quantization_annotation" in n.meta for n in graph.nodes)
    assert len(_shared_dequantizes(graph)) == 1
    # Without annotations the structure says which ops are quantized (dqguard.check.quantized): the
    # sharing is still found, not passed as "nothing quantized".
    [finding] = check(program.graph_module, Path("/nonexistent"), ("dqguard.toml", 1))
    assert finding.rule == "DQG001"
    assert len(finding.users) == 3


def test_inductor_copies_a_shared_per_tensor_dequantize_so_it_is_resolved_not_reported(
        in_process: InProcess) -> None:
    # Inductor's freezing passes copy a per-tensor dequantize for each user before they fuse; an
    # affine one they never touch. Both sharings, on every torch line (testing/verdicts.toml).
    root, fallback = RESOURCES / "findings", ("dqguard.toml", 1)
    dynamic = in_process.convert("findings", "three-heads/dynamic")
    [as_lowered] = check(dynamic, root, fallback)
    assert (as_lowered.rule, as_lowered.resolved_by) == ("DQG002", None)
    assert check(dynamic, root, fallback, inductor=True) == [as_lowered._replace(resolved_by="inductor")]
    affine = in_process.convert("findings", "three-heads/per-token")
    [kept] = check(affine, root, fallback, inductor=True)
    assert (kept.rule, kept.resolved_by) == ("DQG001", None)


def test_a_case_under_an_inductor_quantizer_records_what_inductor_resolves(in_process: InProcess) -> None:
    # A decoder under X86InductorQuantizer's dynamic config: on torch 2.13 and 2.14 convert leaves
    # each layer's q/k/v projections one shared chain (2.9's torchao gives each its own).
    converted = in_process.convert("llm", "llama-tiny/x86-dynamic")
    shared = check(converted, RESOURCES / "llm", ("dqguard.toml", 1))
    result = in_process.run("llm", "llama-tiny/x86-dynamic")
    assert (result.status, result.findings) == ("ok", ())
    assert [f.message for f in result.resolved] == [f.message for f in shared]
    assert {(f.stage, f.resolved_by) for f in result.resolved} <= {("convert", "inductor")}
    assert flows.compiled_by_inductor(X86InductorQuantizer())
    assert not flows.compiled_by_inductor(XNNPACKQuantizer())
