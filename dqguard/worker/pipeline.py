"""One job in the case's own process: build and export the model once, then for each case
quantize (prepare, calibrate, convert) and check.

A job's cases share everything that shapes the export (`dqguard.manifest.case.export_key`): a model under
several quantizers is built and exported once, and each case prepares its own copy of the exported
module. Building a model and exporting it take seconds on real models; copying takes milliseconds.
The first case that needs the export pays for it (its `import` and `export` phases); the others'
`export` phase is the copy (nothing, for the last case, which takes the original).

A weightless job (dqguard.worker.weightless) builds its model under a FakeTensorMode and runs each case
on fakes; a case that cannot run that way falls back to the normal path, with a note saying why,
on a normal export that the job's other falling-back cases share.

Torch is imported here and in the modules this one imports, which is why only workers load it.
"""

import copy
import inspect
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from dqguard.locate import user_frame
from dqguard.manifest.case import Case, DynamicDim
from dqguard.manifest.specs import InlineInputs
from dqguard.records import CaseResult, Finding, status_of
from dqguard.worker import examples, flows, references, staging, weightless
from dqguard.worker.examples import Example
from dqguard.worker.phases import StepFailed, Steps
from dqguard.worker.structural import use_minmax_qparams
from dqguard.worker.weightless import patch_observers

OnPhase = Callable[[str], None]


class Exported:
    """A job's export, made by the first case that needs it and handed to each case in turn."""

    def __init__(self, uses: int, mode: FakeTensorMode | None = None) -> None:
        self.uses = self.total = uses
        self.begun = 0
        self.mode = mode  # weightless: the export's and its cases' fake mode
        self.module: torch.fx.GraphModule | None = None
        self.example: Example | None = None
        self.failure: StepFailed | None = None
        self.fallback: Exported | None = None

    def take(self, case: Case, steps: Steps) -> tuple[torch.fx.GraphModule, Example]:
        """The exported module for `case` to prepare: a copy, and the original for the last user."""
        self.begun += 1
        if self.failure is not None:
            raise self.failure
        if self.module is None or self.example is None:
            try:
                self.module, self.example = export(case, steps, self.mode)
            except StepFailed as failure:
                self.failure = failure
                raise
        self.uses -= 1
        with steps.step("export", "copying the exported model"):
            if self.uses == 0:
                return self.module, self.example
            return copy.deepcopy(self.module), copy.deepcopy(self.example)

    def normal(self) -> "Exported":
        """The normal export, for this job's cases that cannot run on this weightless one."""
        if self.fallback is None:
            self.fallback = Exported(self.total - self.begun + 1)
        return self.fallback


def load_inputs(reference: str | InlineInputs) -> Example:
    if isinstance(reference, InlineInputs):
        return examples.generate(reference)
    value = references.resolve(reference)
    if callable(value) and not isinstance(value, torch.Tensor):
        value = value()
    return examples.example(value, f"inputs {reference!r}")


def load_calibration(reference: str) -> list[Example]:
    value = references.resolve(reference)
    if callable(value):
        value = value()
    if isinstance(value, (torch.Tensor, dict, str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"calibration_inputs {reference!r} gave {type(value).__name__}; expected an "
                        "iterable (list, generator, DataLoader) of inputs")
    batches = [examples.example(item, f"calibration_inputs {reference!r} item {index}")
               for index, item in enumerate(value)]
    if not batches:
        raise ValueError(f"calibration_inputs {reference!r} gave no inputs: the observers would see nothing")
    return batches


def dynamic_shapes(dims: tuple[DynamicDim, ...]) -> dict[str, dict[int, Any]] | None:
    """`dynamic_shapes` as torch.export takes it: forward argument -> dimension -> Dim."""
    if not dims:
        return None
    made = {dim.name: torch.export.Dim(dim.name, min=dim.min, max=dim.max) for dim in dims}
    shapes: dict[str, dict[int, Any]] = {}
    for dim in dims:
        shapes.setdefault(dim.arg, {})[dim.dim] = made[dim.name]
    return shapes


def _check_arguments(model: torch.nn.Module, dims: tuple[DynamicDim, ...]) -> None:
    # torch.export's own error lists the arguments but cuts off before it says which key is wrong.
    parameters = inspect.signature(model.forward).parameters
    unknown = sorted({dim.arg for dim in dims} - set(parameters))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise ValueError(f"dynamic_shapes names {', '.join(map(repr, unknown))}, which forward does not "
                         f"take (its arguments: {', '.join(parameters) or 'none'})")


def _export_hint(exc: BaseException) -> str | None:
    if "DynamicCache" in str(exc):
        # transformers decoders return their key/value cache, which torch.export cannot output.
        return ("the model returns a transformers cache: build it with use_cache=False in the model "
                "factory, e.g. config.use_cache = False")
    return None


def export(case: Case, steps: Steps, mode: FakeTensorMode | None = None,
           ) -> tuple[torch.fx.GraphModule, Example]:
    """Build the case's model (its factory under `mode` when weightless) and inputs; export them
    (in training mode for QAT)."""
    with steps.step("import", "building the model"):
        model = references.build(case.model, torch.nn.Module, "model", mode).train(case.qat)
    with steps.step("import", "building the inputs"):
        example = load_inputs(case.inputs)
    with steps.step("import", "checking dynamic_shapes"):
        _check_arguments(model, case.dynamic_shapes)
    with steps.step("export", "torch.export", _export_hint):
        program = torch.export.export(model, example.args, example.kwargs, strict=case.strict,
                                      dynamic_shapes=dynamic_shapes(case.dynamic_shapes))
        # .module() adds a `_guards_fn` call node that some quantizers (ExecuTorch's Arm ones)
        # fail on at prepare; the guards only re-check input shapes we already gave.
        module: torch.fx.GraphModule = program.module(check_guards=False)
    return module, example


def load_quantizer(case: Case, steps: Steps) -> tuple[Any, flows.Flow]:
    with steps.step("import", "building the quantizer"):
        # The user's module first: its own ImportError (a torch.ao quantizer on a torch without
        # torch.ao) says more than "no PT2E flow is installed".
        references.resolve(case.quantizer)
        quantizer = references.build(case.quantizer, flows.quantizer_bases(), "quantizer")
        return quantizer, flows.choose(quantizer, case.flow)


def quantize(case: Case, exported: torch.fx.GraphModule, example: Example, quantizer: Any, flow: flows.Flow,
             exact_qparams: bool, steps: Steps, mode: FakeTensorMode | None = None) -> torch.fx.GraphModule:
    """Prepare, calibrate and convert `exported` with the case's quantizer, in its own flow; on
    fakes under `mode` (the export's) when weightless.

    QAT prepares with fake quantizers and calibrates in training mode (batch norm still folds at
    convert); no backward pass is needed for the structure, only observed data."""
    batches = [example]
    if case.calibration_inputs is not None:
        with steps.step("import", "building the calibration inputs"):
            batches = load_calibration(case.calibration_inputs)
    with steps.step("prepare", "prepare_qat_pt2e" if case.qat else "prepare_pt2e"):
        prepared = (flow.prepare_qat if case.qat else flow.prepare)(exported, quantizer)
        if mode is not None:
            patch_observers(prepared, mode)
        elif not (exact_qparams or case.exact_qparams):
            use_minmax_qparams(prepared)
    with steps.step("calibrate", "calibration"), torch.no_grad():
        if mode is not None:
            batches = [weightless.fake_example(mode, batch) for batch in batches]
        for _ in range(case.calibration):
            for batch in batches:
                batch.call(prepared)
        if case.qat:
            flow.move_to_eval(prepared)
    with steps.step("convert", "convert_pt2e"):
        converted: torch.fx.GraphModule = flow.convert(prepared, fold_quantize=case.fold_quantize)
        if mode is not None:
            weightless.check_converted(converted)
    return converted


def run(case: Case, root: Path, manifest: str, exact_qparams: bool,
        on_phase: OnPhase = lambda phase: None, exported: Exported | None = None) -> CaseResult:
    started = time.perf_counter()
    # Cases that share a process start from a clean dynamo cache and the same seed.
    torch._dynamo.reset()
    torch.manual_seed(0)
    steps = Steps(on_phase)
    fallback = (manifest, case.line)
    notes: list[str] = []
    try:
        quantizer, flow = load_quantizer(case, steps)
        exported = exported or Exported(1, _weightless_mode(case, exact_qparams))
        if case.weightless and case.stages:
            notes.append("not weightless: its stages lower or rewrite the program, which needs real weights")
        attempt = _attempt(case, exported, quantizer, flow, exact_qparams, steps)
        if isinstance(attempt, StepFailed):
            # Not an error: the normal path decides, with the verdict (and the traceback, hence
            # outside the handler) a normal run would give.
            notes.append(f"not weightless ({attempt.message}): checked with real weights")
            torch._dynamo.reset()
            torch.manual_seed(0)
            quantizer, flow = load_quantizer(case, steps)
            attempt = _convert(case, exported.normal(), quantizer, flow, exact_qparams, steps)
        converted, example = attempt
        findings, resolved, delegation = staging.run(case, converted, example, root, fallback, steps,
                                                     flows.compiled_by_inductor(quantizer))
    except StepFailed as failure:
        # A stage's failure names the stage in JSON too; other steps happen before any stage.
        error = _case_error(failure, root, fallback)._replace(
            stage=failure.step if failure.step in case.stages else None)
        findings, resolved, delegation = [error], (), None
    return CaseResult(
        name=case.name,
        status=status_of(tuple(findings)),
        duration_s=round(time.perf_counter() - started, 3),
        findings=tuple(findings),
        phases=steps.rounded(),
        delegation=delegation,
        resolved=resolved,
        notes=tuple(notes),
    )


def _weightless_mode(case: Case, exact_qparams: bool) -> FakeTensorMode | None:
    return weightless.fake_mode() if case.on_fakes(exact_qparams) else None


def _attempt(case: Case, exported: Exported, quantizer: Any, flow: flows.Flow, exact_qparams: bool,
             steps: Steps) -> tuple[torch.fx.GraphModule, Example] | StepFailed:
    """The converted graph and its inputs, or why a weightless export could not give them."""
    try:
        return _convert(case, exported, quantizer, flow, exact_qparams, steps)
    except StepFailed as failure:
        if exported.mode is None:
            raise
        return failure


def _convert(case: Case, exported: Exported, quantizer: Any, flow: flows.Flow, exact_qparams: bool,
             steps: Steps) -> tuple[torch.fx.GraphModule, Example]:
    module, example = exported.take(case, steps)
    return quantize(case, module, example, quantizer, flow, exact_qparams, steps, exported.mode), example


def run_job(cases: list[Case], root: Path, manifest: str, exact_qparams: bool,
            on_case: Callable[[int], None], on_phase: OnPhase) -> Iterator[CaseResult]:
    """Each case of a job in turn; `on_case` hears which one begins."""
    # A job's cases agree on `Case.on_fakes` (dqguard.manifest.case.export_key).
    exported = Exported(len(cases), _weightless_mode(cases[0], exact_qparams))
    for position, case in enumerate(cases):
        on_case(position)
        yield run(case, root, manifest, exact_qparams, on_phase, exported)


def _case_error(failure: StepFailed, root: Path, fallback: tuple[str, int]) -> Finding:
    # The manifest line is the primary location: the case is what failed. The user's innermost
    # frame, if any, goes into the message so the cause is one click away.
    frame = user_frame(failure.detail, root)
    message = failure.message + (f" (at {frame[0]}:{frame[1]})" if frame else "")
    return Finding(rule="DQG900", message=message, path=fallback[0], line=fallback[1],
                   detail=failure.detail, step=failure.step)
