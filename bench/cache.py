"""The pre-commit path: a warm no-change scan, and one changed file out of 12 cases.

Run: .venv/bin/python bench/cache.py
Prints, measured in this run: the warm no-op `dqguard scan` (which re-checks every dependency of
every case, whatever files are named) against `python -c pass`, `ruff --version` and `dqguard
--version` (the floor of any Python CLI), and a scan after editing one model of 12 against a cold
scan of all 12.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import interleaved, median, timed

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "testing" / "resources" / "incremental"
BIN = Path(sys.executable).parent
CASES = 12
# Deep enough that a case's pipeline costs about as much as a worker's start, as real models do.
MODEL = """import torch
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(32, 32)
        self.right = nn.Linear(32, 32)
        self.body = nn.Sequential(*[layer for _ in range(40) for layer in (nn.Linear(32, 32), nn.ReLU())])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.left(x) + self.right(x))


def inputs() -> tuple[torch.Tensor]:
    return (torch.randn(4, 32),)
"""


def build_repo(directory: Path) -> Path:
    repo = directory / "zoo"
    (repo / "models").mkdir(parents=True)
    shutil.copy(TEMPLATE / "backends.py", repo / "backends.py")
    (repo / "models" / "__init__.py").write_text("")
    (repo / "notes.py").write_text("# imported by no case\n")
    model = MODEL
    manifest = ['[defaults]\nquantizer = "backends:dynamic"\n']
    for index in range(CASES):
        (repo / "models" / f"m{index:02}.py").write_text(model)
        manifest.append(f'[[case]]\nname = "m{index:02}"\nmodel = "models.m{index:02}:Net"\n'
                        f'inputs = "models.m{index:02}:inputs"\n')
    (repo / "dqguard.toml").write_text("\n".join(manifest))
    return repo


def main() -> None:
    dqguard = [str(BIN / "dqguard")]
    with tempfile.TemporaryDirectory() as directory:
        repo = build_repo(Path(directory))
        cold = []
        for _ in range(3):
            shutil.rmtree(repo / ".dqguard_cache", ignore_errors=True)
            cold.append(timed([*dqguard, "scan"], repo))
            assert cold[-1].code == 1, cold[-1].stderr
        cold_s = median(cold)
        subprocess.run([*dqguard, "scan"], cwd=repo, capture_output=True, check=False)
        deps = [json.loads(entry.read_text())["result"]["deps"]
                for entry in (repo / ".dqguard_cache").glob("*.json")]
        unique = {key for recorded in deps for key in recorded}
        print(f"Every warm scan re-checks every recorded dependency: {sum(map(len, deps))} over "
              f"{CASES} cases, {len(unique)} distinct (source files, distributions' metadata, listings)")

        floors = interleaved({
            "python -c pass": [sys.executable, "-c", "pass"],
            "ruff --version": [str(BIN / "ruff"), "--version"],
            "dqguard --version": [*dqguard, "--version"],
            "dqguard scan (warm, no change)": [*dqguard, "scan"],
            "dqguard scan notes.py (warm)": [*dqguard, "scan", "notes.py"],
        }, repo, repeat=15)
        print(f"Warm no-op path ({CASES} cases, median of 15, interleaved):")
        for name, runs in floors.items():
            print(f"  {name:34} {median(runs) * 1000:7.1f} ms")
        noop = median(floors["dqguard scan (warm, no change)"])
        print(f"  target: no-op scan <= 300 ms -> {noop * 1000:.0f} ms "
              f"({'met' if noop <= 0.3 else 'MISSED'})")

        edited = repo / "models" / "m05.py"
        incremental = []
        for round_ in range(3):
            edited.write_text(edited.read_text() + f"\n# edit {round_}\n")
            run = timed([*dqguard, "scan", "models/m05.py"], repo)
            assert run.code == 1 and f"{CASES} cached" not in run.stdout, run.stdout
            assert f"{CASES - 1} cached" in run.stdout, run.stdout
            incremental.append(run)
        one_s = median(incremental)
        print(f"\nOne changed model of {CASES} cases (median of 3):")
        print(f"  cold scan, all {CASES} cases      {cold_s:7.2f} s")
        print(f"  scan after editing one model   {one_s:7.2f} s")
        print(f"  speed-up                       {cold_s / one_s:7.1f}x")
        print(f"\nmachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
