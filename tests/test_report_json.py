"""The JSON report reads back into the result it was rendered from, hostile text included."""

import json

import pytest

from dqguard.records import (
    CaseResult,
    Delegation,
    Finding,
    NodeRef,
    Outside,
    ScanResult,
    Segment,
    case_from_json,
    case_to_json,
    delegation_from_json,
)
from dqguard.report import json as json_report
from dqguard.report.style import Style
from testing import reports
from testing.workflow_commands import commands


@pytest.mark.parametrize("run", ["hostile", "errors"])
def test_round_trip(run: str) -> None:
    result = reports.scan(run).result()
    output = json_report.render(result, Style())
    assert commands(output) == []
    again = json_report.result_from_document(json.loads(output))
    assert again == result
    assert json.loads(output)["summary"]["cases"] == len(result.cases)


def test_stage_delegation_and_resolved_round_trip() -> None:
    ref = NodeRef(node="aten_convolution_default", target="convolution", path="models.py", line=31)
    case = CaseResult(
        name="xnnpack", status="findings", duration_s=1.0,
        findings=(Finding(rule="DQG004", message="m", path="models.py", line=31, users=(ref,),
                          severity="error", stage="dqguard.stages:xnnpack"),),
        delegation=Delegation(backends=("XnnpackBackend",), delegates=2, delegated_ops=16,
                              non_delegated_ops=3, flops=110592, flops_delegated=27648, coverage=0.25,
                              outside=(Outside("aten.convolution.default", "volume", "models.py", 31,
                                               82944),),
                              uncounted=("dqgcov.scaled_mm.default",),
                              figures=({"accelerator": "Ethos_U55_128", "cpu_ops": 0, "npu_ops": 6,
                                        "macs": 1000, "sram_kib": 1.5},),
                              partition=(Segment("XnnpackBackend", 11, 27648),
                                         Segment(None, 1, 82944, ("convolution",)))),
        resolved=(Finding(rule="DQG002", message="r", path="models.py", line=17, stage="convert",
                          resolved_by="dqguard.stages:duplicate_dynamic_quant_chain"),),
    )
    result = ScanResult(manifest="dqguard.toml", cases=(case,))
    document = json.loads(json_report.render(result, Style()))
    assert document["cases"][0]["delegation"] == {
        "backends": ["XnnpackBackend"], "delegates": 2, "delegated_ops": 16, "non_delegated_ops": 3,
        "flops": 110592, "flops_delegated": 27648, "coverage": 0.25,
        "outside": [{"op": "aten.convolution.default", "module": "volume", "path": "models.py", "line": 31,
                     "flops": 82944}],
        "uncounted": ["dqgcov.scaled_mm.default"],
        "figures": [{"accelerator": "Ethos_U55_128", "cpu_ops": 0, "npu_ops": 6, "macs": 1000,
                     "sram_kib": 1.5}],
        "partition": [{"backend": "XnnpackBackend", "ops": 11, "flops": 27648, "names": []},
                      {"backend": None, "ops": 1, "flops": 82944, "names": ["convolution"]}],
    }
    assert document["cases"][0]["findings"][0]["stage"] == "dqguard.stages:xnnpack"
    assert json_report.result_from_document(document) == result
    assert case_from_json(json.loads(json.dumps(case_to_json(case)))) == case  # the worker's and the cache's


def test_a_delegation_from_before_coverage_reads_back() -> None:
    old = {"backends": ["XnnpackBackend"], "delegates": 2, "delegated_ops": 16, "non_delegated_ops": 3}
    assert delegation_from_json(old) == Delegation(("XnnpackBackend",), 2, 16, 3)
