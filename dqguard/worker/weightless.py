"""Weightless mode: the whole PT2E pipeline on FakeTensors, so a model's weights never exist.

A dequantize is shared or not by the converted graph's structure alone, and on LLM-sized models
almost all of a scan's time and memory is the weights: building random fp32 values (32 GB for an
8 B model, more than a CI runner has), observing them and quantizing them in convert. Under a
`FakeTensorMode` every tensor is a shape, a dtype and a device with no storage:

1. the user's module is imported as usual; only the factory call runs inside the mode, so every
   parameter it creates is a FakeTensor reporting device cpu (the factory is unchanged);
2. inputs and quantizer are built outside it, as real objects; torch.export re-fakifies the fake
   parameters itself and traces exactly what it traces on real ones;
3. after prepare, observers are made fake-safe by exact type (`patch_observers`): min/max
   buffers become fakes, forward only records that data was seen (and, per channel, its shape),
   and calculate_qparams runs the class's own computation on real -1/+1 tensors of that shape:
   structural qparams, of the dtype, shape and quant range real data would give;
4. one calibration pass on fake inputs, then convert unchanged: folding the weights' quantize ops
   over fakes gives fake int8 constants of the right shape.

What cannot be done that way falls back, case by case, to the normal path (dqguard.worker.pipeline):
a factory that reads values (`.item()`, `.numpy()`, a checkpoint load), an observer not on the
list below (a subclass, a custom one, QAT fake-quantizers, torch.ao's), anything that raises. A
qparam that is still a FakeTensor after convert (an observer leaked one) is refused the same way.

Weightless qparams are structural by construction, so `exact_qparams` always takes the normal
path. The equivalence with it is tests/test_weightless.py: the same signature and findings on
every scenario repo and on the small real models.
"""

import functools
import importlib
import types
from typing import Any, NamedTuple

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv

from dqguard.worker.examples import Example


class _Known(NamedTuple):
    # Min/max observers, by exact type, with the forward that records their min/max shape-wise.
    # HistogramObserver.forward branches on values (x_min == -inf): it records min/max like its
    # base, as structural mode already computes its qparams from min/max.
    minmax: dict[type, Any]
    # torchao's per-token and per-group observers: min_val/max_val are plain attributes that
    # their own (fake-safe) forward sets.
    affine: tuple[type, ...]
    # Identity forwards with constant or no qparams: fake-safe as they are. The affine
    # placeholder (dynamic per-token activations) records only a block size and a dtype.
    as_they_are: tuple[type, ...]
    # What any other observer or fake-quantizer derives from, in either flow.
    bases: tuple[type, ...]


_BASES = (("torchao.quantization.pt2e.observer", "ObserverBase"),
          ("torchao.quantization.pt2e.fake_quantize", "FakeQuantizeBase"),
          ("torch.ao.quantization.observer", "ObserverBase"),
          ("torch.ao.quantization.fake_quantize", "FakeQuantizeBase"))


def _bases() -> tuple[type, ...]:
    found = []
    for module, name in _BASES:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


@functools.cache
def _known() -> _Known:
    """torchao's observers (torchao is optional: without it every observer is unknown)."""
    try:
        ob = importlib.import_module("torchao.quantization.pt2e.observer")
    except ImportError:
        return _Known({}, (), (), _bases())
    minmax = {kind: kind.forward for kind in (ob.MinMaxObserver, ob.MovingAverageMinMaxObserver,
                                              ob.PerChannelMinMaxObserver,
                                              ob.MovingAveragePerChannelMinMaxObserver)}
    minmax[ob.HistogramObserver] = ob.MinMaxObserver.forward
    as_they_are = [ob.PlaceholderObserver, ob.NoopObserver, ob.ReuseInputObserver, ob.FixedQParamsObserver]
    affine: tuple[type, ...] = ()
    try:  # not in every torchao release
        aq = importlib.import_module("torchao.quantization.pt2e._affine_quantization")
        affine = (aq.AffineQuantizedMinMaxObserver, aq.AffineQuantizedMovingAverageMinMaxObserver)
        as_they_are.append(aq.AffineQuantizedPlaceholderObserver)
    except (ImportError, AttributeError):
        pass
    return _Known(minmax, affine, tuple(as_they_are), _bases())


class NotWeightless(Exception):
    """This case cannot run weightless: the caller runs the normal path."""


def fake_mode() -> FakeTensorMode:
    # allow_non_fake_inputs: real tensors (inputs, real qparams) meet fake ones as constants.
    # The ShapeEnv lets data-dependent output shapes (nonzero, unique) become unbacked symbols at
    # calibration instead of raising; static_shapes keeps the inputs' own sizes concrete.
    return FakeTensorMode(allow_non_fake_inputs=True, shape_env=ShapeEnv(), static_shapes=True)


def _to_fake(mode: FakeTensorMode, value: Any) -> Any:
    if isinstance(value, torch.Tensor) and not isinstance(value, FakeTensor):
        return mode.from_tensor(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_fake(mode, v) for v in value)
    if isinstance(value, dict):
        return {k: _to_fake(mode, v) for k, v in value.items()}
    return value


def fake_example(mode: FakeTensorMode, example: Example) -> Example:
    """The calibration inputs as FakeTensors: calibrating fake weights on real inputs would run
    every op for real on the real side."""
    return Example(_to_fake(mode, example.args), _to_fake(mode, example.kwargs))


def _seen(forward: Any) -> Any:
    def observe(self: Any, x: Any) -> Any:
        object.__setattr__(self, "_weightless_seen", True)
        forward(self, x)
        return x  # an observer returns its input

    return observe


def _minmax_qparams(self: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not getattr(self, "_weightless_seen", False):
        # Never observed: the real buffers back, and the class's own default (and warning).
        for name, buffer in self._weightless_real.items():
            setattr(self, name, buffer)
        return type(self).calculate_qparams(self)  # type: ignore[no-any-return]
    # The fake buffers got their shape from the pass (per-channel ones are resized), no values.
    shape, dtype = tuple(self.min_val.shape), self.min_val.dtype
    low, high = torch.full(shape, -1.0, dtype=dtype), torch.full(shape, 1.0, dtype=dtype)
    return self._calculate_qparams(low, high)  # type: ignore[no-any-return]


def _affine_qparams(self: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not getattr(self, "_weightless_seen", False):
        return type(self).calculate_qparams(self)  # type: ignore[no-any-return]
    fake = self.min_val, self.max_val
    self.min_val = torch.full(tuple(fake[0].shape), -1.0, dtype=fake[0].dtype)
    self.max_val = torch.full(tuple(fake[1].shape), 1.0, dtype=fake[1].dtype)
    try:
        return type(self).calculate_qparams(self)  # type: ignore[no-any-return]
    finally:
        self.min_val, self.max_val = fake


def _fake_buffers(observer: Any, mode: FakeTensorMode) -> None:
    # Fake min/max buffers: the pass's resize_/copy_ act on fakes, also inside while_loop/cond
    # bodies, which run under the mode itself and refuse to mutate a real buffer there.
    real = {name: getattr(observer, name) for name in ("min_val", "max_val")}
    for name, buffer in real.items():
        setattr(observer, name, mode.from_tensor(buffer.clone()))
    object.__setattr__(observer, "_weightless_real", real)


def _is_observer(module: torch.nn.Module, bases: tuple[type, ...]) -> bool:
    # By name too: an observer of a flow whose base classes are not importable here.
    name = type(module).__name__
    return isinstance(module, bases) or "Observer" in name or "FakeQuant" in name


def patch_observers(prepared: torch.nn.Module, mode: FakeTensorMode) -> int:
    """Make every observer of `prepared` run on FakeTensors (how many); NotWeightless for one
    whose code is not known to be fake-safe."""
    known = _known()
    count = 0
    for name, module in prepared.named_modules():
        kind = type(module)
        if kind in known.minmax:
            object.__setattr__(module, "forward", types.MethodType(_seen(known.minmax[kind]), module))
            object.__setattr__(module, "calculate_qparams", types.MethodType(_minmax_qparams, module))
            _fake_buffers(module, mode)
        elif kind in known.affine:
            object.__setattr__(module, "forward", types.MethodType(_seen(kind.forward), module))
            object.__setattr__(module, "calculate_qparams", types.MethodType(_affine_qparams, module))
        elif kind not in known.as_they_are:
            if _is_observer(module, known.bases):
                raise NotWeightless(f"observer {name} is a {kind.__module__}.{kind.__qualname__}, "
                                    "not known to run on fake tensors")
            continue
        count += 1
    return count


def check_converted(converted: torch.fx.GraphModule) -> None:
    """Every literal qparam in the graph must be real: a fake one means an observer leaked it."""
    for module in converted.modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        for node in module.graph.nodes:
            for value in (*node.args, *node.kwargs.values()):
                if isinstance(value, FakeTensor):
                    raise NotWeightless(f"node {node.name} has a fake tensor argument")
