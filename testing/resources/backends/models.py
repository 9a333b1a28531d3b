"""A small conv net (conv, ReLU, conv, a residual add, pooling, a linear) and a tinier one for
CoreML's own quantizer, whose prepare costs a minute whatever the model."""

import torch
from torch import nn


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 3, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.conv2(torch.relu(self.conv1(image))) + image
        return self.fc(torch.flatten(self.pool(features), 1))


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(image))


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 16, 16),)
