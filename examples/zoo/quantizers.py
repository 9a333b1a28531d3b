"""The zoo's recipes: each quantizer as its backend's own examples configure it (int8).

Imports happen inside each factory, so a backend that is not installed costs its own column (a
DQG900 at "building the quantizer" naming the missing module), never the scan.
"""

from typing import Any


def x86_static() -> Any:
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

    return x86.X86InductorQuantizer().set_global(x86.get_default_x86_inductor_quantization_config())


def x86_dynamic() -> Any:
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

    config = x86.get_default_x86_inductor_quantization_config(is_dynamic=True)
    return x86.X86InductorQuantizer().set_global(config)


def torchao_xnnpack() -> Any:
    """torchao's own copy of the XNNPACK quantizer (a test utility it ships), static per-channel."""
    from torchao.testing.pt2e import _xnnpack_quantizer as xnn

    return xnn.XNNPACKQuantizer().set_global(xnn.get_symmetric_quantization_config(is_per_channel=True))


def _executorch_xnnpack(**flags: bool) -> Any:
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xnn

    config = xnn.get_symmetric_quantization_config(is_per_channel=True, **flags)
    return xnn.XNNPACKQuantizer().set_global(config)


def xnnpack_static() -> Any:
    return _executorch_xnnpack()


def xnnpack_dynamic() -> Any:
    return _executorch_xnnpack(is_dynamic=True)


def xnnpack_qat() -> Any:
    return _executorch_xnnpack(is_qat=True)


def _arm(quantizer: Any) -> Any:
    from executorch.backends.arm.quantizer import get_symmetric_quantization_config

    return quantizer.set_global(get_symmetric_quantization_config())


def ethos_u55() -> Any:
    from executorch.backends.arm.ethosu import EthosUCompileSpec
    from executorch.backends.arm.quantizer import EthosUQuantizer

    return _arm(EthosUQuantizer(EthosUCompileSpec("ethos-u55-128")))


def ethos_u85() -> Any:
    from executorch.backends.arm.ethosu import EthosUCompileSpec
    from executorch.backends.arm.quantizer import EthosUQuantizer

    return _arm(EthosUQuantizer(EthosUCompileSpec("ethos-u85-256")))


def tosa() -> Any:
    from executorch.backends.arm.quantizer import TOSAQuantizer
    from executorch.backends.arm.tosa.compile_spec import TosaCompileSpec

    return _arm(TOSAQuantizer(TosaCompileSpec("TOSA-1.0+INT")))


def coreml() -> Any:
    """int8 per-channel symmetric weights and uint8 activations from the first step, as
    ExecuTorch's Core ML tests configure it."""
    import torch
    from coremltools.optimize.torch.quantization.quantization_config import (
        LinearQuantizerConfig,
        QuantizationScheme,
    )
    from executorch.backends.apple.coreml.quantizer import CoreMLQuantizer

    config = LinearQuantizerConfig.from_dict({"global_config": {
        "quantization_scheme": QuantizationScheme.symmetric,
        "milestones": [0, 0, 10, 10],
        "activation_dtype": torch.quint8,
        "weight_dtype": torch.qint8,
        "weight_per_channel": True,
    }})
    return CoreMLQuantizer(config)


def openvino() -> Any:
    from executorch.backends.openvino import OpenVINOQuantizer
    from executorch.backends.openvino.quantizer import QuantizationMode

    return OpenVINOQuantizer(mode=QuantizationMode.INT8_SYM)
