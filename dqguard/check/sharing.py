"""The invariant: a dequantize node that feeds a quantized op has exactly one user.

Backends (ExecuTorch XNNPACK/Arm/QNN, Inductor x86, OpenVINO) partition a converted graph into
`dequantize -> op -> quantize` groups. A dequantize shared by several ops belongs to no single
group: partitioners reject the pattern, split the program or silently leave the ops in float.
`convert_pt2e` runs DuplicateDQPass to give every annotated consumer a private copy, but:

- it only knows three overloads (`DUPLICATED_BY_CONVERT`): torchao's affine ops and the
  per-token/per-group ops are never de-duplicated;
- it leaves the dynamic-quantization chain `choose_qparams -> getitem -> quantize -> dequantize`
  shared on purpose, so every op reading one dynamically quantized tensor shares its dequantize.
  Dynamic sharing (of any op family) is its own rule, DQG002.

A quantized op is a node whose `quantization_annotation` is valid as DuplicateDQPass judges it: a
non-empty input map or an output spec. An empty annotation marks a node the quantizer looked at
and left in float. A graph with no annotation at all (re-exported, `to_edge`, a later stage's) is
read by its structure instead: `dqguard.check.quantized` states that definition (pass-through ops such
as `view` are never quantized ops, even when their output is quantized again) and
`tests/test_quantized.py` proves it finds on re-exported graphs what the annotations find here.
Shape queries (`sym_size`, `sym_numel`, `sym_stride`) only read metadata; they
never make a dequantize shared.

Every graph is checked, the bodies of higher-order ops too (`cond` branches, `while_loop` and
`scan` bodies, which prepare and convert quantize like the top-level graph): a dequantize is
shared within the graph that holds it.

A graph Inductor compiles (the case has no `stages` and its quantizer is an Inductor one, such as
torchao's X86InductorQuantizer) is the exception: Inductor's freezing passes copy a per-tensor
dequantize for each of its users before they fuse (`PROMOTED_BY_INDUCTOR`), so such a sharing is
recorded as resolved by `INDUCTOR`, never reported; per-channel and affine ones are still findings.

A graph with nothing quantized (DQG003) means the check would verify nothing, which is reported
rather than passed: either no node has a valid annotation (the quantizer matched nothing), or no
quantize or dequantize op came out of convert (the annotations asked for float or fp16 only).

`DEQUANTIZE_OPS` is wider than what torchao 0.18's convert emits (per-tensor `default` and
`tensor`, per-channel, and `torchao.dequantize_affine`): the per-token and per-group ops are
what older torch.ao flows and hand-written passes produce, and a shared one is as much a problem.
"""

from pathlib import Path

import torch

from dqguard.check.nodes import graphs, node_ref, shapes
from dqguard.check.ops import (
    DEQUANTIZE_OPS,
    DUPLICATED_BY_CONVERT,
    PROMOTED_BY_INDUCTOR,
    QUANTIZE_OPS,
    SHAPE_QUERIES,
    chooser,
    first_input,
    op_name,
    overload_name,
)
from dqguard.check.quantized import Quantized, classifier
from dqguard.records import Finding, NodeRef, place
from dqguard.words import plural


def why_shared(dequantize: torch.fx.Node) -> str | None:
    """Why convert_pt2e left this dequantize shared, as far as the op family tells."""
    chain = chooser(dequantize)
    family = (op_name(dequantize) or "").split("::", 1)[-1]
    if overload_name(dequantize) not in DUPLICATED_BY_CONVERT:
        kind = "dynamic quantization; " if chain is not None else ""
        return f"{kind}DuplicateDQPass never de-duplicates {family}"
    if chain is not None and overload_name(chain) == "quantized_decomposed::choose_qparams.tensor":
        return "dynamic quantization: DuplicateDQPass leaves the choose_qparams -> quantize -> " \
               "dequantize chain shared on purpose"
    if chain is not None:
        return "dynamic quantization"
    return None


def _producer(dequantize: torch.fx.Node) -> torch.fx.Node | None:
    value = first_input(dequantize)
    if value is not None and op_name(value) in QUANTIZE_OPS:
        return first_input(value) or value  # what the quantize quantized
    return value


def _by_line(ref: NodeRef) -> bool:
    """Whether the user's line tells the node apart. A line that calls into a library (a wrapper's
    `self.model(x)`) made every node of that library model: its submodule is what tells them apart."""
    return ref.line is not None and (ref.library_path is None or ref.module is None)


def _where(ref: NodeRef) -> str:
    # The finding's path is the file: a message names only the line, or where a library's node is.
    return f"{ref.node} at line {ref.line}" if _by_line(ref) else ref.module or place(ref) or ref.node


def _listed(refs: list[NodeRef]) -> str:
    """Refs for a message; a module path under the same parent as the one before it is shortened
    (`layers.0.attention.q_proj, ...k_proj, ...v_proj`)."""
    shown, parent = [], None
    for ref in refs:
        where = _where(ref)
        if not _by_line(ref) and ref.module is not None:
            head, _, leaf = ref.module.rpartition(".")
            where = f"...{leaf}" if head and head == parent else ref.module
            parent = head
        else:
            parent = None
        shown.append(where)
    return ", ".join(shown)


def _nothing_quantized(nodes: list[torch.fx.Node], quantized: Quantized,
                       fallback: tuple[str, int]) -> Finding | None:
    path, line = fallback
    count = sum(quantized(node) for node in nodes)
    if not count:
        message = ("nothing is quantized: the converted graph has no quantized op, so there is nothing "
                   "to check (the quantizer matched no op of this model)")
    elif not any(op_name(node) in QUANTIZE_OPS | DEQUANTIZE_OPS for node in nodes):
        message = (f"nothing is quantized: the quantizer annotated {plural(count, 'op')} but convert "
                   "produced no quantize or dequantize op (its specs ask for float or fp16 only), so "
                   "there is nothing to check")
    else:
        return None
    return Finding(rule="DQG003", message=message, path=path, line=line)


INDUCTOR = "inductor"  # `resolved_by` of a sharing Inductor's dequant promotion removes


def check(graph_module: torch.fx.GraphModule, root: Path, fallback: tuple[str, int],
          inductor: bool = False) -> list[Finding]:
    """Findings for convert's output and its subgraphs: DQG003 when nothing is quantized, else every
    shared dequantize. `fallback` is where a finding goes when no frame is the user's. When
    `inductor` compiles the graph, the sharings it removes come back with `resolved_by` set."""
    modules = list(graphs(graph_module))
    quantized = classifier(modules)
    empty = _nothing_quantized([node for gm in modules for node in gm.graph.nodes], quantized, fallback)
    if empty is not None:
        return [empty]
    promoted = PROMOTED_BY_INDUCTOR if inductor else frozenset()
    return [finding for module in modules for finding in _shared(list(module.graph.nodes), quantized, root,
                                                                 fallback, promoted)]


def shared(graph_module: torch.fx.GraphModule, root: Path, fallback: tuple[str, int],
           constants: frozenset[str] = frozenset()) -> list[Finding]:
    """Every shared dequantize in a later stage's graph and its subgraphs; `constants` name the
    placeholders that hold weights (an ExportedProgram's lifted parameters and buffers)."""
    modules = list(graphs(graph_module))
    quantized = classifier(modules, constants)
    return [finding for module in modules for finding in _shared(list(module.graph.nodes), quantized, root,
                                                                 fallback)]


def _shared(nodes: list[torch.fx.Node], quantized: Quantized, root: Path,
            fallback: tuple[str, int], promoted: frozenset[str] = frozenset()) -> list[Finding]:
    position = {node: index for index, node in enumerate(nodes)}
    findings = []
    for node in nodes:
        if op_name(node) not in DEQUANTIZE_OPS:
            continue
        users = sorted((u for u in node.users if op_name(u) not in SHAPE_QUERIES), key=position.__getitem__)
        consumers = [u for u in users if quantized(u)]
        if len(users) < 2 or not consumers:
            continue
        refs = tuple(node_ref(u, root) for u in users)
        quantized_refs = [r for r, u in zip(refs, users, strict=True) if u in consumers]
        others = [r for r, u in zip(refs, users, strict=True) if u not in consumers]
        producer_node = _producer(node)
        producer = node_ref(producer_node, root) if producer_node is not None else None
        primary = next((r for r in quantized_refs if r.path is not None and r.line is not None), None)
        path, line = fallback
        if primary is not None and primary.path is not None and primary.line is not None:
            path, line = primary.path, primary.line
        message = (f"{node.name} is shared by {plural(len(consumers), 'quantized op')} "
                   f"({_listed(quantized_refs)})")
        if others:
            message += f" and {plural(len(others), 'other user')} ({_listed(others)})"
        if producer is not None:
            message += f"; it dequantizes {_where(producer)}"
        reason = why_shared(node)
        if reason is not None:
            message += f"; {reason}"
        findings.append(Finding(
            rule="DQG002" if chooser(node) is not None else "DQG001",
            message=message,
            path=path,
            line=line,
            dequantize=node.name,
            users=refs,
            producer=producer,
            shapes=shapes([n for n in (producer_node, node, *users) if n is not None]),
            resolved_by=INDUCTOR if overload_name(node) in promoted else None,
        ))
    return findings
