"""A deep network for cases that take seconds each. The seed scenarios come from
testing/resources/seed, copied beside this file when the benchmark builds its repository."""

import torch
from torch import nn


class Deep(nn.Module):
    """Many small conv blocks with skips: graph work (export, prepare, convert) grows with depth."""

    def __init__(self, blocks: int = 80, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(blocks))
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Linear(width, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.stem(image)
        for block in self.blocks:
            features = features + torch.relu(block(features))
        return self.head(self.pool(features).flatten(1))


def small_image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 16, 16),)
