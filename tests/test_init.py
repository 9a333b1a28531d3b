"""`dqguard init` and `dqguard list`: manifests from reading the source, cases without torch."""

import json
import subprocess
from pathlib import Path

from dqguard.manifest.load import load
from testing import copy_repo, dqguard, poisoned_torch


def test_init_writes_a_manifest_that_loads_from_the_source_alone(tmp_path: Path) -> None:
    repo = copy_repo("zoo", tmp_path)
    (repo / "dqguard.toml").unlink()
    (repo / "tests").mkdir()
    (repo / "tests" / "test_blocks.py").write_text("from torch import nn\nclass Fake(nn.Module): pass\n")
    (repo / "models" / "opaque.py").write_text(
        "import torch\n\nclass Opaque(torch.nn.Module):\n    def forward(self, x, mask):\n        return x\n")
    completed = dqguard("init", cwd=repo, env=poisoned_torch(tmp_path))
    assert completed.returncode == 0, completed.stderr
    text = (repo / "dqguard.toml").read_text()
    assert '# { model = "models.opaque:Opaque", inputs = [[1, 3, 224, 224]] },  # fill in: forward(x, mask)' \
        in text
    assert "Fake" not in text
    cases = load(repo / "dqguard.toml").cases
    assert [c.name for c in cases if c.quantizer.endswith("static")] == [
        "models/ConvHead/xnnpack_static", "models/Projections/xnnpack_static",
        "models/Embedder/xnnpack_static"]
    shapes = [[spec.shape for spec in c.inputs.args] for c in cases[::2] if not isinstance(c.inputs, str)]
    assert shapes == [[(1, 3, 224, 224)], [(1, 16)], [(1, 16)]]
    assert {c.quantizer for c in cases} == {"quant.backends:xnnpack_static", "quant.backends:xnnpack_dynamic"}


def test_init_leaves_placeholders_where_nothing_is_found(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    assert dqguard("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "dqguard.toml").read_text()
    assert "# no nn.Module found" in text and 'quantizers = ["package.module:quantizer"]' in text


def test_init_never_overwrites_a_manifest(tmp_path: Path) -> None:
    repo = copy_repo("zoo", tmp_path)
    before = (repo / "dqguard.toml").read_text()
    completed = dqguard("init", cwd=repo)
    assert completed.returncode == 2 and "never overwrites" in completed.stderr
    assert (repo / "dqguard.toml").read_text() == before
    (repo / "dqguard.toml").unlink()
    (repo / "pyproject.toml").write_text('[tool.dqguard]\n[[tool.dqguard.case]]\nname = "a"\n')
    assert dqguard("init", cwd=repo).returncode == 2


def test_init_reads_only_what_git_does_not_ignore(tmp_path: Path) -> None:
    repo = copy_repo("zoo", tmp_path)
    (repo / "dqguard.toml").unlink()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("quant/\n")
    assert dqguard("init", cwd=repo).returncode == 0
    assert "quant.backends" not in (repo / "dqguard.toml").read_text()


def test_list_prints_expanded_cases_at_their_lines_without_torch(tmp_path: Path) -> None:
    repo = copy_repo("zoo", tmp_path)
    completed = dqguard("list", cwd=repo, env=poisoned_torch(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[:2] == ["dqguard.toml:6: zoo/conv/xnnpack_static",
                                                 "dqguard.toml:6: zoo/conv/xnnpack_dynamic"]
    document = json.loads(dqguard("list", "--format", "json", cwd=repo).stdout)
    embedder = document["cases"][4]
    assert (embedder["name"], embedder["line"], embedder["inputs"]) == (
        "zoo/Embedder/xnnpack_static", 8,
        {"input_ids": {"shape": [1, 8], "dtype": "int64", "high": 100, "low": 0}})
