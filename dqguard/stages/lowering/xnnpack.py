"""ExecuTorch's CPU backend: the one its own quantizer targets, in the base `executorch` extra."""

from typing import Any

from dqguard.stages.edge import reexport
from dqguard.stages.extras import load
from dqguard.worker.examples import Example


def xnnpack(program: Any, example_inputs: Example) -> Any:
    """Re-export, then `to_edge_transform_and_lower` with ExecuTorch's XnnpackPartitioner."""
    exir, partition = load("executorch", "executorch.exir",
                           "executorch.backends.xnnpack.partition.xnnpack_partitioner")
    return exir.to_edge_transform_and_lower(reexport(program, example_inputs),
                                            partitioner=[partition.XnnpackPartitioner()])
