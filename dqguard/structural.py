"""Structural mode: skip qparam searches whose numbers the verdict never reads.

Whether a dequantize is shared depends only on the converted graph's structure, never on the
values of scales and zero points. On real models nearly all of `convert_pt2e`'s time is
HistogramObserver's non-linear search for the best clipping range (minutes for a MobileViT). In
structural mode that search is replaced, per observer instance, by the plain min/max computation
the observer's own base class provides, which keeps the dtype, quant range, qscheme, reduce_range
and everything else that can shape the graph exactly as the quantizer configured it. Observer
types, shared and derived specs, dynamic flags and channel axes are untouched: only the numbers
written into the graph change.

Only classes on the allow-list are touched, matched by exact type, so a subclass with its own
calculate_qparams (or an unknown observer) runs unchanged. `--exact-qparams` (or `exact_qparams =
true` in the manifest) turns the mode off and reproduces the quantizer's own numbers.

For the same reason one calibration pass is enough: observers only need to have seen data, and
how much they saw moves numbers, not nodes. The manifest's `calibration` key stays for models
whose forward takes a different path on later calls.

`signature` is what "the same structure" means: tests/test_structural.py compares it between the
two modes on every scenario, bench/real_models.py on MobileViT, whose exact mode takes minutes.
"""

import types
from typing import Any

import torch

from dqguard.check import op_name

# Per-tensor quantize/dequantize carry scale and zero point as literal arguments, not nodes:
# these are the only values structural mode changes.
_LITERAL_QPARAM_OPS = frozenset({
    "quantized_decomposed::quantize_per_tensor",
    "quantized_decomposed::dequantize_per_tensor",
})
_QPARAM_POSITIONS = (1, 2)


def _allow_list() -> tuple[type, ...]:
    from torchao.quantization.pt2e.observer import HistogramObserver

    classes: list[type] = [HistogramObserver]
    try:
        from torch.ao.quantization.observer import HistogramObserver as TorchHistogramObserver
    except ImportError:  # torch.ao.quantization may go the way of quantize_pt2e
        pass
    else:
        classes.append(TorchHistogramObserver)
    return tuple(classes)


def _minmax_qparams(observer: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if observer.min_val == float("inf") and observer.max_val == float("-inf"):
        # Never observed: the original's own fallback is cheap and keeps its warning.
        return type(observer).calculate_qparams(observer)  # type: ignore[no-any-return]
    return observer._calculate_qparams(observer.min_val, observer.max_val)  # type: ignore[no-any-return]


def use_minmax_qparams(prepared: torch.nn.Module) -> int:
    """Make allow-listed observers in `prepared` compute qparams from min/max; returns how many."""
    allowed = _allow_list()
    count = 0
    for module in prepared.modules():
        if type(module) in allowed:
            # An instance attribute shadows the class's method for this observer alone.
            object.__setattr__(module, "calculate_qparams", types.MethodType(_minmax_qparams, module))
            count += 1
    return count


def _argument(value: Any, index: dict[torch.fx.Node, int]) -> Any:
    if isinstance(value, torch.fx.Node):
        return ["node", index[value]]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_argument(v, index) for v in value]]
    if isinstance(value, dict):
        return ["dict", [[str(k), _argument(v, index)] for k, v in value.items()]]
    return repr(value)


def _target(node: torch.fx.Node) -> str:
    target = node.target
    if isinstance(target, str) or op_name(node) is not None:
        return str(target)  # an attribute or module path, or an op overload such as aten.add.Tensor
    # A Python callable (operator.getitem): its repr may hold an address, its name does not.
    return f"{getattr(target, '__module__', None)}.{getattr(target, '__qualname__', target)}"


def signature(graph_module: torch.fx.GraphModule) -> list[Any]:
    """The converted graph's structure as JSON-able data, blind only to literal scales/zero points.

    One row per node in order: op, name, target, arguments (nodes as their position, nested lists
    and kwargs included, every other constant as its repr), user count; constants' dtype and shape.
    """
    nodes = list(graph_module.graph.nodes)
    index = {node: position for position, node in enumerate(nodes)}
    rows = []
    for node in nodes:
        args = [_argument(a, index) for a in node.args]
        if op_name(node) in _LITERAL_QPARAM_OPS:
            for position in _QPARAM_POSITIONS:
                if position < len(node.args) and not isinstance(node.args[position], torch.fx.Node):
                    args[position] = ["qparam", type(node.args[position]).__name__]
        row = [node.op, node.name, _target(node), args, _argument(dict(node.kwargs), index), len(node.users)]
        if node.op == "get_attr":
            value = graph_module
            for part in str(node.target).split("."):
                value = getattr(value, part)
            if isinstance(value, torch.Tensor):
                row.append([str(value.dtype), list(value.shape)])
        rows.append(row)
    return rows
