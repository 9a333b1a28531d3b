"""Stages after convert through the real CLI: attribution, structural detection, ExecuTorch lowering.

The lowering cases cost 6-23 s each, so one scan of the whole scenario repository serves every test.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testing import copy_repo, dqguard, expected_line


class Scan:
    def __init__(self, repo: Path, document: dict[str, Any], text: str, sarif: dict[str, Any],
                 summary: str) -> None:
        self.repo = repo
        self.document = document
        self.text = text
        self.sarif = sarif
        self.summary = summary

    def case(self, name: str) -> dict[str, Any]:
        [case] = [c for c in self.document["cases"] if c["name"] == name]
        return case


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    repo = copy_repo("stages", tmp_path_factory.mktemp("stages"))
    completed = dqguard("scan", "-v", "--no-cache", "--format", "text", "--format", "json:report.json",
                        "--format", "sarif:report.sarif", "--summary", "summary.md", cwd=repo)
    assert completed.returncode == 1, completed.stderr
    return Scan(repo, json.loads((repo / "report.json").read_text()), completed.stdout,
                json.loads((repo / "report.sarif").read_text()), (repo / "summary.md").read_text())


def _rules(case: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(f["rule"], f["stage"]) for f in case["findings"]]


def test_a_user_stage_that_merges_dequantize_nodes_is_blamed(scan: Scan) -> None:
    line = expected_line(scan.repo / "models.py", "heads")
    for name in ("merged", "merged/after-reexport"):
        [finding] = scan.case(name)["findings"]
        assert (finding["rule"], finding["stage"]) == ("DQG001", "passes:merge_dequantize")
        assert (finding["path"], finding["line"]) == ("models.py", line)
        assert len(finding["users"]) == 3
        assert "appeared after stage passes:merge_dequantize" in finding["message"]
    assert "DQG001" in scan.text and "appeared after stage passes:merge_dequantize [merged]" in scan.text
    sarif_messages = [r["message"]["text"] for r in scan.sarif["runs"][0]["results"]]
    assert any("appeared after stage passes:merge_dequantize" in m for m in sarif_messages)


def test_an_affine_sharing_is_reported_once_at_convert(scan: Scan) -> None:
    case = scan.case("per-token/edge")
    assert _rules(case) == [("DQG001", "convert")]
    assert case["resolved"] == []
    assert {"dqguard.stages:reexport", "dqguard.stages:to_edge"} <= set(case["phases"])


def test_a_sharing_a_stage_removes_is_recorded_not_reported(scan: Scan) -> None:
    for name in ("dynamic/duplicated", "xnnpack/heads-duplicated"):
        case = scan.case(name)
        assert case["status"] == "ok" and case["findings"] == []
        [resolved] = case["resolved"]
        assert (resolved["rule"], resolved["stage"], resolved["resolved_by"]) == (
            "DQG002", "convert", "dqguard.stages:duplicate_dynamic_quant_chain")
    assert scan.case("xnnpack/heads-duplicated")["delegation"]["delegates"] == 1


def test_ops_xnnpack_leaves_out_are_dqg004_at_their_lines(scan: Scan) -> None:
    case = scan.case("xnnpack/unsupported")
    models = scan.repo / "models.py"
    found = {(f["line"], f["users"][0]["target"]) for f in case["findings"]}
    assert _rules(case) == [("DQG004", "dqguard.stages:xnnpack")] * 2
    assert found == {(expected_line(models, "conv3d"), "convolution"),
                     (expected_line(models, "pool"), "_adaptive_avg_pool2d")}
    conv = next(f for f in case["findings"] if "convolution" in f["message"])
    assert conv["message"].startswith("aten.convolution.default in volume was quantized but stays outside "
                                      "every XnnpackBackend delegate")  # the submodule that ran it
    assert "dequantize_per_channel" in conv["message"]
    delegation = case["delegation"]
    assert delegation["backends"] == ["XnnpackBackend"]
    assert delegation["delegates"] == 2 and delegation["non_delegated_ops"] == 3
    assert delegation["delegated_ops"] > 0


def test_a_split_delegate_is_dqg005(scan: Scan) -> None:
    case = scan.case("xnnpack/heads")
    assert _rules(case) == [("DQG002", "convert"), ("DQG005", "dqguard.stages:xnnpack")]
    dqg005 = case["findings"][1]
    assert dqg005["message"] == "expected 1 delegate, the lowered program has 2 (XnnpackBackend)"
    assert dqg005["path"] == "dqguard.toml"
    assert case["delegation"]["delegates"] == 2 and case["delegation"]["non_delegated_ops"] == 0


def test_stage_times_and_delegation_are_reported(scan: Scan) -> None:
    assert "dqguard.stages:xnnpack " in scan.text  # -v prints each stage's time among the phases
    assert "| `xnnpack/heads` | XnnpackBackend | 2 |" in scan.summary
    assert scan.case("merged")["delegation"] is None


def test_without_executorch_a_stage_says_what_to_install(tmp_path: Path) -> None:
    repo = copy_repo("stages", tmp_path)
    poison = tmp_path / "poison" / "executorch"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'executorch'\", name='executorch')\n")
    completed = dqguard("scan", "--no-cache", "--format", "json", "--case", "dynamic/duplicated", cwd=repo,
                        env={"PYTHONPATH": str(poison.parent)})
    [case] = json.loads(completed.stdout)["cases"]
    [finding] = case["findings"]
    assert finding["rule"] == "DQG900"
    assert finding["message"].startswith("stage 'dqguard.stages:duplicate_dynamic_quant_chain' failed: "
                                         "ModuleNotFoundError")
    assert "pip install 'dqguard[executorch]' (executorch==1.5.1)" in finding["message"]


def test_the_manifest_knows_every_built_in_stage_and_no_other() -> None:
    # The manifest rejects a misspelt built-in before any case runs, from a torch-free list.
    import dqguard.stages
    from dqguard.manifest.keys import BUILTIN_STAGES
    assert sorted(BUILTIN_STAGES) == sorted(dqguard.stages.__all__)


def test_importing_dqguard_stages_needs_no_executorch() -> None:
    code = ("import dqguard.stages, dqguard.worker.staging, dqguard.check.delegation, sys; "
            "assert 'executorch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_stage_that_raises_is_a_case_error_naming_it(scan: Scan) -> None:
    [finding] = scan.case("broken-stage")["findings"]
    assert (finding["rule"], finding["stage"]) == ("DQG900", "passes:explode")
    assert finding["step"] == "passes:explode"
    assert finding["message"].startswith("stage 'passes:explode' failed: RuntimeError: the cleanup pass met "
                                         "a node it does not know (caused by KeyError: 'aten.frobnicate')")
    assert "passes.py:" in finding["message"]  # the user's frame
    [finding] = scan.case("duplicated-too-late")["findings"]
    assert finding["message"].startswith("stage 'dqguard.stages:duplicate_dynamic_quant_chain' failed: "
                                         "TypeError: duplicate_dynamic_quant_chain runs on convert's "
                                         "GraphModule, before any re-export")
