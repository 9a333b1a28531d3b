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

Validation is the manifest's: this module only knows the matrix's own keys and asks `check` for the
rest, so every error names the file, the line, the matrix and the key.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

OWN = ("name", "models", "quantizers", "exclude")
# Keys only a case's own table, or the entry that names them, may set.
NOT_IN_MATRIX = ("name", "model", "quantizer")
NOT_IN_MODEL = ("name", "model", "quantizer")
NOT_IN_QUANTIZER = ("name", "model", "inputs", "quantizer")

Error = Callable[[int, str, str], None]
# (table, allowed keys, line of a key, label) -> (checked values, whether any was bad)
Check = Callable[[dict[str, Any], tuple[str, ...], Callable[[str], int], str], tuple[dict[str, Any], bool]]
Locate = Callable[[str, int], int]  # (reference, occurrence) -> its line within the matrix


class Entry(NamedTuple):
    reference: str
    label: str
    options: dict[str, Any]
    line: int


class Pair(NamedTuple):
    name: str
    layers: tuple[dict[str, Any], ...]  # case keys, later winning: the matrix's, the model's, the quantizer's
    line: int


def label_of(reference: str) -> str:
    """`models.blocks:Projections` -> `Projections`; `zoo:builders.tiny` -> `tiny`."""
    return reference.rpartition(":")[2].rpartition(".")[2]


def _at(line: int) -> Callable[[str], int]:
    """Where an inline entry's keys are: on the entry's own line."""
    return lambda key: line


def _entries(raw: Any, kind: str, case_keys: tuple[str, ...], excluded: tuple[str, ...], label: str,
             key_line: int, locate: Locate, check: Check, error: Error,
             reference: Callable[[Any], str]) -> list[Entry] | None:
    plural = f"{kind}s"
    if not (isinstance(raw, list) and raw):
        error(key_line, label, f"key '{plural}' must be a non-empty list of '{kind}' references or "
              f"tables {{ {kind} = \"module:attribute\", label = \"...\", ... }}, got {raw!r}")
        return None
    allowed = (kind, "label", *(k for k in case_keys if k not in excluded))
    entries: list[Entry] = []
    bad = False
    seen: dict[str, int] = {}
    for number, item in enumerate(raw, 1):
        table = item if isinstance(item, dict) else {kind: item}
        value = table.get(kind)
        line = key_line
        if isinstance(value, str):
            seen[value] = seen.get(value, -1) + 1
            line = locate(value, seen[value])
        where = f"{label}{plural} item {number}: "
        if kind not in table:
            error(line, where, f"missing required key '{kind}'")
            bad = True
            continue
        try:
            checked_reference = reference(value)
        except ValueError as exc:
            error(line, where, f"'{kind}' {exc}, got {value!r}")
            bad = True
            continue
        entry_label = table.get("label", label_of(checked_reference))
        if not (isinstance(entry_label, str) and entry_label.strip() and "/" not in entry_label):
            error(line, where, f"'label' must be a non-empty string without '/', got {entry_label!r}")
            bad = True
            continue
        options = {k: v for k, v in table.items() if k not in (kind, "label")}
        checked, wrong = check(options, allowed, _at(line), f"{label}{kind} '{entry_label}': ")
        if wrong:
            bad = True
            continue
        entries.append(Entry(checked_reference, entry_label, checked, line))
    return None if bad else entries


def _exclusions(raw: Any, models: list[Entry], quantizers: list[Entry], label: str, line: int,
                error: Error) -> set[tuple[str, str]] | None:
    shape = "a list of [model label, quantizer label] pairs such as [[\"vit\", \"x86\"]]"
    if not (isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2
                                          and all(isinstance(x, str) for x in p) for p in raw)):
        error(line, label, f"key 'exclude' must be {shape}, got {raw!r}")
        return None
    model_labels = [m.label for m in models]
    quantizer_labels = [q.label for q in quantizers]
    bad = False
    for model, quantizer in raw:
        if model not in model_labels:
            error(line, label, f"key 'exclude': no model labelled {model!r} "
                  f"(models: {', '.join(model_labels)})")
            bad = True
        if quantizer not in quantizer_labels:
            error(line, label, f"key 'exclude': no quantizer labelled {quantizer!r} "
                  f"(quantizers: {', '.join(quantizer_labels)})")
            bad = True
    return None if bad else {(m, q) for m, q in raw}


def expand(raw: dict[str, Any], number: int, table_line: int, key_line: Callable[[str], int], locate: Locate,
           case_keys: tuple[str, ...], required: tuple[str, ...], has_default: Callable[[str], bool],
           reference: Callable[[Any], str], check: Check, error: Error) -> list[Pair]:
    """The matrix's pairs, or none when anything in it is wrong (each error reported)."""
    name = raw.get("name")
    named = isinstance(name, str) and bool(name.strip())
    label = f"matrix '{name}': " if named else f"matrix #{number}: "
    bad = False
    if not named:
        if "name" not in raw:
            error(table_line, label, "missing required key 'name'")
        else:
            error(key_line("name"), label, f"key 'name' must be a non-empty string, got {name!r}")
        bad = True
    allowed = (*OWN, *(k for k in case_keys if k not in NOT_IN_MATRIX))
    options, wrong = check({k: v for k, v in raw.items() if k not in OWN}, allowed, key_line, label)
    bad |= wrong
    models = quantizers = None
    for kind in ("model", "quantizer"):
        if f"{kind}s" not in raw:
            error(table_line, label, f"missing required key '{kind}s'")
            bad = True
    if "models" in raw:
        models = _entries(raw["models"], "model", case_keys, NOT_IN_MODEL, label, key_line("models"), locate,
                          check, error, reference)
    if "quantizers" in raw:
        quantizers = _entries(raw["quantizers"], "quantizer", case_keys, NOT_IN_QUANTIZER, label,
                              key_line("quantizers"), locate, check, error, reference)
    if bad or models is None or quantizers is None:
        return []
    excluded = _exclusions(raw.get("exclude", []), models, quantizers, label, key_line("exclude"), error)
    if excluded is None:
        return []
    pairs: list[Pair] = []
    for model in models:
        missing = [key for key in required if key not in ("name", "model", "quantizer")
                   and key not in options and key not in model.options and not has_default(key)]
        if missing:
            keys = ", ".join(repr(k) for k in missing)
            error(model.line, label, f"model '{model.label}' has no {keys}: set it on the model entry "
                  "({ model = ..., inputs = ... }), on the matrix or in [defaults]")
            continue
        for quantizer in quantizers:
            if (model.label, quantizer.label) in excluded:
                continue
            references = {"model": model.reference, "quantizer": quantizer.reference}
            pairs.append(Pair(f"{name}/{model.label}/{quantizer.label}",
                              (options, model.options, quantizer.options, references), model.line))
    return pairs
