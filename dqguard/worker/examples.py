"""A case's example inputs, as the model's `forward` takes them: positional, keyword, or both.

`inputs` (and each item of `calibration_inputs`) may be, or a callable may return:

- a tensor: the one positional argument;
- a tuple or list: the positional arguments;
- a dict with string keys: keyword arguments (`input_ids=`, `attention_mask=`, as transformers
  models take them);
- a pair `(args, kwargs)` of a tuple or list and a dict: both. A 2-tuple whose second item is a
  dict with string keys is always read as this pair.

Export, calibration and every stage use the same `Example`. Anything else is a case error at
"building the inputs" that says what was returned and what is accepted.

Inline specs (`dqguard.manifest.specs`) become tensors here, drawn from a generator of their own seeded with
`SEED`: the same numbers in every run and every case, whatever the model's construction drew from
torch's global generator before.
"""

from typing import Any, NamedTuple

import torch

from dqguard.manifest.specs import FLOATS, InlineInputs, TensorSpec

SEED = 0

ACCEPTED = ("a tensor, a tuple or list of positional arguments, a dict of keyword arguments, "
            "or a pair (args tuple, kwargs dict)")


class Example(NamedTuple):
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def call(self, module: Any) -> Any:
        return module(*self.args, **self.kwargs)


def _keywords(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(key, str) for key in value)


def _a(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list, dict)):
        kinds = sorted({type(v).__name__ for v in (value.values() if isinstance(value, dict) else value)})
        return f"{_a(type(value).__name__)} of {len(value)} ({', '.join(kinds) or 'nothing'})"
    return _a(type(value).__name__)


def example(value: Any, what: str) -> Example:
    """The Example `value` stands for; `what` names where it came from in the error."""
    if isinstance(value, torch.Tensor):
        return Example((value,), {})
    if (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (tuple, list))
            and _keywords(value[1])):
        return Example(tuple(value[0]), dict(value[1]))
    if isinstance(value, (tuple, list)):
        return Example(tuple(value), {})
    if _keywords(value):
        return Example((), dict(value))
    raise TypeError(f"{what} gave {_describe(value)}; expected {ACCEPTED}")


def _tensor(spec: TensorSpec, generator: torch.Generator) -> torch.Tensor:
    dtype = getattr(torch, spec.dtype)
    if spec.dtype == "bool":
        return torch.randint(0, 2, spec.shape, generator=generator).to(torch.bool)
    if spec.dtype in FLOATS:
        if spec.low is None or spec.high is None:
            return torch.randn(spec.shape, generator=generator).to(dtype)
        return (torch.rand(spec.shape, generator=generator) * (spec.high - spec.low) + spec.low).to(dtype)
    assert spec.high is not None  # dqguard.manifest.specs requires it for integers
    return torch.randint(int(spec.low or 0), int(spec.high), spec.shape, generator=generator, dtype=dtype)


def generate(inputs: InlineInputs) -> Example:
    """The tensors a manifest's inline specs describe, in their order, seeded."""
    generator = torch.Generator().manual_seed(SEED)
    args = tuple(_tensor(spec, generator) for spec in inputs.args)
    kwargs = {name: _tensor(spec, generator) for name, spec in inputs.kwargs}
    return Example(args, kwargs)
