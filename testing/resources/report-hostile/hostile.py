import os
import sys

import torch
from torch import nn
from torchao.testing.pt2e._xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)

HOSTILE = "::error file=pwned.py::from an exception, 100% %0A a:b ##[error]legacy ]]> <x>&"


class Projections(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(8, 8)
        self.key = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.query(tokens) @ self.key(tokens).transpose(-2, -1)


class Raises(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError(HOSTILE + "\n::error::second line\r\n##[set-output name=x;]y")


class Crashes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        sys.stderr.write("::error::from stderr\n##[error]legacy from stderr\n::stop-commands::abc\n")
        sys.stderr.flush()
        os._exit(70)


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(1, 4, 8),)


def xnnpack_dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    )
