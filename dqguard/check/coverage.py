"""Coverage by compute: how much of a lowered program's work its delegates took. Worker side.

A node count weighs a `view` like a convolution; what a device team needs is the compute. So the
FLOPs of a lowered program are split into what each delegate took (its `LoweredBackendModule`'s
`original_module`, nested delegates included) and what was left outside on the portable CPU
kernels, counted exactly as `torch.utils.flop_counter.FlopCounterMode` counts the float model,
and without running anything:

1. An edge op is mapped to the aten overload it wraps (`EdgeOpOverload._op`): FlopCounterMode's
   formulas are keyed by aten packets.
2. An op with a CompositeImplicitAutograd kernel (`aten.linear`, `aten.conv2d`, `aten.matmul`...)
   is what FlopCounterMode decomposes and counts in pieces (`linear` -> `t` + `addmm`). So does this
   module: it runs the op in a private FakeTensorMode under FlopCounterMode, on fake tensors shaped
   like the node's `meta["val"]` (symbolic sizes at their hints). The program's own fake modes and
   shape environments are never touched.
3. Else an op with a formula in `flop_registry` gets the formula called on the meta values: the
   call FlopCounterMode makes, with no dispatch. Almost every counted op takes this path.
4. Else FlopCounterMode counts 0, and so does this module, for ops it knows to be ordinary: every
   op of the `aten`, `prims` and `dim_order_ops` namespaces and every quantize, dequantize and
   choose_qparams op (views, copies, elementwise ops: FlopCounterMode has no formula for them).
5. Any other op (a custom op, whose 0 would be a missing formula, not a fact) or one whose
   counting raised is named in `uncounted`, counts 0, and is never guessed.

Coverage is `flops_delegated / flops`. A program with no FLOPs at all (no matmul, convolution or
attention: nothing else counts) gets the delegated share of its ops instead, quantize,
dequantize and choose_qparams ops not counted: 1.0 when nothing but q/dq is left outside.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._pytree import tree_leaves, tree_map
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from dqguard.check.delegation import QDQ, backend_of, is_delegate_call, is_op, lowered_module, target_name
from dqguard.check.nodes import module_path
from dqguard.check.ops import op_name
from dqguard.locate import user_frame
from dqguard.records import Delegation, Outside, Segment, short_op

# Namespaces whose ops FlopCounterMode has formulas for where they compute: a 0 is its answer.
_ORDINARY = frozenset({"aten", "prims", "dim_order_ops"})
_IMPLICIT = torch._C.DispatchKey.CompositeImplicitAutograd


class Uncounted(Exception):
    """An op the counter cannot say anything about."""


class Count(NamedTuple):
    flops: int
    ops: int  # ops the delegate took
    compute: int  # of them, not quantize, dequantize or choose_qparams: the fallback's share
    uncounted: tuple[str, ...]


def _overload(node: torch.fx.Node) -> Any:
    """The torch OpOverload behind a graph target: an `EdgeOpOverload` wraps one as `_op`."""
    inner = getattr(node.target, "_op", None)
    return inner if isinstance(inner, torch._ops.OpOverload) else node.target


def _hint(value: Any) -> int:
    """A size's value in the example inputs, without adding a guard (torch 2.13 names the helper
    `optimization_hint`, earlier lines `hint_int`)."""
    if not isinstance(value, torch.SymInt):
        return int(value)
    from torch.fx.experimental import symbolic_shapes

    helper = getattr(symbolic_shapes, "optimization_hint", None) or getattr(symbolic_shapes, "hint_int")  # noqa: B009
    hint = helper(value)
    if hint is None:  # a data-dependent size: no example to count at
        raise Uncounted(f"unbacked size {value}")
    return int(hint)


def _sized(value: Any) -> Any:
    """A formula's argument with symbolic sizes at their hints: a tensor becomes its torch.Size."""
    if isinstance(value, torch.Tensor):
        return torch.Size(_hint(d) for d in value.shape)
    return _hint(value) if isinstance(value, torch.SymInt) else value


def _symbolic(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return any(isinstance(d, torch.SymInt) for d in value.shape)
    return isinstance(value, (torch.SymInt, torch.SymFloat, torch.SymBool))


class Counter:
    """FLOPs of one node at a time, with one private FakeTensorMode for the whole program."""

    def __init__(self) -> None:
        self._mode: FakeTensorMode | None = None

    @property
    def mode(self) -> FakeTensorMode:
        if self._mode is None:
            self._mode = FakeTensorMode(allow_non_fake_inputs=True)
        return self._mode

    def _fake(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            with self.mode:
                shape, stride = [_hint(d) for d in value.shape], [_hint(s) for s in value.stride()]
                return torch.empty_strided(shape, stride, dtype=value.dtype, device="cpu")
        if isinstance(value, (torch.SymFloat, torch.SymBool)):
            raise Uncounted(f"symbolic scalar {value}")
        return _hint(value) if isinstance(value, torch.SymInt) else value

    def count(self, node: torch.fx.Node) -> int:
        """The node's FLOPs as FlopCounterMode counts them; raises Uncounted when it cannot say."""
        op = _overload(node)
        if not isinstance(op, torch._ops.OpOverload):
            raise Uncounted(target_name(node))
        args, kwargs = tree_map(lambda a: a.meta.get("val") if isinstance(a, torch.fx.Node) else a,
                                (node.args, node.kwargs))
        out = node.meta.get("val")
        if _IMPLICIT in op.py_kernels or torch._C._dispatch_has_kernel_for_dispatch_key(op._name, _IMPLICIT):
            fake_args, fake_kwargs = tree_map(self._fake, (args, kwargs))
            with self.mode, FlopCounterMode(display=False) as counter:
                op(*fake_args, **fake_kwargs)
            return int(counter.get_total_flops())
        formula = flop_registry.get(op._overloadpacket)
        if formula is not None:
            if any(_symbolic(v) for v in tree_leaves((args, kwargs, out))):
                args, kwargs, out = tree_map(_sized, (args, kwargs, out))
            return int(formula(*args, **kwargs, out_val=out))
        if op.namespace in _ORDINARY or op_name(node) in QDQ:
            return 0
        raise Uncounted(target_name(node))


def _counted(counter: Counter, node: torch.fx.Node) -> tuple[int, tuple[str, ...]]:
    try:
        return counter.count(node), ()
    except Exception:  # whatever stops the count, the op is named, never guessed
        return 0, (target_name(node),)


def _graph(lowered: Any) -> torch.fx.GraphModule | None:
    original = getattr(lowered, "original_module", None)
    return None if original is None else original.graph_module


def inside(lowered: Any, counter: Counter) -> Count:
    """What a delegate took, the delegates a partitioner nested inside it included."""
    graph_module = _graph(lowered)
    if graph_module is None:  # a backend that keeps no program: nothing to count
        return Count(0, 0, 0, (f"executorch_call_delegate[{backend_of(lowered)}]",))
    flops = ops = compute = 0
    uncounted: tuple[str, ...] = ()
    for node in graph_module.graph.nodes:
        if is_delegate_call(node):
            nested = inside(lowered_module(graph_module, node), counter)
            flops, ops, compute = flops + nested.flops, ops + nested.ops, compute + nested.compute
            uncounted += nested.uncounted
        elif is_op(node):
            node_flops, missing = _counted(counter, node)
            flops, ops, compute = flops + node_flops, ops + 1, compute + (op_name(node) not in QDQ)
            uncounted += missing
    return Count(flops, ops, compute, uncounted)


def _left(node: torch.fx.Node, flops: int, root: Path) -> Outside:
    frame = user_frame(node.meta.get("stack_trace"), root)
    module = module_path(node)
    if module is None:  # a weight's dequantize runs in no module: name the one it feeds
        module = next((m for m in map(module_path, node.users) if m is not None), None)
    path, line = frame if frame is not None else (None, None)
    return Outside(target_name(node), module, path, line, flops)


def _program(graph_module: torch.fx.GraphModule) -> Iterator[torch.fx.Node]:
    return (node for node in graph_module.graph.nodes if is_delegate_call(node) or is_op(node))


def account(record: Delegation, graph_module: torch.fx.GraphModule, root: Path) -> Delegation:
    """`record` with the lowered program's coverage by compute and its partition filled in."""
    counter = Counter()
    outside: list[Outside] = []
    partition: list[Segment] = []
    uncounted: tuple[str, ...] = ()
    delegated = delegated_compute = outside_compute = 0
    for node in _program(graph_module):
        if is_delegate_call(node):
            lowered = lowered_module(graph_module, node)
            count = inside(lowered, counter)
            partition.append(Segment(backend_of(lowered), count.ops, count.flops))
            delegated, delegated_compute = delegated + count.flops, delegated_compute + count.compute
            uncounted += count.uncounted
            continue
        flops, missing = _counted(counter, node)
        uncounted += missing
        outside.append(_left(node, flops, root))
        outside_compute += op_name(node) not in QDQ
        if not partition or partition[-1].backend is not None:
            partition.append(Segment(None, 0, 0))
        island = partition[-1]
        partition[-1] = island._replace(ops=island.ops + 1, flops=island.flops + flops,
                                        names=(*island.names, short_op(target_name(node))))
    total = delegated + sum(o.flops for o in outside)
    if total:
        coverage = delegated / total
    else:
        ops = delegated_compute + outside_compute
        coverage = delegated_compute / ops if ops else 1.0
    return record._replace(flops=total, flops_delegated=delegated, coverage=coverage,
                           outside=tuple(sorted(outside, key=lambda o: -o.flops)),
                           uncounted=tuple(sorted(set(uncounted))), partition=tuple(partition))
