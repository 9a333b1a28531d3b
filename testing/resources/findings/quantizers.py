"""Quantizers that produce (or must not be blamed for) shared dequantize nodes."""

import torch
from torchao.quantization.granularity import PerToken
from torchao.quantization.pt2e import MappingType
from torchao.quantization.pt2e._affine_quantization import AffineQuantizedMinMaxObserver
from torchao.quantization.pt2e.observer import PlaceholderObserver
from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, QuantizationSpec, Quantizer
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)

_LINEAR = torch.ops.aten.linear.default


def per_token() -> QuantizationSpec:
    return QuantizationSpec(
        dtype=torch.uint8,
        quant_min=0,
        quant_max=255,
        observer_or_fake_quant_ctr=AffineQuantizedMinMaxObserver.with_args(
            mapping_type=MappingType.ASYMMETRIC, target_dtype=torch.uint8, granularity=PerToken()
        ),
    )


def dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    )


class _Annotator(Quantizer):
    def validate(self, model: torch.fx.GraphModule) -> None:
        pass


class PerTokenLinear(_Annotator):
    """Static per-token linear inputs through torchao's affine observers."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        spec = per_token()
        for node in model.graph.nodes:
            if node.target == _LINEAR:
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map={node.args[0]: spec}, _annotated=True
                )
        return model


class PerTokenLinearAndCat(_Annotator):
    """Annotates cat's list inputs as well as linear's input, with one shared spec object."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        spec = per_token()
        for node in model.graph.nodes:
            if node.target == _LINEAR:
                inputs = {node.args[0]: spec}
            elif node.target == torch.ops.aten.cat.default:
                inputs = {arg: spec for arg in node.args[0]}
            else:
                continue
            node.meta["quantization_annotation"] = QuantizationAnnotation(
                input_qspec_map=inputs, _annotated=True
            )
        return model


class OutputThenEmpty(_Annotator):
    """linear's output is quantized; relu and sigmoid carry empty annotations (left in float)."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        spec = per_token()
        for node in model.graph.nodes:
            if node.target == _LINEAR:
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    output_qspec=spec, _annotated=True
                )
            elif node.target in (torch.ops.aten.relu.default, torch.ops.aten.sigmoid.default):
                node.meta["quantization_annotation"] = QuantizationAnnotation(_annotated=True)
        return model


class Nothing(_Annotator):
    """Matches no op, as quantizers relying on source_fn_stack do under non-strict export."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        return model


class HalfPrecision(_Annotator):
    """Annotates linear with float16 specs: a valid annotation that quantizes nothing."""

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        spec = QuantizationSpec(
            dtype=torch.float16, observer_or_fake_quant_ctr=PlaceholderObserver.with_args(dtype=torch.float16)
        )
        for node in model.graph.nodes:
            if node.target == _LINEAR:
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map={node.args[0]: spec, node.args[1]: spec}, output_qspec=spec,
                    _annotated=True,
                )
        return model
