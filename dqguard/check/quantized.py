"""Which nodes are quantized ops: by their annotations where convert left them, by structure where not.

Right after `convert_pt2e` every node the quantizer looked at carries `quantization_annotation`,
and a quantized op is what DuplicateDQPass itself takes for one: a node whose annotation has a
non-empty input map or an output spec (an empty annotation marks a node left in float).
Re-export, `to_edge` and lowering drop every annotation but keep the quantize and dequantize nodes
and every edge between them, so a graph with no annotation at all is read from its structure:

A node is a quantized op by structure when it computes (it is none of: a quantize, dequantize or
choose_qparams op, `getitem`, a shape query, a pass-through op in `PASS_THROUGH`) and
1. its output goes straight into a quantize op (a quantized output), or
2. it reads a dequantized constant (a quantized weight), or
3. it reads a dynamically quantized value (a dequantize ending a choose_qparams chain), or
4. it reads a dequantized value whose quantize no computing op fed: a graph input or a
   pass-through op's output was quantized because this consumer's input spec asked for it.

"Reads" looks back through pass-through ops (`dequantize -> view -> linear` reads the
dequantize). A pass-through op is never quantized itself, even when its output is quantized
again; it counts as a quantized consumer only when its value reaches a quantized op with no
quantize on the way, which is how `to_edge` leaves a decomposed linear
(`dequantize -> view_copy -> addmm`).

What rule 4 leaves out is a float op reading a value that another op's quantized output put into
the graph. That is the seed's fan-out graph: conv1's output is quantized for conv2 and add, and
the float `mul` and the `view` (whose output is quantized again for the linear) share the
dequantize convert left them; the annotations call both float, and so does the structure. A naive
"feeds a quantize or reads a dequantized value" rule flags the view and the mul. The limit of the
definition is the mirror case: a consumer whose input spec alone asked for the quantization of a
value a float op computed, with neither a quantized output nor a quantized weight, looks like
such a float op. `tests/test_quantized.py` proves both definitions agree on every scenario.
"""

import functools
import operator
from collections.abc import Callable, Iterable, Iterator

import torch

from dqguard.check.ops import (
    CHOOSE_QPARAMS_OPS,
    DEQUANTIZE_OPS,
    PASS_THROUGH,
    QUANTIZE_OPS,
    SHAPE_QUERIES,
    chooser,
    first_input,
    op_name,
)

ANNOTATION_KEY = "quantization_annotation"
Quantized = Callable[[torch.fx.Node], bool]


def by_annotation(node: torch.fx.Node) -> bool:
    annotation = node.meta.get(ANNOTATION_KEY)
    if annotation is None:
        return False
    return bool(annotation.input_qspec_map) or annotation.output_qspec is not None


def annotated(nodes: Iterable[torch.fx.Node]) -> bool:
    return any(ANNOTATION_KEY in node.meta for node in nodes)


def _passes_through(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and (node.target is operator.getitem or op_name(node) in PASS_THROUGH)


def _computes(node: torch.fx.Node) -> bool:
    if node.op != "call_function" or _passes_through(node):
        return False
    return op_name(node) not in QUANTIZE_OPS | DEQUANTIZE_OPS | CHOOSE_QPARAMS_OPS | SHAPE_QUERIES


class Structure:
    """The structural definition over one graph; `constants` are the placeholders that hold
    parameters, buffers and constants (an ExportedProgram's lifted weights)."""

    def __init__(self, constants: frozenset[str] = frozenset()) -> None:
        self.constants = constants

    def _constant(self, node: torch.fx.Node) -> bool:
        return node.op == "get_attr" or (node.op == "placeholder" and node.name in self.constants)

    def _asked_by_consumer(self, dequantize: torch.fx.Node) -> bool:
        """Rules 2 to 4: the dequantized value exists for its consumers' sake."""
        if chooser(dequantize) is not None:
            return True
        source = first_input(dequantize)
        if source is not None and op_name(source) in QUANTIZE_OPS:
            source = first_input(source)  # not folded: the quantize is still in the graph
        while source is not None and source.op == "call_function" and source.target is operator.getitem:
            source = first_input(source)  # one output of a multi-output op
        return source is not None and (self._constant(source) or not _computes(source))

    def _dequantized_inputs(self, node: torch.fx.Node) -> Iterator[torch.fx.Node]:
        for value in node.all_input_nodes:
            source: torch.fx.Node | None = value
            while source is not None and _passes_through(source) and source.target is not operator.getitem:
                source = first_input(source)
            if source is not None and op_name(source) in DEQUANTIZE_OPS:
                yield source

    @functools.cache  # noqa: B019 (one Structure lives as long as the check of one graph)
    def quantized(self, node: torch.fx.Node) -> bool:
        if _passes_through(node):
            return node.target is not operator.getitem and any(self.quantized(u) for u in node.users)
        if not _computes(node):
            return False
        if any(op_name(user) in QUANTIZE_OPS for user in node.users):
            return True
        return any(self._asked_by_consumer(d) for d in self._dequantized_inputs(node))


def classifier(modules: Iterable[torch.fx.GraphModule], constants: frozenset[str] = frozenset()) -> Quantized:
    """The definition for a module and its subgraphs: the annotations if any node of theirs has
    one, else the structure."""
    if any(annotated(module.graph.nodes) for module in modules):
        return by_annotation
    return Structure(constants).quantized
