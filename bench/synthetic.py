"""The benchmark's repository: bench/repo's models, quantizers and scripts, plus generated manifests."""

import shutil
from pathlib import Path

TEMPLATE = Path(__file__).parent / "repo"
SEED = Path(__file__).parent.parent / "testing" / "resources" / "seed"
SEED_SCENARIOS = (
    ("chain", "seed_models:ConvPoolLinear", "seed_quantizers:ChainQuantizer"),
    ("branches", "seed_models:FanOut", "seed_quantizers:FanOutQuantizer"),
    ("branches-add-not-quantized", "seed_models:FanOut", "seed_quantizers:FanOutNoAddQuantizer"),
    ("pool-own-config", "seed_models:FanOutWithPool", "seed_quantizers:PoolOwnConfigQuantizer"),
)


def _case(name: str, model: str, quantizer: str, inputs: str = "seed_models:image") -> str:
    return f'[[case]]\nname = "{name}"\nmodel = "{model}"\ninputs = "{inputs}"\nquantizer = "{quantizer}"\n'


def _write_manifest(path: Path, cases: list[str]) -> Path:
    path.write_text("\n".join(cases))
    return path


def seed_cases(count: int) -> list[str]:
    """`count` cases cycling through the four seed scenarios, each under its own name."""
    return [
        _case(f"{i:03d}-{name}", model, quantizer)
        for i, (name, model, quantizer) in ((i, SEED_SCENARIOS[i % 4]) for i in range(count))
    ]


def build(directory: Path, heavy_cases: int = 12, many: tuple[int, ...] = (25, 100)) -> Path:
    """Write the repository into `directory`; returns its root."""
    root = directory / "repo"
    shutil.copytree(TEMPLATE, root, ignore=shutil.ignore_patterns("__pycache__"))
    for scenario in ("seed_models.py", "seed_quantizers.py"):
        shutil.copy(SEED / scenario, root / scenario)
    _write_manifest(root / "seed.toml", [_case(*scenario) for scenario in SEED_SCENARIOS])
    _write_manifest(root / "heavy.toml", [
        _case(f"deep-{i:02d}", "models:Deep", "quantizers:DeepQuantizer", "models:small_image")
        for i in range(heavy_cases)
    ])
    for count in many:
        _write_manifest(root / f"many-{count}.toml", seed_cases(count))
    return root
