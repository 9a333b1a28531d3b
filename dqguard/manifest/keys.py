"""The keys a manifest accepts, table by table, and how each case key's value is checked.

`TABLES` is the data: the keys each table accepts, read by the loader, the matrix and the tests
that hold the README and the JSON schema to it. `CASE_KEYS` maps each case key to its validator:
a function from the TOML value to the Case field's, raising ValueError to say what the value must
be. `check` runs them over one table and reports into `Problems`, so that every error of a
manifest names its file, line, table and key, and all are reported at once.
"""

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from dqguard.lines import FLOWS
from dqguard.manifest import specs
from dqguard.manifest.case import DynamicDim
from dqguard.manifest.specs import InlineInputs
from dqguard.rules import CASE_ERRORS, IGNORABLE, LEVELS, RULES

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class Said(ValueError):
    """A validation error whose text already shows the offending value."""


def reference(value: Any) -> str:
    if isinstance(value, str) and _REF.match(value):
        return value
    raise ValueError("must be a 'module:attribute' reference such as 'models.blocks:Net'")


def _inputs(value: Any) -> str | InlineInputs:
    if isinstance(value, str):
        return reference(value)
    if isinstance(value, (list, dict)):
        try:
            return specs.parse(value)
        except ValueError as exc:
            raise Said(str(exc)) from None
    raise ValueError("must be a 'module:attribute' reference, a list of tensor specs such as "
                     "[[1, 3, 224, 224]], or a table of named specs for keyword inputs")


# The names `dqguard.stages` exports (tests/test_stages.py holds them equal): a misspelt built-in
# is a manifest error at its line, not a case error after minutes of export and calibration. The
# manifest cannot import the stages to ask: they live on the torch side.
BUILTIN_STAGES = ("coreml", "duplicate_dynamic_quant_chain", "ethos_u55", "ethos_u85", "openvino",
                  "reexport", "to_edge", "tosa", "vulkan", "xnnpack")


def _stages(value: Any) -> tuple[str, ...]:
    if not (isinstance(value, list) and all(isinstance(v, str) and _REF.match(v) for v in value)):
        raise ValueError("must be a list of 'module:attribute' references such as 'dqguard.stages:xnnpack'")
    for ref in value:
        module, _, name = ref.partition(":")
        if module == "dqguard.stages" and name not in BUILTIN_STAGES:
            raise Said(f"names '{ref}', which is not a built-in stage; dqguard.stages has "
                       f"{', '.join(BUILTIN_STAGES)}")
    return tuple(value)


def _integer(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _count(value: Any) -> int:
    if _integer(value, 0):
        return int(value)
    raise ValueError("must be an integer >= 0")


def _positive_int(value: Any) -> int:
    if _integer(value, 1):
        return int(value)
    raise ValueError("must be an integer >= 1")


def _share(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise ValueError("must be a number from 0 to 1 (a share of the program's FLOPs)")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ValueError("must be a number of seconds > 0")


def parse_size(value: Any) -> int:
    if _integer(value, 1):
        return int(value)
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


DIM_KEYS = ("min", "max", "name")
_SHAPES_FORM = ("a table of forward arguments, each a table of dimensions, "
                "e.g. { x = { 0 = { min = 1, max = 64 } } }")


def _dim_bound(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if _integer(value, 0):
        return int(value)
    raise ValueError(f"must give {where} as an integer >= 0, got {value!r}")


def _dim(arg: str, dim: str, spec: Any) -> DynamicDim:
    where = f"{arg}.{dim}"
    if not isinstance(spec, dict) or set(spec) - set(DIM_KEYS):
        raise ValueError(f"must give {where} a table of {', '.join(DIM_KEYS)}, got {spec!r}")
    low = _dim_bound(spec.get("min"), f"{where}.min")
    high = _dim_bound(spec.get("max"), f"{where}.max")
    if low is not None and high is not None and low > high:
        raise ValueError(f"must give {where} a min no greater than its max, got {low} > {high}")
    name = spec.get("name", f"{arg}_{dim}")
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(f"must give {where}.name as a Python identifier, got {name!r}")
    return DynamicDim(arg, int(dim), name, low, high)


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
            dims.append(_dim(arg, dim, spec))
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


# A case key -> its validator; the Case field of the same name takes what it returns.
CASE_KEYS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "model": reference,
    "inputs": _inputs,
    "quantizer": reference,
    "strict": _bool,
    "calibration": _positive_int,
    "timeout": _seconds,
    "memory": parse_size,
    "ignore": _rule_codes,
    "exact_qparams": _bool,
    "flow": _flow,
    "rules": _rules,
    "calibration_inputs": reference,
    "qat": _bool,
    "dynamic_shapes": _dynamic_shapes,
    "stages": _stages,
    "delegates": _count,
    "weightless": _bool,
    "fold_quantize": _bool,
    "min_coverage": _share,
    "coverage_tolerance": _share,
}
REQUIRED = ("name", "model", "inputs", "quantizer")
MATRIX_OWN = ("name", "models", "quantizers", "exclude")  # the matrix's keys that are no case key's


def _case_keys_less(*kept_out: str) -> tuple[str, ...]:
    return tuple(key for key in CASE_KEYS if key not in kept_out)


# Table -> the keys it accepts. "manifest" is the top level (dqguard.toml's, or [tool.dqguard]);
# "matrix.models" and "matrix.quantizers" are the tables of a matrix's entries; "inputs" is one
# inline tensor spec, "dynamic_shapes" one dimension's table. Keys that name a case's model or
# quantizer belong to the case's own table or to the entry that names them.
TABLES: dict[str, tuple[str, ...]] = {
    "manifest": ("case", "defaults", "matrix", "rules"),
    "case": tuple(CASE_KEYS),
    "defaults": _case_keys_less("name", "model"),
    "rules": tuple(IGNORABLE),
    "matrix": (*MATRIX_OWN, *_case_keys_less("name", "model", "quantizer")),
    "matrix.models": ("model", "label", *_case_keys_less("name", "model", "quantizer")),
    "matrix.quantizers": ("quantizer", "label", *_case_keys_less("name", "model", "inputs", "quantizer")),
    "inputs": specs.KEYS,
    "dynamic_shapes": DIM_KEYS,
}


class Problems(NamedTuple):
    """A manifest's errors, collected so that all are reported at once."""

    shown: str  # the manifest's path as errors show it
    messages: list[str]

    def add(self, line: int, where: str, message: str) -> None:
        self.messages.append(f"{self.shown}:{line}: {where}{message}")


def check(problems: Problems, raw: dict[str, Any], allowed: tuple[str, ...], line_of: Callable[[str], int],
          label: str) -> tuple[dict[str, Any], bool]:
    """`raw`'s case keys, validated, and whether any key was wrong; keys in `allowed` but not case
    keys are the caller's."""
    values: dict[str, Any] = {}
    bad = False
    for key, value in raw.items():
        line = line_of(key)
        if key not in allowed:
            problems.add(line, label, f"unknown key '{key}' (allowed: {', '.join(allowed)})")
            bad = True
        elif key in CASE_KEYS:
            try:
                values[key] = CASE_KEYS[key](value)
            except Said as exc:
                problems.add(line, label, f"key '{key}' {exc}")
                bad = True
            except ValueError as exc:
                problems.add(line, label, f"key '{key}' {exc}, got {value!r}")
                bad = True
    return values, bad
