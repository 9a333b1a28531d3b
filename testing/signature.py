"""What "the same structure" means: a converted graph as data, blind only to literal qparams.

Structural mode (dqguard.worker.structural) may change the numbers in a converted graph and nothing
else; the tests and benchmarks that prove it compare these signatures between modes.
"""

from typing import Any

import torch

from dqguard.check.ops import op_name

# Per-tensor quantize/dequantize carry scale and zero point as literal arguments, not nodes:
# these are the only values structural mode changes.
_LITERAL_QPARAM_OPS = frozenset({
    "quantized_decomposed::quantize_per_tensor",
    "quantized_decomposed::dequantize_per_tensor",
})
_QPARAM_POSITIONS = (1, 2)


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


def _rows(graph_module: torch.fx.GraphModule) -> list[Any]:
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
            value: Any = graph_module
            for part in str(node.target).split("."):
                value = getattr(value, part)
            if isinstance(value, torch.Tensor):
                row.append([str(value.dtype), list(value.shape)])
        rows.append(row)
    return rows


def signature(graph_module: torch.fx.GraphModule) -> list[Any]:
    """The converted graph's structure as JSON-able data, blind only to literal scales/zero points.

    One row per node in order: op, name, target, arguments (nodes as their position, nested lists
    and kwargs included, every other constant as its repr), user count; constants' dtype and shape.
    The graphs of higher-order ops' bodies follow, each under a `["graph", path]` row.
    """
    rows: list[Any] = []
    for path, module in graph_module.named_modules():
        if isinstance(module, torch.fx.GraphModule):
            rows += [["graph", path], *_rows(module)]
    return rows
