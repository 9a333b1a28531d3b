"""Models that misbehave the ways real model code does: hang, abort, crash, eat memory.

Each misbehaviour sits in `forward` and the cases export non-strict, so it runs for real while
torch.export traces (strict export would hand `forward` to dynamo instead of running it).
"""

import ctypes
import os
import time

import torch
from torch import nn


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(image)).mean((2, 3)))


class Projections(nn.Module):
    """Three linears read one input: dynamic quantization leaves its dequantize shared (DQG002)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.c = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.a(tokens) + self.b(tokens) + self.c(tokens)


class Hangs(Small):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        time.sleep(3600)  # expect: hang
        return super().forward(image)


class Aborts(Small):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        os.abort()  # expect: abort


class Segfaults(Small):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        ctypes.string_at(0)  # expect: segfault
        return super().forward(image)


class EatsMemory(Small):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # Touched pages, a chunk at a time, as a leak does: far past the case's limit of 1 GiB
        # but well inside the machine, should the limit ever fail to hold.
        hoard = [b"\x01" * 2**26 for _ in range(96)]
        return super().forward(image) + len(hoard)


class BrokenInit(Small):
    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError("weights file is missing")


class ReportsThreads(Small):
    """Fails on purpose, to tell the test how many intra-op threads its worker was given."""

    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError(f"{torch.get_num_threads()} intra-op threads")


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 8, 8),)


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(2, 8),)
