"""Real transformers architectures, built from their configs with random weights.

Nothing is downloaded: a config is plain data, and the weights a model starts with are what the
check needs, since shared dequantizes depend on the graph and never on the numbers.
"""

import torch
from transformers import BertConfig, BertModel, MobileViTConfig, MobileViTForImageClassification

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
