"""The zoo's architectures: transformers models built from their configs with random weights.

Nothing is downloaded: a config is plain data, and what the check and the lowerings look at is
the graph, never the numbers. Sizes are the smallest that keep each architecture's structure
(its stages, blocks, attention pattern), so that each exports in seconds on a CPU.

Each factory returns a module whose `forward` takes the inputs the manifest names and returns
one tensor: export and every backend need a tensor output, not a transformers `ModelOutput`.
"""

import torch
import transformers as tf

VOCAB = 256


class Hidden(torch.nn.Module):
    """A transformers model's first output: `last_hidden_state`, or `logits` for a head."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values)[0]


class TextHidden(Hidden):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]


class DecoderLogits(Hidden):
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.model(input_ids=input_ids)[0]


class AudioHidden(Hidden):
    def forward(self, input_values: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.model(input_values)[0]


def resnet() -> torch.nn.Module:
    # Bottleneck residual blocks in two stages.
    config = tf.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1],
                             layer_type="bottleneck")
    return Hidden(tf.ResNetModel(config))


def mobilenet_v2() -> torch.nn.Module:
    # Inverted residuals with depthwise convolutions and ReLU6, at a width of a quarter.
    config = tf.MobileNetV2Config(image_size=64, depth_multiplier=0.25, num_labels=10)
    return Hidden(tf.MobileNetV2ForImageClassification(config))


def convnext() -> torch.nn.Module:
    # 7x7 depthwise convolutions, channels-last layer norms, GELU MLPs and layer scale.
    config = tf.ConvNextConfig(hidden_sizes=[16, 32], depths=[1, 1], num_stages=2)
    return Hidden(tf.ConvNextModel(config))


def swin() -> torch.nn.Module:
    # Shifted windows, relative position bias and patch merging between two stages.
    config = tf.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1],
                           num_heads=[1, 2], window_size=4)
    return Hidden(tf.SwinModel(config, add_pooling_layer=False))


def segformer() -> torch.nn.Module:
    # Mix Transformer encoder (overlapping patch embeddings, reduced-sequence attention) and the
    # all-MLP decode head: logits per pixel.
    config = tf.SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1],
                                hidden_sizes=[16, 32], num_attention_heads=[1, 2],
                                decoder_hidden_size=32, num_labels=4)
    return Hidden(tf.SegformerForSemanticSegmentation(config))


def bert() -> torch.nn.Module:
    config = tf.BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=64)
    return TextHidden(tf.BertModel(config, add_pooling_layer=False))


def qwen2() -> torch.nn.Module:
    # Grouped-query attention: 4 query heads share 2 key/value heads; rotary embeddings, RMSNorm,
    # SwiGLU. No cache: torch.export cannot output a DynamicCache.
    config = tf.Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            max_position_embeddings=64, use_cache=False)
    return DecoderLogits(tf.Qwen2ForCausalLM(config))


def wav2vec2() -> torch.nn.Module:
    # A 1-d convolutional feature encoder on the raw waveform, a convolutional positional
    # embedding, then transformer layers.
    config = tf.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, conv_dim=(16, 16), conv_stride=(5, 2),
                               conv_kernel=(10, 3), num_conv_pos_embeddings=16,
                               num_conv_pos_embedding_groups=2, do_stable_layer_norm=True)
    return AudioHidden(tf.Wav2Vec2Model(config))
