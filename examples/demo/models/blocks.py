"""Small blocks in the shapes real on-device models have."""

import torch
from torch import nn


class ConvHead(nn.Module):
    """conv -> relu -> pool -> linear: every dequantize has one consumer after convert."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(image))
        pooled = self.pool(features).flatten(1)
        return self.fc(pooled)


class Projections(nn.Module):
    """Attention's query, key and value projections all read the same tokens."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.query(tokens)
        k = self.key(tokens)
        v = self.value(tokens)
        weights = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
        return weights @ v


def image_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 16, 16),)


def token_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(1, 8, 16),)
