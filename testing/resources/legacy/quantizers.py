"""torch.ao quantizers: torch's own XNNPACK quantizer and an annotator on torch.ao's affine observers."""

import torch
from torch.ao.quantization.observer import MappingType, PerToken
from torch.ao.quantization.pt2e._affine_quantization import AffineQuantizedMinMaxObserver
from torch.ao.quantization.quantizer import QuantizationAnnotation, QuantizationSpec, Quantizer
from torch.ao.quantization.quantizer.xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)


def xnnpack_static() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))


def xnnpack_dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    )


class PerTokenLinear(Quantizer):
    """Static per-token linear inputs: torch.ao's convert emits pt2e_quant's affine ops."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        spec = QuantizationSpec(
            dtype=torch.uint8,
            quant_min=0,
            quant_max=255,
            observer_or_fake_quant_ctr=AffineQuantizedMinMaxObserver.with_args(
                mapping_type=MappingType.ASYMMETRIC, target_dtype=torch.uint8, granularity=PerToken()
            ),
        )
        for node in model.graph.nodes:
            if node.target == torch.ops.aten.linear.default:
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map={node.args[0]: spec}, _annotated=True
                )
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass
