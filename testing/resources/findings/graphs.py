"""Models whose converted graphs keep a shared dequantize. `# expect:` marks the reported line."""

import torch
from torch import nn
from torch._higher_order_ops.while_loop import while_loop


class ThreeHeads(nn.Module):
    """Three linears read the same tokens: dynamic quantization leaves their input shared."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(16, 16)
        self.second = nn.Linear(16, 16)
        self.third = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        a = self.first(tokens)  # expect: first consumer
        b = self.second(tokens)  # expect: second consumer
        c = self.third(tokens)  # expect: third consumer
        return a + b + c


class ConcatAndProject(nn.Module):
    """The same tensor reaches linear directly and cat through a list argument."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joined = torch.cat([tokens, tokens * 2], dim=-1)  # expect: cat consumer
        return joined, self.proj(tokens)  # expect: linear consumer


class ActivationFanOut(nn.Module):
    """A linear's quantized output feeds two ops that are annotated but left in float."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, 16)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.proj(tokens)
        return torch.relu(hidden), torch.sigmoid(hidden)


class LoopedHeads(ThreeHeads):
    """The three heads read the loop's state inside a while_loop body, which prepare quantizes too."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        def more(step: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
            return step < 3

        def body(step: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return step + 1, self.first(state) + self.second(state) + self.third(state)  # expect: loop body

        _, state = while_loop(more, body, (torch.tensor(0), tokens))
        return state


def tokens() -> tuple[torch.Tensor]:
    return (torch.randn(2, 4, 16),)
