"""Three blocks: a conv head, attention's projections, and an embedding read by two heads."""

import torch
from torch import nn


class ConvHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 4)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(image)).mean(dim=(2, 3))
        return self.fc(features)


class Projections(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(16, 16)
        self.key = nn.Linear(16, 16)
        self.value = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.query(tokens)  # expect: projections
        k = self.key(tokens)
        v = self.value(tokens)
        return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v


class Embedder(nn.Module):
    """Keyword inputs, as transformers models take them: `input_ids=`."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.start = nn.Linear(16, 1)
        self.end = nn.Linear(16, 1)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(input_ids)
        return self.start(hidden) + self.end(hidden)  # expect: heads
