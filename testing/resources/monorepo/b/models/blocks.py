"""One dynamic linear: nothing shared. There is no `Projections` here."""

import torch
from torch import nn


class Single(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(tokens)
