"""ExecuTorch's OpenVINO backend, for OpenVINO's CPU device; quantize with its OpenVINOQuantizer.

OpenVINO's PyTorch frontend cannot read the int8 weight constants `convert_pt2e` folds by default:
a case for this stage converts with `fold_quantize=False`, as NNCF's own `quantize_model` does.
"""

from typing import Any

from dqguard.stages.edge import reexport
from dqguard.stages.extras import load
from dqguard.worker.examples import Example


def openvino(program: Any, example_inputs: Example) -> Any:
    """Re-export, then `to_edge_transform_and_lower` with ExecuTorch's OpenvinoPartitioner (CPU)."""
    exir, backend, schema = load("openvino", "executorch.exir", "executorch.backends.openvino",
                                 "executorch.exir.backend.compile_spec_schema")
    partitioner = backend.OpenvinoPartitioner([schema.CompileSpec("device", b"CPU")])
    return exir.to_edge_transform_and_lower(reexport(program, example_inputs), partitioner=[partitioner])
