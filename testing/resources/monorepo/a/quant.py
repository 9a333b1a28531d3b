"""XNNPACK's dynamic quantizer."""

from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config


def xnnpack_dynamic() -> XNNPACKQuantizer:
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    return XNNPACKQuantizer().set_global(config)
