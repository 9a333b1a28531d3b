"""A user's cleanup stage: merge identical dequantize nodes, as a generic CSE pass does."""

from typing import Any

import torch


def merge_dequantize(program: Any) -> Any:
    module = program if isinstance(program, torch.fx.GraphModule) else program.graph_module
    seen: dict[tuple[object, ...], torch.fx.Node] = {}
    for node in list(module.graph.nodes):
        if node.op != "call_function" or "dequantize" not in str(node.target):
            continue
        key = (node.target, node.args, tuple(sorted(node.kwargs.items())))
        if key in seen:
            node.replace_all_uses_with(seen[key])
            module.graph.erase_node(node)
        else:
            seen[key] = node
    module.recompile()
    return program


def explode(program: Any) -> Any:
    # As ExecuTorch's pass manager does: the pass's own error, raised from the real one.
    try:
        {}["aten.frobnicate"]
    except KeyError as exc:
        raise RuntimeError("the cleanup pass met a node it does not know") from exc
