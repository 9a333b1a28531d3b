"""Inline inputs: validated in the manifest, drawn in the worker, the same in every run."""

from pathlib import Path

import pytest
import torch

from dqguard.errors import DqguardError
from dqguard.manifest.case import Case, case_from_request, request_json
from dqguard.manifest.load import load
from dqguard.manifest.specs import InlineInputs, TensorSpec
from dqguard.worker.examples import generate

CASE = '[[case]]\nname = "a"\nmodel = "m:Net"\nquantizer = "q:make"\ninputs = {}\n'


def _case(tmp_path: Path, inputs: str) -> Case:
    path = tmp_path / "dqguard.toml"
    path.write_text(CASE.format(inputs))
    [case] = load(path).cases
    return case


def _error(tmp_path: Path, inputs: str) -> str:
    with pytest.raises(DqguardError) as caught:
        _case(tmp_path, inputs)
    return str(caught.value)


def test_positional_shapes_and_tables(tmp_path: Path) -> None:
    case = _case(tmp_path, '[[1, 3, 8, 8], { shape = [1, 128], dtype = "int64", low = 0, high = 30522 }]')
    assert case.inputs == InlineInputs(
        args=(TensorSpec((1, 3, 8, 8)), TensorSpec((1, 128), "int64", 0, 30522)))


def test_a_table_of_named_specs_is_keyword_inputs(tmp_path: Path) -> None:
    case = _case(tmp_path, '{ input_ids = { shape = [1, 16], dtype = "int64", high = 512 }, mask = [1, 16] }')
    assert case.inputs == InlineInputs(kwargs=(("input_ids", TensorSpec((1, 16), "int64", 0, 512)),
                                               ("mask", TensorSpec((1, 16)))))


def test_inline_inputs_survive_the_worker_request(tmp_path: Path) -> None:
    case = _case(tmp_path, '{ ids = { shape = [2], dtype = "int32", low = 3, high = 9 }, '
                           'x = { shape = [1], low = -1.5, high = 2 } }')
    assert case_from_request(request_json(case)) == case


SPEC = "a shape such as [1, 3, 224, 224] or a table { shape = [...], dtype = \"...\", low = ..., high = ... }"
ERRORS = [
    ("3", "key 'inputs' must be a 'module:attribute' reference, a list of tensor specs such as "
          "[[1, 3, 224, 224]], or a table of named specs for keyword inputs, got 3"),
    ("[]", "key 'inputs' must list at least one tensor spec, such as [[1, 3, 224, 224]]"),
    ("{}", "key 'inputs' must name at least one keyword input"),
    ('["x"]', f"key 'inputs' item 1 must be {SPEC}, got 'x'"),
    ("[{ shape = [1], size = 2 }]",
     "key 'inputs' item 1 has unknown key 'size' (allowed: shape, dtype, low, high)"),
    ("[[1, 0]]", "key 'inputs' item 1: 'shape' must be a list of integers >= 1, got [1, 0]"),
    ("[{ dtype = \"int64\" }]", "key 'inputs' item 1: 'shape' must be a list of integers >= 1, got None"),
    ("[[1], { shape = [1], dtype = \"int65\" }]",
     "key 'inputs' item 2: 'dtype' must be one of float32, float16, bfloat16, float64, int64, int32, int16, "
     "int8, uint8, bool, got 'int65'"),
    ("[{ shape = [1], low = \"0\", high = 1 }]", "key 'inputs' item 1: 'low' must be a number, got '0'"),
    ("[{ shape = [1], dtype = \"bool\", high = 1 }]",
     "key 'inputs' item 1: a bool tensor takes no 'low' or 'high'"),
    ("[{ shape = [1], dtype = \"int64\" }]",
     "key 'inputs' item 1: an int64 tensor needs 'high' (exclusive), such as the vocabulary size"),
    ("[{ shape = [1], dtype = \"int8\", high = 2.5 }]",
     "key 'inputs' item 1: an int8 tensor's 'low' and 'high' must be integers"),
    ("[{ shape = [1], low = 0 }]",
     "key 'inputs' item 1: give both 'low' and 'high' (uniform), or neither (standard normal)"),
    ("[{ shape = [1], low = 2, high = 1 }]",
     "key 'inputs' item 1: 'low' must be less than 'high', got 2 and 1"),
    ("{ shape = [1, 3], dtype = \"int64\" }",
     f"key 'inputs' keyword 'dtype' must be {SPEC}, got 'int64'; a table names keyword inputs, so one "
     "positional tensor is written [{ shape = ... }]"),
]


@pytest.mark.parametrize(("inputs", "expected"), ERRORS)
def test_bad_specs_are_manifest_errors_at_their_line(tmp_path: Path, inputs: str, expected: str) -> None:
    message = _error(tmp_path, inputs)
    assert f"dqguard.toml:5: case 'a': {expected}" in message


def test_the_worker_draws_the_same_tensors_every_time() -> None:
    inputs = InlineInputs(
        args=(TensorSpec((2, 3)), TensorSpec((4,), "float16", -1, 1), TensorSpec((3,), "bool")),
        kwargs=(("ids", TensorSpec((1, 64), "int64", 5, 9)),))
    first = generate(inputs)
    torch.manual_seed(123)  # what the model's construction did to the global generator does not matter
    torch.randn(10)
    second = generate(inputs)
    assert all(torch.equal(a, b) for a, b in zip(first.args, second.args, strict=True))
    assert torch.equal(first.kwargs["ids"], second.kwargs["ids"])
    normal, uniform, flags = first.args
    assert (normal.shape, normal.dtype) == ((2, 3), torch.float32)
    assert uniform.dtype == torch.float16 and bool(((uniform >= -1) & (uniform < 1)).all())
    assert flags.dtype == torch.bool
    ids = first.kwargs["ids"]
    assert ids.dtype == torch.int64 and int(ids.min()) >= 5 and int(ids.max()) < 9
    assert set(ids.flatten().tolist()) == {5, 6, 7, 8}
