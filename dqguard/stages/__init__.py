"""The built-in stages: ordinary `module:attr` references for a case's `stages`. Worker side.

Each takes the previous stage's program, and `example_inputs` (the case's `(args, kwargs)`) when it
needs them, and returns the next one. ExecuTorch is imported only when a stage that needs it runs:
without it that stage fails with what to install, and importing dqguard never needs it.

Only XNNPACK ships as a lowering: it is ExecuTorch's CPU backend, the one its quantizer targets and
the one that lowers here with no extra install in seconds. Vulkan also lowers on CPU but takes
17-28 s a case; CoreML rejects dynamic quantization; Arm TOSA/Ethos-U need an extra and their own
quantizer (an XNNPACK-quantized graph gets no delegate at all, silently); OpenVINO needs a
different convert. A user's own lowering is a three-line stage (README, "Stages").
"""

import importlib
from typing import Any

import torch

from dqguard.worker.examples import Example


def _import(module: str) -> Any:
    return importlib.import_module(module)


def reexport(program: Any, example_inputs: Example) -> torch.export.ExportedProgram:
    """convert's GraphModule as an ExportedProgram, as ExecuTorch's lowering takes it."""
    if isinstance(program, torch.export.ExportedProgram):
        return program
    if not isinstance(program, torch.fx.GraphModule):
        raise TypeError(f"reexport takes a GraphModule, got {type(program).__name__}")
    return torch.export.export(program, example_inputs.args, example_inputs.kwargs)


def duplicate_dynamic_quant_chain(program: Any) -> torch.fx.GraphModule:
    """ExecuTorch's DuplicateDynamicQuantChainPass: a private choose_qparams -> quantize -> dequantize
    chain per consumer (the fix for DQG002)."""
    if not isinstance(program, torch.fx.GraphModule):
        # On a re-exported program the annotations it keys on are gone and the pass silently does
        # nothing, which would pass a case it never fixed.
        raise TypeError(f"duplicate_dynamic_quant_chain runs on convert's GraphModule, before any "
                        f"re-export or lowering; got {type(program).__name__}")
    passes = _import("executorch.backends.transforms.duplicate_dynamic_quant_chain")
    result = passes.DuplicateDynamicQuantChainPass()(program)
    module: torch.fx.GraphModule = result.graph_module
    return module


def to_edge(program: Any, example_inputs: Example) -> Any:
    """ExecuTorch's edge dialect (re-exporting convert's GraphModule first)."""
    exir = _import("executorch.exir")
    return exir.to_edge(reexport(program, example_inputs))


def xnnpack(program: Any, example_inputs: Example) -> Any:
    """Re-export, then `to_edge_transform_and_lower` with ExecuTorch's XnnpackPartitioner."""
    exir = _import("executorch.exir")
    partitioner = _import("executorch.backends.xnnpack.partition.xnnpack_partitioner")
    return exir.to_edge_transform_and_lower(reexport(program, example_inputs),
                                            partitioner=[partitioner.XnnpackPartitioner()])
