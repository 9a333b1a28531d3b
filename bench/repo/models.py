"""The four seed scenarios' graphs, and a deep network for cases that take seconds each."""

import torch
from torch import nn


class PoolChain(nn.Module):
    """conv -> adaptive avgpool -> hardtanh -> view -> linear: nothing is shared."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.clamp = nn.Hardtanh()
        self.head = nn.Linear(6, 4)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.clamp(self.pool(self.conv(image)))
        return self.head(features.view(-1, 6))


class Branches(nn.Module):
    """One conv's output read by a linear (through a view), a second conv, an add and a mul."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.side = nn.Conv2d(4, 4, 1)
        self.head = nn.Linear(4, 4)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stem = self.stem(image)
        projected = self.head(stem.view(-1, 4))
        merged = stem + self.side(stem)
        doubled = stem * 2
        return projected, merged, doubled


class PoolBranches(nn.Module):
    """One conv's output read by an adaptive avgpool, a second conv, an add and an add-constant."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.side = nn.Conv2d(4, 4, 1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stem = self.stem(image)
        pooled = self.pool(stem)
        merged = stem + self.side(stem)
        shifted = stem + 2
        return pooled, merged, shifted


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


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 5, 7),)


def small_image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 16, 16),)
