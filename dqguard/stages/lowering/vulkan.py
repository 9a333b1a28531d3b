"""ExecuTorch's Vulkan (GPU) backend. Lowering needs no GPU; quantize with ExecuTorch's
XNNPACKQuantizer (static) or its VulkanQuantizer.

The options are those of ExecuTorch's own Vulkan export: its shaders keep the dim order and take
no int64, hence `_skip_dim_order=False` and the I64toI32 pass. A small net's lowering takes 18-40 s
on a 2-core machine, the first in a process the most.
"""

from typing import Any

from dqguard.stages.edge import reexport
from dqguard.stages.extras import load
from dqguard.worker.examples import Example


def vulkan(program: Any, example_inputs: Example) -> Any:
    """Re-export, then `to_edge_transform_and_lower` with ExecuTorch's VulkanPartitioner."""
    exir, partition, dtypes = load("vulkan", "executorch.exir",
                                   "executorch.backends.vulkan.partitioner.vulkan_partitioner",
                                   "executorch.backends.transforms.convert_dtype_pass")
    config = exir.EdgeCompileConfig(_skip_dim_order=False)
    return exir.to_edge_transform_and_lower(reexport(program, example_inputs),
                                            partitioner=[partition.VulkanPartitioner({})],
                                            compile_config=config,
                                            transform_passes=[dtypes.I64toI32(config._skip_dim_order)])
