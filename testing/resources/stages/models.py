"""Models whose lowered program differs from what convert promised. `# expect:` marks reported lines."""

import torch
from torch import nn


class Heads(nn.Module):
    """q, k and v read the same tokens, summed inline: XNNPACK splits a shared dynamic chain in two."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(16, 16)
        self.k = nn.Linear(16, 16)
        self.v = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.q(tokens) + self.k(tokens) + self.v(tokens)  # expect: heads


class Unsupported(nn.Module):
    """Two ops the XNNPACK quantizer quantizes and its partitioner leaves out."""

    def __init__(self) -> None:
        super().__init__()
        self.volume = nn.Conv3d(3, 8, 3)
        self.conv = nn.Conv2d(3, 8, 3)
        self.act = nn.Hardtanh()
        self.pool = nn.AdaptiveAvgPool2d(2)

    def forward(self, clip: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        volume = torch.relu(self.volume(clip))  # expect: conv3d
        features = self.act(self.conv(image))
        return volume, self.pool(features)  # expect: pool


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(4, 16),)


def clip_and_image() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(1, 3, 6, 6, 6), torch.randn(1, 3, 10, 10)
