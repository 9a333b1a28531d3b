"""A lowering case, dqguard against the plain pipeline: `.venv/bin/python bench/lowering.py`.

The case is testing/resources/stages' `xnnpack/heads-duplicated` (three dynamic linears, the
chain-duplication stage, then XNNPACK). In this one run, alternating, each cold in a fresh process:

  dqguard   `dqguard scan --no-cache --format json -j 1 --case NAME`: the CLI, its worker, the
            check after every stage and the delegation rules
  plain     one process doing export -> prepare_pt2e -> calibrate -> convert_pt2e ->
            DuplicateDynamicQuantChainPass -> torch.export -> to_edge_transform_and_lower, with no
            dqguard in it

Prints each run, the medians, the ratio (target <= TARGET) and dqguard's per-stage phases from the
JSON report. Options: --repeat N (3), --case NAME. Exits 1 when the ratio misses the target or a
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
ROOT = REPO / "testing" / "resources" / "stages"
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


def _plain() -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PLAIN], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the plain pipeline failed:\n{done.stderr[-3000:]}")
    return seconds, int(done.stdout.split()[-2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", default="xnnpack/heads-duplicated")
    options = parser.parse_args()
    plain_times, dqguard_times = [], []
    ok = True
    result: dict[str, Any] = {}
    for run in range(1, options.repeat + 1):
        seconds, delegates = _plain()
        plain_times.append(seconds)
        print(f"run {run}: plain   {seconds:6.1f} s  ({delegates} delegates)", flush=True)
        seconds, result = scan_case(options.case, ROOT, ENV)
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
