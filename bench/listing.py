"""`dqguard list` and manifest expansion on a 200-case matrix: `.venv/bin/python bench/listing.py`.

Goal (issue 13): <= 0.3 s, and never importing torch. In this one run, interleaved, each command's
best of N (default 15) wall times, in fresh processes:

  python    `python -c pass`: the interpreter's start, the floor under any command
  version   `dqguard --version`: the command line's own imports
  list      `dqguard list --format json` on 10 models x 20 quantizers = 200 cases
  load      `manifest.load` alone, in-process (no interpreter start), median of N

and whether `list` imported torch (it runs with a `torch` that raises on import first on the
path). Exits 1 when the goal is missed or torch was imported.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import best, interleaved

from dqguard.manifest import load as manifest

GOAL_S = 0.3


def write_matrix(directory: Path, models: int = 10, quantizers: int = 20) -> Path:
    entries = ",\n".join(f'  {{ model = "models.zoo:Model{i}", inputs = [[1, 3, 224, 224]] }}'
                         for i in range(models))
    backends = ", ".join(f'"quant.backends:q{i}"' for i in range(quantizers))
    path = directory / "dqguard.toml"
    path.write_text(f'[rules]\nDQG002 = "error"\n\n[[matrix]]\nname = "zoo"\nmodels = [\n{entries},\n]\n'
                    f"quantizers = [{backends}]\nexclude = []\n")
    poisoned = directory / "poison" / "torch"
    poisoned.mkdir(parents=True)
    (poisoned / "__init__.py").write_text("raise ImportError('dqguard list imported torch')\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        path = write_matrix(directory)
        python = [sys.executable, "-c", "pass"]
        dqguard = [sys.executable, "-m", "dqguard"]
        poison = ["env", f"PYTHONPATH={directory / 'poison'}:{Path(__file__).resolve().parent.parent}"]
        runs = interleaved({"python": python, "version": [*poison, *dqguard, "--version"],
                            "list": [*poison, *dqguard, "list", "--format", "json"]}, directory, args.repeat)
        listed = runs["list"][-1]
        loads = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            cases = manifest.load(path).cases
            loads.append(time.perf_counter() - start)
    ok = listed.code == 0 and len(cases) == 200
    for name in ("python", "version", "list"):
        print(f"{name:8} {best(runs[name]):.3f} s")
    print(f"{'load':8} {statistics.median(loads):.3f} s  ({len(cases)} cases)")
    print(f"list - python {best(runs['list']) - best(runs['python']):.3f} s, "
          f"list - version {best(runs['list']) - best(runs['version']):.3f} s, goal: list <= {GOAL_S} s")
    if not ok:
        print(f"list failed or imported torch:\n{listed.stderr[-2000:]}")
    return 0 if ok and best(runs["list"]) <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
