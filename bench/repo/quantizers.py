"""Quantizers for the seed scenarios, built from the XNNPACK annotators torchao ships for tests."""

import torch
from torchao.quantization.pt2e.observer import HistogramObserver, MinMaxObserver, PlaceholderObserver
from torchao.quantization.pt2e.quantizer import (
    QuantizationAnnotation,
    QuantizationSpec,
    Quantizer,
    SharedQuantizationSpec,
)
from torchao.testing.pt2e._xnnpack_quantizer import get_symmetric_quantization_config
from torchao.testing.pt2e._xnnpack_quantizer_utils import OP_TO_ANNOTATOR, QuantizationConfig


class Annotating(Quantizer):
    """Annotates the named op kinds with the symmetric per-channel config, nothing else."""

    ops: tuple[str, ...] = ()

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        config = get_symmetric_quantization_config(is_per_channel=True)
        for op in self.ops:
            OP_TO_ANNOTATOR[op](model, config)
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass


class ChainQuantizer(Annotating):
    ops = ("linear", "conv", "adaptive_avg_pool2d")


class BranchesQuantizer(Annotating):
    ops = ("linear", "conv", "add")


class BranchesNoAddQuantizer(Annotating):
    ops = ("linear", "conv")


class DeepQuantizer(Annotating):
    ops = ("conv", "add", "linear", "adaptive_avg_pool2d")


# How export spells an adaptive average pool to one pixel, depending on the export mode.
_POOLS = (torch.ops.aten.adaptive_avg_pool2d.default, torch.ops.aten.mean.dim)


def _uint8_config() -> QuantizationConfig:
    activation = QuantizationSpec(
        dtype=torch.uint8,
        quant_min=0,
        quant_max=255,
        qscheme=torch.per_tensor_affine,
        observer_or_fake_quant_ctr=HistogramObserver.with_args(eps=2**-12),
    )
    weight = QuantizationSpec(
        dtype=torch.uint8,
        quant_min=0,
        quant_max=255,
        qscheme=torch.per_tensor_affine,
        observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-12),
    )
    bias = QuantizationSpec(dtype=torch.float, observer_or_fake_quant_ctr=PlaceholderObserver)
    return QuantizationConfig(activation, activation, weight, bias)


class PoolOwnConfigQuantizer(Annotating):
    """conv and add as XNNPACK does; the pool with its own uint8 config, sharing its input's qparams."""

    ops = ("conv", "add")

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        super().annotate(model)
        spec = _uint8_config().input_activation
        for node in model.graph.nodes:
            if node.op == "call_function" and node.target in _POOLS:
                source = node.args[0]
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map={source: spec},
                    output_qspec=SharedQuantizationSpec((source, node)),
                    _annotated=True,
                )
        return model
