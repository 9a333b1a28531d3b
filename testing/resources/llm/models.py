"""LLaMA-shaped decoders built from configs with random weights, and two small models.

Nothing is downloaded. `llama(...)` takes the shapes of the issue's table; `bench/llm.py` builds
the 1.2 B and 8 B ones with it.
"""

import torch
from transformers import LlamaConfig, LlamaForCausalLM

VOCAB = 32000
# hidden, layers, intermediate, attention heads, key/value heads
SHAPES = {
    "tiny": (256, 2, 688, 4, 2),
    "150m": (1024, 8, 4096, 16, 8),
    "1.2b": (2048, 16, 8192, 16, 8),
    "8b": (4096, 32, 14336, 32, 8),
}


def llama(shape: str) -> torch.nn.Module:
    hidden, layers, intermediate, heads, kv_heads = SHAPES[shape]
    config = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, intermediate_size=intermediate,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, vocab_size=VOCAB,
                         max_position_embeddings=2048, use_cache=False)
    return LlamaForCausalLM(config)


def llama_tiny() -> torch.nn.Module:
    return llama("tiny")


def llama_150m() -> torch.nn.Module:
    return llama("150m")


def tokens() -> tuple[torch.Tensor]:
    return (torch.randint(0, VOCAB, (1, 16)),)


class Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Linear(16, 16)
        self.second = torch.nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.first(x)
        return self.second(y) + y


class ReadsValues(Small):
    """Initialisation that reads a weight's value: a fake tensor has none to give."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = float(self.first.weight.abs().mean())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.gain


def small() -> torch.nn.Module:
    return Small()


def reads_values() -> torch.nn.Module:
    return ReadsValues()


def features() -> tuple[torch.Tensor]:
    return (torch.randn(2, 16),)


def llama_1_2b() -> torch.nn.Module:  # bench/llm.py's: too big for CI's normal path
    return llama("1.2b")


def llama_8b() -> torch.nn.Module:  # bench/llm.py's: ~32 GB of fp32 weights, weightless only
    return llama("8b")
