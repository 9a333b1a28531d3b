import torch
from torchao.quantization.granularity import PerToken
from torchao.quantization.pt2e import MappingType
from torchao.quantization.pt2e._affine_quantization import AffineQuantizedMinMaxObserver
from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, QuantizationSpec, Quantizer
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)


def xnnpack_dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    )


class PerTokenLinearQuantizer(Quantizer):
    """Static per-token activations through torchao's affine observers, as LLM recipes do."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        activation = QuantizationSpec(
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
                    input_qspec_map={node.args[0]: activation}, _annotated=True
                )
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass
