"""Quantizers: torchao's XNNPACK test quantizer (no ExecuTorch needed) and ExecuTorch's own."""

import torch
from torchao.quantization.granularity import PerToken
from torchao.quantization.pt2e import MappingType
from torchao.quantization.pt2e._affine_quantization import AffineQuantizedMinMaxObserver
from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, QuantizationSpec, Quantizer
from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config


def static() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config())


def dynamic() -> XNNPACKQuantizer:
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    return XNNPACKQuantizer().set_global(config)


def executorch_static() -> Quantizer:
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xnnpack

    config = xnnpack.get_symmetric_quantization_config(is_per_channel=True)
    return xnnpack.XNNPACKQuantizer().set_global(config)


def executorch_dynamic() -> Quantizer:
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xnnpack

    return xnnpack.XNNPACKQuantizer().set_global(
        xnnpack.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))


class PerTokenLinear(Quantizer):
    """Static per-token linear inputs through torchao's affine ops, which convert never duplicates."""

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        spec = QuantizationSpec(
            dtype=torch.uint8, quant_min=0, quant_max=255,
            observer_or_fake_quant_ctr=AffineQuantizedMinMaxObserver.with_args(
                mapping_type=MappingType.ASYMMETRIC, target_dtype=torch.uint8, granularity=PerToken()),
        )
        for node in model.graph.nodes:
            if node.target == torch.ops.aten.linear.default:
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map={node.args[0]: spec}, _annotated=True)
        return model
