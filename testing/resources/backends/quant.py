"""Each backend's own quantizer, as ExecuTorch's examples configure it (static int8); Vulkan and
CoreML also lower what XNNPACK's quantizer makes, and ExecuTorch's Vulkan tests quantize with it."""

from typing import Any


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


def xnnpack() -> Any:
    """XNNPACK's static int8, per-channel weights."""
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xnn

    return xnn.XNNPACKQuantizer().set_global(xnn.get_symmetric_quantization_config(is_per_channel=True))


def coreml() -> Any:
    """int8 per-channel symmetric weights, uint8 activations, from the first step (milestones 0)."""
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
