"""ExecuTorch's steps that belong to no backend: the re-export every lowering starts from, the edge
dialect, and the per-consumer dynamic quantization chain. Worker side."""

from typing import Any

import torch

from dqguard.stages.extras import load
from dqguard.worker.examples import Example


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
    [passes] = load("executorch", "executorch.backends.transforms.duplicate_dynamic_quant_chain")
    result = passes.DuplicateDynamicQuantChainPass()(program)
    module: torch.fx.GraphModule = result.graph_module
    return module


def to_edge(program: Any, example_inputs: Example) -> Any:
    """ExecuTorch's edge dialect (re-exporting convert's GraphModule first)."""
    [exir] = load("executorch", "executorch.exir")
    return exir.to_edge(reexport(program, example_inputs))
