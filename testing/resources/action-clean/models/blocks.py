import torch
from torch import nn


class ConvHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(image))
        pooled = self.pool(features).flatten(1)
        return self.fc(pooled)


def image_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 16, 16),)
