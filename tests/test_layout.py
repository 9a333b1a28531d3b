"""The house rules that keep the torch boundary visible: checked over every import, lazy ones too."""

import re
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
BACKENDS = {"torch", "torchao", "executorch", "transformers"}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("dqguard", include_external_packages=True)


def _internal(graph: grimp.ImportGraph) -> list[str]:
    return sorted(module for module in graph.modules if module.split(".")[0] == "dqguard")


def test_the_import_contracts_hold() -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.split(".")[0] != "dqguard":
                continue
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported):], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in _internal(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles


def _layout() -> list[str]:
    text = (REPO / "CONTRIBUTING.md").read_text()
    block = re.search(r"## Layout\n.*?```\n(.*?)```", text, re.S)
    assert block, "CONTRIBUTING.md has no Layout tree"
    return block.group(1).splitlines()[1:]


def _entries() -> list[tuple[list[str], bool]]:
    """Each tree line's names (`worker/`, `rules.py`) and whether it is marked `[torch]`."""
    entries = []
    for line in _layout():
        columns = re.split(r"\s{2,}", line.split("── ", 1)[1])
        entries.append((columns[0].split(), "[torch]" in columns[1]))
    return entries


def test_the_layout_tree_names_every_package_and_top_level_module() -> None:
    named = {name for names, _ in _entries() for name in names}
    on_disk = {f"{path.name}/" for path in (REPO / "dqguard").iterdir()
               if path.is_dir() and (path / "__init__.py").exists()}
    on_disk |= {path.name for path in (REPO / "dqguard").glob("*.py")} - {"__init__.py", "__main__.py"}
    assert on_disk <= named, f"not in CONTRIBUTING.md's Layout: {sorted(on_disk - named)}"
    assert named <= on_disk, f"in the Layout but not in dqguard/: {sorted(named - on_disk)}"


def test_the_torch_marks_are_exactly_the_packages_that_import_torch() -> None:
    graph = _graph()
    importers = {module for module in _internal(graph)
                 if {imported.split(".")[0] for imported in graph.find_modules_directly_imported_by(module)}
                 & BACKENDS}
    marked = {name for names, torch in _entries() if torch for name in names}
    packages = {module.split(".")[1] + "/" for module in importers}
    assert packages == marked, f"import torch: {sorted(importers)}"


# One table or one registry may be long; everything else reads in one sitting.
REGISTRIES = {"dqguard/rules.py", "dqguard/manifest/keys.py"}


def test_modules_and_functions_stay_small() -> None:
    import ast

    long_modules, long_functions = [], []
    for path in sorted((REPO / "dqguard").rglob("*.py")):
        name = str(path.relative_to(REPO))
        text = path.read_text()
        if len(text.splitlines()) > 300 and name not in REGISTRIES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None \
                    and node.end_lineno - node.lineno + 1 > 60:
                long_functions.append(f"{name}:{node.lineno} {node.name}")
    assert (long_modules, long_functions) == ([], [])
