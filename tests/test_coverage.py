"""Coverage by compute and its ratchet (DQG006) through the real CLI on real XNNPACK lowerings.

The report scenario `lowered` (testing/resources/report-lowered) is scanned once per session and
shared with the report goldens; the ratchet test lowers its q/k/v case in a copy it refactors. The
FLOPs are held to FlopCounterMode on the float model, counted here in-process on fake tensors.
"""

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode

from dqguard import baseline
from testing import RESOURCES, copy_repo, dqguard, expected_line, reports

SCENARIO = RESOURCES / "report-lowered"


def _models() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lowered_models", SCENARIO / "models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def flops_by_module(model: torch.nn.Module, *example: torch.Tensor) -> dict[str, int]:
    """FlopCounterMode's count of the float model, by module (`Global`, `Volume.conv`)."""
    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
        fakes = [mode.from_tensor(t) for t in example]
        with FlopCounterMode(display=False) as counter:
            model.eval()(*fakes)
    return {name: int(sum(counts.values())) for name, counts in counter.get_flop_counts().items()}


@pytest.fixture(scope="module")
def cases() -> dict[str, dict[str, Any]]:
    run = reports.scan("lowered")
    document = json.loads((run.out / reports.FILES["json"]).read_text())
    return {case["name"]: case for case in document["cases"]}


def test_a_clean_conv_net_is_all_delegated(cases: dict[str, dict[str, Any]]) -> None:
    models = _models()
    reference = flops_by_module(models.ConvNet(), *models.image())
    delegation = cases["convnet"]["delegation"]
    assert (delegation["coverage"], delegation["outside"], delegation["uncounted"]) == (1.0, [], [])
    assert delegation["flops"] == delegation["flops_delegated"] == reference["Global"]
    assert [s["backend"] for s in delegation["partition"]] == ["XnnpackBackend"]


def test_a_conv3d_left_outside_takes_its_flops_to_the_cpu(cases: dict[str, dict[str, Any]]) -> None:
    models = _models()
    reference = flops_by_module(models.Volume(), *models.clip())
    delegation = cases["volume"]["delegation"]
    line = expected_line(SCENARIO / "models.py", "conv3d")
    assert delegation["outside"][0] == {"op": "aten.convolution.default", "module": "conv",
                                        "path": "models.py", "line": line, "flops": reference["Volume.conv"]}
    assert [o["flops"] for o in delegation["outside"][1:]] == [0]  # its weight's dequantize
    assert delegation["flops"] == reference["Global"]
    assert delegation["flops_delegated"] == reference["Volume.fc"]
    assert delegation["coverage"] == pytest.approx(reference["Volume.fc"] / reference["Global"])
    # In program order: the weight's dequantize, the input's quantize (delegated), the conv3d, the rest
    assert [s["backend"] or s["names"] for s in delegation["partition"]] == [
        ["dequantize_per_channel"], "XnnpackBackend", ["convolution"], "XnnpackBackend"]


def test_below_min_coverage_is_dqg006_at_the_op_that_stays_out(cases: dict[str, dict[str, Any]]) -> None:
    case = cases["volume/floor"]
    [floor] = [f for f in case["findings"] if f["rule"] == "DQG006"]
    assert floor["severity"] == "error"
    assert (floor["path"], floor["line"]) == ("models.py", expected_line(SCENARIO / "models.py", "conv3d"))
    assert floor["message"].startswith("coverage 0.11 is below min_coverage 0.98: 41.5 kFLOPs of 46.6 kFLOPs "
                                       "run outside the delegates, largest convolution (conv) at models.py:")
    assert not [f for f in cases["volume"]["findings"] if f["rule"] == "DQG006"]


def _refactor(models: Path) -> None:
    """From "q, k, v computed first" to `q(x) + k(x) + v(x)`."""
    source = models.read_text()
    before = ("        q = self.q(tokens)\n        k = self.k(tokens)\n        v = self.v(tokens)\n"
              "        return q + k + v  # expect: heads\n")
    assert before in source
    models.write_text(source.replace(
        before, "        return self.q(tokens) + self.k(tokens) + self.v(tokens)  # expect: heads\n"))


def _scan(repo: Path) -> tuple[int, dict[str, Any]]:
    completed = dqguard("scan", "--format", "json", "--case", "heads", "-j", "1", cwd=repo)
    assert completed.returncode in (0, 1), completed.stderr
    [case] = json.loads(completed.stdout)["cases"]
    return completed.returncode, case


def test_the_ratchet_fails_a_split_and_notes_a_gain(tmp_path: Path) -> None:
    repo = copy_repo("report-lowered", tmp_path)
    manifest = (repo / "dqguard.toml").read_text()
    # Only the q/k/v case (and the defaults): `dqguard baseline` runs every case of a manifest
    defaults, heads = manifest.index("[[case]]"), manifest.index('[[case]]\nname = "heads"')
    (repo / "dqguard.toml").write_text(manifest[:defaults] + manifest[heads:])
    adopted = dqguard("baseline", "-j", "1", cwd=repo)
    assert adopted.returncode == 0, adopted.stderr
    assert "(1 finding, 1 lowered case)" in adopted.stderr  # the shared dynamic chain's DQG002
    locked = json.loads((repo / baseline.FILE_NAME).read_text())["delegation"]
    assert locked == {"heads": {"delegates": 1, "coverage": 1.0, "outside": []}}

    _refactor(repo / "models.py")
    code, case = _scan(repo)
    assert code == 1
    new = [f for f in case["findings"] if not f["baselined"]]
    assert [(f["rule"], f["message"], f["path"]) for f in new] == [
        ("DQG006", "delegates 1 → 2 since the baseline (coverage 1.00 → 1.00)", "dqguard.toml")]
    assert case["delegation"]["delegates"] == 2

    # Locked at a worse figure, the same program is a gain: a note, exit 0 (the verdict is cached)
    data = json.loads((repo / baseline.FILE_NAME).read_text())
    data["delegation"]["heads"].update(delegates=3, coverage=0.9)
    (repo / baseline.FILE_NAME).write_text(json.dumps(data))
    code, case = _scan(repo)
    assert code == 0 and case["cached"]
    assert case["notes"] == ["coverage 0.90 → 1.00, delegates 3 → 2: `dqguard baseline` locks it in"]
