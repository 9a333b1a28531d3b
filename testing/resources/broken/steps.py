"""One failure per pipeline step, next to a case that works."""

import torch
from torch import nn
from torchao.quantization.pt2e.quantizer import Quantizer
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)


class Fine(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # strict export cannot trace a branch on a tensor's value
            return x
        return -x


def raising_model() -> nn.Module:
    raise RuntimeError("weights file missing")


def inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 4),)


def not_a_tuple() -> int:
    return 3


def xnnpack() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config())


class Refusing(Quantizer):
    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        raise ValueError("unsupported op: aten.linear")

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass
