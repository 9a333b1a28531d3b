"""Every built-in lowering but XNNPACK's (tests/test_stages.py) through the real CLI.

One scan of the scenario's cases serves most tests: they share the model's export, and a lowering
costs 2-40 s here (Vulkan's first in a process the most). CoreML's own quantizer is left out
(testing/resources/backends/dqguard.toml says why).
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from testing import copy_repo, dqguard, poisoned

SCANNED = ("ethos-u55", "ethos-u85", "tosa", "vulkan", "coreml", "openvino", "ethos-u55/unknown-vela-flag")
ARM = {"ethos-u55": "EthosUBackend", "ethos-u85": "EthosUBackend", "tosa": "TOSABackend"}
WHOLE = {"vulkan": "VulkanBackend", "coreml": "CoreMLBackend", "openvino": "OpenvinoBackend"}
ARM_EXTRA = "pip install 'dqguard[arm]' (executorch==1.5.1, tosa-tools==2026.8.0, ethos-u-vela==5.2.0)"


def _selecting(*names: str) -> list[str]:
    return [argument for name in names for argument in ("--case", name)]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo("backends", tmp_path_factory.mktemp("backends"))


@pytest.fixture(scope="module")
def cases(repo: Path) -> dict[str, dict[str, Any]]:
    completed = dqguard("scan", "--no-cache", "--format", "json", *_selecting(*SCANNED), cwd=repo)
    assert completed.returncode == 1, completed.stderr
    return {case["name"]: case for case in json.loads(completed.stdout)["cases"]}


@pytest.mark.parametrize(("name", "backend"), sorted(WHOLE.items()))
def test_the_whole_net_goes_into_one_delegate(cases: dict[str, dict[str, Any]], name: str,
                                              backend: str) -> None:
    case = cases[name]
    assert (case["status"], case["findings"]) == ("ok", [])
    assert case["delegation"]["backends"] == [backend]
    assert case["delegation"]["delegates"] >= 1 and case["delegation"]["non_delegated_ops"] == 0


@pytest.mark.parametrize(("name", "backend"), sorted(ARM.items()))
def test_integer_only_tosa_leaves_only_the_float_interface_on_the_cpu(cases: dict[str, dict[str, Any]],
                                                                     name: str, backend: str) -> None:
    # TOSA's integer profile takes no float: ExecuTorch's TOSAPartitioner un-tags the model's
    # input quantize and output dequantize (_detag_boundary_nodes). They are the program's float
    # interface, which DQG004 exempts; every quantized op is inside the delegate.
    case = cases[name]
    assert case["delegation"]["backends"] == [backend]
    assert case["delegation"]["delegates"] >= 1 and case["delegation"]["non_delegated_ops"] == 2
    assert (case["status"], case["findings"]) == ("ok", [])


def test_the_ethos_u_stage_keeps_velas_figures(cases: dict[str, dict[str, Any]], repo: Path) -> None:
    assert cases["ethos-u85"]["delegation"]["delegates"] == 1
    [figures] = json.loads((repo / "vela-figures.json").read_text())  # lowering.py wrote them
    assert figures["accelerator"] == "Ethos_U85_256"
    assert (figures["cpu_ops"], figures["npu_ops"] > 0, figures["macs"] > 0) == (0, True, True)
    assert figures["sram_kib"] > 0


def test_an_ethos_u55_case_shows_velas_split_beside_dqguards_coverage(cases: dict[str, dict[str, Any]]
                                                                      ) -> None:
    delegation = cases["ethos-u55"]["delegation"]
    # dqguard's: every FLOP is delegated; the float boundary's quantize and dequantize (0 FLOPs) stay out
    assert delegation["coverage"] == 1.0 and delegation["flops"] == delegation["flops_delegated"] > 0
    assert sorted((o["op"].split(".")[1], o["flops"]) for o in delegation["outside"]) == [
        ("dequantize_per_tensor", 0), ("quantize_per_tensor", 0)]
    # Vela's, beside them: its own operator split and MACs for the one delegate it compiled
    [figures] = delegation["figures"]
    assert figures["accelerator"] == "Ethos_U55_128"
    assert (figures["cpu_ops"], figures["npu_ops"] > 0, figures["macs"] > 0) == (0, True, True)
    assert set(figures) == {"accelerator", "cpu_ops", "npu_ops", "macs", "sram_kib"}


def test_a_flag_vela_rejects_is_a_case_error_naming_the_stage(cases: dict[str, dict[str, Any]]) -> None:
    case = cases["ethos-u55/unknown-vela-flag"]
    [finding] = case["findings"]
    assert (case["status"], finding["rule"], finding["stage"]) == (
        "error", "DQG900", "lowering:ethos_u55_with_unknown_flag")
    assert finding["message"].startswith(
        "stage 'lowering:ethos_u55_with_unknown_flag' failed: RuntimeError: Vela exited with status 2 "
        "compiling for ethos-u55-128: vela: error: unrecognized arguments: --no-such-vela-flag")


def test_without_vela_the_stage_names_the_arm_extra(repo: Path, tmp_path: Path) -> None:
    # ExecuTorch's Arm backend imports without Vela (it checks only when it compiles); the stage
    # asks for it first. `ethosu` is the package ethos-u-vela installs.
    path = [poisoned("ethosu", tmp_path)["PYTHONPATH"], os.environ.get("PYTHONPATH", "")]
    completed = dqguard("scan", "--no-cache", "--format", "json", *_selecting("ethos-u55"), cwd=repo,
                        env={"PYTHONPATH": os.pathsep.join(filter(None, path))})
    [case] = json.loads(completed.stdout)["cases"]
    [finding] = case["findings"]
    assert finding["rule"] == "DQG900"
    assert finding["message"].startswith("stage 'dqguard.stages:ethos_u55' failed: ModuleNotFoundError: ")
    assert f"install the Arm backend: {ARM_EXTRA}" in finding["message"]
