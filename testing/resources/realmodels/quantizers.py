"""The two static quantizers real deployments start from: Inductor's x86 and XNNPACK's."""

from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
    X86InductorQuantizer,
    get_default_x86_inductor_quantization_config,
)
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)


def x86() -> X86InductorQuantizer:
    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())


def xnnpack_static() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))


def xnnpack_dynamic() -> XNNPACKQuantizer:
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    return XNNPACKQuantizer().set_global(config)
