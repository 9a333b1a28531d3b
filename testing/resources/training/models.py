"""Models as teams train and serve them: QAT with batch norm, a dynamic batch, calibration data."""

from collections.abc import Iterator

import torch
from torch import nn
from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config


class ConvBnRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def image() -> torch.Tensor:
    return torch.randn(2, 3, 16, 16)


def images() -> Iterator[torch.Tensor]:
    return (torch.randn(2, 3, 16, 16) for _ in range(3))


class Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(8, 8)
        self.key = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        # The batch size read back from the input: a sym_size of it under a dynamic batch.
        scores = self.query(tokens) @ self.key(tokens).transpose(-2, -1)  # expect: heads
        return scores.reshape(tokens.shape[0], -1)


def tokens() -> torch.Tensor:
    return torch.randn(4, 4, 8)


def token_batches() -> list[object]:
    return [{"tokens": torch.randn(4, 4, 8)}, ((torch.randn(4, 4, 8),), {})]


def bad_batches() -> list[object]:
    return [torch.randn(4, 4, 8), {1, 2}]


def no_batches() -> list[object]:
    return []


def qat() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_qat=True))


def static() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config())


def dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_dynamic=True))
