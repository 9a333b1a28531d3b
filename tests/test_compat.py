"""The compatibility table (scripts/compat.py, docs/compatibility.md): rendered from a checked-in
scan document, and regenerated for a subset of the zoo from a fresh scan, cell for cell as
committed."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from testing import REPO, matches_golden

DOCUMENT = REPO / "tests" / "data" / "compat" / "scan.json"
GOLDEN = REPO / "tests" / "golden" / "compat" / "compatibility.md"
TABLE = REPO / "docs" / "compatibility.md"
def _compat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat", REPO / "scripts" / "compat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return document


def test_a_document_renders_as_the_golden_page() -> None:
    assert matches_golden(GOLDEN, _compat().render(_document()))


def test_cells_read_back_from_the_page() -> None:
    compat = _compat()
    cells = compat.parse(compat.render(_document()))["zoo"]
    assert cells["resnet", "x86-static"] == "clean"
    assert cells["bert", "xnnpack-static"] == ("calibration: IndexError: tensors used as indices must be "
                                               "long, int, byte…")
    assert cells["resnet", "ethos-u55"] == "clean<br>coverage 97.3%, 2 delegates, 4 ops outside"
    assert cells["resnet", "tosa"] == "stage 'tosa': ValueError: Unsupported \\| op aten.upsample"
    assert cells["bert", "tosa"] == compat.NOT_RUN


def test_a_lowered_cell_never_rounds_compute_outside_up_to_full_coverage() -> None:
    compat = _compat()
    record = {"delegates": 13, "delegated_ops": 263, "non_delegated_ops": 43, "coverage": 0.9997}
    assert compat.delegation(record) == "coverage 99.9%, 13 delegates, 43 ops outside"
    full = {**record, "coverage": 1.0, "non_delegated_ops": 0}
    assert compat.delegation(full) == "coverage 100.0%, 13 delegates"


def test_a_wrapped_error_shows_its_root_cause() -> None:
    message = ("stage 'dqguard.stages:vulkan' failed: Exception: An error occurred when running the "
               "'VulkanPass' pass (caused by RuntimeError: unsupported dtype) (at models.py:3)")
    assert _compat().cause(message) == "RuntimeError: unsupported dtype"


def test_rendering_needs_no_torch() -> None:
    # A None in sys.modules makes `import torch` raise, as if it were not installed.
    code = ("import runpy, sys\n"
            "sys.modules['torch'] = None\n"
            "sys.argv = sys.argv[1:]\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code, str(REPO / "scripts" / "compat.py"), str(DOCUMENT)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == GOLDEN.read_text()


def test_a_fresh_scan_of_the_subset_gives_the_committed_cells(tmp_path: Path) -> None:
    compat = _compat()
    kept = tmp_path / "subset.json"
    command = [sys.executable, str(REPO / "scripts" / "compat.py"), "--scan", str(REPO / "examples" / "zoo"),
               "-j", "2", "--json", str(kept), "--subset"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path,
                          env={**_environment(), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = compat.parse(done.stdout)["zoo"]
    committed = compat.parse(TABLE.read_text())["zoo"]
    assert len(fresh) == len(compat.SUBSET)
    assert {key: committed.get(key) for key in fresh} == fresh, (
        f"docs/compatibility.md differs from a fresh scan of the subset; regenerate it "
        f"(README, Compatibility). This scan's document: {kept}")


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
