"""LLM-shaped models, weightless against structural mode: `.venv/bin/python bench/llm.py`.

The LLaMA shapes of issue #15 (testing/resources/llm/models.py: 1.2 B, hidden 2048, 16 layers;
8 B, hidden 4096, 32 layers, intermediate 14336, 8 KV heads), X86InductorQuantizer dynamic,
non-strict export, `-j 1`, in this one run:

  scan      `dqguard scan --no-cache -j 1 --format json` in a fresh process, weightless
            (`--weightless`) and structural (`--no-weightless`): wall clock and the peak resident
            memory of the largest process in its tree (the case's own, sampled from /proc).
            Weightless scans take seconds, so theirs is the median of --repeat runs (3); a
            structural scan takes minutes and runs once
  phases    a fresh process running the case's pipeline (`pipeline.run`) per mode: each phase's
            seconds and peak resident memory, and the converted graph's signature
  same      weightless against structural: graph signature and findings, node for node

Structural mode on the 8 B shape is not run: its fp32 weights alone (counted on the weightless
model) exceed this machine's memory, and it is reported as impossible (memory). Exits 1 when a
graph or a verdict differs, or the 8 B shape lacks its 2 sharings per layer (recorded as resolved:
Inductor copies each shared per-tensor dequantize itself, dqguard.check.sharing); targets that are not
met are printed, not failed (a loaded machine is slow, not wrong).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "testing" / "resources" / "llm"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
# name: (factory, layers, wall-clock target s, peak RSS target GB), from the issue
SHAPES = {"1.2b": ("models:llama_1_2b", 16, 10.0, 1.5), "8b": ("models:llama_8b", 32, 60.0, 4.0)}
GB = 10**9


def _manifest() -> str:
    cases = [f'[[case]]\nname = "llama-{shape}"\nmodel = "{factory}"\ninputs = "models:tokens"\n'
             f'quantizer = "quantizers:x86_dynamic"\nstrict = false\n'
             for shape, (factory, *_) in SHAPES.items()]
    return "\n".join(cases)


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _tree(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            kids = [int(child) for child in children.read().split()]
    except OSError:
        return [pid]
    return [pid, *(grandchild for kid in kids for grandchild in _tree(kid))]


class Scan(NamedTuple):
    seconds: float
    peak: int  # bytes: the largest process of the scan's tree at its largest
    case: dict[str, Any]


def scan(root: Path, name: str, weightless: bool) -> Scan:
    command = [sys.executable, "-m", "dqguard", "scan", "--no-cache", "-j", "1", "--format", "json",
               "--case", name, "--weightless" if weightless else "--no-weightless"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=root, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max([peak, *(_rss(pid) for pid in _tree(process.pid))])
            stop.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{stderr.decode()[-3000:]}")
    [case] = json.loads(stdout)["cases"]
    return Scan(seconds, peak, case)


def phases(root: Path, name: str, weightless: bool) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", str(root), name, str(weightless)], env=ENV,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child {name} weightless={weightless} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _child(root: Path, name: str, weightless: bool) -> dict[str, Any]:
    """One case through the pipeline in this process: per phase its seconds and peak RSS."""
    os.chdir(root)
    sys.path.insert(0, str(root))
    import torch

    from dqguard.manifest import load as manifest
    from dqguard.worker import pipeline, references, staging
    from dqguard.worker import weightless as mechanism
    from testing.signature import signature

    [case] = [c for c in manifest.load(root / "dqguard.toml").cases if c.name == name]
    current, peaks = ["start"], {"start": _rss(os.getpid())}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peaks[current[0]] = max(peaks.get(current[0], 0), _rss(os.getpid()))
            stop.wait(0.02)

    def on_phase(phase: str) -> None:
        current[0] = phase
        peaks.setdefault(phase, _rss(os.getpid()))

    seen: dict[str, Any] = {}
    check = staging.check  # the check after convert (later stages call check.shared)

    def observed_check(graph_module: Any, *args: Any) -> Any:
        seen["signature"] = signature(graph_module)
        return check(graph_module, *args)

    staging.check = observed_check  # type: ignore[assignment]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = pipeline.run(case._replace(weightless=weightless), root, "dqguard.toml", False, on_phase)
    stop.set()
    sampler.join()
    model = references.build(case.model, torch.nn.Module, "model", mechanism.fake_mode())
    return {"phases": dict(result.phases), "peaks": peaks, "status": result.status,
            "findings": [f.rule for f in result.findings], "notes": list(result.notes),
            "signature": seen.get("signature"), "fp32_bytes": 4 * sum(p.numel() for p in model.parameters())}


def _sharings(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's findings and the sharings it records as resolved (an Inductor case's)."""
    return [*case["findings"], *case["resolved"]]


def _memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _per_phase(measured: dict[str, Any]) -> str:
    return ", ".join(f"{phase} {seconds:.2f} s / {measured['peaks'].get(phase, 0) / GB:.2f} GB"
                     for phase, seconds in measured["phases"].items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append", choices=list(SHAPES), help="repeatable (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="weightless scans per shape (median)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        root, name, weightless = options.child
        print(json.dumps(_child(Path(root), name, weightless == "True")))
        return
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs, "
          f"{_memory() / GB:.1f} GB RAM", file=sys.stderr)
    sound = True
    rows, details = [], []
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for source in ("models.py", "quantizers.py"):
            shutil.copy(MODELS / source, root / source)
        (root / "dqguard.toml").write_text(_manifest())
        for shape in options.shape or list(SHAPES):
            _, layers, wall_target, memory_target = SHAPES[shape]
            name = f"llama-{shape}"
            scans = sorted((scan(root, name, True) for _ in range(options.repeat)), key=lambda s: s.seconds)
            light_scan, light = scans[len(scans) // 2], phases(root, name, True)
            print(f"measured {name} weightless", file=sys.stderr, flush=True)
            met = light_scan.seconds <= wall_target and light_scan.peak <= memory_target * GB
            findings = _sharings(light_scan.case)
            count = f"{len(findings)} {'/'.join(sorted({f['rule'] for f in findings}))}"
            if findings and all(f["resolved_by"] for f in findings):
                count += f" (resolved by {findings[0]['resolved_by']})"
            expected = len(findings) == 2 * layers and light["notes"] == []
            rows.append(f"| {name} | weightless | {light_scan.seconds:.1f} | {light_scan.peak / GB:.2f} | "
                        f"{count} | {'met' if met else 'NOT met'} (<= {wall_target:.0f} s, "
                        f"<= {memory_target} GB) |")
            details.append(f"  {name} weightless: {_per_phase(light)}")
            if light["fp32_bytes"] > _memory():
                rows.append(f"| {name} | structural | impossible (memory): {light['fp32_bytes'] / GB:.1f} GB "
                            f"of fp32 weights > {_memory() / GB:.1f} GB RAM | | | not run |")
                sound &= expected
                continue
            normal_scan, normal = scan(root, name, False), phases(root, name, False)
            print(f"measured {name} structural", file=sys.stderr, flush=True)
            same = normal["signature"] == light["signature"] and _sharings(normal_scan.case) == findings
            sound &= same and normal["signature"] is not None and light["notes"] == []
            rows.append(f"| {name} | structural | {normal_scan.seconds:.1f} | {normal_scan.peak / GB:.2f} | "
                        f"{len(_sharings(normal_scan.case))} | same graph and findings: "
                        f"{'yes' if same else 'NO'}; {normal_scan.seconds / light_scan.seconds:.1f}x time, "
                        f"{normal_scan.peak / light_scan.peak:.1f}x memory |")
            details.append(f"  {name} structural: {_per_phase(normal)}")
    print("| model | mode | scan wall s | peak RSS GB | findings | |")
    print("| --- | --- | ---: | ---: | --- | --- |")
    print("\n".join(rows))
    print("\nPer phase, seconds / peak resident memory of the case's process (a fresh process each):")
    print("\n".join(details))
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    sys.exit(0 if sound else 1)


if __name__ == "__main__":
    main()
