"""ExecuTorch's Core ML backend, lowered (not run) on any OS; quantize with its CoreMLQuantizer.

The minimum deployment target is iOS 17: Core ML before it has no activation quantization, and
lowering a statically quantized graph for an older target fails on its int8 casts.
"""

from typing import Any

from dqguard.stages.edge import reexport
from dqguard.stages.extras import load
from dqguard.worker.examples import Example


def coreml(program: Any, example_inputs: Example) -> Any:
    """Re-export, then `to_edge_transform_and_lower` with ExecuTorch's CoreMLPartitioner (iOS 17)."""
    exir, coremltools, partition, compiler = load("coreml", "executorch.exir", "coremltools",
                                                  "executorch.backends.apple.coreml.partition",
                                                  "executorch.backends.apple.coreml.compiler")
    specs = compiler.CoreMLBackend.generate_compile_specs(
        minimum_deployment_target=coremltools.target.iOS17)
    return exir.to_edge_transform_and_lower(reexport(program, example_inputs),
                                            partitioner=[partition.CoreMLPartitioner(compile_specs=specs)])
