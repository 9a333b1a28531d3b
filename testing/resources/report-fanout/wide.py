import torch
from torch import nn
from torchao.quantization.granularity import PerToken
from torchao.quantization.pt2e import MappingType
from torchao.quantization.pt2e._affine_quantization import AffineQuantizedMinMaxObserver
from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, QuantizationSpec, Quantizer
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)

WIDTH = 8


class FanOut(nn.Module):
    """Thirty heads read the same tokens: one dynamic dequantize, thirty consumers."""

    def __init__(self) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(WIDTH, 2) for _ in range(30))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(tokens) for head in self.heads], dim=-1)


class Branches(nn.Module):
    """Twelve branches, each read by two linears: twelve shared affine dequantizes."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.ModuleList(nn.Linear(WIDTH, WIDTH) for _ in range(12))
        self.right = nn.ModuleList(nn.Linear(WIDTH, WIDTH) for _ in range(12))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out = tokens
        for index, (left, right) in enumerate(zip(self.left, self.right, strict=True)):
            branch = tokens * (index + 1)
            out = out + left(branch) + right(branch)
        return out


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(1, 4, WIDTH),)


def xnnpack_dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    )


class PerTokenLinearQuantizer(Quantizer):
    """Static per-token activations through torchao's affine observers, which are never duplicated."""

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
