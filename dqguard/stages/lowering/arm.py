"""ExecuTorch's Arm backends: Ethos-U NPUs (through TOSA and Vela) and plain TOSA.

Quantize with the Arm quantizer of the same target (`EthosUQuantizer(EthosUCompileSpec(target))`,
`TOSAQuantizer(TosaCompileSpec("TOSA-1.0+INT"))`): an XNNPACK-quantized graph gets no delegate.

An Ethos-U stage returns the EdgeProgramManager with one more attribute, `backend_figures`: a
tuple of `dqguard.stages.vela.Summary`, one per delegate in the order Vela compiled them, read from
what Vela printed (accelerator, CPU and NPU operator counts, MACs, SRAM used). A stage after it
that returns a new program drops them.

Vela runs in this process and exits through argparse on a flag it does not know; that becomes a
RuntimeError naming the target and Vela's complaint, so the case fails and the worker lives.

Not shipped: Arm's VGF backend, which converts through a `model-converter` executable that is not
on PyPI (it comes with Arm's ML SDK for Vulkan).
"""

from collections.abc import Sequence
from typing import Any

from dqguard.stages import vela
from dqguard.stages.edge import reexport
from dqguard.stages.extras import load
from dqguard.worker.examples import Example

ETHOS_U55 = "ethos-u55-128"
ETHOS_U85 = "ethos-u85-256"
TOSA = "TOSA-1.0+INT"


def ethos_u(program: Any, example_inputs: Example, target: str, extra_flags: Sequence[str] = ()) -> Any:
    """Lower for the Ethos-U `target` (as Vela names it), passing `extra_flags` on to Vela."""
    # ExecuTorch imports without Vela and fails only at compile time; ask for Vela up front.
    exir, ethosu, _ = load("arm", "executorch.exir", "executorch.backends.arm.ethosu", "ethosu.vela")
    spec = ethosu.EthosUCompileSpec(target, extra_flags=list(extra_flags))
    exported = reexport(program, example_inputs)
    try:
        with vela.captured() as output:
            lowered = exir.to_edge_transform_and_lower(exported, partitioner=[ethosu.EthosUPartitioner(spec)])
    except SystemExit as exc:
        complaint = vela.error(output.stderr)
        raise RuntimeError(f"Vela exited with status {exc.code} compiling for {target}"
                           + (f": {complaint}" if complaint else "")) from exc
    lowered.backend_figures = tuple(vela.summaries(output.stdout))
    return lowered


def ethos_u55(program: Any, example_inputs: Example) -> Any:
    """Lower for an Ethos-U55 with 128 MACs (ExecuTorch's defaults: Ethos_U55_High_End_Embedded,
    Shared_Sram)."""
    return ethos_u(program, example_inputs, ETHOS_U55)


def ethos_u85(program: Any, example_inputs: Example) -> Any:
    """Lower for an Ethos-U85 with 256 MACs (ExecuTorch's defaults: Ethos_U85_SYS_DRAM_Mid,
    Sram_Only)."""
    return ethos_u(program, example_inputs, ETHOS_U85)


def tosa(program: Any, example_inputs: Example) -> Any:
    """Lower to TOSA 1.0's integer profile with ExecuTorch's TOSAPartitioner (no NPU compile)."""
    exir, specs, partition = load("arm", "executorch.exir", "executorch.backends.arm.tosa.compile_spec",
                                  "executorch.backends.arm.tosa.partitioner")
    return exir.to_edge_transform_and_lower(reexport(program, example_inputs),
                                            partitioner=[partition.TOSAPartitioner(specs.TosaCompileSpec(TOSA))])
