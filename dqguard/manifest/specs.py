"""Inline input specs: tensors a manifest describes instead of naming a function that builds them.

`inputs = [[1, 3, 224, 224]]` is one positional float32 tensor drawn from a standard normal;
`inputs = [{ shape = [1, 128], dtype = "int64", low = 0, high = 30522 }]` one integer tensor,
uniform in [low, high); a table of named specs, `inputs = { input_ids = ..., attention_mask = ...
}`, is keyword arguments, as a reference returning a dict is (`dqguard.worker.examples`). The worker
draws the tensors from a generator seeded the same way for every case, so two runs, two workers
and the cases of one matrix see the same numbers.

Validated here, in the parent, without torch: a bad spec is a manifest error at its line.
"""

from typing import Any, NamedTuple

FLOATS = ("float32", "float16", "bfloat16", "float64")
INTEGERS = ("int64", "int32", "int16", "int8", "uint8")
DTYPES = (*FLOATS, *INTEGERS, "bool")
KEYS = ("shape", "dtype", "low", "high")


class TensorSpec(NamedTuple):
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: float | None = None  # None and None: a standard normal (floats)
    high: float | None = None  # exclusive for integers, as torch.randint's


class InlineInputs(NamedTuple):
    args: tuple[TensorSpec, ...] = ()
    kwargs: tuple[tuple[str, TensorSpec], ...] = ()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _spec(value: Any, where: str) -> TensorSpec:
    if isinstance(value, list):
        value = {"shape": value}
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a shape such as [1, 3, 224, 224] or a table "
                         f"{{ shape = [...], dtype = \"...\", low = ..., high = ... }}, got {value!r}")
    unknown = [key for key in value if key not in KEYS]
    if unknown:
        raise ValueError(f"{where} has unknown key '{unknown[0]}' (allowed: {', '.join(KEYS)})")
    shape = value.get("shape")
    if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                                            for d in shape)):
        raise ValueError(f"{where}: 'shape' must be a list of integers >= 1, got {shape!r}")
    dtype = value.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ValueError(f"{where}: 'dtype' must be one of {', '.join(DTYPES)}, got {dtype!r}")
    low, high = value.get("low"), value.get("high")
    for key, bound in (("low", low), ("high", high)):
        if bound is not None and not _number(bound):
            raise ValueError(f"{where}: '{key}' must be a number, got {bound!r}")
    if dtype == "bool" and (low is not None or high is not None):
        raise ValueError(f"{where}: a bool tensor takes no 'low' or 'high'")
    if dtype in INTEGERS:
        if high is None:
            raise ValueError(f"{where}: an {dtype} tensor needs 'high' (exclusive), such as the "
                             "vocabulary size")
        if not (isinstance(high, int) and isinstance(low if low is not None else 0, int)):
            raise ValueError(f"{where}: an {dtype} tensor's 'low' and 'high' must be integers")
        low = 0 if low is None else low
    if dtype in FLOATS and (low is None) != (high is None):
        raise ValueError(f"{where}: give both 'low' and 'high' (uniform), or neither (standard normal)")
    if low is not None and high is not None and not low < high:
        raise ValueError(f"{where}: 'low' must be less than 'high', got {low!r} and {high!r}")
    return TensorSpec(tuple(shape), dtype, low, high)


def parse(value: Any) -> InlineInputs:
    """The InlineInputs a manifest value stands for; ValueError saying which spec is wrong."""
    if isinstance(value, list):
        if not value:
            raise ValueError("must list at least one tensor spec, such as [[1, 3, 224, 224]]")
        return InlineInputs(args=tuple(_spec(item, f"item {n}") for n, item in enumerate(value, 1)))
    if isinstance(value, dict):
        if not value:
            raise ValueError("must name at least one keyword input")
        hint = ("; a table names keyword inputs, so one positional tensor is written [{ shape = ... }]"
                if "shape" in value else "")
        kwargs = []
        for name, item in value.items():
            try:
                kwargs.append((name, _spec(item, f"keyword '{name}'")))
            except ValueError as exc:
                raise ValueError(f"{exc}{hint}") from None
        return InlineInputs(kwargs=tuple(kwargs))
    raise ValueError("must be a 'module:attribute' reference, a list of tensor specs such as "
                     "[[1, 3, 224, 224]], or a table of named specs for keyword inputs")


def _spec_json(spec: TensorSpec) -> dict[str, Any]:
    return {key: value if key != "shape" else list(value)
            for key, value in spec._asdict().items() if value is not None}


def to_json(inputs: InlineInputs) -> list[Any] | dict[str, Any]:
    """The manifest's own form: a list of positional specs, or a table of keyword ones."""
    if inputs.kwargs:
        return {name: _spec_json(spec) for name, spec in inputs.kwargs}
    return [_spec_json(spec) for spec in inputs.args]
