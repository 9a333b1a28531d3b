"""`[[matrix]]`: many models under many quantizers, declared once, expanded into plain cases.

```toml
[[matrix]]
name = "zoo"
models = ["models.blocks:Projections",
          { model = "models.vit:tiny", inputs = [[1, 3, 224, 224]], label = "vit" }]
quantizers = ["quant:xnnpack_static", { quantizer = "quant:x86", label = "x86", strict = false }]
exclude = [["vit", "x86"]]
inputs = "models.blocks:token_inputs"   # any case key: the matrix's default for its pairs
```

expands into one case per pair not excluded, named `<matrix>/<model label>/<quantizer label>`
(`zoo/Projections/xnnpack_static`), a label defaulting to the reference's last attribute name.
A pair's keys are, later winning: `[defaults]`, the matrix's own, the model entry's, the quantizer
entry's (`rules` tables merge rule by rule). Each expanded case sits at its model entry's line, so
a failed case points at the model it could not build.

Validation is the manifest's (`dqguard.manifest.keys`): this module checks the matrix's own keys
and hands the rest to `keys.check`, so every error names the file, the line, the matrix and the key.
"""

from collections.abc import Collection
from typing import Any, NamedTuple

from dqguard.manifest import keys
from dqguard.manifest.keys import Problems
from dqguard.manifest.toml_lines import Lines


class Entry(NamedTuple):
    reference: str
    label: str
    options: dict[str, Any]
    line: int


class Pair(NamedTuple):
    name: str
    layers: tuple[dict[str, Any], ...]  # case keys, later winning: the matrix's, the model's, the quantizer's
    line: int


class _Matrix(NamedTuple):
    """Where one matrix's errors go and what they say."""

    label: str  # "matrix 'zoo': ", or "matrix #2: " when it has no name
    line: int  # of its table's header
    lines: Lines
    problems: Problems

    def key(self, key: str) -> int:
        return self.lines.key(self.line, key)

    def error(self, line: int, message: str, where: str = "") -> None:
        self.problems.add(line, where or self.label, message)


def _label_of(reference: str) -> str:
    """`models.blocks:Projections` -> `Projections`; `zoo:builders.tiny` -> `tiny`."""
    return reference.rpartition(":")[2].rpartition(".")[2]


def _entry(item: Any, number: int, kind: str, matrix: _Matrix, seen: dict[str, int]) -> Entry | None:
    """One item of `models` or `quantizers`, or None when it is wrong (each error reported)."""
    table = item if isinstance(item, dict) else {kind: item}
    value = table.get(kind)
    line = matrix.key(f"{kind}s")
    if isinstance(value, str):
        seen[value] = seen.get(value, -1) + 1
        line = matrix.lines.occurrence(matrix.line, value, seen[value])
    where = f"{matrix.label}{kind}s item {number}: "
    if kind not in table:
        matrix.error(line, f"missing required key '{kind}'", where)
        return None
    try:
        checked_reference = keys.reference(value)
    except ValueError as exc:
        matrix.error(line, f"'{kind}' {exc}, got {value!r}", where)
        return None
    label = table.get("label", _label_of(checked_reference))
    if not (isinstance(label, str) and label.strip() and "/" not in label):
        matrix.error(line, f"'label' must be a non-empty string without '/', got {label!r}", where)
        return None
    options = {k: v for k, v in table.items() if k not in (kind, "label")}
    # An inline entry's keys are all on the entry's own line.
    checked, wrong = keys.check(matrix.problems, options, keys.TABLES[f"matrix.{kind}s"], lambda key: line,
                                f"{matrix.label}{kind} '{label}': ")
    return None if wrong else Entry(checked_reference, label, checked, line)


def _entries(raw: Any, kind: str, matrix: _Matrix) -> list[Entry] | None:
    if not (isinstance(raw, list) and raw):
        matrix.error(matrix.key(f"{kind}s"), f"key '{kind}s' must be a non-empty list of '{kind}' references "
                     f"or tables {{ {kind} = \"module:attribute\", label = \"...\", ... }}, got {raw!r}")
        return None
    seen: dict[str, int] = {}
    entries = [_entry(item, number, kind, matrix, seen) for number, item in enumerate(raw, 1)]
    checked = [entry for entry in entries if entry is not None]
    return checked if len(checked) == len(entries) else None


def _exclusions(raw: Any, models: list[Entry], quantizers: list[Entry],
                matrix: _Matrix) -> set[tuple[str, str]] | None:
    line = matrix.key("exclude")
    shape = "a list of [model label, quantizer label] pairs such as [[\"vit\", \"x86\"]]"
    if not (isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2
                                          and all(isinstance(x, str) for x in p) for p in raw)):
        matrix.error(line, f"key 'exclude' must be {shape}, got {raw!r}")
        return None
    model_labels = [m.label for m in models]
    quantizer_labels = [q.label for q in quantizers]
    bad = False
    for model, quantizer in raw:
        if model not in model_labels:
            matrix.error(line, f"key 'exclude': no model labelled {model!r} "
                         f"(models: {', '.join(model_labels)})")
            bad = True
        if quantizer not in quantizer_labels:
            matrix.error(line, f"key 'exclude': no quantizer labelled {quantizer!r} "
                         f"(quantizers: {', '.join(quantizer_labels)})")
            bad = True
    return None if bad else {(m, q) for m, q in raw}


def _named(raw: dict[str, Any], matrix: _Matrix) -> bool:
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        return True
    if "name" not in raw:
        matrix.error(matrix.line, "missing required key 'name'")
    else:
        matrix.error(matrix.key("name"), f"key 'name' must be a non-empty string, got {name!r}")
    return False


def expand(raw: dict[str, Any], number: int, lines: Lines, defaulted: Collection[str],
           problems: Problems) -> list[Pair]:
    """The pairs of the `number`th matrix (from 1), or none when anything in it is wrong (each error
    reported); `defaulted` are the keys `[defaults]` sets."""
    name = raw.get("name")
    label = f"matrix '{name}': " if isinstance(name, str) and name.strip() else f"matrix #{number}: "
    matrix = _Matrix(label, lines.table("matrix", number - 1), lines, problems)
    bad = not _named(raw, matrix)
    options, wrong = keys.check(problems, {k: v for k, v in raw.items() if k not in keys.MATRIX_OWN},
                                keys.TABLES["matrix"], matrix.key, label)
    bad |= wrong
    for kind in ("model", "quantizer"):
        if f"{kind}s" not in raw:
            matrix.error(matrix.line, f"missing required key '{kind}s'")
            bad = True
    models = _entries(raw["models"], "model", matrix) if "models" in raw else None
    quantizers = _entries(raw["quantizers"], "quantizer", matrix) if "quantizers" in raw else None
    if bad or models is None or quantizers is None:
        return []
    excluded = _exclusions(raw.get("exclude", []), models, quantizers, matrix)
    if excluded is None:
        return []
    pairs: list[Pair] = []
    for model in models:
        missing = [key for key in keys.REQUIRED if key not in ("name", "model", "quantizer")
                   and key not in options and key not in model.options and key not in defaulted]
        if missing:
            names = ", ".join(repr(k) for k in missing)
            matrix.error(model.line, f"model '{model.label}' has no {names}: set it on the model entry "
                         "({ model = ..., inputs = ... }), on the matrix or in [defaults]")
            continue
        for quantizer in quantizers:
            if (model.label, quantizer.label) in excluded:
                continue
            references = {"model": model.reference, "quantizer": quantizer.reference}
            pairs.append(Pair(f"{name}/{model.label}/{quantizer.label}",
                              (options, model.options, quantizer.options, references), model.line))
    return pairs
