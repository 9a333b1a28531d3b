"""The manifest: which model/quantizer pairs a repository checks.

It is `dqguard.toml` (`[[case]]`, `[defaults]`) or the same keys under `[tool.dqguard]` in
`pyproject.toml`. Discovery walks up from the current directory and takes the first directory that
has either, preferring `dqguard.toml`, as ruff does with its config files. That directory is the
project root: references are imported with it on `sys.path`, and only source files under it count
as the user's own when locating findings.

Every error names the file, the line, the case and the key, and all of them are reported at once.
"""

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.errors import DqguardError
from dqguard.flows import NAMES as FLOWS
from dqguard.rules import CASE_ERRORS, IGNORABLE, RULES


class Case(NamedTuple):
    name: str
    model: str
    inputs: str
    quantizer: str
    line: int  # of the case's table in the manifest
    strict: bool = True
    calibration: int = 1
    timeout: float = 300.0
    memory: int | None = None  # bytes of worker RSS
    ignore: tuple[str, ...] = ()
    exact_qparams: bool = False
    flow: str | None = None  # "torchao" | "torch.ao"; None: the quantizer's own
    weightless: bool = False  # on fake tensors (dqguard.weightless); exact_qparams overrides it


def export_key(case: Case) -> tuple[object, ...]:
    """What shapes a case's export: cases that agree on it share one (dqguard.pipeline)."""
    return (case.model, case.inputs, case.strict, case.weightless and not case.exact_qparams)


def case_from_request(data: dict[str, Any]) -> Case:
    """A Case as `Case._asdict()` sent it through JSON (a worker's request)."""
    return Case(**{**data, "ignore": tuple(data["ignore"])})


class Manifest(NamedTuple):
    path: Path
    root: Path
    cases: tuple[Case, ...]


_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _ref(value: Any) -> str:
    if isinstance(value, str) and _REF.match(value):
        return value
    raise ValueError("must be a 'module:attribute' reference such as 'models.blocks:Net'")


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


def _name(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ValueError("must be a non-empty string")


_KEYS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "model": _ref,
    "inputs": _ref,
    "quantizer": _ref,
    "strict": _bool,
    "calibration": _positive_int,
    "timeout": _seconds,
    "memory": parse_size,
    "ignore": _rule_codes,
    "exact_qparams": _bool,
    "flow": _flow,
    "weightless": _bool,
}
_REQUIRED = ("name", "model", "inputs", "quantizer")
_NOT_DEFAULTS = ("name", "model")


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

    def key(self, table_line: int, key: str) -> int:
        following = [n for _, n in self.tables if n > table_line]
        end = following[0] if following else len(self.lines) + 1
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


def discover(start: Path) -> Path:
    for directory in (start, *start.parents):
        candidate = directory / "dqguard.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and re.search(
            r"^\s*\[\[?\s*tool\.dqguard[\].]", pyproject.read_text(errors="replace"), re.MULTILINE
        ):
            return pyproject
    raise DqguardError(
        f"no dqguard.toml, nor a pyproject.toml with [tool.dqguard], in {start} or its parents "
        "(use --manifest PATH)"
    )


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

    for key in table:
        if key not in ("case", "defaults"):
            error(lines.find(key), "",
                  f"unknown key '{prefix}{key}' (expected '{prefix}case' or '{prefix}defaults')")

    defaults_line = lines.table("defaults")
    defaults = table.get("defaults", {})
    if not isinstance(defaults, dict):
        error(1, "", f"'{prefix}defaults' must be a table")
        defaults = {}
    checked_defaults: dict[str, Any] = {}
    for key, value in defaults.items():
        line = lines.key(defaults_line, key)
        if key not in _KEYS or key in _NOT_DEFAULTS:
            allowed = ", ".join(k for k in _KEYS if k not in _NOT_DEFAULTS)
            error(line, "defaults: ", f"unknown key '{key}' (allowed: {allowed})")
            continue
        try:
            checked_defaults[key] = _KEYS[key](value)
        except ValueError as exc:
            error(line, "defaults: ", f"key '{key}' {exc}, got {value!r}")

    raw_cases = table.get("case", [])
    if not isinstance(raw_cases, list) or not all(isinstance(c, dict) for c in raw_cases):
        error(1, "", f"'{prefix}case' must be an array of tables ([[{prefix}case]])")
        raw_cases = []
    if not raw_cases and not errors:
        error(1, "", f"no cases: add a [[{prefix}case]] table with name, model, inputs, quantizer")

    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_cases):
        case_line = lines.table("case", index)
        label = f"case '{raw['name']}': " if isinstance(raw.get("name"), str) else f"case #{index + 1}: "
        values: dict[str, Any] = dict(checked_defaults)
        bad = False
        for key, value in raw.items():
            line = lines.key(case_line, key)
            if key not in _KEYS:
                error(line, label, f"unknown key '{key}' (allowed: {', '.join(_KEYS)})")
                bad = True
                continue
            try:
                values[key] = _KEYS[key](value)
            except ValueError as exc:
                error(line, label, f"key '{key}' {exc}, got {value!r}")
                bad = True
        missing = [key for key in _REQUIRED if key not in values and key not in raw]
        if missing:
            error(case_line, label, f"missing required key {', '.join(repr(k) for k in missing)}")
            bad = True
        name = values.get("name")
        if isinstance(name, str):
            if name in seen:
                error(case_line, label, f"duplicate name (first at line {seen[name]})")
                bad = True
            seen.setdefault(name, case_line)
        if not bad:
            cases.append(Case(line=case_line, **values))
    if errors:
        raise DqguardError("invalid manifest:\n" + "\n".join(f"  {e}" for e in errors))
    return Manifest(path=path, root=path.parent, cases=tuple(cases))
