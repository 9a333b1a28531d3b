import torch
from torch import nn


class Projections(nn.Module):
    """Attention's query, key and value projections all read the same tokens."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.query(tokens)  # expect: shared
        k = self.key(tokens)
        v = self.value(tokens)
        weights = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
        return weights @ v


def token_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(1, 8, 16),)
