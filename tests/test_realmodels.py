"""transformers models as users have them, through the real CLI: keyword inputs, verdicts located by
module path when no line of the project made the nodes, and a decoder's cache export failure."""

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dqguard.rules import RULES
from testing import RESOURCES, copy_repo, dqguard, expected_line, reports
from testing.inprocess import load_cases

CASES = ("bert-keywords/x86", "bert-keywords/xnnpack", "vit/xnnpack-dynamic", "vit-wrapped/xnnpack-dynamic",
         "gpt2-with-cache/x86", "gpt2/x86")


@functools.cache
def _scan(directory: str) -> dict[str, Any]:
    # One scan for the module, in one worker: these models take seconds each to build and export.
    repo = copy_repo("realmodels", Path(directory))
    selection = [arg for name in CASES for arg in ("--case", name)]
    completed = dqguard("scan", "--no-cache", "-j", "1", "--format", "json:report.json",
                        "--format", "sarif:report.sarif", "--summary", "summary.md", *selection,
                        cwd=repo, env={"HF_HUB_OFFLINE": "1"})
    assert completed.returncode == 1, completed.stderr
    return {"json": json.loads((repo / "report.json").read_text()),
            "sarif": json.loads((repo / "report.sarif").read_text()),
            "summary": (repo / "summary.md").read_text()}


@pytest.fixture
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _scan(str(tmp_path_factory.getbasetemp()))


def _case(scanned: dict[str, Any], name: str) -> dict[str, Any]:
    [case] = [c for c in scanned["json"]["cases"] if c["name"] == name]
    return case


def test_bert_with_keyword_inputs_converts_clean_under_x86(scanned: dict[str, Any]) -> None:
    case = _case(scanned, "bert-keywords/x86")
    assert (case["status"], case["findings"]) == ("ok", [])


def test_bert_under_xnnpack_is_a_case_error_at_calibration(scanned: dict[str, Any]) -> None:
    [finding] = _case(scanned, "bert-keywords/xnnpack")["findings"]
    assert finding["rule"] == "DQG900"
    assert finding["message"] == ("calibration failed: IndexError: tensors used as indices must be long, "
                                  "int, byte or bool tensors")
    assert finding["line"] == load_cases(RESOURCES / "realmodels")["bert-keywords/xnnpack"].line


def test_vit_findings_name_the_projections_by_module_and_library_frame(scanned: dict[str, Any]) -> None:
    findings = _case(scanned, "vit/xnnpack-dynamic")["findings"]
    assert [f["rule"] for f in findings] == ["DQG002", "DQG002"]
    line = load_cases(RESOURCES / "realmodels")["vit/xnnpack-dynamic"].line
    for layer, finding in enumerate(findings):
        # No line of the project made these nodes: the annotation stays on the manifest.
        assert (finding["path"], finding["line"]) == ("dqguard.toml", line)
        assert [u["module"] for u in finding["users"]] == [
            f"layers.{layer}.attention.{name}_proj" for name in "qkv"]
        assert {u["library_path"] for u in finding["users"]} == {"transformers/models/vit/modeling_vit.py"}
        assert all(u["path"] is None and isinstance(u["library_line"], int) for u in finding["users"])
        assert finding["message"].startswith(
            f"{finding['dequantize']} is shared by 3 quantized ops (layers.{layer}.attention.q_proj, "
            f"...k_proj, ...v_proj); it dequantizes layers.{layer}.layernorm_before; ")


def test_behind_a_wrapper_findings_sit_at_its_line_and_name_the_modules(scanned: dict[str, Any]) -> None:
    # Every node's innermost line of the project is the wrapper's call: the location, but no
    # way to tell the projections apart, so the message names them by module path.
    findings = _case(scanned, "vit-wrapped/xnnpack-dynamic")["findings"]
    assert [f["rule"] for f in findings] == ["DQG002", "DQG002"]
    wrapper = expected_line(RESOURCES / "realmodels" / "models.py", "wrapped")
    for layer, finding in enumerate(findings):
        assert (finding["path"], finding["line"]) == ("models.py", wrapper)
        assert {(u["path"], u["line"]) for u in finding["users"]} == {("models.py", wrapper)}
        assert finding["message"].startswith(
            f"{finding['dequantize']} is shared by 3 quantized ops (model.layers.{layer}.attention.q_proj, "
            f"...k_proj, ...v_proj); it dequantizes model.layers.{layer}.layernorm_before; ")
    [run] = scanned["sarif"]["runs"]
    primaries = [r["locations"][0] for r in run["results"]
                 if r["properties"]["case"] == "vit-wrapped/xnnpack-dynamic"]
    assert [p["logicalLocations"][0]["fullyQualifiedName"] for p in primaries] == [
        f"model.layers.{n}.attention.q_proj" for n in (0, 1)]


def test_sarif_and_the_summary_show_the_module_paths(scanned: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(reports.sarif_schema()).validate(scanned["sarif"])
    [run] = scanned["sarif"]["runs"]
    shared = [r for r in run["results"]
              if r["ruleId"] == "DQG002" and r["properties"]["case"] == "vit/xnnpack-dynamic"]
    modules = [[logical["fullyQualifiedName"] for related in r["relatedLocations"]
                for logical in related["logicalLocations"]] for r in shared]
    assert modules == [[f"layers.{n}.attention.{p}_proj" for p in "qkv"] + [f"layers.{n}.layernorm_before"]
                       for n in (0, 1)]
    assert all("physicalLocation" not in related for r in shared for related in r["relatedLocations"])
    assert "layers.0.attention.k_proj" in scanned["summary"]
    assert RULES["DQG002"].name in scanned["summary"]


def test_a_decoder_returning_its_cache_says_to_build_it_without(scanned: dict[str, Any]) -> None:
    [finding] = _case(scanned, "gpt2-with-cache/x86")["findings"]
    assert finding["rule"] == "DQG900"
    assert finding["message"].startswith("torch.export failed: RuntimeError: Found <class "
                                         "'transformers.cache_utils.DynamicCache'> in output")
    assert finding["message"].endswith("(the model returns a transformers cache: build it with "
                                       "use_cache=False in the model factory, e.g. config.use_cache = False)")
    assert _case(scanned, "gpt2/x86")["status"] == "ok"
