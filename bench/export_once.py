"""A matrix exports each model once: `.venv/bin/python bench/export_once.py`.

MobileViT (from its transformers config, random weights; testing/resources/realmodels) under four
quantizers, scanned in this one run, interleaved, each `--repeat` times (default 1) with
`--no-cache -j 1` in a fresh process:

  matrix    one `[[matrix]]`: the four cases share one job, so the model is built and exported
            once and its exported module deep-copied per quantizer
  separate  the same four pairs as `[[case]]` tables whose models are four aliases of one builder,
            so no two share an export: built and exported four times

Prints both wall times and their ratio (goal <= 0.7), and checks that both give the same verdicts.
Exits 1 when the verdicts differ or the goal is missed. Strict export throughout: XNNPACK's
quantizer needs it (see realmodels' manifest), and cases share an export only when `strict` agrees.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Timed, median, timed

REPO = Path(__file__).resolve().parent.parent
REALMODELS = REPO / "testing" / "resources" / "realmodels"
GOAL = 0.7
QUANTIZERS = ("x86", "xnnpack_static", "xnnpack_dynamic", "xnnpack_per_tensor")
EXTRA = '''

def xnnpack_dynamic() -> XNNPACKQuantizer:
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    return XNNPACKQuantizer().set_global(config)


def xnnpack_per_tensor() -> XNNPACKQuantizer:
    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=False))
'''


def _project(directory: Path, matrix: bool) -> Path:
    directory.mkdir()
    shutil.copy(REALMODELS / "models.py", directory / "models.py")
    (directory / "quantizers.py").write_text((REALMODELS / "quantizers.py").read_text() + EXTRA)
    if matrix:
        listed = ", ".join(f'"quantizers:{q}"' for q in QUANTIZERS)
        text = (f'[[matrix]]\nname = "mobilevit"\nmodels = [{{ model = "models:mobilevit", label = "m" }}]\n'
                f'inputs = "models:image"\nquantizers = [{listed}]\n')
    else:
        with (directory / "models.py").open("a") as models:
            models.write("\n" + "".join(f"mobilevit_{q} = mobilevit\n" for q in QUANTIZERS))
        text = "".join(f'[[case]]\nname = "mobilevit/m/{q}"\nmodel = "models:mobilevit_{q}"\n'
                       f'inputs = "models:image"\nquantizer = "quantizers:{q}"\n\n' for q in QUANTIZERS)
    (directory / "dqguard.toml").write_text(text)
    return directory


def _verdicts(stdout: str) -> list[Any]:
    """Each case's status and findings; a finding with no line in the repository falls back to its
    case's manifest line, which differs between the two manifests, so it is compared by message
    (node names and consumers' lines) instead."""
    document = json.loads(stdout)
    return [(c["name"], c["status"], [(f["rule"], f["message"], None if f["path"] == "dqguard.toml"
                                       else (f["path"], f["line"])) for f in c["findings"]])
            for c in document["cases"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    os.environ.update({"HF_HUB_OFFLINE": "1"})
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "dqguard", "scan", "--no-cache", "-j", "1", "--format", "json"]
        matrix = _project(Path(scratch) / "matrix", True)
        separate = _project(Path(scratch) / "separate", False)
        runs: dict[str, list[Timed]] = {"matrix": [], "separate": []}
        for _ in range(args.repeat):  # taking turns, so a drift in machine load hits both alike
            for name, directory in (("matrix", matrix), ("separate", separate)):
                run = timed(command, directory)
                if run.code not in (0, 1):
                    raise RuntimeError(f"{name} exited {run.code}:\n{run.stderr[-3000:]}")
                runs[name].append(run)
    same = _verdicts(runs["matrix"][-1].stdout) == _verdicts(runs["separate"][-1].stdout)
    if not same:
        for name in runs:
            print(f"{name}: {_verdicts(runs[name][-1].stdout)}")
    ratio = median(runs["matrix"]) / median(runs["separate"])
    print(f"matrix   {median(runs['matrix']):7.1f} s  (1 export, 4 quantizers)")
    print(f"separate {median(runs['separate']):7.1f} s  (4 exports)")
    print(f"ratio    {ratio:7.2f}  goal <= {GOAL}; same verdicts: {same}")
    for name, status, findings in _verdicts(runs["matrix"][-1].stdout):
        print(f"  {name}: {status} {[rule for rule, _, _ in findings]}")
    return 0 if same and ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
