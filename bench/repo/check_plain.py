"""The floor: the same work as `dqguard scan`, case after case in one plain Python process.

Export, prepare, calibrate, convert and check each case of a manifest exactly as a dqguard worker
does (the same min/max qparams shortcut, the same check), with none of the orchestration: no
workers, no isolation, no reports. Usage: python check_plain.py MANIFEST
"""

import importlib
import sys
import tomllib
from pathlib import Path
from typing import Any

import torch
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

from dqguard.check.sharing import check
from dqguard.worker.structural import use_minmax_qparams


def resolve(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def main(manifest: Path) -> int:
    root = manifest.resolve().parent
    sys.path.insert(0, str(root))
    document = tomllib.loads(manifest.read_text())
    defaults = document.get("defaults", {})
    failed = 0
    for case in document["case"]:
        case = {**defaults, **case}
        args = resolve(case["inputs"])()
        model = resolve(case["model"])().eval()
        exported = torch.export.export(model, args, strict=True).module(check_guards=False)
        prepared = prepare_pt2e(exported, resolve(case["quantizer"])())
        use_minmax_qparams(prepared)
        with torch.no_grad():
            prepared(*args)
        converted = convert_pt2e(prepared)
        findings = check(converted, root, (manifest.name, 1))
        failed += bool(findings)
        print(f"{case['name']}: {len(findings)} findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
