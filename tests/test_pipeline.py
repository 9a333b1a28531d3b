"""The pipeline's shape: inputs in every accepted form, and one export shared by a job's cases."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from dqguard.manifest.case import Case
from dqguard.run.plan import plan
from dqguard.worker import examples
from dqguard.worker.phases import one_line
from testing import RESOURCES, copy_repo, dqguard, expected_line
from testing.inprocess import InProcess, load_cases

MODELS = RESOURCES / "inputs" / "models.py"


@pytest.mark.parametrize("name", ["keywords", "args-and-keywords", "positional"])
def test_a_model_is_exported_and_calibrated_with_the_inputs_as_given(in_process: InProcess,
                                                                    name: str) -> None:
    [finding] = in_process.run("inputs", name).findings
    assert finding.rule == "DQG002"
    assert [u.line for u in finding.users] == [expected_line(MODELS, "heads")] * 2


def test_every_accepted_form_of_inputs() -> None:
    x, mask = torch.randn(2), torch.zeros(2)
    assert examples.example(x, "inputs") == ((x,), {})
    assert examples.example([x, mask], "inputs") == ((x, mask), {})
    assert examples.example({"tokens": x}, "inputs") == ((), {"tokens": x})
    assert examples.example(((x,), {"mask": mask}), "inputs") == ((x,), {"mask": mask})
    # Two positional tensors are positional arguments, not an (args, kwargs) pair.
    assert examples.example((x, mask), "inputs") == ((x, mask), {})


def test_inputs_of_another_shape_say_what_came_and_what_is_accepted(in_process: InProcess) -> None:
    [finding] = in_process.run("inputs", "a-set").findings
    assert finding.rule == "DQG900"
    assert finding.message == (
        "building the inputs failed: TypeError: inputs 'models:a_set' gave a set; expected a tensor, a "
        "tuple or list of positional arguments, a dict of keyword arguments, or a pair (args tuple, "
        "kwargs dict)")
    with pytest.raises(TypeError, match=r"gave a dict of 1 \(Tensor\)"):
        examples.example({1: torch.zeros(1)}, "inputs")


def _cases(*specs: tuple[str, str]) -> list[Case]:
    return [Case(name=f"c{i}", model=model, inputs=inputs, quantizer="q:Q", line=i)
            for i, (model, inputs) in enumerate(specs)]


def test_jobs_group_cases_that_share_an_export_and_split_to_fill_the_workers() -> None:
    cases = _cases(("m:A", "m:x"), ("m:B", "m:x"), ("m:A", "m:x"), ("m:A", "m:y"), ("m:A", "m:x"))
    assert plan(cases, 1) == [[0, 2, 4], [1], [3]]
    assert plan(cases, 3) == [[0, 2, 4], [1], [3]]
    assert plan(cases, 4) == [[0, 2], [4], [1], [3]]
    assert plan(cases, 8) == [[0], [2], [4], [1], [3]]
    strict = cases[1]._replace(model="m:A", strict=False)
    assert plan([cases[0], strict], 1) == [[0], [1]]


def _verdicts(document: dict[str, Any]) -> list[Any]:
    return [(c["name"], c["status"], [{k: v for k, v in f.items() if k != "detail"} for f in c["findings"]])
            for c in document["cases"]]


def test_a_shared_export_gives_the_verdicts_of_separate_exports(tmp_path: Path) -> None:
    repo = copy_repo("findings", tmp_path)
    names = [case.name for case in load_cases(repo).values()]
    # One worker: the three-heads cases share one export, the others have one each.
    completed = dqguard("scan", "--no-cache", "--format", "json", "-j", "1", cwd=repo)
    shared = json.loads(completed.stdout)
    separate = [json.loads(dqguard("scan", "--no-cache", "--format", "json", "--case", name,
                                   cwd=repo).stdout)["cases"][0] for name in names]
    assert _verdicts(shared) == _verdicts({"cases": separate})


TRAINING = RESOURCES / "training" / "models.py"


def test_qat_folds_batch_norm_and_converts_with_the_qat_config(in_process: InProcess) -> None:
    converted = in_process.convert("training", "qat")
    targets = [str(node.target) for node in converted.graph.nodes]
    assert not [t for t in targets if "batch_norm" in t]
    assert any("quantize_per_tensor" in t for t in targets)
    assert any("conv2d" in t for t in targets)
    result = in_process.run("training", "qat")
    assert (result.status, result.findings) == ("ok", ())
    assert {"prepare", "calibrate", "convert"} <= set(result.phases)


def test_a_dynamic_batch_exports_symbolically_and_keeps_the_static_verdict(in_process: InProcess) -> None:
    converted = in_process.convert("training", "dynamic-batch")
    shape_queries = [node for node in converted.graph.nodes if "sym_size" in str(node.target)]
    assert shape_queries, "the batch size should be read back from the input"
    for batch in (1, 9):
        assert converted(torch.randn(batch, 4, 8)).shape == (batch, 16)
    dynamic = in_process.run("training", "dynamic-batch").findings
    static = in_process.run("training", "static-batch").findings
    assert [(f.rule, f.line, f.message) for f in dynamic] == [(f.rule, f.line, f.message) for f in static]
    [finding] = dynamic
    assert finding.rule == "DQG002"
    assert [u.line for u in finding.users] == [expected_line(TRAINING, "heads")] * 2


def test_dynamic_shapes_naming_an_argument_forward_lacks_is_a_case_error(in_process: InProcess) -> None:
    [finding] = in_process.run("training", "unknown-argument").findings
    case = load_cases(RESOURCES / "training")["unknown-argument"]
    assert (finding.rule, finding.line) == ("DQG900", case.line)
    assert finding.message == ("checking dynamic_shapes failed: ValueError: dynamic_shapes names 'x', which "
                               "forward does not take (its arguments: tokens)")


def test_calibration_inputs_feed_calibration_in_any_accepted_form(in_process: InProcess) -> None:
    [finding] = in_process.run("training", "calibration-data").findings
    assert finding.rule == "DQG002"


@pytest.mark.parametrize(("name", "message"), [
    ("bad-calibration-data", "building the calibration inputs failed: TypeError: calibration_inputs "
     "'models:bad_batches' item 1 gave a set; expected a tensor, a tuple or list of positional arguments, "
     "a dict of keyword arguments, or a pair (args tuple, kwargs dict)"),
    ("no-calibration-data", "building the calibration inputs failed: ValueError: calibration_inputs "
     "'models:no_batches' gave no inputs: the observers would see nothing"),
])
def test_calibration_inputs_of_another_shape_are_case_errors(in_process: InProcess, name: str,
                                                             message: str) -> None:
    [finding] = in_process.run("training", name).findings
    assert (finding.rule, finding.message) == ("DQG900", message)


def _raised(exc: BaseException, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except type(cause) as inner:
            raise exc from inner
    except BaseException as outer:  # the chain as a library leaves it
        return outer


def test_a_case_error_gives_a_wrapped_exceptions_root_cause_once() -> None:
    wrapped = _raised(Exception("An error occurred when running the 'FusePatternsPass' pass"),
                      ValueError("not enough values to unpack (expected 4, got 3)"))
    assert one_line(wrapped) == ("Exception: An error occurred when running the 'FusePatternsPass' pass "
                                 "(caused by ValueError: not enough values to unpack (expected 4, got 3))")
    # A wrapper quoting its cause says it all, at full length: dqguard's own install hints do.
    hint = "No module named 'ethosu': install the Arm backend: pip install 'dqguard[arm]' " + "x" * 120
    quoted = _raised(ModuleNotFoundError(hint), ModuleNotFoundError("No module named 'ethosu'"))
    assert one_line(quoted) == f"ModuleNotFoundError: {hint}"
