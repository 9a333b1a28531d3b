"""Scenario cases through the real pipeline inside the test process: no worker, no fork.

`InProcess.run` is `pipeline.run` as a worker calls it; `convert` stops at the converted
GraphModule, for tests that read the graph itself. The user's modules are imported from the
scenario repository, which `forget` takes off sys.path and out of sys.modules again.
"""

import sys
from pathlib import Path
from typing import Any

from dqguard.manifest import load as manifest
from dqguard.records import CaseResult
from testing import RESOURCES


def load_cases(repo: Path) -> dict[str, manifest.Case]:
    return {case.name: case for case in manifest.load(repo / "dqguard.toml").cases}


def convert(case: manifest.Case, exact_qparams: bool) -> Any:
    """The case's converted GraphModule, as `pipeline.run` makes it (weightless too, but with no
    fallback). The user's modules must be importable."""
    from dqguard.worker import pipeline
    from dqguard.worker.phases import Steps

    steps = Steps(lambda phase: None)
    quantizer, flow = pipeline.load_quantizer(case, steps)
    mode = pipeline._weightless_mode(case, exact_qparams)  # the product's own rule for it
    module, example = pipeline.export(case, steps, mode)
    return pipeline.quantize(case, module, example, quantizer, flow, exact_qparams, steps, mode)


class InProcess:
    """Runs scenario cases through the real pipeline inside the test process (no worker)."""

    def __init__(self) -> None:
        self.roots: set[Path] = set()

    def _enter(self, repo: str) -> Path:
        root = (RESOURCES / repo).resolve()
        self.roots.add(root)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return root

    def run(self, repo: str, name: str, exact_qparams: bool = False) -> CaseResult:
        from dqguard.worker import pipeline

        root = self._enter(repo)
        return pipeline.run(load_cases(root)[name], root, "dqguard.toml", exact_qparams)

    def convert(self, repo: str, name: str, exact_qparams: bool = False) -> Any:
        root = self._enter(repo)
        return convert(load_cases(root)[name], exact_qparams)

    def forget(self) -> None:
        """Unload the scenario's modules: two scenario repos may both have a `models` package."""
        for root in self.roots:
            while str(root) in sys.path:
                sys.path.remove(str(root))
            for name, module in list(sys.modules.items()):
                file = getattr(module, "__file__", None)
                if file and Path(file).resolve().is_relative_to(root):
                    del sys.modules[name]
