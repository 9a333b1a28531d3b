"""Two dynamic linears reading one tensor: one shared dynamic chain (DQG002)."""

import torch
from torch import nn


class Projections(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(8, 8)
        self.key = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.query(tokens) + self.key(tokens)  # expect: shared
