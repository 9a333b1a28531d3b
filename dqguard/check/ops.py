"""The ops dqguard recognises in a quantized graph, and their names. Worker side: imports torch.

The sets are wider than what torchao 0.18's convert emits (per-tensor `default` and `tensor`,
per-channel, and `torchao.dequantize_affine`): the per-token and per-group ops are what older
torch.ao flows and hand-written passes produce, and a shared one is as much a problem. Names are
packet names (`namespace::op`), so they match an overload, the packet convert emits for affine
ops, and ExecuTorch's edge ops alike (an `EdgeOpOverload` answers for the op it wraps).
"""

import operator

import torch

DEQUANTIZE_OPS = frozenset({
    "quantized_decomposed::dequantize_per_tensor",
    "quantized_decomposed::dequantize_per_channel",
    "quantized_decomposed::dequantize_per_channel_group",
    "quantized_decomposed::dequantize_per_token",
    "torchao::dequantize_affine",
    "pt2e_quant::dequantize_affine",  # torch.ao's own affine ops (torch <= 2.12)
})
QUANTIZE_OPS = frozenset({
    "quantized_decomposed::quantize_per_tensor",
    "quantized_decomposed::quantize_per_channel",
    "quantized_decomposed::quantize_per_channel_group",
    "quantized_decomposed::quantize_per_token",
    "torchao::quantize_affine",
    "pt2e_quant::quantize_affine",
})
CHOOSE_QPARAMS_OPS = frozenset({
    "quantized_decomposed::choose_qparams",
    "quantized_decomposed::choose_qparams_symmetric",
    "quantized_decomposed::choose_qparams_per_token",
    "quantized_decomposed::choose_qparams_per_token_asymmetric",
    "torchao::choose_qparams_affine",
    "pt2e_quant::choose_qparams_affine",
})
# What Inductor's freezing passes copy for each user before they fuse ("dequant promotion" in
# torch/_inductor/fx_passes/quantization.py): a graph Inductor compiles never keeps one shared.
PROMOTED_BY_INDUCTOR = frozenset({
    "quantized_decomposed::dequantize_per_tensor.default",
    "quantized_decomposed::dequantize_per_tensor.tensor",
})
# The dequantize overloads DuplicateDQPass duplicates (torchao 0.18, torch.ao alike), and the one
# dynamic chain it leaves shared on purpose.
DUPLICATED_BY_CONVERT = frozenset({
    "quantized_decomposed::dequantize_per_tensor.default",
    "quantized_decomposed::dequantize_per_tensor.tensor",
    "quantized_decomposed::dequantize_per_channel.default",
})
SHAPE_QUERIES = frozenset({"aten::sym_size", "aten::sym_numel", "aten::sym_stride"})
# Ops that only move or re-view a value: never a quantized op, even when their output is quantized
# again. The `_copy` forms are what to_edge turns the others into.
PASS_THROUGH = frozenset(f"aten::{name}" for base in (
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "flatten", "unflatten", "squeeze",
    "unsqueeze", "expand", "contiguous", "clone", "alias", "detach", "dropout",
) for name in (base, f"{base}_copy"))


def first_input(node: torch.fx.Node) -> torch.fx.Node | None:
    """What a quantize, dequantize, pass-through op or delegate call reads: its first argument,
    when that is a node (a literal scale is not)."""
    value = node.args[0] if node.args else None
    return value if isinstance(value, torch.fx.Node) else None


def op_name(node: torch.fx.Node) -> str | None:
    """The op's qualified packet name, whether the target is an overload or the packet itself."""
    if node.op != "call_function":
        return None
    packet = getattr(node.target, "overloadpacket", node.target)
    name = getattr(packet, "_qualified_op_name", None)
    return name if isinstance(name, str) else None


def overload_name(node: torch.fx.Node) -> str | None:
    """`namespace::op.overload`, or None when the target is a packet (or no op at all)."""
    name = op_name(node)
    overload = getattr(node.target, "_overloadname", None)
    return f"{name}.{overload}" if name and isinstance(overload, str) else None


def chooser(dequantize: torch.fx.Node) -> torch.fx.Node | None:
    """The choose_qparams node of a dynamic chain ending in `dequantize`, if it is one."""
    quantize = first_input(dequantize)
    if quantize is None or op_name(quantize) not in QUANTIZE_OPS:
        return None
    for arg in quantize.all_input_nodes:
        if arg.op == "call_function" and arg.target is operator.getitem:
            chosen = first_input(arg)
            if chosen is not None and op_name(chosen) in CHOOSE_QPARAMS_OPS:
                return chosen
    return None
