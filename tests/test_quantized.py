"""The structural definition of a quantized op finds on re-exported graphs what the annotation
check finds on converted ones."""

from pathlib import Path

import pytest
import torch

from dqguard import stages
from dqguard.check.quantized import Structure, annotated
from dqguard.check.sharing import check, shared
from dqguard.records import Finding
from dqguard.worker import pipeline, programs
from testing import RESOURCES
from testing.inprocess import InProcess, load_cases

SCENARIOS = [
    *(("seed", name) for name in ("chain", "fan-out", "fan-out-add-not-quantized", "pool-own-config")),
    *(("findings", name) for name in ("three-heads/dynamic", "three-heads/per-token", "concat/per-token",
                                      "fan-out/empty-annotations")),
    ("stages", "merged"),
]


def _summary(findings: list[Finding]) -> list[tuple[str, tuple[tuple[str | None, int | None], ...]]]:
    return sorted((f.rule, tuple(sorted((u.path, u.line) for u in f.users))) for f in findings)


def _reexported(in_process: InProcess, repo: str, name: str) -> tuple[torch.fx.GraphModule, programs.View]:
    converted = in_process.convert(repo, name)
    case = load_cases(RESOURCES / repo)[name]
    example = pipeline.load_inputs(case.inputs)
    program = programs.view(stages.reexport(converted, example))
    return converted, program


@pytest.mark.parametrize(("repo", "name"), SCENARIOS)
def test_structure_agrees_with_the_annotations_after_a_reexport(in_process: InProcess, repo: str,
                                                                name: str) -> None:
    root = (RESOURCES / repo).resolve()
    converted, program = _reexported(in_process, repo, name)
    if name == "merged":  # the user's merge, so that a static sharing is among the cases
        __import__("passes").merge_dequantize(converted)
        program = programs.view(__import__("passes").merge_dequantize(program.module))
    assert not annotated(program.module.graph.nodes)
    expected = _summary(check(converted, root, ("dqguard.toml", 1)))
    found = _summary(shared(program.module, root, ("dqguard.toml", 1), program.constants))
    assert found == expected
    # Clean: the seed's four, and a quantized output read only by ops left in float.
    assert bool(found) == (repo != "seed" and name != "fan-out/empty-annotations")


def test_view_and_float_mul_on_one_dequantize_are_not_quantized(in_process: InProcess) -> None:
    # The seed's fan-out: conv1's dequantized output feeds `view` (re-quantized for the linear) and
    # a float `mul`. A naive "feeds a quantize or reads a dequantized value" rule flags both.
    _, program = _reexported(in_process, "seed", "fan-out")
    structure = Structure(program.constants)
    by_target = {str(n.target): n for n in program.module.graph.nodes if n.op == "call_function"}
    assert not structure.quantized(by_target["aten.mul.Tensor"])
    assert not structure.quantized(by_target["aten.view.default"])
    assert structure.quantized(by_target["aten.linear.default"])
    assert structure.quantized(by_target["aten.conv2d.default"])


def test_a_reexport_keeps_the_weights_as_constants(in_process: InProcess) -> None:
    _, program = _reexported(in_process, "findings", "three-heads/dynamic")
    placeholders = {n.name for n in program.module.graph.nodes if n.op == "placeholder"}
    assert program.constants and program.constants < placeholders
    assert Path(RESOURCES / "findings").is_dir()
