"""ExecuTorch's XNNPACK quantizer: static int8 with per-channel weights, and dynamic."""

from typing import Any


def xnnpack_static() -> Any:
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xnnpack

    config = xnnpack.get_symmetric_quantization_config(is_per_channel=True)
    return xnnpack.XNNPACKQuantizer().set_global(config)


def xnnpack_dynamic() -> Any:
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xnnpack

    config = xnnpack.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    return xnnpack.XNNPACKQuantizer().set_global(config)
