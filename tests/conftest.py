import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dqguard.manifest import load as manifest
from dqguard.records import CaseResult
from testing import RESOURCES


def load_cases(repo: Path) -> dict[str, manifest.Case]:
    return {case.name: case for case in manifest.load(repo / "dqguard.toml").cases}


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
        from dqguard.worker import pipeline

        root = self._enter(repo)
        return pipeline.convert(load_cases(root)[name], exact_qparams)

    def forget(self) -> None:
        """Unload the scenario's modules: two scenario repos may both have a `models` package."""
        for root in self.roots:
            while str(root) in sys.path:
                sys.path.remove(str(root))
            for name, module in list(sys.modules.items()):
                file = getattr(module, "__file__", None)
                if file and Path(file).resolve().is_relative_to(root):
                    del sys.modules[name]


@pytest.fixture
def in_process() -> Iterator[InProcess]:
    runner = InProcess()
    yield runner
    runner.forget()


Factory = Callable[..., Any]
