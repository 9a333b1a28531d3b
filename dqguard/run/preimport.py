"""The installed libraries every case imports, imported by each worker before it forks a job.

Every job runs in a fresh fork of its worker, so a library a job imports is imported again by the
next: transformers and the model classes drawn from it take seconds per job, as long as the rest
of a small real-model case. The worker imports those libraries once instead, so every fork starts
with them, as it starts with torch. Which ones is read from the source of the modules each case
names (and of the user's modules they import), parsed, never run: the user's code still runs
only in a job's own process, so every job starts from the same state and no edit of the user's
files can reach a worker that started before it. Only libraries that every case of the scan
imports are taken: each case's process would have imported them itself, so the dependencies it
records for the cache (`dqguard.run.dependencies`) are the same as without them.

Only what an import statement names is imported (`import timm`, `from transformers import
BertModel`, which for transformers' lazy modules is what loads the model's code). Anything that
fails to import here is left to the job, which then reports it as its own error.
"""

import ast
import contextlib
import importlib
import importlib.machinery
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from dqguard import locate
from dqguard.manifest.case import Case

_MAX_FILES = 200  # of the user's, followed from the manifest's modules


def _source(module: str) -> Path | None:
    """The file a module would be imported from, found without importing any package."""
    search: list[str] | None = None
    spec = None
    parts = module.split(".")
    for depth in range(len(parts)):
        try:
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth + 1]), search)
            if spec is None:
                return None
            # A namespace package's path is recomputed from its parent's, which is looked up in
            # sys.modules: KeyError for a parent not imported (ExecuTorch's backends). Unknown is
            # the answer then, never a worker that cannot start.
            search = list(spec.submodule_search_locations or [])
        except (ImportError, KeyError, ValueError, AttributeError):
            return None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _imports(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(module, names taken from it) for every absolute import statement in the file."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, tuple(alias.name for alias in node.names if alias.name != "*")


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:depth]) for depth in range(1, len(parts))]


def libraries(modules: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The installed modules (and names from them) that `modules` and the user's code they import
    import, in the order first seen."""
    found: dict[tuple[str, tuple[str, ...]], None] = {}
    pending, seen = list(modules), set[str]()
    while pending and len(seen) < _MAX_FILES:
        module = pending.pop(0)
        if module in seen:
            continue
        parents = [p for p in _parents(module) if p not in seen]
        if parents:  # importing a submodule runs its packages' __init__ first
            pending[:0] = [*parents, module]
            continue
        seen.add(module)
        source = _source(module)
        if source is None or not locate.is_user_file(str(source.resolve())):
            continue
        for imported, names in _imports(source):
            if imported in sys.modules and not names:
                continue
            top = _source(imported.split(".")[0]) or _source(imported)
            if top is not None and locate.is_user_file(str(top.resolve())):
                pending += [imported, *(f"{imported}.{name}" for name in names)]
            else:
                found[(imported, names)] = None
    return list(found)


def common(groups: Iterable[Iterable[str]]) -> list[tuple[str, tuple[str, ...]]]:
    """The libraries every group of modules (one a case) imports: a case's process that starts with
    them would have imported each of them anyway, so what it depends on stays the same."""
    found = [libraries(group) for group in dict.fromkeys(tuple(group) for group in groups)]
    return [library for library in found[0] if all(library in other for other in found[1:])] if found else []


def named(cases: Iterable[Case]) -> list[list[str]]:
    """The modules each case names, once per distinct group: what the parent sends every worker
    (dqguard.run.protocol.Setup) for it to pass to `run`."""
    groups = (tuple(reference.partition(":")[0]
                    for reference in (case.model, case.inputs, case.quantizer, case.calibration_inputs)
                    if isinstance(reference, str))
              for case in cases)
    return [list(group) for group in dict.fromkeys(groups)]


def run(groups: Iterable[Iterable[str]]) -> None:
    for module, names in common(groups):
        # A library that fails here fails again in the job, which reports it with its traceback.
        with contextlib.suppress(Exception):
            value = importlib.import_module(module)
            for name in names:
                with contextlib.suppress(Exception):
                    getattr(value, name)
