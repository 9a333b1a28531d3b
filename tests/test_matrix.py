"""`[[matrix]]`: expansion, names, precedence, and every error at its line."""

import json
from pathlib import Path
from typing import Any

import pytest

from dqguard.errors import DqguardError
from dqguard.manifest.case import Case
from dqguard.manifest.load import load
from testing import RESOURCES, copy_repo, dqguard, expected_line

MATRIX = """\
[[matrix]]
name = "zoo"
inputs = "m:inputs"
models = [
  "models.blocks:Projections",
  { model = "models.vit:build.tiny", inputs = [[1, 3, 8, 8]], label = "vit" },
]
quantizers = ["quant:xnnpack_static", { quantizer = "quant:x86", label = "x86", strict = false }]
"""


def _cases(tmp_path: Path, text: str) -> list[Case]:
    path = tmp_path / "dqguard.toml"
    path.write_text(text)
    return list(load(path).cases)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(DqguardError) as caught:
        _cases(tmp_path, text)
    return str(caught.value)


def test_one_case_per_pair_named_matrix_model_quantizer_at_the_model_line(tmp_path: Path) -> None:
    cases = _cases(tmp_path, MATRIX)
    assert [(c.name, c.model, c.quantizer, c.line) for c in cases] == [
        ("zoo/Projections/xnnpack_static", "models.blocks:Projections", "quant:xnnpack_static", 5),
        ("zoo/Projections/x86", "models.blocks:Projections", "quant:x86", 5),
        ("zoo/vit/xnnpack_static", "models.vit:build.tiny", "quant:xnnpack_static", 6),
        ("zoo/vit/x86", "models.vit:build.tiny", "quant:x86", 6),
    ]
    assert [c.inputs == "m:inputs" for c in cases] == [True, True, False, False]
    assert [c.strict for c in cases] == [True, False, True, False]


def test_label_defaults_to_the_last_attribute(tmp_path: Path) -> None:
    text = MATRIX.replace(', label = "vit"', "")
    assert {c.name for c in _cases(tmp_path, text)} >= {"zoo/tiny/x86"}


def test_exclude_drops_pairs(tmp_path: Path) -> None:
    text = MATRIX + 'exclude = [["vit", "x86"], ["Projections", "xnnpack_static"]]\n'
    names = [c.name for c in _cases(tmp_path, text)]
    assert names == ["zoo/Projections/x86", "zoo/vit/xnnpack_static"]


def test_precedence_defaults_matrix_model_quantizer_and_rules_merge(tmp_path: Path) -> None:
    text = """\
[rules]
DQG001 = "warning"

[defaults]
calibration = 2
timeout = 10

[[matrix]]
name = "m"
timeout = 20
calibration = 3
rules = { DQG002 = "error" }
models = [{ model = "a:A", inputs = "a:x", timeout = 30, rules = { DQG003 = "off" } }]
quantizers = [{ quantizer = "q:Q", timeout = 40, rules = { DQG002 = "off" } }, "q:R"]
"""
    first, second = _cases(tmp_path, text)
    assert (first.timeout, first.calibration) == (40, 3)
    assert first.rules == (("DQG001", "warning"), ("DQG002", "off"), ("DQG003", "off"))
    assert second.timeout == 30
    assert second.rules == (("DQG001", "warning"), ("DQG002", "error"), ("DQG003", "off"))


def test_cases_keep_file_order_across_tables(tmp_path: Path) -> None:
    case = '[[case]]\nname = "{}"\nmodel = "m:Net"\ninputs = "m:x"\nquantizer = "q:Q"\n'
    names = [c.name for c in _cases(tmp_path, case.format("first") + MATRIX + case.format("last"))]
    assert names[0] == "first" and names[-1] == "last" and len(names) == 6


def test_pyproject_matrix(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = \"x\"\n\n" + MATRIX.replace("[[matrix]]", "[[tool.dqguard.matrix]]"))
    assert [c.line for c in load(path).cases] == [8, 8, 9, 9]


QUANTIZERS = MATRIX.splitlines()[7]
ERRORS = [
    (MATRIX.replace('name = "zoo"\n', ""),
     "dqguard.toml:1: matrix #1: missing required key 'name'"),
    (MATRIX.replace('name = "zoo"', "name = 3"),
     "dqguard.toml:2: matrix #1: key 'name' must be a non-empty string, got 3"),
    (MATRIX.replace("quantizers =", "q ="),
     "dqguard.toml:8: matrix 'zoo': unknown key 'q' (allowed: name, models, quantizers, exclude, inputs, "
     "strict, "
     "calibration"),
    (MATRIX.replace("quantizers =", "q ="),
     "dqguard.toml:1: matrix 'zoo': missing required key 'quantizers'"),
    (MATRIX + 'model = "a:B"\n',
     "dqguard.toml:9: matrix 'zoo': unknown key 'model'"),
    (MATRIX + "calibration = 0\n",
     "dqguard.toml:9: matrix 'zoo': key 'calibration' must be an integer >= 1"),
    (MATRIX.replace(QUANTIZERS, "quantizers = []"),
     "dqguard.toml:8: matrix 'zoo': key 'quantizers' must be a non-empty list of 'quantizer' references or "
     "tables { quantizer = \"module:attribute\", label = \"...\", ... }, got []"),
    (MATRIX.replace('"models.blocks:Projections"', '"models.blocks.Projections"'),
     "dqguard.toml:5: matrix 'zoo': models item 1: 'model' must be a 'module:attribute' reference such as "
     "'models.blocks:Net', got 'models.blocks.Projections'"),
    (MATRIX.replace('{ model = "models.vit:build.tiny", ', "{ "),
     "dqguard.toml:4: matrix 'zoo': models item 2: missing required key 'model'"),
    (MATRIX.replace('label = "vit"', 'label = "a/b"'),
     "dqguard.toml:6: matrix 'zoo': models item 2: 'label' must be a non-empty string without '/', got "
     "'a/b'"),
    (MATRIX.replace('label = "x86", ', 'label = "x86", inputs = "m:x", '),
     "dqguard.toml:8: matrix 'zoo': quantizer 'x86': unknown key 'inputs' (allowed: quantizer, label, "
     "strict,"),
    (MATRIX.replace('label = "vit"', 'label = "vit", strict = "no"'),
     "dqguard.toml:6: matrix 'zoo': model 'vit': key 'strict' must be true or false, got 'no'"),
    (MATRIX + 'exclude = ["vit"]\n',
     "dqguard.toml:9: matrix 'zoo': key 'exclude' must be a list of [model label, quantizer label] pairs "
     "such "
     "as [[\"vit\", \"x86\"]], got ['vit']"),
    (MATRIX + 'exclude = [["ViT", "x86"]]\n',
     "dqguard.toml:9: matrix 'zoo': key 'exclude': no model labelled 'ViT' (models: Projections, vit)"),
    (MATRIX + 'exclude = [["vit", "X86"]]\n',
     "dqguard.toml:9: matrix 'zoo': key 'exclude': no quantizer labelled 'X86' (quantizers: xnnpack_static, "
     "x86)"),
    (MATRIX.replace('inputs = "m:inputs"\n', ""),
     "dqguard.toml:4: matrix 'zoo': model 'Projections' has no 'inputs': set it on the model entry "
     "({ model = ..., inputs = ... }), on the matrix or in [defaults]"),
    (MATRIX.replace('label = "vit"', 'label = "Projections"'),
     "dqguard.toml:1: matrix 'zoo': expands to the case name 'zoo/Projections/xnnpack_static' twice (first "
     "at "
     "line 1): give its models or quantizers distinct labels"),
    ('[[case]]\nname = "zoo/vit/x86"\nmodel = "m:Net"\ninputs = "m:x"\nquantizer = "q:Q"\n' + MATRIX,
     "dqguard.toml:6: matrix 'zoo': expands to the case name 'zoo/vit/x86' twice (first at line 1)"),
    ("matrix = 3\n",
     "dqguard.toml:1: 'matrix' must be an array of tables ([[matrix]])"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_matrix_errors_name_the_line_matrix_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_every_wrong_entry_is_reported_at_once(tmp_path: Path) -> None:
    text = MATRIX.replace('"models.blocks:Projections"', '"bad"').replace('"quant:x86"', "1")
    message = _error(tmp_path, text)
    assert "models item 1: 'model' must be" in message
    assert "quantizers item 2: 'quantizer' must be" in message


ZOO = RESOURCES / "zoo"
BLOCKS = ZOO / "models" / "blocks.py"
# The zoo's six pairs as [[case]] tables whose models are aliases: no two cases share an export.
SEPARATE = """\
[[case]]
name = "zoo/{label}/{quantizer}"
model = "models.blocks:{model}_{quantizer}"
inputs = {inputs}
quantizer = "quant.backends:{quantizer}"
"""
ZOO_INPUTS = {"conv": ("ConvHead", "[[1, 3, 16, 16]]"), "Projections": ("Projections", "[[1, 8, 16]]"),
              "Embedder": ("Embedder", '{ input_ids = { shape = [1, 8], dtype = "int64", high = 100 } }')}


def _verdicts(document: dict[str, Any]) -> list[Any]:
    return [(c["name"], c["status"], [{k: v for k, v in f.items() if k != "detail"} for f in c["findings"]])
            for c in document["cases"]]


@pytest.fixture(scope="module")
def zoo_scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = copy_repo("zoo", tmp_path_factory.mktemp("zoo"))
    # One worker: each model is exported once and shared by its two quantizers.
    completed = dqguard("scan", "--no-cache", "--format", "json", "-j", "1", cwd=repo)
    assert completed.returncode == 1, completed.stderr
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def test_a_three_by_two_matrix_scans_with_the_right_verdicts(zoo_scan: dict[str, Any]) -> None:
    statuses = {c["name"]: c["status"] for c in zoo_scan["cases"]}
    assert statuses == {
        "zoo/conv/xnnpack_static": "ok", "zoo/conv/xnnpack_dynamic": "ok",
        "zoo/Projections/xnnpack_static": "ok", "zoo/Projections/xnnpack_dynamic": "findings",
        "zoo/Embedder/xnnpack_static": "ok", "zoo/Embedder/xnnpack_dynamic": "findings",
    }
    findings = {c["name"]: c["findings"] for c in zoo_scan["cases"] if c["findings"]}
    [projections] = findings["zoo/Projections/xnnpack_dynamic"]
    assert (projections["rule"], projections["path"], projections["line"]) == (
        "DQG002", "models/blocks.py", expected_line(BLOCKS, "projections"))
    [heads] = findings["zoo/Embedder/xnnpack_dynamic"]  # drawn from the keyword spec input_ids=
    assert [u["line"] for u in heads["users"]] == [expected_line(BLOCKS, "heads")] * 2


def test_a_matrix_sharing_exports_gives_the_verdicts_of_separate_exports(zoo_scan: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    repo = copy_repo("zoo", tmp_path)
    quantizers = ("xnnpack_static", "xnnpack_dynamic")
    aliases = "".join(f"{model}_{q} = {model}\n" for model, _ in ZOO_INPUTS.values() for q in quantizers)
    with (repo / "models" / "blocks.py").open("a") as blocks:
        blocks.write("\n\n" + aliases)  # below every line a finding points at
    (repo / "dqguard.toml").write_text("\n".join(
        SEPARATE.format(label=label, model=model, inputs=inputs, quantizer=q)
        for label, (model, inputs) in ZOO_INPUTS.items() for q in quantizers))
    completed = dqguard("scan", "--no-cache", "--format", "json", "-j", "1", cwd=repo)
    separate = json.loads(completed.stdout)
    assert _verdicts(separate) == _verdicts(zoo_scan)
