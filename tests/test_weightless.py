"""Weightless mode builds the graph structural mode builds, and gives the same findings, without
a weight ever existing; what it cannot build falls back with a note."""

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensor

from dqguard.commands.options import ScanOptions
from dqguard.manifest import load as manifest
from dqguard.manifest.case import export_key
from dqguard.worker import references, weightless
from testing import RESOURCES, copy_repo, dqguard
from testing.inprocess import InProcess, convert, load_cases
from testing.observed import INJECT
from testing.selection import selected
from testing.structure import Key, Run, compare_modes

SCENARIOS = sorted(path.parent.name for path in RESOURCES.glob("*/dqguard.toml"))
OFFLINE = {"HF_HUB_OFFLINE": "1"}
MODES = ("structural", "weightless")
# Real architectures that must run weightless, not fall back: without them the proof is empty.
WEIGHTLESS = [("llm", "llama-150m/x86-dynamic"), ("llm", "llama-tiny/x86-dynamic"), ("llm", "llama-tiny/x86"),
              ("realmodels", "bert/x86"), ("realmodels", "bert/xnnpack"), ("realmodels", "mobilevit/x86"),
              ("realmodels", "mobilevit/xnnpack"), ("seed", "chain")]
FALLS_BACK = {("llm", "fallback/reads-values"): "building the model failed",
              ("llm", "fallback/custom-observer"): "quantizers.ClippingObserver, not known to run on fake"}


def _jobs(repos: list[str], names: set[tuple[str, str]] | None = None) -> list[tuple[str, Path, Any]]:
    return [(repo, RESOURCES / repo, case) for repo in repos
            for case in manifest.load(RESOURCES / repo / "dqguard.toml").cases
            if names is None or (repo, case.name) in names]


@pytest.fixture(scope="module")
def runs() -> dict[Key, Run]:
    return compare_modes(_jobs(SCENARIOS), OFFLINE, modes=MODES)


# A case the process could not finish (timeout, crash, memory limit) is reported from outside it:
# thread addresses in its stack dump and the resident size sampled at the kill differ from run to
# run in either mode, and the stack holds the mode's own frames. Its rule and place must agree.
_FROM_OUTSIDE = ("DQG901", "DQG902")


# FX names each generated forward `<eval_with_key>.N` from a per-process counter: a case that fell
# back had generated more of them by the time its real-weights run failed, so the same traceback
# differs in N alone.
_GENERATED = re.compile(r"<eval_with_key>\.\d+")


def _verdict(findings: list[Any]) -> list[Any]:
    return [{k: v for k, v in f.items() if k not in ("message", "detail")}
            if f["rule"] in _FROM_OUTSIDE
            else {**f, "detail": f["detail"] and _GENERATED.sub("<eval_with_key>", f["detail"])}
            for f in findings]


def _differences(runs: dict[Key, Run], repo: str, names: list[str]) -> list[str]:
    """What differs between the two modes, case by case: nothing, for the mode to be sound."""
    found = []
    for name in names:
        structural, light = runs[repo, name, "structural"], runs[repo, name, "weightless"]
        if light.signature != structural.signature:
            left, right = structural.signature or [], light.signature or []
            position = next((i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
                            min(len(left), len(right)))
            found.append(f"{name}: graphs differ from node {position} ({len(left)} != {len(right)} nodes)")
        if (_verdict(light.findings), light.status) != (_verdict(structural.findings), structural.status):
            found.append(f"{name}: findings differ ({structural.status} != {light.status})")
    return found


@pytest.mark.parametrize("repo", SCENARIOS)
def test_weightless_converts_to_the_structural_graph_with_the_same_findings(
    runs: dict[Key, Run], repo: str
) -> None:
    assert _differences(runs, repo, list(load_cases(RESOURCES / repo))) == []


def test_the_real_architectures_ran_weightless(runs: dict[Key, Run]) -> None:
    for repo, name in WEIGHTLESS:
        light = runs[repo, name, "weightless"]
        assert light.signature is not None and light.patched > 0 and light.notes == [], (name, light)
        assert runs[repo, name, "structural"].patched == 0
    # A few scenario cases cannot be built on fakes (they raise in their factories on purpose):
    # far more must not fall back.
    ran = [key for key, run in runs.items() if key[2] == "weightless" and run.patched and not run.notes]
    assert len(ran) >= 30, len(ran)


def test_what_cannot_run_weightless_falls_back_with_a_note(runs: dict[Key, Run]) -> None:
    for (repo, name), why in FALLS_BACK.items():
        light = runs[repo, name, "weightless"]
        assert light.status == "ok", light
        [note] = light.notes
        assert note.startswith("not weightless (") and why in note, note
        assert note.endswith("checked with real weights")
        assert runs[repo, name, "structural"].notes == []


def test_an_injected_difference_fails_the_differential() -> None:
    # The watched worker adds one node to every graph weightless mode converts, as a bug would.
    names = {("llm", "llama-tiny/x86"), ("seed", "chain")}
    injected = compare_modes(_jobs(["llm", "seed"], names), {**OFFLINE, INJECT: "weightless"}, modes=MODES)
    for repo, name in names:
        [difference] = _differences(injected, repo, [name])
        assert difference.startswith(f"{name}: graphs differ from node "), difference


def _attribute(module: Any, target: str) -> Any:
    for part in target.split("."):
        module = getattr(module, part)
    return module


def _real_bytes(model: torch.nn.Module) -> int:
    """Bytes of real (not fake) parameters and buffers: what weightless mode did not avoid."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors if not isinstance(t, FakeTensor))


def test_no_weight_exists_and_the_constants_are_fake(in_process: InProcess) -> None:
    root = RESOURCES / "llm"
    in_process.run("llm", "llama-tiny/x86")  # puts the repo on sys.path
    mode = weightless.fake_mode()
    model = references.build("models:llama_tiny", torch.nn.Module, "model", mode)
    assert _real_bytes(model) == 0
    assert sum(p.numel() for p in model.parameters()) > 10_000_000

    case = load_cases(root)["llama-tiny/x86-dynamic"]._replace(weightless=True)
    converted = convert(case, exact_qparams=False)
    constants = [c for c in (_attribute(converted, str(node.target)) for node in converted.graph.nodes
                             if node.op == "get_attr") if isinstance(c, torch.Tensor)]
    fake = [c for c in constants if isinstance(c, FakeTensor)]
    real = [c for c in constants if not isinstance(c, FakeTensor)]
    # Weights, folded to int8 or left float, are fakes; only per-channel scales and zero points,
    # computed from -1/+1 of the right shape, are real (and one-dimensional).
    assert torch.int8 in {c.dtype for c in fake} and torch.float32 in {c.dtype for c in fake}
    assert real and all(c.dim() == 1 and c.dtype != torch.int8 for c in real)
    # Exact qparams need the weights: the same case then runs on real ones.
    exact = convert(case._replace(exact_qparams=True), exact_qparams=False)
    assert not any(isinstance(v, FakeTensor) for v in exact.state_dict().values())


def test_the_key_and_the_flag_through_the_cli(tmp_path: Path) -> None:
    repo = copy_repo("llm", tmp_path)
    toml = repo / "dqguard.toml"
    toml.write_text(toml.read_text().replace("[defaults]\n", "[defaults]\nweightless = true\n", 1))
    env = {**OFFLINE, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH")]))}
    scan = ("scan", "--no-cache", "-j", "1", "--case", "fallback/reads-values")

    keyed = dqguard(*scan, "--format", "json", "--format", f"text:{tmp_path / 'text.txt'}", "-v",
                    cwd=repo, env=env)
    assert keyed.returncode == 0, keyed.stderr
    [case] = json.loads(keyed.stdout)["cases"]
    [note] = case["notes"]
    assert note.startswith("not weightless (building the model failed: ") and case["status"] == "ok"
    assert f"    note: {note}" in (tmp_path / "text.txt").read_text().splitlines()

    flagged = dqguard(*scan, "--no-weightless", "--format", "json", cwd=repo, env=env)
    assert flagged.returncode == 0, flagged.stderr
    assert json.loads(flagged.stdout)["cases"][0]["notes"] == []


def test_the_flag_overrides_every_selected_case() -> None:
    cases = manifest.load(RESOURCES / "llm" / "dqguard.toml").cases
    assert not any(case.weightless for case in cases)
    assert all(case.weightless for case in selected(cases, ScanOptions(weightless=True)))
    on = tuple(case._replace(weightless=True) for case in cases)
    assert not any(case.weightless for case in selected(on, ScanOptions(weightless=False)))
    assert selected(on, ScanOptions()) == list(on)


def test_weightless_and_exact_cases_never_share_an_export() -> None:
    case = load_cases(RESOURCES / "llm")["llama-tiny/x86"]
    light = case._replace(weightless=True)
    exact = light._replace(exact_qparams=True)  # exact qparams take the normal path
    assert export_key(light) != export_key(case) == export_key(exact)


def test_an_observer_of_unknown_code_is_refused_whatever_its_name() -> None:
    from torchao.quantization.pt2e.observer import HistogramObserver, MinMaxObserver

    class Clipping(MinMaxObserver):  # a subclass may compute anything from values
        pass

    mode = weightless.fake_mode()
    holder = torch.nn.ModuleList([HistogramObserver(), MinMaxObserver()])
    assert weightless.patch_observers(holder, mode) == 2
    with pytest.raises(weightless.NotWeightless, match="Clipping, not known to run on fake tensors"):
        weightless.patch_observers(torch.nn.ModuleList([MinMaxObserver(), Clipping()]), mode)


def test_a_case_with_stages_is_checked_with_real_weights_and_says_so(tmp_path: Path) -> None:
    # The user's merge pass turns clean static q/k/v into one shared dequantize: the verdict must
    # be the normal path's, and the note must say why weightless did not apply.
    repo = copy_repo("stages", tmp_path)
    scan = ("scan", "--no-cache", "-j", "1", "--case", "merged", "--format", "json")
    normal = dqguard(*scan, cwd=repo)
    weightless_run = dqguard(*scan, "--weightless", cwd=repo)
    assert normal.returncode == weightless_run.returncode == 1, weightless_run.stderr
    [plain], [light] = (json.loads(done.stdout)["cases"] for done in (normal, weightless_run))
    assert [f["rule"] for f in light["findings"]] == [f["rule"] for f in plain["findings"]] == ["DQG001"]
    assert light["notes"] == [
        "not weightless: its stages lower or rewrite the program, which needs real weights"]
    assert plain["notes"] == []
