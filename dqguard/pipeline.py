"""One case, inside a worker: build, export, prepare, calibrate, convert, check.

Each step that fails becomes a DQG900 finding at the case's manifest line naming the step and the
exception, so one broken case never hides another. Torch is imported here and only here (and in
the modules this one imports), which is why only workers load this module.
"""

import contextlib
import importlib
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from torchao.quantization.pt2e.quantizer import Quantizer

from dqguard.check import check
from dqguard.locate import user_frame
from dqguard.manifest import Case
from dqguard.records import CaseResult, Finding, status_of
from dqguard.structural import use_minmax_qparams

# What torch imports lazily on a first export, prepare and convert (about 400 modules). Imported
# here, once per worker, each case's forked process inherits them instead of importing them again
# (about half a second a case). Only a head start: any that a torch release lacks is skipped.
_LAZY = ("torch._dynamo", "torch.export", "torch._functorch.aot_autograd", "torch._functorch.partitioners",
         "torch._inductor.decomposition", "torch._export.passes.replace_quantized_ops_with_standard_ops_pass")
for _name in _LAZY:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)


class StepFailed(Exception):
    def __init__(self, step: str, message: str, detail: str | None) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.detail = detail


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."


class _Steps:
    def __init__(self, on_phase: Callable[[str], None]) -> None:
        self.phases: dict[str, float] = {}
        self.on_phase = on_phase

    @contextmanager
    def step(self, name: str, doing: str) -> Iterator[None]:
        """Time phase `name`; a failure inside becomes StepFailed saying what was being done."""
        self.on_phase(name)
        start = time.perf_counter()
        try:
            yield
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc)).rstrip()
            raise StepFailed(name, f"{doing} failed: {_one_line(exc)}", detail) from exc
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start


def resolve(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _build(reference: str, kind: type, what: str) -> Any:
    value = resolve(reference)
    # A class is instantiated, an instance used as is, any other callable is a factory.
    if not isinstance(value, kind) and callable(value):
        value = value()
    if not isinstance(value, kind):
        raise TypeError(f"{what} {reference!r} gave {type(value).__name__}, not {kind.__name__}")
    return value


def _example_args(reference: str) -> tuple[Any, ...]:
    value = resolve(reference)
    if callable(value):
        value = value()
    if isinstance(value, torch.Tensor):
        return (value,)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"inputs {reference!r} gave {type(value).__name__}, not a tuple of args")
    return tuple(value)


def _exported_module(model: torch.nn.Module, args: tuple[Any, ...], strict: bool) -> Any:
    program = torch.export.export(model, args, strict=strict)
    # torch 2.13's .module() adds a `_guards_fn` call node that some quantizers (ExecuTorch's
    # Arm ones) fail on at prepare; the guards only re-check input shapes we already gave.
    return program.module(check_guards=False)


def convert(case: Case, exact_qparams: bool, steps: _Steps | None = None) -> Any:
    """The case's converted GraphModule. The user's modules must be importable already."""
    steps = steps or _Steps(lambda phase: None)
    with steps.step("import", "building the model"):
        model = _build(case.model, torch.nn.Module, "model").eval()
    with steps.step("import", "building the inputs"):
        args = _example_args(case.inputs)
    with steps.step("import", "building the quantizer"):
        quantizer = _build(case.quantizer, Quantizer, "quantizer")
    with steps.step("export", "torch.export"):
        exported = _exported_module(model, args, case.strict)
    with steps.step("prepare", "prepare_pt2e"):
        prepared = prepare_pt2e(exported, quantizer)
        if not (exact_qparams or case.exact_qparams):
            use_minmax_qparams(prepared)
    with steps.step("calibrate", "calibration"), torch.no_grad():
        for _ in range(case.calibration):
            prepared(*args)
    with steps.step("convert", "convert_pt2e"):
        return convert_pt2e(prepared)


def run(
    case: Case,
    root: Path,
    manifest: str,
    exact_qparams: bool,
    on_phase: Callable[[str], None] = lambda phase: None,
) -> CaseResult:
    started = time.perf_counter()
    # Each job has a process of its own (dqguard.worker); cases that share one start from a
    # clean dynamo cache and the same seed.
    torch._dynamo.reset()
    torch.manual_seed(0)
    steps = _Steps(on_phase)
    fallback = (manifest, case.line)
    try:
        converted = convert(case, exact_qparams, steps)
        with steps.step("check", "the check"):
            findings = check(converted, root, fallback)
    except StepFailed as failure:
        findings = [_case_error(failure, root, fallback)]
    return CaseResult(
        name=case.name,
        status=status_of(tuple(findings)),
        duration_s=round(time.perf_counter() - started, 3),
        findings=tuple(findings),
        phases={k: round(v, 3) for k, v in steps.phases.items()},
    )


def _case_error(failure: StepFailed, root: Path, fallback: tuple[str, int]) -> Finding:
    # The manifest line is the primary location: the case is what failed. The user's innermost
    # frame, if any, goes into the message so the cause is one click away.
    frame = user_frame(failure.detail, root)
    message = failure.message + (f" (at {frame[0]}:{frame[1]})" if frame else "")
    return Finding(rule="DQG900", message=message, path=fallback[0], line=fallback[1],
                   detail=failure.detail)
