"""Real transformers architectures, built from their configs with random weights.

Nothing is downloaded: a config is plain data, and the weights a model starts with are what the
check needs, since shared dequantizes depend on the graph and never on the numbers.
"""

import torch
from transformers import (
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    MobileViTConfig,
    MobileViTForImageClassification,
    ViTConfig,
    ViTModel,
)

VOCAB = 512


def mobilevit() -> torch.nn.Module:
    # MobileViT-S's layer sizes (the config's defaults) at a 64x64 input: about 700 exported nodes,
    # convolutions and attention mixed, the size of model a CI guard must handle in seconds.
    return MobileViTForImageClassification(MobileViTConfig(image_size=64))


def image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 64, 64),)


def bert() -> torch.nn.Module:
    # BERT's layer structure at a size where even the quantizers' own qparam search takes seconds.
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        max_position_embeddings=64,
    )
    return BertModel(config, add_pooling_layer=False)


def tokens() -> tuple[torch.Tensor]:
    return (torch.randint(0, VOCAB, (1, 16)),)


def bert_keywords() -> dict[str, torch.Tensor]:
    # As a tokenizer hands them over: forward(input_ids=..., attention_mask=...).
    return {"input_ids": torch.randint(0, VOCAB, (1, 16)),
            "attention_mask": torch.ones(1, 16, dtype=torch.long)}


def vit() -> torch.nn.Module:
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=128)
    return ViTModel(config, add_pooling_layer=False)


class FirstOutput(torch.nn.Module):
    """A library model as projects wrap it: one line of theirs calls it, for every node it makes."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values)[0]  # expect: wrapped


def wrapped_vit() -> torch.nn.Module:
    return FirstOutput(vit())


def small_image() -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 32, 32),)


def _gpt2(use_cache: bool) -> torch.nn.Module:
    config = GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=64, n_layer=2, n_head=2,
                        use_cache=use_cache)
    return GPT2LMHeadModel(config)


def gpt2_with_cache() -> torch.nn.Module:
    # As from_pretrained builds it: forward returns its key/value cache, which export cannot output.
    return _gpt2(use_cache=True)


def gpt2() -> torch.nn.Module:
    return _gpt2(use_cache=False)


def gpt2_tokens() -> dict[str, torch.Tensor]:
    return {"input_ids": torch.randint(0, VOCAB, (1, 16))}
