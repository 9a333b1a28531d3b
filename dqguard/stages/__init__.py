"""The built-in stages: ordinary `module:attr` references for a case's `stages`. Worker side.

Each takes the previous stage's program, and `example_inputs` (the case's `(args, kwargs)`) when it
needs them, and returns the next one. A backend is imported only when its stage runs: without it
that stage fails with the extra to install (`dqguard.stages.extras`), and importing dqguard never
needs one.

The lowerings (`dqguard.stages.lowering`, one module per backend) each lower with the backend's
own partitioner, and each module says which quantizer fits: Arm's take only a graph Arm's own
quantizer made (an XNNPACK-quantized one gets no delegate, silently), Vulkan and CoreML also take
XNNPACK's static one, and OpenVINO's needs `convert_pt2e(fold_quantize=False)`. Arm's VGF is not
here: it needs an executable PyPI does not have. A user's own lowering is a three-line stage
(README, "Stages").
"""

from dqguard.stages.edge import duplicate_dynamic_quant_chain, reexport, to_edge
from dqguard.stages.lowering.arm import ethos_u55, ethos_u85, tosa
from dqguard.stages.lowering.coreml import coreml
from dqguard.stages.lowering.openvino import openvino
from dqguard.stages.lowering.vulkan import vulkan
from dqguard.stages.lowering.xnnpack import xnnpack

__all__ = ["coreml", "duplicate_dynamic_quant_chain", "ethos_u55", "ethos_u85", "openvino", "reexport",
           "to_edge", "tosa", "vulkan", "xnnpack"]
