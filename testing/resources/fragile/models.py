"""Models that touch process-wide state: an op registry, standard input, their own worker."""

import os
import signal

import ops  # noqa: F401  (registers torch.ops.dqguard_fragile.double)
import torch
from torch import nn
from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.proj(tokens)


class SmallAgain(Small):
    """Small under another name, so that it does not share Small's export (and its process)."""


class UsesCustomOp(Small):
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.ops.dqguard_fragile.double(tokens))


class UsesCustomOpToo(UsesCustomOp):
    pass


class UsesCustomOpAgain(UsesCustomOp):
    pass


class AsksForInput(Small):
    def __init__(self) -> None:
        super().__init__()
        input("path to the weights? ")  # expect: input


class KillsItsWorker(Small):
    """Kills the process that forked it, once: `FRAGILE_MARKER` then makes new workers fail."""

    def __init__(self) -> None:
        super().__init__()
        marker = os.environ.get("FRAGILE_MARKER")
        if marker:
            open(marker, "w").close()
        os.kill(os.getppid(), signal.SIGKILL)
        raise RuntimeError("killed its worker")


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(2, 8),)


def dynamic() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_dynamic=True))
