"""Manifest loading: every error names the file, the line, the case and the key."""

import json
from pathlib import Path

import pytest

from dqguard.errors import DqguardError
from dqguard.manifest.case import Case, DynamicDim, case_from_request, export_key, request_json
from dqguard.manifest.keys import TABLES
from dqguard.manifest.load import load
from dqguard.manifest.projects import discover

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
        ("qat = 1\n", 7, "case 'a': key 'qat' must be true or false, got 1"),
        ("calibration_inputs = \"batches\"\n", 7, "key 'calibration_inputs' must be a 'module:attribute'"),
        ("dynamic_shapes = [0]\n", 7, "key 'dynamic_shapes' must be a table of forward arguments, each a "
         "table of dimensions, e.g. { x = { 0 = { min = 1, max = 64 } } }, got [0]"),
        ("dynamic_shapes = { x = 0 }\n", 7, "must give argument 'x' a table of dimensions such as"),
        ("dynamic_shapes = { x = { batch = {} } }\n", 7, "must number the dimensions of 'x' 0, 1, ... "
         "(not 'batch')"),
        ("dynamic_shapes = { x = { 0 = { low = 1 } } }\n", 7, "must give x.0 a table of min, max, name"),
        ("dynamic_shapes = { x = { 0 = { max = -1 } } }\n", 7, "must give x.0.max as an integer >= 0, "
         "got -1"),
        ("dynamic_shapes = { x = { 0 = { min = 9, max = 8 } } }\n", 7, "must give x.0 a min no greater "
         "than its max, got 9 > 8"),
        ("dynamic_shapes = { x = { 0 = { name = \"a b\" } } }\n", 7, "x.0.name as a Python identifier"),
        ("dynamic_shapes = { x = { 0 = { name = \"b\", max = 4 } }, "
         "y = { 0 = { name = \"b\", max = 8 } } }\n", 7,
         "gives dimension 'b' two ranges (x.0 and y.0): give its min and max once"),
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


def test_rules_table_reaches_every_case_and_a_case_overrides_it(tmp_path: Path) -> None:
    text = '[rules]\nDQG002 = "error"\nDQG001 = "warning"\n' + CASE + 'rules = { DQG002 = "off" }\n'
    [case] = _load(tmp_path, text)
    assert case.rules == (("DQG001", "warning"), ("DQG002", "off"))


RULE_ERRORS = [
    ('[rules]\nDQG900 = "off"\n' + CASE,
     "dqguard.toml:2: rules: cannot set DQG900: a case error means the case was never checked, so it is "
     "always "
     "an error (fix the case or remove it)"),
    ('[rules]\nDQG099 = "off"\n' + CASE,
     "dqguard.toml:2: rules: names no rule: 'DQG099' "
     "(rules: DQG001, DQG002, DQG003, DQG004, DQG005, DQG006)"),
    ('[rules]\n\nDQG002 = "fatal"\n' + CASE,
     "dqguard.toml:3: rules: DQG002 must be \"error\", \"warning\" or \"off\", got 'fatal'"),
    ("rules = 3\n" + CASE,
     "dqguard.toml:1: 'rules' must be a table such as [rules] DQG002 = \"error\""),
    (CASE + 'rules = "off"\n',
     "dqguard.toml:7: case 'a': key 'rules' must be a table such as { DQG002 = \"error\" }, got 'off'"),
    (CASE + 'rules = { DQG901 = "warning" }\n',
     "dqguard.toml:7: case 'a': key 'rules' cannot set DQG901: a case error means the case was never "
     "checked"),
    ('[defaults]\nrules = { DQG002 = "loud" }\n' + CASE,
     "dqguard.toml:2: defaults: key 'rules' DQG002 must be \"error\", \"warning\" or \"off\", got 'loud'"),
]


@pytest.mark.parametrize(("text", "expected"), RULE_ERRORS)
def test_rule_levels_are_checked_where_they_are_set(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_dynamic_shapes_name_one_dim_per_name_and_travel_to_the_worker(tmp_path: Path) -> None:
    text = CASE + ("qat = true\ncalibration_inputs = \"m:batches\"\n"
                   "dynamic_shapes = { input_ids = { 0 = { name = \"batch\", min = 1, max = 8 }, 1 = {} },"
                   " attention_mask = { 0 = { name = \"batch\" } } }\n")
    [case] = _load(tmp_path, text)
    assert (case.qat, case.calibration_inputs) == (True, "m:batches")
    assert case.dynamic_shapes == (
        DynamicDim("input_ids", 0, "batch", 1, 8),
        DynamicDim("input_ids", 1, "input_ids_1", None, None),
        DynamicDim("attention_mask", 0, "batch", 1, 8),
    )
    # A worker's request is JSON: the case comes back equal, so it keeps its export key.
    assert case_from_request(json.loads(json.dumps(request_json(case)))) == case


def test_qat_and_dynamic_shapes_shape_the_export_and_calibration_data_does_not(tmp_path: Path) -> None:
    [case] = _load(tmp_path, CASE)
    assert export_key(case._replace(qat=True)) != export_key(case)
    assert export_key(case._replace(dynamic_shapes=(DynamicDim("x", 0, "x_0", None, 8),))) != export_key(case)
    assert export_key(case._replace(calibration_inputs="m:batches")) == export_key(case)


def test_stages_and_delegates_from_defaults_and_case(tmp_path: Path) -> None:
    text = ('[defaults]\nstages = ["dqguard.stages:reexport", "passes:merge"]\n' + CASE + "delegates = 2\n"
            + CASE.replace('"a"', '"b"') + 'stages = ["dqguard.stages:xnnpack"]\n')
    first, second = _load(tmp_path, text)
    assert (first.stages, first.delegates) == (("dqguard.stages:reexport", "passes:merge"), 2)
    assert (second.stages, second.delegates) == (("dqguard.stages:xnnpack",), None)


@pytest.mark.parametrize(("extra", "expected"), [
    ('stages = "dqguard.stages:xnnpack"', "key 'stages' must be a list of 'module:attribute' references"),
    ('stages = ["xnnpack"]', "key 'stages' must be a list of 'module:attribute' references"),
    ('stages = ["dqguard.stages:ethos_u65"]', "key 'stages' names 'dqguard.stages:ethos_u65', which is "
     "not a built-in stage; dqguard.stages has coreml, duplicate_dynamic_quant_chain, ethos_u55,"),
    ("delegates = -1", "key 'delegates' must be an integer >= 0"),
    ("delegates = true", "key 'delegates' must be an integer >= 0"),
])
def test_bad_stages_and_delegates(tmp_path: Path, extra: str, expected: str) -> None:
    assert f"dqguard.toml:7: case 'a': {expected}" in _error(tmp_path, CASE + extra + "\n")


def test_delegates_without_stages_is_an_error(tmp_path: Path) -> None:
    message = _error(tmp_path, CASE + "delegates = 1\n")
    assert "dqguard.toml:7: case 'a': key 'delegates' needs 'stages' with a lowering stage" in message


def test_a_weightless_case_runs_on_fakes_unless_qparams_or_stages_need_the_weights(tmp_path: Path) -> None:
    [case] = _load(tmp_path, CASE)
    light = case._replace(weightless=True)
    assert light.on_fakes() and not case.on_fakes()
    assert not light._replace(exact_qparams=True).on_fakes()
    assert not light._replace(stages=("dqguard.stages:xnnpack",)).on_fakes()
    assert not light.on_fakes(exact_qparams=True)  # the scan's --exact-qparams
    # The worker's fake mode and the parent's grouping read this one rule.
    assert export_key(light) != export_key(case) == export_key(light._replace(exact_qparams=True))



def test_the_key_tables_are_the_case_fields_less_what_a_table_cannot_set() -> None:
    case_keys = {field for field in Case._fields if field != "line"}
    assert set(TABLES["case"]) == case_keys
    assert case_keys - set(TABLES["defaults"]) == {"name", "model"}
    assert case_keys - set(TABLES["matrix"]) == {"model", "quantizer"}  # its `name` is the matrix's
    assert case_keys - set(TABLES["matrix.models"]) == {"name", "quantizer"}
    assert case_keys - set(TABLES["matrix.quantizers"]) == {"name", "model", "inputs"}
