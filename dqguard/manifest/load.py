"""The manifest: which model/quantizer pairs a repository checks.

It is `dqguard.toml` (`[[case]]`, `[[matrix]]`, `[defaults]`, `[rules]`) or the same keys under
`[tool.dqguard]` in `pyproject.toml`. A matrix expands into one case per model/quantizer pair
(`dqguard.manifest.matrix`); after loading, every case is a plain `Case` whatever table it came from.
The manifest's directory is the project root: references are imported with it on `sys.path`.
Which manifests a scan reads is `dqguard.manifest.projects`' business.

Every error names the file, the line, the case and the key, and all of them are reported at once.
"""

import functools
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.errors import DqguardError
from dqguard.lines import FLOWS
from dqguard.manifest import matrix, specs
from dqguard.manifest.specs import InlineInputs
from dqguard.rules import CASE_ERRORS, IGNORABLE, LEVELS, RULES


class DynamicDim(NamedTuple):
    """One dynamic dimension of `dynamic_shapes`: a `torch.export.Dim` for dimension `dim` of the
    forward argument `arg`. Dimensions that name the same `name` are one Dim (one batch size)."""

    arg: str
    dim: int
    name: str
    min: int | None
    max: int | None


class Case(NamedTuple):
    name: str
    model: str
    inputs: str | InlineInputs  # a reference, or tensors the worker draws (dqguard.manifest.specs)
    quantizer: str
    line: int  # of the case's table in the manifest
    strict: bool = True
    calibration: int = 1
    timeout: float = 300.0
    memory: int | None = None  # bytes of worker RSS
    ignore: tuple[str, ...] = ()
    exact_qparams: bool = False
    flow: str | None = None  # "torchao" | "torch.ao"; None: the quantizer's own
    # (code, "error" | "warning" | "off"), sorted: the manifest's [rules] with the case's own on top
    rules: tuple[tuple[str, str], ...] = ()
    calibration_inputs: str | None = None  # module:attr of an iterable of inputs; None: `inputs`
    qat: bool = False
    dynamic_shapes: tuple[DynamicDim, ...] = ()
    stages: tuple[str, ...] = ()  # references applied in order to convert's output (dqguard.worker.staging)
    delegates: int | None = None  # delegate calls expected in the lowered program (DQG005)
    weightless: bool = False  # on fake tensors (dqguard.worker.weightless); exact_qparams overrides it


def export_key(case: Case) -> tuple[object, ...]:
    """What shapes a case's export: cases that agree on it share one (dqguard.worker.pipeline)."""
    # Weightless cases run on their own (fake) export; the same rule as pipeline._weightless_mode's.
    on_fakes = case.weightless and not (case.exact_qparams or case.stages)
    return (case.model, case.inputs, case.strict, case.qat, case.dynamic_shapes, on_fakes)


def case_to_json(case: Case) -> dict[str, Any]:
    """The case as JSON values (a worker's request, a cache key, `dqguard list`)."""
    data = case._asdict()
    if isinstance(case.inputs, InlineInputs):
        data["inputs"] = specs.to_json(case.inputs)
    data["ignore"] = list(case.ignore)
    data["rules"] = dict(case.rules)
    return data


def case_from_request(data: dict[str, Any]) -> Case:
    """A Case as `case_to_json` sent it (a worker's request)."""
    inputs = data["inputs"]
    dims = tuple(DynamicDim(*dim) for dim in data.get("dynamic_shapes", ()))
    return Case(**{**data, "ignore": tuple(data["ignore"]), "rules": tuple(sorted(data["rules"].items())),
                   "inputs": inputs if isinstance(inputs, str) else specs.from_json(inputs),
                   "dynamic_shapes": dims, "stages": tuple(data["stages"])})


class Manifest(NamedTuple):
    path: Path
    root: Path
    cases: tuple[Case, ...]


_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class Said(ValueError):
    """A validation error whose text already shows the offending value."""


def _ref(value: Any) -> str:
    if isinstance(value, str) and _REF.match(value):
        return value
    raise ValueError("must be a 'module:attribute' reference such as 'models.blocks:Net'")


def _inputs(value: Any) -> str | InlineInputs:
    if isinstance(value, str):
        return _ref(value)
    if isinstance(value, (list, dict)):
        try:
            return specs.parse(value)
        except ValueError as exc:
            raise Said(str(exc)) from None
    raise ValueError("must be a 'module:attribute' reference, a list of tensor specs such as "
                     "[[1, 3, 224, 224]], or a table of named specs for keyword inputs")

def _stages(value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) and _REF.match(v) for v in value):
        return tuple(value)
    raise ValueError("must be a list of 'module:attribute' references such as 'dqguard.stages:xnnpack'")


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError("must be an integer >= 0")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _positive_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError("must be an integer >= 1")


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ValueError("must be a number of seconds > 0")


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ValueError("must be a size such as \"4GiB\" or \"512MiB\"")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def _rule_codes(value: Any) -> tuple[str, ...]:
    if not (isinstance(value, list) and all(isinstance(v, str) and v in RULES for v in value)):
        raise ValueError(f"must be a list of rule codes from {', '.join(IGNORABLE)}")
    errors = [code for code in value if code in CASE_ERRORS]
    if errors:
        raise ValueError(f"cannot hold {', '.join(errors)}: a case error means the case was never "
                         "checked, which no ignore may turn into a pass (fix the case or remove it)")
    return tuple(value)


def _flow(value: Any) -> str:
    if isinstance(value, str) and value in FLOWS:
        return value
    raise ValueError(f"must be one of {', '.join(repr(name) for name in FLOWS)}")


_DIM_KEYS = ("min", "max", "name")
_SHAPES_FORM = ("a table of forward arguments, each a table of dimensions, "
                "e.g. { x = { 0 = { min = 1, max = 64 } } }")


def _dim_bound(value: Any, where: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"must give {where} as an integer >= 0, got {value!r}")


def _dynamic_shapes(value: Any) -> tuple[DynamicDim, ...]:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"must be {_SHAPES_FORM}")
    dims = []
    for arg, dimensions in value.items():
        if not isinstance(dimensions, dict) or not dimensions:
            raise ValueError(f"must give argument {arg!r} a table of dimensions such as "
                             "{ 0 = { max = 64 } }")
        for dim, spec in dimensions.items():
            if not dim.isdigit():
                raise ValueError(f"must number the dimensions of {arg!r} 0, 1, ... (not {dim!r})")
            where = f"{arg}.{dim}"
            if not isinstance(spec, dict) or set(spec) - set(_DIM_KEYS):
                raise ValueError(f"must give {where} a table of {', '.join(_DIM_KEYS)}, got {spec!r}")
            low = _dim_bound(spec.get("min"), f"{where}.min")
            high = _dim_bound(spec.get("max"), f"{where}.max")
            if low is not None and high is not None and low > high:
                raise ValueError(f"must give {where} a min no greater than its max, got {low} > {high}")
            name = spec.get("name", f"{arg}_{dim}")
            if not (isinstance(name, str) and name.isidentifier()):
                raise ValueError(f"must give {where}.name as a Python identifier, got {name!r}")
            dims.append(DynamicDim(arg, int(dim), name, low, high))
    # Dimensions sharing a name are one Dim: its range is given once (or the same each time).
    ranges: dict[str, DynamicDim] = {}
    for dim in dims:
        if (dim.min, dim.max) == (None, None):
            continue
        first = ranges.setdefault(dim.name, dim)
        if (first.min, first.max) != (dim.min, dim.max):
            raise ValueError(f"gives dimension {dim.name!r} two ranges ({first.arg}.{first.dim} and "
                             f"{dim.arg}.{dim.dim}): give its min and max once")
    return tuple(dim._replace(min=ranges[dim.name].min, max=ranges[dim.name].max) if dim.name in ranges
                 else dim for dim in dims)


def _name(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ValueError("must be a non-empty string")


def rule_level(code: Any, level: Any) -> tuple[str, str]:
    """One `[rules]` entry, checked: a rule that exists, a level it may take."""
    if code in CASE_ERRORS:
        raise ValueError(f"cannot set {code}: a case error means the case was never checked, so it is "
                         "always an error (fix the case or remove it)")
    if code not in RULES:
        raise ValueError(f"names no rule: {code!r} (rules: {', '.join(IGNORABLE)})")
    if level not in LEVELS:
        choices = ", ".join(f'"{v}"' for v in LEVELS[:-1]) + f' or "{LEVELS[-1]}"'
        raise ValueError(f"{code} must be {choices}, got {level!r}")
    return code, level


def _rules(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ValueError('must be a table such as { DQG002 = "error" }')
    try:
        return tuple(sorted(rule_level(code, level) for code, level in value.items()))
    except ValueError as exc:
        raise Said(f"{exc}") from None


def merged(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win key by key; `rules` tables are merged rule by rule, not replaced."""
    values = dict(base)
    for layer in layers:
        for key, value in layer.items():
            values[key] = tuple(sorted({**dict(values.get(key, ())), **dict(value)}.items())) \
                if key == "rules" else value
    return values


_KEYS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "model": _ref,
    "inputs": _inputs,
    "quantizer": _ref,
    "strict": _bool,
    "calibration": _positive_int,
    "timeout": _seconds,
    "memory": parse_size,
    "ignore": _rule_codes,
    "exact_qparams": _bool,
    "flow": _flow,
    "rules": _rules,
    "calibration_inputs": _ref,
    "qat": _bool,
    "dynamic_shapes": _dynamic_shapes,
    "stages": _stages,
    "delegates": _count,
    "weightless": _bool,
}
REQUIRED = ("name", "model", "inputs", "quantizer")
_NOT_DEFAULTS = ("name", "model")
_TOP = ("case", "defaults", "matrix", "rules")


class _Lines:
    """Where tables and keys sit in the TOML text; tomllib keeps no positions."""

    def __init__(self, text: str, prefix: str) -> None:
        self.lines = text.splitlines()
        header = re.compile(r"^\s*\[\[?\s*([\w.\"' -]+?)\s*\]\]?")
        self.tables: list[tuple[str, int]] = []
        for number, line in enumerate(self.lines, 1):
            match = header.match(line)
            if match:
                self.tables.append((match.group(1).replace(" ", ""), number))
        self.prefix = prefix

    def table(self, name: str, index: int = 0) -> int:
        starts = [n for t, n in self.tables if t == self.prefix + name]
        return starts[index] if index < len(starts) else 1

    def find(self, name: str) -> int:
        """A top-level key's line: its own table's header, or `name = ...` in the enclosing table."""
        headers = [n for t, n in self.tables if t == self.prefix + name]
        if headers:
            return headers[0]
        enclosing = [n for t, n in self.tables if self.prefix and t == self.prefix.rstrip(".")]
        return max(self.key(enclosing[0] if enclosing else 0, name), 1)

    def _end(self, table_line: int) -> int:
        following = [n for _, n in self.tables if n > table_line]
        return following[0] if following else len(self.lines) + 1

    def occurrence(self, table_line: int, reference: str, nth: int) -> int:
        """The line of the `nth` quoted `reference` in the table at `table_line`, or the table's."""
        quoted = re.compile(rf"[\"']{re.escape(reference)}[\"']")
        hits = [n for n in range(table_line, self._end(table_line)) if quoted.search(self.lines[n - 1])]
        return hits[nth] if nth < len(hits) else (hits[-1] if hits else table_line)

    def key(self, table_line: int, key: str) -> int:
        end = self._end(table_line)
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(table_line + 1, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return table_line


def display_path(path: Path) -> str:
    """How a path is shown: relative to the current directory when it lies under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load(path: Path) -> Manifest:
    path = path.resolve()
    shown = display_path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DqguardError(f"{path}: cannot read the manifest: {exc.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = match.group(1) if match else "1"
        raise DqguardError(f"{path}:{line}: invalid TOML: {exc}") from None
    prefix = ""
    table: Any = document
    if path.name == "pyproject.toml":
        prefix = "tool.dqguard."
        table = document.get("tool", {}).get("dqguard")
        if not isinstance(table, dict):
            raise DqguardError(f"{path}: no [tool.dqguard] table")
    lines = _Lines(text, prefix)
    errors: list[str] = []

    def error(line: int, where: str, message: str) -> None:
        errors.append(f"{shown}:{line}: {where}{message}")

    def check(raw: dict[str, Any], allowed: tuple[str, ...], line_of: Callable[[str], int],
              label: str) -> tuple[dict[str, Any], bool]:
        """`raw`'s case keys, validated; keys in `allowed` but not case keys are the caller's."""
        values: dict[str, Any] = {}
        bad = False
        for key, value in raw.items():
            line = line_of(key)
            if key not in allowed:
                error(line, label, f"unknown key '{key}' (allowed: {', '.join(allowed)})")
                bad = True
            elif key in _KEYS:
                try:
                    values[key] = _KEYS[key](value)
                except Said as exc:
                    error(line, label, f"key '{key}' {exc}")
                    bad = True
                except ValueError as exc:
                    error(line, label, f"key '{key}' {exc}, got {value!r}")
                    bad = True
        return values, bad

    for key in table:
        if key not in _TOP:
            expected = ", ".join(f"'{prefix}{k}'" for k in _TOP)
            error(lines.find(key), "", f"unknown key '{prefix}{key}' (expected one of {expected})")

    base: dict[str, Any] = {}
    raw_rules = table.get("rules", {})
    rules_line = lines.table("rules")
    if not isinstance(raw_rules, dict):
        error(lines.find("rules"), "", f"'{prefix}rules' must be a table such as [{prefix}rules] "
              'DQG002 = "error"')
        raw_rules = {}
    levels = {}
    for code, level in raw_rules.items():
        try:
            levels[code] = rule_level(code, level)[1]
        except ValueError as exc:
            error(lines.key(rules_line, code), "rules: ", str(exc))
    if levels:
        base["rules"] = tuple(sorted(levels.items()))

    defaults_line = lines.table("defaults")
    defaults = table.get("defaults", {})
    if not isinstance(defaults, dict):
        error(1, "", f"'{prefix}defaults' must be a table")
        defaults = {}
    allowed = tuple(k for k in _KEYS if k not in _NOT_DEFAULTS)
    checked_defaults, _ = check(defaults, allowed, functools.partial(lines.key, defaults_line), "defaults: ")
    checked_defaults = merged(base, checked_defaults)

    raw_cases = table.get("case", [])
    if not isinstance(raw_cases, list) or not all(isinstance(c, dict) for c in raw_cases):
        error(1, "", f"'{prefix}case' must be an array of tables ([[{prefix}case]])")
        raw_cases = []
    raw_matrices = table.get("matrix", [])
    if not isinstance(raw_matrices, list) or not all(isinstance(m, dict) for m in raw_matrices):
        error(lines.find("matrix"), "", f"'{prefix}matrix' must be an array of tables ([[{prefix}matrix]])")
        raw_matrices = []
    if not raw_cases and not raw_matrices and not errors:
        error(1, "", f"no cases: add a [[{prefix}case]] table with name, model, inputs, quantizer, or a "
              f"[[{prefix}matrix]] with name, models, quantizers")

    found: list[tuple[int, Case]] = []  # (line of the table it came from, case)
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_cases):
        case_line = lines.table("case", index)
        label = f"case '{raw['name']}': " if isinstance(raw.get("name"), str) else f"case #{index + 1}: "
        values, bad = check(raw, tuple(_KEYS), functools.partial(lines.key, case_line), label)
        values = merged(checked_defaults, values)
        missing = [key for key in REQUIRED if key not in values and key not in raw]
        if missing:
            error(case_line, label, f"missing required key {', '.join(repr(k) for k in missing)}")
            bad = True
        if "delegates" in values and not values.get("stages"):
            # Only a lowering stage makes delegates: without one the count would always be 0.
            error(lines.key(case_line, "delegates") if "delegates" in raw else defaults_line, label,
                  "key 'delegates' needs 'stages' with a lowering stage, such as 'dqguard.stages:xnnpack'")
            bad = True
        name = values.get("name")
        if isinstance(name, str):
            if name in seen:
                error(case_line, label, f"duplicate name (first at line {seen[name]})")
                bad = True
            seen.setdefault(name, case_line)
        if not bad:
            found.append((case_line, Case(line=case_line, **values)))

    for index, raw in enumerate(raw_matrices):
        matrix_line = lines.table("matrix", index)
        pairs = matrix.expand(
            raw, index + 1, matrix_line, functools.partial(lines.key, matrix_line),
            functools.partial(lines.occurrence, matrix_line),
            tuple(_KEYS), REQUIRED, lambda key: key in checked_defaults, _ref, check, error)
        for pair in pairs:
            if pair.name in seen:
                error(matrix_line, f"matrix '{raw['name']}': ",
                      f"expands to the case name '{pair.name}' twice (first at line {seen[pair.name]}): "
                      "give its models or quantizers distinct labels")
                continue
            seen[pair.name] = matrix_line
            found.append((matrix_line, Case(name=pair.name, line=pair.line,
                                            **merged(checked_defaults, *pair.layers))))
    cases = [case for _, case in sorted(found, key=lambda item: item[0])]
    if errors:
        raise DqguardError("invalid manifest:\n" + "\n".join(f"  {e}" for e in errors))
    return Manifest(path=path, root=path.parent, cases=tuple(cases))
