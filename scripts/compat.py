#!/usr/bin/env python3
"""The PT2E compatibility table: a matrix scan's JSON report rendered as Markdown.

    scripts/compat.py RESULT.json > docs/compatibility.md
    scripts/compat.py --scan examples/zoo [-j N] [--case GLOB ... | --subset] [--json OUT] > PAGE.md

Rows are a matrix's models, columns its quantizers (case names `MATRIX/MODEL/RECIPE`, in the
order the scan reports them). A cell is the verdict: `clean`; the rules found and how often
(`DQG002` and a count); or the case error at its step with its cause in a few words. A lowered
cell adds coverage (the share of FLOPs delegated), the delegate count and the ops left outside.

dqguard's JSON report does not say which packages made it, so `--scan` records them: it runs
`python -m dqguard scan --format json` with this interpreter (the scan's environment) and adds an
`environment` object (Python and each package's version, from importlib.metadata) to the
document before rendering, and the project's NOTES.md (what the recipes are, why a cell is not
run) as `notes`; `--json OUT` keeps that document. Rendering is a pure function of
the document (`render`), imports no torch, and a document without `environment` renders with
its versions marked as not recorded.
"""

import argparse
import importlib.metadata
import json
import math
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# What made the table: the PT2E stack, then each backend's own packages.
PACKAGES = ("torch", "torchao", "executorch", "transformers", "tosa-tools", "ethos-u-vela",
            "coremltools", "openvino", "nncf", "dqguard")
CAUSE_WORDS = 60
NOT_RUN = "·"
# The cells tests/test_compat.py regenerates and bench/compat.py times against a plain script: a
# CNN, an encoder with a mask and a GQA decoder under the recipes needing only ExecuTorch.
SUBSET = tuple(f"zoo/{model}/{recipe}" for model in ("resnet", "bert", "qwen2")
               for recipe in ("x86-static", "xnnpack-static", "xnnpack-dynamic"))
TIMES = "\N{MULTIPLICATION SIGN}"


def environment() -> dict[str, Any]:
    """This interpreter's Python and package versions (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "platform": platform.machine(), "packages": versions}


def _step(finding: dict[str, Any]) -> str:
    """Where a case error happened: what the message says was being done ("calibration",
    "building the quantizer", "stage 'xnnpack'"), finer than the JSON's `step` ("calibrate",
    "import"), which names it when the message does not."""
    message: str = finding["message"]
    if " failed: " in message:
        step: str = message.split(" failed: ", 1)[0]
    else:
        step = str(finding.get("step") or "an unknown step")
    return step.replace("'dqguard.stages:", "'")


def _words(text: str, limit: int = CAUSE_WORDS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.:;(") + "…"


def cause(message: str) -> str:
    """`calibration failed: IndexError: tensors used as ...` -> `IndexError: tensors used as ...`"""
    text = message.split(" failed: ", 1)[1] if " failed: " in message else message
    text = re.sub(r" \(at [^)]*\)$", "", text)  # the user's frame: the step already says where
    wrapped = re.search(r" \(caused by (.*)\)$", text)  # a library's wrapper: the root cause says why
    return _words(wrapped.group(1) if wrapped else text)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _percent(share: float) -> str:
    """Truncated as coverage tools do: 99.97% is "99.9%", never a "100.0%" with compute outside."""
    return f"{math.floor(share * 1000) / 10:.1f}%"


def delegation(record: dict[str, Any] | None) -> str | None:
    """`coverage 99.9%, 13 delegates, 43 ops outside`: the ops outside count too, since most of
    them (layer norms, softmax, views) carry no FLOPs `torch.utils.flop_counter` counts."""
    if not record:
        return None
    count = record["delegates"]
    parts = [f"{count} delegate" + ("" if count == 1 else "s")]
    if record.get("coverage") is not None:
        parts.insert(0, f"coverage {_percent(record['coverage'])}")
        outside = record["non_delegated_ops"]
        if outside:
            parts.append(f"{outside} op{'' if outside == 1 else 's'} outside")
    else:
        total = record["delegated_ops"] + record["non_delegated_ops"]
        parts.append(f"{record['delegated_ops']}/{total} ops")
    return ", ".join(parts)


def cell(case: dict[str, Any]) -> str:
    errors = [f for f in case["findings"] if f["rule"].startswith("DQG9")]
    if errors:
        first = errors[0]
        if first["rule"] == "DQG900":
            text = f"{_step(first)}: {cause(first['message'])}"
        else:  # a timeout or a crash: the message names the phase ("timed out after 300 s during ...")
            text = f"{first['rule']}: {_words(first['message'])}"
    else:
        rules: dict[str, int] = {}
        for finding in case["findings"]:
            rules[finding["rule"]] = rules.get(finding["rule"], 0) + 1
        text = ", ".join(f"{rule} {TIMES}{n}" for rule, n in sorted(rules.items())) or "clean"
    lowered = delegation(case.get("delegation"))
    return _escape(text) + (f"<br>{lowered}" if lowered else "")


def grid(cases: Iterable[dict[str, Any]]) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Each matrix's cases by (model, recipe), in report order. Other cases are not the table's."""
    matrices: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for case in cases:
        parts = case["name"].split("/")
        if len(parts) == 3:
            matrices.setdefault(parts[0], {})[(parts[1], parts[2])] = case
    return matrices


def _ordered(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def table(cells: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    models = _ordered(model for model, _ in cells)
    recipes = _ordered(recipe for _, recipe in cells)
    lines = ["| | " + " | ".join(recipes) + " |", "|---" * (len(recipes) + 1) + "|"]
    for model in models:
        row = [cell(cells[model, r]) if (model, r) in cells else NOT_RUN for r in recipes]
        lines.append(f"| **{model}** | " + " | ".join(row) + " |")
    return lines


def _versions(document: dict[str, Any]) -> list[str]:
    env = document.get("environment")
    if env is None:
        return ["Versions: not recorded (render a `scripts/compat.py --scan` document to have them)."]
    packages = env["packages"]
    listed = ", ".join(f"{name} {version}" for name, version in packages.items() if version)
    missing = ", ".join(name for name, version in packages.items() if not version)
    lines = [f"Made with Python {env['python']} ({env['platform']}): {listed}."]
    if missing:
        lines.append(f"Not installed: {missing}.")
    return lines


def errors(cases: Iterable[dict[str, Any]]) -> list[str]:
    """Each case error's whole one-line message, once, with the cases it stopped."""
    seen: dict[str, list[str]] = {}
    for case in cases:
        for finding in case["findings"]:
            if finding["rule"].startswith("DQG9"):
                seen.setdefault(f"{finding['rule']} {finding['message']}", []).append(case["name"])
    return [f"- `{', '.join(names)}`: {_escape(message)}" for message, names in seen.items()]


LEGEND = f"""\
A cell is the case's verdict. `clean`: no finding. `DQG00N {TIMES}k`: k findings of that rule
(`dqguard explain CASE` shows them). Otherwise the case error: the step it stopped at and its
cause (a library's wrapped error: its root cause); every message in full is under Errors. A
lowered cell adds the share of the model's FLOPs its delegates run (coverage, truncated: 99.97% is
99.9%), the delegate count and the ops left outside every delegate (most carry no counted FLOPs:
layer norms, softmax, views), or, where the report has no coverage, the ops delegated out of all
top-level ops. `{NOT_RUN}`: not run (excluded in the manifest)."""


def render(document: dict[str, Any]) -> str:
    """The Markdown page for one scan document: pure, the same document giving the same text."""
    lines = ["# PT2E compatibility", "",
             f"Generated by `scripts/compat.py` from `dqguard scan --format json` "
             f"(dqguard {document['tool']['version']}) over `{document['manifest']}`; "
             "do not edit by hand.", "", *_versions(document), "", LEGEND]
    for name, cells in grid(document["cases"]).items():
        lines += ["", f"## {name}", "", *table(cells)]
    if document.get("notes"):
        lines += ["", "## Notes", "", document["notes"].strip()]
    failed = errors(document["cases"])
    if failed:
        lines += ["", "## Errors", "", *failed]
    return "\n".join(lines) + "\n"


def parse(markdown: str) -> dict[str, dict[tuple[str, str], str]]:
    """The cells of a rendered page, per matrix: what a regenerated subset is compared with."""
    matrices: dict[str, dict[tuple[str, str], str]] = {}
    matrix: str | None = None
    recipes: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("## "):
            matrix, recipes = line[3:], []
        elif matrix and line.startswith("| |"):
            recipes = [r.strip() for r in line.strip("|").split(" | ")[1:]]
        elif matrix and recipes and line.startswith("| **"):
            row = re.split(r"(?<!\\) \| ", line.strip()[2:-2])
            model = row[0].strip("*")
            for recipe, text in zip(recipes, row[1:], strict=True):
                matrices.setdefault(matrix, {})[model, recipe] = text
    return matrices


def scan(manifest: Path, jobs: int, patterns: Sequence[str]) -> dict[str, Any]:
    """Scan `manifest` with this interpreter and return the report with its environment."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "scan.json"
        selection = [arg for pattern in patterns for arg in ("--case", pattern)]
        command = [sys.executable, "-m", "dqguard", "scan", "--manifest", str(manifest), "--no-cache",
                   "-j", str(jobs), "--format", f"json:{report}", *selection]
        completed = subprocess.run(command, check=False)
        if completed.returncode not in (0, 1) or not report.exists():
            sys.exit(f"compat: the scan failed (exit {completed.returncode})")
        document: dict[str, Any] = json.loads(report.read_text())
    document["environment"] = environment()
    notes = manifest.parent / "NOTES.md"
    if notes.exists():
        document["notes"] = notes.read_text()
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", nargs="?", type=Path, help="a dqguard scan JSON report")
    parser.add_argument("--scan", type=Path, metavar="DIR", help="scan DIR/dqguard.toml first")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--case", action="append", default=[], help="case glob (repeatable)")
    parser.add_argument("--subset", action="store_true", help="only the cells the tests regenerate")
    parser.add_argument("--json", type=Path, metavar="OUT", help="keep the scanned document here")
    args = parser.parse_args(argv)
    if (args.result is None) == (args.scan is None):
        parser.error("give a RESULT.json or --scan DIR")
    if args.scan is not None:
        document = scan(args.scan / "dqguard.toml", args.jobs, [*args.case, *(SUBSET if args.subset else ())])
        if args.json:
            args.json.write_text(json.dumps(document, indent=2) + "\n")
    else:
        document = json.loads(args.result.read_text())
    sys.stdout.write(render(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
