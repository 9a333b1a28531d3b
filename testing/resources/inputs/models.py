"""A model whose forward takes keywords, as transformers models do, and ways to feed it."""

import torch
from torch import nn
from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config


class MaskedHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(8, 8)
        self.key = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        scores = self.query(tokens) @ self.key(tokens).transpose(-2, -1)  # expect: heads
        if mask is not None:
            scores = scores + mask
        return {"scores": scores}


def keywords() -> dict[str, torch.Tensor]:
    return {"tokens": torch.randn(1, 4, 8), "mask": torch.zeros(1, 4, 4)}


def args_and_keywords() -> tuple[tuple[torch.Tensor], dict[str, torch.Tensor]]:
    return (torch.randn(1, 4, 8),), {"mask": torch.zeros(1, 4, 4)}


def positional() -> torch.Tensor:
    return torch.randn(1, 4, 8)


def a_set() -> set[int]:
    return {1, 2}


def dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_dynamic=True))
