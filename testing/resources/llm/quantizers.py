"""Inductor's x86 quantizer (static and dynamic), XNNPACK's, and one with an observer of its own."""

import dataclasses

from torchao.quantization.pt2e.observer import MinMaxObserver
from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
    X86InductorQuantizer,
    get_default_x86_inductor_quantization_config,
)
from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config


def x86() -> X86InductorQuantizer:
    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())


def x86_dynamic() -> X86InductorQuantizer:
    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config(is_dynamic=True))


def xnnpack() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))


class ClippingObserver(MinMaxObserver):
    """A user's own observer: weightless mode does not know its code is safe on fake tensors."""


def custom_observer() -> XNNPACKQuantizer:
    config = get_symmetric_quantization_config()
    activation = config.input_activation
    assert activation is not None
    observed = dataclasses.replace(activation, observer_or_fake_quant_ctr=ClippingObserver.with_args(
        eps=2**-12))
    return XNNPACKQuantizer().set_global(dataclasses.replace(config, input_activation=observed,
                                                             output_activation=observed))
