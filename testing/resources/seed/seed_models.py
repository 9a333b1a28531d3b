"""The four graphs of PyTorch's own DuplicateDQPass test, written anew: all must come out clean."""

import torch
from torch import nn


class ConvPoolLinear(nn.Module):
    """conv -> adaptive avgpool -> hardtanh -> view -> linear: a chain, nothing to share."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.clamp = nn.Hardtanh()
        self.fc = nn.Linear(3, 3)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        hidden = self.clamp(self.pool(self.conv(image)))
        return self.fc(hidden.view(-1, 3))


class FanOut(nn.Module):
    """conv1's output feeds linear (through view), conv2, add and mul."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, 3)
        self.conv2 = nn.Conv2d(3, 3, 1)
        self.fc = nn.Linear(3, 3)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        trunk = self.conv1(image)
        projected = self.fc(trunk.view(-1, 3))
        branch = self.conv2(trunk)
        return projected, trunk + branch, trunk * 2


class FanOutWithPool(nn.Module):
    """conv1's output feeds an avgpool with its own qconfig, conv2, add and add-constant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, 3)
        self.conv2 = nn.Conv2d(3, 3, 1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        trunk = self.conv1(image)
        pooled = self.pool(trunk)
        branch = self.conv2(trunk)
        return pooled, trunk + branch, trunk + 2


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 5, 7),)
