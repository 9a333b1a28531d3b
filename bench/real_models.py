"""Real models, dqguard against the plain pipeline: `.venv/bin/python bench/real_models.py`.

For each measured case of testing/resources/realmodels (MobileViT and BERT built from transformers
configs with random weights, under X86InductorQuantizer and XNNPACK static; BERT called with
keyword inputs; ViT under dynamic XNNPACK), in this one run:

  dqguard   `dqguard scan --no-cache --format json --case NAME` in a fresh process: structural mode
  plain     a fresh process doing export -> prepare_pt2e -> calibrate -> convert_pt2e with no
            dqguard in it (HistogramObserver's own search), then dqguard's check on its graph
  same      dqguard's findings against the check's on the plain graph, and dqguard's converted
            graph (`testing.inprocess.convert`, structural) against the plain one, node for node: the
            structural/exact differential on models too slow for CI
  export    strict against non-strict torch.export of each MobileViT case, each the first export
            of a fresh process, with what the quantizer then quantized and the verdict

Options: --case PATTERN (repeatable glob over case names; default MEASURED: the cases that
convert, not those that fail on purpose), --skip-export, --repeat N. Times are
wall-clock: the scan's median of N runs (3), the plain pipeline's one run (MobileViT/XNNPACK's
conversion alone takes minutes). Exits 1 when any verdict or graph differs.
"""

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import scan_case

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "testing" / "resources" / "realmodels"
MEASURED = ("mobilevit/*", "bert/*", "bert-keywords/x86", "vit/*")
TARGET = 20.0  # x faster than the plain pipeline, on MobileViT with either quantizer
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


class Measured(NamedTuple):
    case: str
    nodes: int
    plain_s: float
    dqguard_s: float
    plain_phases: dict[str, float]
    dqguard_phases: dict[str, float]
    same_verdict: bool
    same_graph: bool
    findings: list[str]  # rule codes, dqguard's


def _child(*args: str) -> tuple[float, dict[str, Any]]:
    """Run this script's child mode in a fresh process: its wall time and the JSON it printed."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout.splitlines()[-1])


def measure(name: str, repeat: int) -> Measured:
    # The scan takes seconds, so its median of `repeat` runs; the plain pipeline once (minutes).
    scans = sorted((scan_case(name, ROOT, ENV) for _ in range(repeat)), key=lambda scan: scan[0])
    dqguard_s, scanned = scans[len(scans) // 2]
    plain_s, plain = _child("plain", name)
    _, structural = _child("structural", name)
    findings = [{k: v for k, v in f.items() if k != "severity"} for f in scanned["findings"]]
    return Measured(
        case=name,
        nodes=len(plain["signature"]),
        plain_s=plain_s,
        dqguard_s=dqguard_s,
        plain_phases=plain["phases"],
        dqguard_phases=scanned["phases"],
        same_verdict=scanned["status"] != "error" and findings == plain["findings"],
        same_graph=structural["signature"] == plain["signature"],
        findings=[f["rule"] for f in findings],
    )


def _phases(phases: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in phases.items())


def report(rows: list[Measured]) -> bool:
    """Print the table; True when every verdict and graph is the same."""
    print("| case | nodes | plain s | dqguard s | ratio | pipeline ratio | same verdict | same graph |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    met = same = True
    targeted = any(row.case.startswith("mobilevit/") for row in rows)
    for row in rows:
        ratio = row.plain_s / row.dqguard_s
        pipeline = sum(row.plain_phases.values()) / sum(row.dqguard_phases.values())
        print(f"| {row.case} | {row.nodes} | {row.plain_s:.1f} | {row.dqguard_s:.1f} | {ratio:.1f}x | "
              f"{pipeline:.1f}x | {'yes' if row.same_verdict else 'NO'} | "
              f"{'yes' if row.same_graph else 'NO'} |")
        if row.case.startswith("mobilevit/"):
            met &= ratio >= TARGET
        same &= row.same_verdict and row.same_graph
    print("\nPer phase, seconds (plain | dqguard; `outside` is the scan's wall time no phase of the case "
          "holds: the CLI, the worker's start with torch, torchao and the preimported libraries, exit):")
    for row in rows:
        outside = row.dqguard_s - sum(row.dqguard_phases.values())
        print(f"  {row.case}: {_phases(row.plain_phases)} | outside {outside:.2f}, "
              f"{_phases(row.dqguard_phases)}; findings {row.findings or 'none'}")
    print(f"\nratio = wall clock of a fresh `python plain.py` over a fresh `dqguard scan`; pipeline "
          f"ratio = the same steps' sum inside the process. Identical verdicts and graphs: "
          f"{'yes' if same else 'NO'}. Target >= {TARGET:.0f}x on MobileViT: "
          f"{'n/a' if not targeted else 'met' if met else 'not met'}")
    return same


def export_modes(names: list[str]) -> None:
    print("\n| case | export s strict | non-strict | quantized ops strict | non-strict | "
          "only strict quantizes | findings strict | non-strict |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for name in names:
        _, strict = _child("export", name, "strict")
        _, loose = _child("export", name, "non-strict")
        missed = Counter(strict["quantized"]) - Counter(loose["quantized"])
        print(f"| {name} | {strict['export_s']:.1f} | {loose['export_s']:.1f} | "
              f"{len(strict['quantized'])} | {len(loose['quantized'])} | "
              f"{', '.join(f'{target} x{count}' for target, count in missed.items()) or 'nothing'} | "
              f"{strict['rules'] or 'none'} | {loose['rules'] or 'none'} |")


def _child_main(mode: str, name: str, export: str | None) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import torch

    from dqguard.check.quantized import by_annotation
    from dqguard.check.sharing import check
    from dqguard.manifest import load as manifest
    from dqguard.records import finding_to_json
    from dqguard.worker.structural import use_minmax_qparams
    from testing.inprocess import convert
    from testing.signature import signature
    from testing.structure import plain_convert

    [case] = [c for c in manifest.load(ROOT / "dqguard.toml").cases if c.name == name]
    torch.manual_seed(0)  # as pipeline.run does: the same weights and inputs in every process
    if mode == "structural":
        return {"signature": signature(convert(case, exact_qparams=False))}
    phases: dict[str, float] = {}
    if mode == "plain":
        converted = plain_convert(case, phases)
        start = time.perf_counter()
        findings = check(converted, ROOT, ("dqguard.toml", case.line))
        phases["check"] = time.perf_counter() - start
        return {"phases": phases, "findings": [finding_to_json(f) for f in findings],
                "signature": signature(converted)}
    converted = plain_convert(case._replace(strict=export == "strict"), phases, use_minmax_qparams)
    return {
        "export_s": phases["export"],
        "quantized": [str(node.target) for node in converted.graph.nodes if by_annotation(node)],
        "rules": [f.rule for f in check(converted, ROOT, ("dqguard.toml", case.line))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[], metavar="PATTERN")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="dqguard scans per case (median)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        mode, name, *export = options.child
        print(json.dumps(_child_main(mode, name, export[0] if export else None)))
        return

    sys.path.insert(0, str(REPO))
    from dqguard.manifest import load as manifest

    names = [c.name for c in manifest.load(ROOT / "dqguard.toml").cases
             if any(fnmatch.fnmatchcase(c.name, p) for p in options.case or MEASURED)]
    # Other jobs on the machine stretch every parallel region: say how busy it was.
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)
    rows = []
    for name in names:
        rows.append(measure(name, options.repeat))
        print(f"measured {name}", file=sys.stderr, flush=True)
    same = report(rows)
    if not options.skip_export:
        export_modes([n for n in names if n.startswith("mobilevit/")])
    print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    sys.exit(0 if same else 1)  # a proof first: a difference fails, a slow machine does not


if __name__ == "__main__":
    main()
