"""What XNNPACK delegates whole and what it leaves on the CPU. `# expect:` marks reported lines."""

import torch
from torch import nn


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.conv2(torch.relu(self.conv1(image)))
        return self.fc(torch.flatten(self.pool(features), 1))


class Volume(nn.Module):
    """A Conv3d (XNNPACK leaves it outside) feeding a linear (delegated)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4 * 4, 10)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        volume = self.conv(clip)  # expect: conv3d
        return self.fc(torch.flatten(volume, 1))


class Heads(nn.Module):
    """q, k and v of the same tokens, each computed first: one XNNPACK delegate."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(16, 16)
        self.k = nn.Linear(16, 16)
        self.v = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.q(tokens)
        k = self.k(tokens)
        v = self.v(tokens)
        return q + k + v  # expect: heads


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 12, 12),)


def clip() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 6, 6, 6),)


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(4, 16),)
