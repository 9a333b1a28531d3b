"""The built-in stages: ordinary `module:attr` references for a case's `stages`. Worker side.

Each takes the previous stage's program, and `example_inputs` (the case's `(args, kwargs)`) when it
needs them, and returns the next one. A backend is imported only when its stage runs: without it
that stage fails with the extra to install (`dqguard.stages.extras`), and importing dqguard never
needs one.

The lowerings (`dqguard.stages.lowering`, one module per backend) each lower with the backend's
own partitioner, and each module says which quantizer fits: Arm's take only a graph Arm's own
quantizer made (an XNNPACK-quantized one gets no delegate, silently). Arm's VGF is not here: it
needs an executable PyPI does not have. A user's own lowering is a three-line stage (README,
"Stages").
"""

from dqguard.stages.edge import duplicate_dynamic_quant_chain, reexport, to_edge
from dqguard.stages.lowering.arm import ethos_u55, ethos_u85, tosa
from dqguard.stages.lowering.xnnpack import xnnpack

__all__ = ["duplicate_dynamic_quant_chain", "ethos_u55", "ethos_u85", "reexport", "to_edge", "tosa",
           "xnnpack"]
