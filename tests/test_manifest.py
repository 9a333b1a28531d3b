"""Manifest loading: every error names the file, the line, the case and the key."""

from pathlib import Path

import pytest

from dqguard.errors import DqguardError
from dqguard.manifest import Case, discover, load

CASE = """
[[case]]
name = "a"
model = "m:Net"
inputs = "m:inputs"
quantizer = "q:make"
"""


def _load(tmp_path: Path, text: str, name: str = "dqguard.toml") -> list[Case]:
    path = tmp_path / name
    path.write_text(text)
    return list(load(path).cases)


def _error(tmp_path: Path, text: str, name: str = "dqguard.toml") -> str:
    with pytest.raises(DqguardError) as caught:
        _load(tmp_path, text, name)
    return str(caught.value)


def test_a_case_with_defaults_applied(tmp_path: Path) -> None:
    text = '[defaults]\nstrict = false\ncalibration = 3\nmemory = "1.5GiB"\nignore = ["DQG002"]\n' + CASE
    [case] = _load(tmp_path, text)
    assert case == Case(
        name="a", model="m:Net", inputs="m:inputs", quantizer="q:make", line=7,
        strict=False, calibration=3, memory=int(1.5 * 2**30), ignore=("DQG002",),
    )


def test_a_case_overrides_defaults(tmp_path: Path) -> None:
    [case] = _load(tmp_path, "[defaults]\ntimeout = 10\n" + CASE + "timeout = 2.5\n")
    assert case.timeout == 2.5


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    message = _error(tmp_path, CASE + "strict = \n")
    assert "dqguard.toml:7: invalid TOML" in message


@pytest.mark.parametrize(
    ("extra", "line", "expected"),
    [
        ("calibration = 0\n", 7, "case 'a': key 'calibration' must be an integer >= 1, got 0"),
        ("strict = \"yes\"\n", 7, "case 'a': key 'strict' must be true or false, got 'yes'"),
        ("timeout = -1\n", 7, "key 'timeout' must be a number of seconds > 0"),
        ("memory = \"lots\"\n", 7, "key 'memory' must be a size such as"),
        ("ignore = [\"DQG999\"]\n", 7, "key 'ignore' must be a list of rule codes"),
        ("ignore = [\"DQG002\", \"DQG900\"]\n", 7, "key 'ignore' cannot hold DQG900: a case error means "
         "the case was never checked, which no ignore may turn into a pass (fix the case or remove it)"),
        ("weightless = 1\n", 7, "case 'a': key 'weightless' must be true or false, got 1"),
        ("modle = \"m:Net\"\n", 7, "case 'a': unknown key 'modle'"),
    ],
)
def test_bad_values_name_case_key_and_line(tmp_path: Path, extra: str, line: int, expected: str) -> None:
    message = _error(tmp_path, CASE + extra)
    assert f"dqguard.toml:{line}: " in message
    assert expected in message


def test_bad_reference(tmp_path: Path) -> None:
    message = _error(tmp_path, CASE.replace('"m:Net"', '"m.Net"'))
    assert "dqguard.toml:4: case 'a': key 'model' must be a 'module:attribute' reference" in message


def test_missing_keys_are_reported_at_the_case(tmp_path: Path) -> None:
    message = _error(tmp_path, '\n[[case]]\nname = "b"\nmodel = "m:Net"\n')
    assert "dqguard.toml:2: case 'b': missing required key 'inputs', 'quantizer'" in message


def test_unnamed_case_is_numbered(tmp_path: Path) -> None:
    message = _error(tmp_path, CASE + CASE.replace('name = "a"\n', ""))
    assert "dqguard.toml:8: case #2: missing required key 'name'" in message


def test_duplicate_names(tmp_path: Path) -> None:
    message = _error(tmp_path, CASE + CASE)
    assert "dqguard.toml:8: case 'a': duplicate name (first at line 2)" in message


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    message = _error(tmp_path, CASE + "calibration = 0\n" + CASE.replace('"a"', '"b"') + "strict = 1\n")
    assert "case 'a': key 'calibration'" in message
    assert "case 'b': key 'strict'" in message


def test_unknown_top_level_table_and_defaults_key(tmp_path: Path) -> None:
    message = _error(tmp_path, "[defaults]\nname = \"x\"\n[settings]\nx = 1\n" + CASE)
    assert "dqguard.toml:2: defaults: unknown key 'name'" in message
    assert "dqguard.toml:3: unknown key 'settings'" in message


def test_no_cases(tmp_path: Path) -> None:
    assert "no cases" in _error(tmp_path, "[defaults]\nstrict = true\n")


def test_pyproject_table(tmp_path: Path) -> None:
    text = "[project]\nname = \"x\"\n\n" + CASE.replace("[[case]]", "[[tool.dqguard.case]]")
    [case] = _load(tmp_path, text, "pyproject.toml")
    assert (case.name, case.line) == ("a", 5)
    message = _error(tmp_path, text + "strict = 2\n", "pyproject.toml")
    assert "pyproject.toml:10: case 'a': key 'strict'" in message


def test_discovery_walks_up_and_prefers_dqguard_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dqguard]\n")
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    assert discover(nested) == tmp_path / "pyproject.toml"
    (tmp_path / "dqguard.toml").write_text(CASE)
    assert discover(nested) == tmp_path / "dqguard.toml"


def test_pyproject_without_our_table_is_not_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    with pytest.raises(DqguardError, match=r"no dqguard\.toml"):
        discover(tmp_path)
