import torch
from torch import nn
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x))


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        raise ValueError("checkpoint 'weights/small.pt' is missing")


def inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 8),)


def xnnpack_static() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config())
