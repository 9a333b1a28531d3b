"""The manifest: which model/quantizer pairs a repository checks.

It is `dqguard.toml` (`[[case]]`, `[[matrix]]`, `[defaults]`, `[rules]`) or the same keys under
`[tool.dqguard]` in `pyproject.toml`. A matrix expands into one case per model/quantizer pair
(`dqguard.manifest.matrix`); after loading, every case is a plain `Case` whatever table it came from.
The manifest's directory is the project root: references are imported with it on `sys.path`.
Which manifests a scan reads is `dqguard.manifest.projects`' business; which keys each table
accepts, and how their values are checked, `dqguard.manifest.keys`'.

Every error names the file, the line, the case and the key, and all of them are reported at once.
"""

import functools
import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.errors import DqguardError
from dqguard.manifest import keys, matrix, toml_lines
from dqguard.manifest.case import Case
from dqguard.manifest.keys import Problems
from dqguard.manifest.toml_lines import Lines


class Manifest(NamedTuple):
    path: Path
    root: Path
    cases: tuple[Case, ...]


class _Loading(NamedTuple):
    """What each case table of one manifest is loaded against."""

    lines: Lines
    problems: Problems
    defaults: dict[str, Any]  # [rules] and [defaults], checked
    seen: dict[str, int]  # case name -> the line of the table that made it first

# Keys about a lowered program, which only a lowering stage makes.
LOWERING_KEYS = ("delegates", "min_coverage", "coverage_tolerance")


def display_path(path: Path) -> str:
    """How a path is shown: relative to the current directory when it lies under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _merged(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win key by key; `rules` tables are merged rule by rule, not replaced."""
    values = dict(base)
    for layer in layers:
        for key, value in layer.items():
            values[key] = tuple(sorted({**dict(values.get(key, ())), **dict(value)}.items())) \
                if key == "rules" else value
    return values


def _read(path: Path) -> tuple[dict[str, Any], Lines]:
    """The manifest's table (the document, or its [tool.dqguard]) and where its lines are."""
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
    if path.name != "pyproject.toml":
        return document, toml_lines.parse(text, "")
    table = document.get("tool", {}).get("dqguard")
    if not isinstance(table, dict):
        raise DqguardError(f"{path}: no [tool.dqguard] table")
    return table, toml_lines.parse(text, "tool.dqguard.")


def _top_keys(table: dict[str, Any], lines: Lines, problems: Problems) -> None:
    allowed = keys.TABLES["manifest"]
    for key in table:
        if key not in allowed:
            expected = ", ".join(f"'{lines.prefix}{k}'" for k in allowed)
            problems.add(lines.find(key), "",
                         f"unknown key '{lines.prefix}{key}' (expected one of {expected})")


def _rules(table: dict[str, Any], lines: Lines, problems: Problems) -> dict[str, Any]:
    """`[rules]`, checked, as the case key `rules` every case starts from."""
    raw = table.get("rules", {})
    if not isinstance(raw, dict):
        problems.add(lines.find("rules"), "", f"'{lines.prefix}rules' must be a table such as "
                     f'[{lines.prefix}rules] DQG002 = "error"')
        return {}
    levels = {}
    for code, level in raw.items():
        try:
            levels[code] = keys.rule_level(code, level)[1]
        except ValueError as exc:
            problems.add(lines.key(lines.table("rules"), code), "rules: ", str(exc))
    return {"rules": tuple(sorted(levels.items()))} if levels else {}


def _defaults(table: dict[str, Any], lines: Lines, problems: Problems) -> dict[str, Any]:
    raw = table.get("defaults", {})
    if not isinstance(raw, dict):
        problems.add(1, "", f"'{lines.prefix}defaults' must be a table")
        return {}
    line_of = functools.partial(lines.key, lines.table("defaults"))
    return keys.check(problems, raw, keys.TABLES["defaults"], line_of, "defaults: ")[0]


def _array(table: dict[str, Any], name: str, line: int, lines: Lines,
           problems: Problems) -> list[dict[str, Any]]:
    """`[[case]]` or `[[matrix]]`'s tables; none, and an error at `line`, when it is no array of tables."""
    raw = table.get(name, [])
    if isinstance(raw, list) and all(isinstance(item, dict) for item in raw):
        return raw
    problems.add(line, "", f"'{lines.prefix}{name}' must be an array of tables ([[{lines.prefix}{name}]])")
    return []


def _case(raw: dict[str, Any], index: int, loading: _Loading) -> Case | None:
    """The `index`th `[[case]]`, or None when it is wrong (each error reported)."""
    lines, problems = loading.lines, loading.problems
    line = lines.table("case", index)
    label = f"case '{raw['name']}': " if isinstance(raw.get("name"), str) else f"case #{index + 1}: "
    values, bad = keys.check(problems, raw, keys.TABLES["case"], functools.partial(lines.key, line), label)
    values = _merged(loading.defaults, values)
    missing = [key for key in keys.REQUIRED if key not in values and key not in raw]
    if missing:
        problems.add(line, label, f"missing required key {', '.join(repr(k) for k in missing)}")
        bad = True
    for key in LOWERING_KEYS:
        if key in values and not values.get("stages"):
            # Only a lowering stage makes delegates: without one there is nothing to count.
            problems.add(lines.key(line, key) if key in raw else lines.table("defaults"), label,
                         f"key '{key}' needs 'stages' with a lowering stage, such as "
                         "'dqguard.stages:xnnpack'")
            bad = True
    name = values.get("name")
    if isinstance(name, str):
        if name in loading.seen:
            problems.add(line, label, f"duplicate name (first at line {loading.seen[name]})")
            bad = True
        loading.seen.setdefault(name, line)
    return None if bad else Case(line=line, **values)


def _matrix_cases(raw: dict[str, Any], index: int, loading: _Loading) -> list[Case]:
    """The cases the `index`th `[[matrix]]` expands into."""
    line = loading.lines.table("matrix", index)
    cases = []
    for pair in matrix.expand(raw, index + 1, loading.lines, loading.defaults, loading.problems):
        if pair.name in loading.seen:
            loading.problems.add(line, f"matrix '{raw['name']}': ",
                                 f"expands to the case name '{pair.name}' twice (first at line "
                                 f"{loading.seen[pair.name]}): give its models or quantizers distinct labels")
            continue
        loading.seen[pair.name] = line
        cases.append(Case(name=pair.name, line=pair.line, **_merged(loading.defaults, *pair.layers)))
    return cases


def load(path: Path) -> Manifest:
    path = path.resolve()
    table, lines = _read(path)
    problems = Problems(display_path(path), [])
    _top_keys(table, lines, problems)
    defaults = _merged(_rules(table, lines, problems), _defaults(table, lines, problems))
    raw_cases = _array(table, "case", 1, lines, problems)
    raw_matrices = _array(table, "matrix", lines.find("matrix"), lines, problems)
    if not raw_cases and not raw_matrices and not problems.messages:
        problems.add(1, "", f"no cases: add a [[{lines.prefix}case]] table with name, model, inputs, "
                     f"quantizer, or a [[{lines.prefix}matrix]] with name, models, quantizers")
    loading = _Loading(lines, problems, defaults, {})
    found: list[tuple[int, Case]] = []  # (line of the table it came from, case)
    for index, raw in enumerate(raw_cases):
        case = _case(raw, index, loading)
        found += [(case.line, case)] if case is not None else []
    for index, raw in enumerate(raw_matrices):
        found += [(lines.table("matrix", index), case) for case in _matrix_cases(raw, index, loading)]
    if problems.messages:
        raise DqguardError("invalid manifest:\n" + "\n".join(f"  {e}" for e in problems.messages))
    cases = tuple(case for _, case in sorted(found, key=lambda item: item[0]))
    return Manifest(path=path, root=path.parent, cases=cases)
