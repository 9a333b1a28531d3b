"""What a lowering did with the quantized ops: DQG004 (an op left outside every delegate) and
DQG005 (a delegate count other than the case's `delegates`). Worker side.

A lowered program's top-level graph holds one `executorch_call_delegate` call per delegate and the
ops no partitioner took, which run on the portable CPU kernels. An op left outside is quantized
when either graph says so:

- in the lowered graph itself, by the structural definition (`dqguard.check.quantized`): it reads a
  dequantize left outside too, or feeds a quantize (`dequantize_per_channel -> convolution`);
- in the graph the lowering was handed: an op created by the same line of the user's code in the
  same module (`stack_trace`, `nn_module_stack`, which lowering keeps) was quantized there. This
  is what finds an op whose quantize and dequantize both went into the delegates around it
  (`delegate -> _adaptive_avg_pool2d -> delegate`), and it needs no node name to survive
  `to_edge`, which renames every node.

A quantize, dequantize or choose_qparams op left outside is reported with the op it feeds or
reads, or on its own when it has none outside.

Exempt: the program's float interface, a quantize that reads one of the model's inputs and a
dequantize whose only users are the outputs. A backend whose profile takes integers only (TOSA's,
so Ethos-U's) leaves these two to the CPU by design (ExecuTorch's TOSAPartitioner un-tags them):
they convert the caller's float tensors once on the way in and out, no quantized op runs in float
for them, and every integer-only lowering would otherwise fail on them. Next to an op that was
left outside they are still reported with it.
"""

import operator
from pathlib import Path
from typing import Any

import torch

from dqguard.check.nodes import graphs, module_path, node_ref
from dqguard.check.ops import (
    CHOOSE_QPARAMS_OPS,
    DEQUANTIZE_OPS,
    QUANTIZE_OPS,
    SHAPE_QUERIES,
    first_input,
    op_name,
)
from dqguard.check.quantized import Quantized, Structure
from dqguard.locate import user_frame
from dqguard.records import Delegation, Finding
from dqguard.words import plural

DELEGATE_CALL = "executorch_call_delegate"
QDQ = QUANTIZE_OPS | DEQUANTIZE_OPS | CHOOSE_QPARAMS_OPS
# Nodes of a lowered graph that are no op of the model: shape queries and asserts on sizes.
_SHAPE_BOOKKEEPING = SHAPE_QUERIES | {"aten::_assert_scalar", "aten::_assert_async",
                                      "aten::sym_constrain_range", "aten::sym_constrain_range_for_size"}

Origin = tuple[tuple[str, int] | None, str | None]


def is_delegate_call(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and getattr(node.target, "__name__", None) == DELEGATE_CALL


def delegate_calls(graph_module: torch.fx.GraphModule) -> list[torch.fx.Node]:
    return [node for node in graph_module.graph.nodes if is_delegate_call(node)]


def lowered_module(graph_module: torch.fx.GraphModule, call: torch.fx.Node) -> Any:
    """The LoweredBackendModule a delegate call runs (`backend_id`, `original_module`)."""
    holder = first_input(call)
    return getattr(graph_module, str(holder.target)) if holder is not None else None


def backend_of(lowered: Any) -> str:
    return str(getattr(lowered, "backend_id", "unknown"))


def _counted(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and node.target is not operator.getitem and not is_delegate_call(node)


def is_op(node: torch.fx.Node) -> bool:
    """A node that runs an op of the model: not a delegate call, a getitem, symbolic-int arithmetic
    (`operator.mul` on sizes), a shape query or an assert on a size."""
    return (_counted(node) and getattr(node.target, "__module__", None) not in ("_operator", "operator")
            and op_name(node) not in _SHAPE_BOOKKEEPING)


def delegation(graph_module: torch.fx.GraphModule) -> Delegation:
    calls = delegate_calls(graph_module)
    backends: set[str] = set()
    inside = 0
    for call in calls:
        lowered = lowered_module(graph_module, call)
        backends.add(backend_of(lowered))
        original = getattr(lowered, "original_module", None)
        if original is not None:
            inside += sum(_counted(node) for node in original.graph_module.graph.nodes)
    outside = sum(_counted(node) for node in graph_module.graph.nodes)
    return Delegation(backends=tuple(sorted(backends)), delegates=len(calls), delegated_ops=inside,
                      non_delegated_ops=outside)


def origin(node: torch.fx.Node, root: Path) -> Origin:
    """Where the user's code made `node`: its line and its module's path."""
    return user_frame(node.meta.get("stack_trace"), root), module_path(node)


def quantized_origins(handed: list[torch.fx.GraphModule], quantized: Quantized, root: Path) -> set[Origin]:
    found = set()
    for module in handed:
        for node in module.graph.nodes:
            if quantized(node):
                where = origin(node, root)
                if where[0] is not None:
                    found.add(where)
    return found


def target_name(node: torch.fx.Node) -> str:
    """The op as a message names it: `aten.convolution.default`."""
    return str(getattr(node.target, "__name__", node.target))


def not_delegated(lowered: torch.fx.GraphModule, constants: frozenset[str], origins: set[Origin],
                  stage: str, root: Path, fallback: tuple[str, int]) -> list[Finding]:
    """DQG004 for each quantized op (and quantize/dequantize op) left outside the delegates."""
    backend = ", ".join(delegation(lowered).backends)
    structure = Structure(constants)
    findings = []
    for module in graphs(lowered):
        outside = [n for n in module.graph.nodes if is_op(n)]
        qdq = [n for n in outside if op_name(n) in QDQ]
        reported: set[torch.fx.Node] = set()
        for node in outside:
            if node in qdq or not (structure.quantized(node) or origin(node, root) in origins):
                continue
            near = [n for n in qdq if n in node.all_input_nodes or n in node.users]
            reported.update(near)
            message = (f"was quantized but stays outside every {backend} delegate: "
                       "it runs in float on the portable CPU kernels")
            if near:
                message += f", and so do {', '.join(target_name(n) for n in near)}"
            findings.append(_finding(node, message, stage, root, fallback))
        for node in qdq:
            if node not in reported and not (module is lowered and _float_interface(node, constants)):
                findings.append(_finding(node, f"stays outside every {backend} delegate: "
                                         "it runs on the portable CPU kernels", stage, root, fallback))
    return findings


def _float_interface(node: torch.fx.Node, constants: frozenset[str]) -> bool:
    """A quantize of a model input, or a dequantize read by the outputs alone."""
    if op_name(node) in QUANTIZE_OPS:
        source = first_input(node)
        return source is not None and source.op == "placeholder" and source.name not in constants
    return op_name(node) in DEQUANTIZE_OPS and bool(node.users) and all(
        user.op == "output" for user in node.users)


def _finding(node: torch.fx.Node, predicate: str, stage: str, root: Path,
             fallback: tuple[str, int]) -> Finding:
    """`aten.convolution.default in encoder.layers.3.conv PREDICATE`: the submodule tells apart
    the ops one line of the user's made (every layer of a loop, every op of a wrapped library model)."""
    ref = node_ref(node, root)
    path, line = (ref.path, ref.line) if ref.path is not None and ref.line is not None else fallback
    where = f" in {ref.module}" if ref.module else ""
    return Finding(rule="DQG004", message=f"{target_name(node)}{where} {predicate}", path=path, line=line,
                   users=(ref,), stage=stage)


def changed(expected: int, actual: Delegation | None, stage: str | None,
            fallback: tuple[str, int]) -> Finding:
    count = actual.delegates if actual is not None else 0
    where = f" ({', '.join(actual.backends)})" if actual is not None and actual.backends else ""
    return Finding(rule="DQG005", message=f"expected {plural(expected, 'delegate')}, "
                   f"the lowered program has {count}{where}", path=fallback[0], line=fallback[1],
                   stage=stage)
