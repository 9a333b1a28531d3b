"""The compatibility matrix's cost: `.venv/bin/python bench/compat.py [--full] [-j N]`.

Scans examples/zoo (a subset by default; `--full`: every cell) with `--no-cache -j N` in a fresh
process and prints the total and each cell's time (model x recipe, seconds). The subset is the
cells tests/test_compat.py regenerates (ResNet, BERT, Qwen2: export-light, where dqguard has
little to save) and MobileNetV2's row under the same recipes (a depthwise CNN, where X86's
histogram observers dominate a plain script's time). For the subset it then runs, in the same
run, a plain script doing the same pipeline cell by cell in one process:
build the model, torch.export it, prepare, calibrate, convert and lower as the cell's stages say,
with the quantizer's own observers, as a user's script would. Prints the ratio dqguard / plain
(goal <= 0.5) and exits 1 when it is missed, and the same ratio over the test's cells alone, so
that neither half hides the other. dqguard's edge: one export per model for all its recipes,
min/max observers (structural mode) instead of the quantizers' histogram searches, and its workers.
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import timed

REPO = Path(__file__).resolve().parent.parent
ZOO = REPO / "examples" / "zoo"
GOAL = 0.5

def _subset() -> list[str]:
    """The cells tests/test_compat.py regenerates, as scripts/compat.py names them."""
    spec = importlib.util.spec_from_file_location("compat", REPO / "scripts" / "compat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tested = list(module.SUBSET)
    recipes = dict.fromkeys(name.rsplit("/", 1)[1] for name in tested)
    return tested + [f"zoo/mobilenet_v2/{recipe}" for recipe in recipes]


def _scan(cases: list[str], jobs: int) -> tuple[float, dict[str, Any]]:
    command = [sys.executable, "-m", "dqguard", "scan", "--no-cache", "-j", str(jobs), "--format", "json",
               *[arg for case in cases for arg in ("--case", case)]]
    run = timed(command, ZOO)
    if run.code not in (0, 1):
        raise SystemExit(f"dqguard scan exited {run.code}:\n{run.stderr[-3000:]}")
    document: dict[str, Any] = json.loads(run.stdout)
    return run.seconds, document


def _cells(document: dict[str, Any]) -> None:
    by_model: dict[str, dict[str, float]] = {}
    for case in document["cases"]:
        _, model, recipe = case["name"].split("/")
        by_model.setdefault(model, {})[recipe] = case["duration_s"]
    recipes = list(dict.fromkeys(r for row in by_model.values() for r in row))
    print(f"{'':14}" + "".join(f"{r[:15]:>16}" for r in recipes))
    for model, row in by_model.items():
        print(f"{model:14}" + "".join(f"{row[r]:16.1f}" if r in row else f"{'-':>16}" for r in recipes))
    total = sum(case["duration_s"] for case in document["cases"])
    print(f"cells {len(document['cases'])}, sum of cell times {total:.1f} s")


# The plain script: one process, cell after cell, nothing shared, no dqguard.
PLAIN = r'''
import json, sys, time, tomllib
import torch
sys.path.insert(0, ".")
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e, prepare_qat_pt2e
from dqguard_free_inputs import inputs

manifest = tomllib.loads(open("dqguard.toml").read())["matrix"][0]
models = {m["model"].split(":")[1]: m for m in manifest["models"]}
recipes = {q["label"]: q for q in manifest["quantizers"]}

def attr(reference):
    module, name = reference.split(":")
    return getattr(__import__(module), name)

def lower(stage, converted, kwargs):
    from executorch.exir import to_edge_transform_and_lower
    program = torch.export.export(converted, (), kwargs, strict=False)
    if stage == "dqguard.stages:xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        return to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    raise SystemExit(f"the plain script has no lowering for {stage}")

times = {}
for cell in sys.argv[1:]:
    _, model_name, recipe = cell.split("/")
    start = time.perf_counter()
    try:
        torch.manual_seed(0)
        entry, q = models[model_name], recipes[recipe]
        kwargs = inputs(entry["inputs"])
        model = attr(entry["model"])()
        qat = q.get("qat", False)
        model.train(qat)
        exported = torch.export.export(model, (), kwargs, strict=manifest.get("strict", True))
        module = exported.module(check_guards=False)
        quantizer = attr(q["quantizer"])()
        prepared = (prepare_qat_pt2e if qat else prepare_pt2e)(module, quantizer)
        with torch.no_grad():
            prepared(**kwargs)
        converted = convert_pt2e(prepared)
        for stage in q.get("stages", ()):
            lower(stage, converted, kwargs)
        status = "ok"
    except Exception as exc:
        status = f"{type(exc).__name__}"
    times[cell] = (time.perf_counter() - start, status)
print(json.dumps(times))
'''

INPUTS = r'''
import torch

def _tensor(spec, generator):
    if isinstance(spec, list):
        return torch.randn(spec, generator=generator)
    dtype = getattr(torch, spec.get("dtype", "float32"))
    if dtype.is_floating_point:
        return torch.randn(spec["shape"], generator=generator, dtype=dtype)
    return torch.randint(spec.get("low", 0), spec["high"], spec["shape"], generator=generator, dtype=dtype)

def inputs(specs):
    generator = torch.Generator().manual_seed(0)
    return {name: _tensor(spec, generator) for name, spec in specs.items()}
'''


def _plain(cases: list[str]) -> tuple[float, dict[str, Any]]:
    (ZOO / "dqguard_free_inputs.py").write_text(INPUTS)
    try:
        run = timed([sys.executable, "-c", PLAIN, *cases], ZOO)
    finally:
        (ZOO / "dqguard_free_inputs.py").unlink()
    if run.code != 0:
        raise SystemExit(f"the plain script exited {run.code}:\n{run.stderr[-3000:]}")
    cells: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return run.seconds, cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="every cell of the matrix, no comparison")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    os.environ.update({"HF_HUB_OFFLINE": "1"})
    manifest = tomllib.loads((ZOO / "dqguard.toml").read_text())["matrix"][0]
    assert manifest["strict"] is False, "the plain script exports as the manifest does"
    cases = [] if args.full else _subset()
    seconds, document = _scan(cases, args.jobs)
    print(f"dqguard scan -j {args.jobs}: {len(document['cases'])} cells in {seconds:.1f} s")
    _cells(document)
    if args.full:
        return 0
    plain_seconds, plain = _plain(cases)
    print(f"plain script, one process: {len(plain)} cells in {plain_seconds:.1f} s")
    for case, (cell_seconds, status) in plain.items():
        print(f"  {case:32} {cell_seconds:7.1f} s  {status}")
    ratio = seconds / plain_seconds
    print(f"ratio    {ratio:7.2f}  goal <= {GOAL}")
    light = [c for c in document["cases"] if not c["name"].startswith("zoo/mobilenet_v2/")]
    light_ratio = sum(c["duration_s"] for c in light) / sum(plain[c["name"]][0] for c in light)
    print(f"ratio over the test's cells alone (sum of cell times): {light_ratio:.2f}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"bench took {time.perf_counter() - start:.0f} s")
    sys.exit(code)
