"""Structural mode: skip qparam searches whose numbers the verdict never reads.

Whether a dequantize is shared depends only on the converted graph's structure, never on the
values of scales and zero points. On real models nearly all of `convert_pt2e`'s time is
HistogramObserver's non-linear search for the best clipping range (minutes for a MobileViT). In
structural mode that search is replaced, per observer instance, by the plain min/max computation
the observer's own base class provides, which keeps the dtype, quant range, qscheme, reduce_range
and everything else that can shape the graph exactly as the quantizer configured it. Observer
types, shared and derived specs, dynamic flags and channel axes are untouched: only the numbers
written into the graph change.

Only classes on the allow-list are touched, matched by exact type, so a subclass with its own
calculate_qparams (or an unknown observer) runs unchanged. `--exact-qparams` (or `exact_qparams =
true` in the manifest) turns the mode off and reproduces the quantizer's own numbers.

For the same reason one calibration pass is enough: observers only need to have seen data, and
how much they saw moves numbers, not nodes. The manifest's `calibration` key stays for models
whose forward takes a different path on later calls.

What "the same structure" means is `testing.signature`: tests/test_structural.py compares it
between the two modes on every scenario, bench/real_models.py on MobileViT, whose exact mode takes
minutes.
"""

import importlib
import types
from typing import Any

import torch

_ALLOW_LIST = ("torchao.quantization.pt2e.observer", "torch.ao.quantization.observer")


def _allow_list() -> tuple[type, ...]:
    """HistogramObserver of each flow that is installed (torch.ao's goes the way of its flow)."""
    classes = []
    for module in _ALLOW_LIST:
        try:
            classes.append(importlib.import_module(module).HistogramObserver)
        except (ImportError, AttributeError):
            continue
    return tuple(classes)


def _minmax_qparams(observer: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if observer.min_val == float("inf") and observer.max_val == float("-inf"):
        # Never observed: the original's own fallback is cheap and keeps its warning.
        return type(observer).calculate_qparams(observer)  # type: ignore[no-any-return]
    return observer._calculate_qparams(observer.min_val, observer.max_val)  # type: ignore[no-any-return]


def use_minmax_qparams(prepared: torch.nn.Module) -> int:
    """Make allow-listed observers in `prepared` compute qparams from min/max; returns how many."""
    allowed = _allow_list()
    count = 0
    for module in prepared.modules():
        if type(module) in allowed:
            # An instance attribute shadows the class's method for this observer alone.
            object.__setattr__(module, "calculate_qparams", types.MethodType(_minmax_qparams, module))
            count += 1
    return count
