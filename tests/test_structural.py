"""Structural mode builds the graph exact mode builds; only the numbers in it differ."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torchao.quantization.pt2e.observer import HistogramObserver, MinMaxObserver
from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
    get_default_x86_inductor_quantization_config,
)
from torchao.testing.pt2e._xnnpack_quantizer import get_symmetric_quantization_config

from dqguard.check.ops import op_name
from dqguard.manifest import load as manifest
from dqguard.worker.structural import use_minmax_qparams
from testing import RESOURCES, structure
from testing.inprocess import InProcess, convert, load_cases
from testing.structure import Key, Run, compare_modes, plain_convert

SCENARIOS = sorted(path.parent.name for path in RESOURCES.glob("*/dqguard.toml"))
# Exact mode spends minutes in HistogramObserver's search on MobileViT's activations; the same
# differential runs on them in `python bench/real_models.py` (see README, "Structural mode").
TOO_SLOW_FOR_CI = {("realmodels", "mobilevit/x86"), ("realmodels", "mobilevit/xnnpack")}
# The real models are built from configs: any attempt to reach a model hub is a bug.
OFFLINE = {"HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def runs() -> dict[Key, Run]:
    jobs = [
        (repo, RESOURCES / repo, case)
        for repo in SCENARIOS
        for case in manifest.load(RESOURCES / repo / "dqguard.toml").cases
        if (repo, case.name) not in TOO_SLOW_FOR_CI
    ]
    return compare_modes(jobs, OFFLINE)


@pytest.fixture
def offline() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in OFFLINE}
    os.environ.update(OFFLINE)
    yield
    for name, value in saved.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value


def _first_difference(left: list[Any], right: list[Any]) -> str:
    for position, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return f"node {position}: {a} != {b}"
    return f"{len(left)} nodes != {len(right)} nodes"


def _converted(run: Run) -> bool:
    return run.signature is not None


@pytest.mark.parametrize("repo", SCENARIOS)
def test_both_modes_convert_to_the_same_graph_with_the_same_findings(
    runs: dict[Key, Run], repo: str
) -> None:
    names = [name for name in load_cases(RESOURCES / repo) if (repo, name) not in TOO_SLOW_FOR_CI]
    assert names, repo
    for name in names:
        structural, exact = runs[repo, name, "structural"], runs[repo, name, "exact"]
        # Every case was observed: a graph, or a failure before convert that both modes share.
        if not _converted(structural):
            assert structural.status == exact.status == "error" and not _converted(exact), (name, exact)
            assert [f["rule"] for f in exact.findings] == [f["rule"] for f in structural.findings], name
            continue
        assert structural.signature is not None and exact.signature is not None, (name, exact)
        assert exact.signature == structural.signature, (name, _first_difference(exact.signature,
                                                                                 structural.signature))
        assert exact.findings == structural.findings, name
        assert exact.status == structural.status, name


def test_a_watch_that_saw_no_check_fails_the_differential(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if testing.observed hooked a name the product no longer calls: nothing is written.
    monkeypatch.setattr(structure, "graph_file", lambda directory, case: directory / "never-written.json")
    case = load_cases(RESOURCES / "seed")["chain"]
    with pytest.raises(AssertionError, match="saw no check"):
        compare_modes([("seed", RESOURCES / "seed", case)], OFFLINE, modes=("structural",))


def test_the_differential_exercises_the_swapped_observers(runs: dict[Key, Run]) -> None:
    swapped = {key: run.swapped for key, run in runs.items()}
    # Static activations through HistogramObserver: the seed's quantizer, the x86 and XNNPACK
    # quantizers on BERT's real layer structure. Without them the differential proves nothing.
    for repo, name in [("seed", "chain"), ("realmodels", "bert/x86"), ("realmodels", "bert/xnnpack")]:
        assert _converted(runs[repo, name, "structural"]), runs[repo, name, "structural"]
        assert swapped[repo, name, "structural"] > 0, (repo, name)
    assert not any(count for (_, _, mode), count in swapped.items() if mode == "exact")


def _numbers(converted: torch.fx.GraphModule) -> list[tuple[str, Any]]:
    """Every number in the graph structural mode could change: literal qparams and constants."""
    numbers: list[tuple[str, Any]] = []
    for node in converted.graph.nodes:
        if node.op == "get_attr":
            value: Any = converted
            for part in str(node.target).split("."):
                value = getattr(value, part)
            numbers.append((node.name, value))
        elif op_name(node) in ("quantized_decomposed::quantize_per_tensor",
                               "quantized_decomposed::dequantize_per_tensor"):
            numbers.append((node.name, tuple(node.args[1:3])))
    return numbers


def _same(left: list[tuple[str, Any]], right: list[tuple[str, Any]]) -> bool:
    return [n for n, _ in left] == [n for n, _ in right] and all(
        torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b
        for (_, a), (_, b) in zip(left, right, strict=True)
    )


@pytest.mark.parametrize(("repo", "name"), [("seed", "chain"), ("realmodels", "bert/x86")])
def test_exact_mode_reproduces_the_quantizers_own_numbers(
    in_process: InProcess, offline: None, repo: str, name: str
) -> None:
    torch.manual_seed(0)
    flag = in_process.convert(repo, name, exact_qparams=True)
    case = load_cases(RESOURCES / repo)[name]
    torch.manual_seed(0)
    key = convert(case._replace(exact_qparams=True), exact_qparams=False)
    torch.manual_seed(0)
    structural = in_process.convert(repo, name)
    torch.manual_seed(0)
    plain = plain_convert(case)  # export, prepare, calibrate, convert: no dqguard involved

    assert _same(_numbers(flag), _numbers(plain))
    assert _same(_numbers(key), _numbers(plain))
    # Activations seen through HistogramObserver get min/max qparams instead of its search's:
    # the mode did something, and only to numbers.
    assert not _same(_numbers(structural), _numbers(plain))
    assert [n for n, _ in _numbers(structural)] == [n for n, _ in _numbers(plain)]


class _Holder(torch.nn.Module):
    def __init__(self, *observers: torch.nn.Module) -> None:
        super().__init__()
        self.observers = torch.nn.ModuleList(observers)


@pytest.mark.parametrize(
    "config",
    [get_default_x86_inductor_quantization_config(), get_symmetric_quantization_config()],
    ids=["x86", "xnnpack"],
)
def test_swapped_qparams_are_the_min_max_observers_for_the_same_spec(config: Any) -> None:
    spec = config.input_activation
    kwargs = {"dtype": spec.dtype, "quant_min": spec.quant_min, "quant_max": spec.quant_max,
              "qscheme": spec.qscheme}
    histogram = spec.observer_or_fake_quant_ctr.with_args(**kwargs)()
    assert type(histogram) is HistogramObserver
    minmax = MinMaxObserver(eps=float(histogram.eps), **kwargs)
    torch.manual_seed(0)
    for _ in range(3):
        batch = torch.randn(4, 64) * torch.rand(1) * 4
        histogram(batch)
        minmax(batch)
    searched = HistogramObserver.calculate_qparams(histogram)

    assert use_minmax_qparams(_Holder(histogram)) == 1

    scale, zero_point = histogram.calculate_qparams()
    expected_scale, expected_zero_point = minmax.calculate_qparams()
    assert torch.equal(scale, expected_scale) and torch.equal(zero_point, expected_zero_point)
    assert not torch.equal(scale, searched[0])
    assert zero_point.dtype == searched[1].dtype and scale.shape == searched[0].shape


def test_only_allow_listed_classes_are_swapped_by_exact_type() -> None:
    class TunedHistogram(HistogramObserver):
        def calculate_qparams(self) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.tensor([0.5]), torch.tensor([3])

    observers: list[torch.nn.Module] = [HistogramObserver(), TunedHistogram(), MinMaxObserver()]
    try:  # torch's own copy, while torch still ships it
        from torch.ao.quantization.observer import HistogramObserver as TorchHistogramObserver
    except ImportError:
        torch_ao = False
    else:
        torch_ao = True
        observers.append(TorchHistogramObserver())
    for observer in observers:
        observer(torch.randn(8, 8))

    swapped = use_minmax_qparams(_Holder(*observers))

    assert swapped == 1 + torch_ao
    assert [("calculate_qparams" in vars(o)) for o in observers] == [True, False, False] + [True] * torch_ao
    assert observers[1].calculate_qparams()[0].item() == 0.5


def test_a_histogram_that_saw_nothing_keeps_its_own_fallback() -> None:
    observer = HistogramObserver()
    expected = HistogramObserver.calculate_qparams(observer)
    use_minmax_qparams(_Holder(observer))
    with pytest.warns(UserWarning):
        scale, zero_point = observer.calculate_qparams()
    assert torch.equal(scale, expected[0]) and torch.equal(zero_point, expected[1])
