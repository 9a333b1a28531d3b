"""The invariant: a dequantize node that feeds a quantized op has exactly one user.

Backends (ExecuTorch XNNPACK/Arm/QNN, Inductor x86, OpenVINO) partition a converted graph into
`dequantize -> op -> quantize` groups. A dequantize shared by several ops belongs to no single
group: partitioners reject the pattern or silently leave the ops in float. `convert_pt2e` runs
DuplicateDQPass to give every annotated consumer a private copy, but it only knows three
`quantized_decomposed` overloads, so torchao's affine ops and the per-token/per-group ops stay
shared, and it leaves the dynamic-quantization chain `choose_qparams -> getitem -> quantize ->
dequantize` shared on purpose. That last case is reported under its own rule (DQG002) so backends
that accept it can ignore it.

A quantized op is a node whose `quantization_annotation` is valid as DuplicateDQPass judges it: a
non-empty input map or an output spec. An empty annotation marks a node the quantizer looked at
and left in float. `sym_size` users only read a shape; they never make a dequantize shared.

A converted graph with no quantized op at all (DQG003) means the quantizer matched nothing and the
check would verify nothing, which is reported rather than passed.
"""

import operator
from pathlib import Path
from typing import Any

import torch

from dqguard.locate import user_frame
from dqguard.records import Finding, NodeRef

DEQUANTIZE_OPS = frozenset({
    "quantized_decomposed::dequantize_per_tensor",
    "quantized_decomposed::dequantize_per_channel",
    "quantized_decomposed::dequantize_per_channel_group",
    "quantized_decomposed::dequantize_per_token",
    "torchao::dequantize_affine",
})
QUANTIZE_OPS = frozenset({
    "quantized_decomposed::quantize_per_tensor",
    "quantized_decomposed::quantize_per_channel",
    "quantized_decomposed::quantize_per_channel_group",
    "quantized_decomposed::quantize_per_token",
    "torchao::quantize_affine",
})
CHOOSE_QPARAMS_OPS = frozenset({
    "quantized_decomposed::choose_qparams",
    "quantized_decomposed::choose_qparams_symmetric",
    "quantized_decomposed::choose_qparams_per_token",
    "quantized_decomposed::choose_qparams_per_token_asymmetric",
    "torchao::choose_qparams_affine",
})
_SYM_SIZE = "aten::sym_size"
_ANNOTATION_KEY = "quantization_annotation"


def op_name(node: torch.fx.Node) -> str | None:
    """The op's qualified packet name, whether the target is an overload or the packet itself."""
    if node.op != "call_function":
        return None
    packet = getattr(node.target, "overloadpacket", node.target)
    name = getattr(packet, "_qualified_op_name", None)
    return name if isinstance(name, str) else None


def is_quantized(node: torch.fx.Node) -> bool:
    annotation: Any = node.meta.get(_ANNOTATION_KEY)
    if annotation is None:
        return False
    return bool(annotation.input_qspec_map) or annotation.output_qspec is not None


def _is_dynamic(dequantize: torch.fx.Node) -> bool:
    source = dequantize.args[0] if dequantize.args else None
    if not isinstance(source, torch.fx.Node) or op_name(source) not in QUANTIZE_OPS:
        return False
    return any(
        arg.target is operator.getitem
        and isinstance(arg.args[0], torch.fx.Node)
        and op_name(arg.args[0]) in CHOOSE_QPARAMS_OPS
        for arg in source.all_input_nodes
        if arg.op == "call_function"
    )


def _describe(node: torch.fx.Node) -> str:
    if node.op == "placeholder":
        return "input"
    if node.op == "get_attr":
        return "constant"
    name = op_name(node)
    if name is not None:
        return name.split("::", 1)[1]
    return getattr(node.target, "__name__", str(node.target))


def _ref(node: torch.fx.Node, root: Path) -> NodeRef:
    frame = user_frame(node.meta.get("stack_trace"), root)
    path, line = frame if frame else (None, None)
    return NodeRef(node=node.name, target=_describe(node), path=path, line=line)


def _producer(dequantize: torch.fx.Node) -> torch.fx.Node | None:
    source = dequantize.args[0] if dequantize.args else None
    if not isinstance(source, torch.fx.Node):
        return None
    if op_name(source) in QUANTIZE_OPS and source.args and isinstance(source.args[0], torch.fx.Node):
        return source.args[0]
    return source


def _where(ref: NodeRef) -> str:
    return f"{ref.node} at line {ref.line}" if ref.line is not None else ref.node


def check(graph: torch.fx.Graph, root: Path, fallback: tuple[str, int]) -> list[Finding]:
    """Findings for `graph`; `fallback` is where a finding goes when no frame is in the repo."""
    nodes = list(graph.nodes)
    if not any(is_quantized(node) for node in nodes):
        path, line = fallback
        return [Finding(
            rule="DQG003",
            message="nothing is quantized: the converted graph has no quantized op, so there is "
            "nothing to check (the quantizer matched no op of this model)",
            path=path,
            line=line,
        )]
    position = {node: index for index, node in enumerate(nodes)}
    findings = []
    for node in nodes:
        if op_name(node) not in DEQUANTIZE_OPS:
            continue
        users = sorted((u for u in node.users if op_name(u) != _SYM_SIZE), key=position.__getitem__)
        quantized = [u for u in users if is_quantized(u)]
        if len(users) < 2 or not quantized:
            continue
        refs = tuple(_ref(u, root) for u in users)
        quantized_refs = [r for r, u in zip(refs, users, strict=True) if u in quantized]
        others = [r for r, u in zip(refs, users, strict=True) if u not in quantized]
        producer_node = _producer(node)
        producer = _ref(producer_node, root) if producer_node is not None else None
        primary = next((r for r in quantized_refs if r.path is not None and r.line is not None), None)
        path, line = fallback
        if primary is not None and primary.path is not None and primary.line is not None:
            path, line = primary.path, primary.line
        dynamic = _is_dynamic(node)
        message = (
            f"{node.name} is shared by {len(quantized)} quantized op"
            f"{'s' if len(quantized) != 1 else ''} ({', '.join(_where(r) for r in quantized_refs)})"
        )
        if others:
            message += f" and {len(others)} other user{'s' if len(others) != 1 else ''} "
            message += f"({', '.join(_where(r) for r in others)})"
        if producer is not None:
            message += f"; it dequantizes {_where(producer)}"
        if dynamic:
            message += "; dynamic quantization, left shared by DuplicateDQPass"
        findings.append(Finding(
            rule="DQG002" if dynamic else "DQG001",
            message=message,
            path=path,
            line=line,
            dequantize=node.name,
            users=refs,
            producer=producer,
        ))
    return findings
