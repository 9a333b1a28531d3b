"""Which installed libraries a worker imports before forking jobs: read from source, never run."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dqguard.run import preimport
from testing import RESOURCES


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))


def test_the_libraries_of_the_named_modules_and_of_the_user_code_they_import(on_path: Path) -> None:
    marker = on_path / "ran"
    (on_path / "shop").mkdir()
    (on_path / "shop" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\nimport imaplib\n")
    (on_path / "shop" / "blocks.py").write_text("from markdown_it import MarkdownIt\n"
                                                "def make():\n    import poplib\n")
    (on_path / "entry.py").write_text("from shop import blocks\nimport shop.blocks\nfrom . import x\n")
    expected = [("imaplib", ()), ("markdown_it", ("MarkdownIt",)), ("poplib", ())]
    assert preimport.libraries(["entry"]) == expected
    assert preimport.libraries(["shop.blocks"]) == expected
    # Only parsed: the user's package never ran, and nothing of it was imported.
    assert not marker.exists()
    assert "shop" not in sys.modules and "entry" not in sys.modules


def test_the_real_models_repo_preimports_transformers_model_classes(on_path: Path) -> None:
    sys.path.insert(0, str(RESOURCES / "realmodels"))
    try:
        found = dict(preimport.libraries(["models", "quantizers"]))
    finally:
        sys.path.remove(str(RESOURCES / "realmodels"))
    assert {"ViTModel", "BertModel"} <= set(found["transformers"])
    assert "models" not in found and "quantizers" not in found


def test_only_libraries_every_case_imports_are_preimported(on_path: Path) -> None:
    # A case that never imports a library must not come to depend on its version (the cache).
    (on_path / "one.py").write_text("import imaplib\nimport poplib\n")
    (on_path / "two.py").write_text("import poplib\n")
    assert preimport.common([["one"], ["two"], ["two"]]) == [("poplib", ())]
    assert preimport.common([["one"]]) == [("imaplib", ()), ("poplib", ())]
    assert preimport.common([]) == []


def test_a_namespace_package_whose_parent_is_not_imported_is_unknown_not_fatal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ExecuTorch's `executorch.backends.xnnpack...` made every worker of a stages scan die at start.
    (tmp_path / "nsroot" / "inner").mkdir(parents=True)  # no __init__.py: namespace packages
    (tmp_path / "nsroot" / "inner" / "mod.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "nsroot" not in sys.modules
    assert preimport._source("nsroot.inner.mod") is None
    assert preimport.libraries(["nsroot.inner.mod"]) == []
