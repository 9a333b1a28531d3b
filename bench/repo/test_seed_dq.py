"""The seed checks as a project would write them by hand: one pytest test per model/quantizer pair.

Each test exports, prepares, calibrates and converts, then asserts that every dequantize feeding
an annotated node has that node as its only user.
"""

import seed_models as models
import seed_quantizers as quantizers
import torch
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

DEQUANTIZE = (
    torch.ops.quantized_decomposed.dequantize_per_tensor.default,
    torch.ops.quantized_decomposed.dequantize_per_tensor.tensor,
    torch.ops.quantized_decomposed.dequantize_per_channel.default,
)


def assert_no_shared_dequantize(model: torch.nn.Module, quantizer: quantizers.OpsQuantizer) -> None:
    inputs = models.image()
    exported = torch.export.export(model.eval(), inputs, strict=True).module()
    prepared = prepare_pt2e(exported, quantizer)
    prepared(*inputs)
    converted = convert_pt2e(prepared)
    for node in converted.graph.nodes:
        if node.meta.get("quantization_annotation") is None:
            continue
        for arg in node.args:
            if isinstance(arg, torch.fx.Node) and arg.target in DEQUANTIZE:
                assert len(arg.users) == 1, f"{arg.name} is shared by {list(arg.users)}"


def test_chain() -> None:
    assert_no_shared_dequantize(models.ConvPoolLinear(), quantizers.ChainQuantizer())


def test_branches() -> None:
    assert_no_shared_dequantize(models.FanOut(), quantizers.FanOutQuantizer())


def test_branches_add_not_quantized() -> None:
    assert_no_shared_dequantize(models.FanOut(), quantizers.FanOutNoAddQuantizer())


def test_pool_own_config() -> None:
    assert_no_shared_dequantize(models.FanOutWithPool(), quantizers.PoolOwnConfigQuantizer())
