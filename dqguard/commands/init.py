"""`dqguard init`: a commented starter manifest, from reading the repository's source (AST only).

Nothing is imported (not torch, not the user's code): a model's inputs are guessed from what the
source shows, and what cannot be inferred is left as a commented placeholder.

- Models: classes deriving from `nn.Module` (`torch.nn.Module`, `nn.Module`, or `Module`
  imported from torch.nn) at a module's top level. Inputs are guessed from the first layer
  `__init__` builds with a literal size: `nn.Linear(16, ...)` -> `[[1, 16]]`,
  `nn.Conv2d(3, ...)` -> `[[1, 3, 224, 224]]` (1d: `[[1, C, 128]]`), `nn.Embedding(100, ...)` ->
  int64 ids below 100. A model whose first layer shows none is written commented out.
- Quantizers: top-level functions whose return annotation or returned call names a `...Quantizer`.
  None found: a commented placeholder.
- Files: every `.py` under the current directory that a manifest search would see
  (`dqguard.manifest.projects.files`: git's list in a work tree, else less hidden, virtual
  environment and cache directories); tests (`test_*.py`, `*_test.py`, `tests/`) are skipped.

It writes `dqguard.toml` in the current directory and refuses when a manifest is already there.
"""

import ast
from pathlib import Path
from typing import NamedTuple

from dqguard.errors import DqguardError
from dqguard.manifest import projects

FILE_NAME = "dqguard.toml"
_MODULE_BASES = {"nn.Module", "torch.nn.Module", "Module"}


class Model(NamedTuple):
    reference: str
    inputs: str | None  # an inline spec in TOML, or None when the source shows none
    forward: str  # the forward's parameters, for the placeholder


def _python_files(root: Path) -> list[Path]:
    return [path for path in projects.files(root, ("*.py",)) if not _is_test(path.relative_to(root))]


def _is_test(path: Path) -> bool:
    return (path.name.startswith("test_") or path.stem.endswith("_test") or "tests" in path.parts
            or path.name == "conftest.py")


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _first_int(call: ast.Call) -> int | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, int):
        return call.args[0].value
    return None


def _guess(layer: str, size: int) -> str | None:
    kind = layer.rpartition(".")[2]
    if kind == "Linear":
        return f"[[1, {size}]]"
    if kind == "Conv2d":
        return f"[[1, {size}, 224, 224]]"
    if kind == "Conv1d":
        return f"[[1, {size}, 128]]"
    if kind == "Embedding":
        return f'[{{ shape = [1, 16], dtype = "int64", high = {size} }}]'
    return None


def _model(cls: ast.ClassDef, module: str) -> Model | None:
    if not any(_dotted(base) in _MODULE_BASES for base in cls.bases):
        return None
    inputs = None
    forward = ""
    for item in cls.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__" and inputs is None:
            for call in (n for n in ast.walk(item) if isinstance(n, ast.Call)):
                size = _first_int(call)
                guess = _guess(_dotted(call.func), size) if size is not None else None
                if guess is not None:
                    inputs = guess
                    break
        if isinstance(item, ast.FunctionDef) and item.name == "forward":
            forward = ", ".join(a.arg for a in item.args.args[1:])
    return Model(f"{module}:{cls.name}", inputs, forward)


def _is_quantizer(function: ast.FunctionDef) -> bool:
    if function.returns is not None and _dotted(function.returns).endswith("Quantizer"):
        return True
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            call = node.value
            while isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                    and isinstance(call.func.value, ast.Call):
                call = call.func.value  # XNNPACKQuantizer().set_global(...)
            if isinstance(call, ast.Call) and _dotted(call.func).endswith("Quantizer"):
                return True
    return False


def inspect(root: Path) -> tuple[list[Model], list[str]]:
    models: list[Model] = []
    quantizers: list[str] = []
    for path in _python_files(root):
        relative = path.relative_to(root).with_suffix("")
        module = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        try:
            tree = ast.parse(path.read_text(errors="replace"), str(path))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                model = _model(node, module)
                if model is not None:
                    models.append(model)
            elif isinstance(node, ast.FunctionDef) and _is_quantizer(node):
                quantizers.append(f"{module}:{node.name}")
    return models, quantizers


def render(models: list[Model], quantizers: list[str]) -> str:
    lines = ["# dqguard's manifest, written by `dqguard init` from reading the source (nothing was",
             "# imported). Check every guess; `dqguard list` shows the cases, `dqguard scan` runs them.",
             "", "[[matrix]]", 'name = "models"', "models = ["]
    for model in models:
        if model.inputs is not None:
            lines.append(f'  {{ model = "{model.reference}", inputs = {model.inputs} }},')
        else:
            lines.append(f'  # {{ model = "{model.reference}", inputs = [[1, 3, 224, 224]] }},  '
                         f"# fill in: forward({model.forward})")
    if not models:
        lines.append('  # { model = "package.module:Model", inputs = [[1, 3, 224, 224]] },  '
                     "# no nn.Module found")
    lines.append("]")
    if quantizers:
        lines.append("quantizers = [" + ", ".join(f'"{q}"' for q in quantizers) + "]")
    else:
        lines += ["# No quantizer factory found: a function returning your backend's quantizer, such as",
                  "# def xnnpack():",
                  "#     return XNNPACKQuantizer().set_global(get_symmetric_quantization_config())",
                  'quantizers = ["package.module:quantizer"]']
    lines += ["", "# [rules]", '# DQG002 = "error"  # a shared dynamic chain; see README "Rules"', ""]
    return "\n".join(lines)


def write(root: Path) -> Path:
    for name in projects.NAMES:
        if projects.is_manifest(root / name):
            raise DqguardError(f"{root / name} already holds a dqguard manifest: dqguard init never "
                               "overwrites one")
    models, quantizers = inspect(root)
    path = root / FILE_NAME
    path.write_text(render(models, quantizers))
    return path
