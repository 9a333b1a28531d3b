"""What a finding records about a node, read off the graph the same way by every check: the
graphs to look in, the submodule that ran a node, its shape, and the `NodeRef` reports show."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from dqguard.check.ops import first_input, op_name
from dqguard.locate import library_frame, user_frame
from dqguard.records import NodeRef


def graphs(graph_module: torch.fx.GraphModule) -> Iterator[torch.fx.GraphModule]:
    """The module's own graph and every graph module under it (higher-order ops' bodies)."""
    for module in graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            yield module


def module_path(node: torch.fx.Node) -> str | None:
    """The submodule that ran `node` (`layers.0.attention.q_proj`); None for the model's own
    forward. Export, re-export and lowering all keep it."""
    # An ordered map of the modules the call went through, outermost first: (path, type) each.
    stack: Any = node.meta.get("nn_module_stack") or {}
    entries = list(stack.values())
    path = entries[-1][0] if entries else ""
    return path if isinstance(path, str) and path else None


def _describe(node: torch.fx.Node) -> str:
    if node.op == "placeholder":
        return "input"
    if node.op == "get_attr":
        return "constant"
    name = op_name(node)
    if name is not None:
        return name.split("::", 1)[1]
    return getattr(node.target, "__name__", str(node.target))


def node_ref(node: torch.fx.Node, root: Path) -> NodeRef:
    trace = node.meta.get("stack_trace")
    frame = user_frame(trace, root)
    path, line = frame if frame else (None, None)
    library = library_frame(trace, root)
    library_path, library_line = library if library else (None, None)
    return NodeRef(node=node.name, target=_describe(node), path=path, line=line, module=module_path(node),
                   library_path=library_path, library_line=library_line)


def shape(node: torch.fx.Node) -> str | None:
    """`[1, 16] float32` from the node's example value; convert's own q/dq nodes have none, and
    keep their input's shape."""
    current: torch.fx.Node | None = node
    for _ in range(4):  # dequantize <- quantize <- the producer, at most
        if current is None:
            return None
        value = current.meta.get("val")
        if isinstance(value, torch.Tensor):
            dims = ", ".join(str(d) for d in value.shape)
            return f"[{dims}] {str(value.dtype).removeprefix('torch.')}"
        current = first_input(current)
    return None


def shapes(nodes: list[torch.fx.Node]) -> tuple[tuple[str, str], ...]:
    """(node name, shape) for those of `nodes` whose shape is known: `Finding.shapes`."""
    found = ((node.name, shape(node)) for node in nodes)
    return tuple((name, value) for name, value in found if value is not None)
