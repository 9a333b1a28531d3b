"""Models for the legacy torch.ao flow. `# expect:` marks the reported line."""

import torch
from torch import nn


class ThreeHeads(nn.Module):
    """Attention-style projections reading one tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(16, 16)
        self.k = nn.Linear(16, 16)
        self.v = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.q(tokens)  # expect: first consumer
        k = self.k(tokens)  # expect: second consumer
        v = self.v(tokens)  # expect: third consumer
        return q + k + v


class ConvHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.head = nn.Linear(8, 4)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(image)).mean((2, 3)))


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(2, 4, 16),)


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 8, 8),)
