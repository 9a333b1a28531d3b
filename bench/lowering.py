"""A lowering case, dqguard against the plain pipeline: `.venv/bin/python bench/lowering.py
[--backend xnnpack|ethos-u55]`.

The XNNPACK case is testing/resources/stages' `xnnpack/heads-duplicated` (three dynamic linears,
the chain-duplication stage, then XNNPACK); the Ethos-U55 one testing/resources/backends'
`ethos-u55` (a small conv net, Arm's quantizer, then TOSA and Vela's compile). In this one run,
alternating, each cold in a fresh process:

  dqguard   `dqguard scan --no-cache --format json -j 1 --case NAME`: the CLI, its worker, the
            check after every stage, the delegation rules and coverage by compute
  plain     one process doing export -> prepare_pt2e -> calibrate -> convert_pt2e ->
            (DuplicateDynamicQuantChainPass ->) torch.export -> to_edge_transform_and_lower, with
            no dqguard in it

Prints each run, the medians, the ratio (target <= TARGET) and dqguard's per-stage phases from the
JSON report. Options: --repeat N (3), --backend. Exits 1 when the ratio misses the target or a
verdict is not the expected clean one with 1 delegate.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import scan_case

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.1  # dqguard / plain, cold
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

PLAIN = """
import sys, time
start = time.perf_counter()
import torch
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from executorch.backends.transforms.duplicate_dynamic_quant_chain import DuplicateDynamicQuantChainPass
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.exir import to_edge_transform_and_lower
import models, quantizers

model = models.Heads().eval()
args = models.tokens()
module = torch.export.export(model, args).module()
prepared = prepare_pt2e(module, quantizers.executorch_dynamic())
prepared(*args)
converted = convert_pt2e(prepared)
DuplicateDynamicQuantChainPass()(converted)
program = torch.export.export(converted, args)
lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
graph = lowered.exported_program().graph_module.graph
delegates = sum(getattr(n.target, "__name__", "") == "executorch_call_delegate" for n in graph.nodes)
print(delegates, time.perf_counter() - start)
"""

PLAIN_ETHOS_U55 = """
import sys, time
start = time.perf_counter()
import torch
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from executorch.backends.arm.ethosu import EthosUCompileSpec, EthosUPartitioner
from executorch.exir import to_edge_transform_and_lower
import models, quant

args = models.image()
module = torch.export.export(models.ConvNet().eval(), args).module(check_guards=False)
prepared = prepare_pt2e(module, quant.ethos_u55())
prepared(*args)
program = torch.export.export(convert_pt2e(prepared), args)
spec = EthosUCompileSpec("ethos-u55-128")
lowered = to_edge_transform_and_lower(program, partitioner=[EthosUPartitioner(spec)])
graph = lowered.exported_program().graph_module.graph
delegates = sum(getattr(n.target, "__name__", "") == "executorch_call_delegate" for n in graph.nodes)
print(delegates, time.perf_counter() - start)
"""

# backend -> (scenario, case, plain script)
BACKENDS = {
    "xnnpack": ("stages", "xnnpack/heads-duplicated", PLAIN),
    "ethos-u55": ("backends", "ethos-u55", PLAIN_ETHOS_U55),
}


def _plain(script: str, root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=ENV, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the plain pipeline failed:\n{done.stderr[-3000:]}")
    return seconds, int(done.stdout.split()[-2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="xnnpack")
    options = parser.parse_args()
    scenario, case, script = BACKENDS[options.backend]
    root = REPO / "testing" / "resources" / scenario
    plain_times, dqguard_times = [], []
    ok = True
    result: dict[str, Any] = {}
    for run in range(1, options.repeat + 1):
        seconds, delegates = _plain(script, root)
        plain_times.append(seconds)
        print(f"run {run}: plain   {seconds:6.1f} s  ({delegates} delegates)", flush=True)
        seconds, result = scan_case(case, root, ENV)
        dqguard_times.append(seconds)
        delegation = result["delegation"] or {}
        print(f"run {run}: dqguard {seconds:6.1f} s  ({result['status']}, "
              f"{delegation.get('delegates')} delegates)", flush=True)
        ok = ok and result["status"] == "ok" and delegation.get("delegates") == 1 and delegates == 1
    plain, dqguard = statistics.median(plain_times), statistics.median(dqguard_times)
    ratio = dqguard / plain
    print(f"median: plain {plain:.1f} s, dqguard {dqguard:.1f} s: {ratio:.2f}x (target <= {TARGET}x)")
    print("dqguard phases (last run): " + ", ".join(f"{k} {v:.2f} s" for k, v in result["phases"].items()))
    print(json.dumps({"plain_s": plain, "dqguard_s": dqguard, "ratio": round(ratio, 3),
                      "phases": result["phases"]}))
    return 0 if ok and ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
