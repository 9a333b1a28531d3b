"""Coverage accounting against the lowering it follows: `.venv/bin/python bench/coverage.py`.

For each model (testing/resources/report-lowered's conv net, Conv3d -> linear and q/k/v heads,
and a deeper conv net of 24 blocks), in this one process: export, quantize with ExecuTorch's
XNNPACK quantizer, lower with dqguard's own stage (`dqguard.stages:xnnpack`), then account the
lowered program's coverage by compute as a scan does (`dqguard.check.coverage.account`). Prints
the lowering's time, the accounting's first call (what a scan pays) and its best of --repeat, the
first call's ratio to the lowering (target <= TARGET) and the coverage found. Exits 1 when a
ratio misses the target.
"""

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "testing" / "resources" / "report-lowered"
sys.path.insert(0, str(REPO))
TARGET = 0.10  # accounting / lowering

from dqguard.check import coverage, delegation  # noqa: E402
from dqguard.stages import xnnpack  # noqa: E402
from dqguard.words import plural  # noqa: E402
from dqguard.worker.examples import Example  # noqa: E402


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", SCENARIO / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Deep(nn.Module):
    """24 conv-ReLU blocks and a linear head: a program with hundreds of delegated ops."""

    def __init__(self) -> None:
        super().__init__()
        blocks = [(nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1), nn.ReLU()) for i in range(24)]
        self.body = nn.Sequential(*[module for block in blocks for module in block])
        self.head = nn.Linear(16, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(image).mean((2, 3)))


def _quantized(model: nn.Module, example: tuple[torch.Tensor, ...], quantizer: Any) -> torch.fx.GraphModule:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    prepared = prepare_pt2e(torch.export.export(model.eval(), example).module(), quantizer)
    prepared(*example)
    return convert_pt2e(prepared)  # type: ignore[no-any-return]


def measure(name: str, model: nn.Module, example: tuple[torch.Tensor, ...], quantizer: Any,
            repeat: int) -> bool:
    converted = _quantized(model, example, quantizer)
    start = time.perf_counter()
    program = xnnpack(converted, Example(example, {}))
    lowering = time.perf_counter() - start
    graph = program.exported_program().graph_module
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        record = coverage.account(delegation.delegation(graph), graph, SCENARIO)
        times.append(time.perf_counter() - start)
    ratio = times[0] / lowering  # a scan accounts once, so the first call is what it pays
    met = ratio <= TARGET
    print(f"{name:8s} lowering {lowering:6.2f} s  accounting {times[0] * 1000:6.1f} ms "
          f"(best {min(times) * 1000:.1f} ms)  ratio {ratio:6.2%}  {'ok' if met else 'MISSED'}  "
          f"coverage {record.coverage:.4f} of {record.flops} FLOPs, {plural(record.delegates, 'delegate')}, "
          f"{plural(len(record.outside), 'op')} outside")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch's pytree, on every lowering
    torch.manual_seed(0)
    models, quant = _load("models"), _load("quant")
    static, dynamic = quant.xnnpack_static(), quant.xnnpack_dynamic()
    cases = [("convnet", models.ConvNet(), models.image(), static),
             ("volume", models.Volume(), models.clip(), static),
             ("heads", models.Heads(), models.tokens(), dynamic),
             ("deep", Deep(), (torch.randn(1, 3, 32, 32),), quant.xnnpack_static())]
    print(f"coverage accounting's share of a lowering's time (target <= {TARGET:.0%}):")
    met = [measure(name, model, example, quantizer, options.repeat)
           for name, model, example, quantizer in cases]
    return 0 if all(met) else 1


if __name__ == "__main__":
    raise SystemExit(main())
