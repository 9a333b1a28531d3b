"""The two PT2E implementations, and which one a quantizer belongs to.

- `torchao`: `torchao.quantization.pt2e`, the only flow from torch 2.13 on, for quantizers that
  derive from torchao's `Quantizer` (ExecuTorch's from 1.x, torchao's own, the x86 Inductor one).
- `torch.ao`: the legacy `torch.ao.quantization.quantize_pt2e` (torch up to 2.12), for quantizers
  that derive from `torch.ao.quantization.quantizer.Quantizer` (ExecuTorch 0.x and 1.0-era ones,
  torch's own XNNPACK and x86 quantizers).

The two `Quantizer` bases are unrelated classes, and the flows must not mix: torchao's prepare
rejects a torch.ao quantizer or, with some releases, converts it to a float graph silently. So the
flow is read from the quantizer's own class hierarchy, by module and name, which needs neither
package to be importable; the manifest's `flow` key overrides it.
"""

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

from dqguard import lines

# Where each flow's Quantizer base class is defined, and where its functions live.
_BASES = {
    ("torchao.quantization.pt2e.quantizer.quantizer", "Quantizer"): "torchao",
    ("torch.ao.quantization.quantizer.quantizer", "Quantizer"): "torch.ao",
}
_QUANTIZER_MODULES = {"torchao": "torchao.quantization.pt2e.quantizer",
                      "torch.ao": "torch.ao.quantization.quantizer"}
_FUNCTIONS = {"torchao": ("torchao.quantization.pt2e.quantize_pt2e", "torchao.quantization.pt2e"),
              "torch.ao": ("torch.ao.quantization.quantize_pt2e", "torch.ao.quantization")}
_TORCH_AO = "a torch that still ships torch.ao.quantization.quantize_pt2e (2.12 or older; 2.9 is tested)"
NAMES = lines.FLOWS
# Every module a flow loads: a worker imports those it can once, before forking any case.
MODULES = (*_QUANTIZER_MODULES.values(), *(module for pair in _FUNCTIONS.values() for module in pair))


class Flow(NamedTuple):
    name: str
    prepare: Callable[..., Any]
    prepare_qat: Callable[..., Any]
    convert: Callable[..., Any]
    move_to_eval: Callable[..., Any]


def _install(name: str) -> str:
    # A torchao that does not pair with the installed torch fails to import in its own words
    # (`cannot import name 'ScalingType'`): name the release that does.
    return lines.pairing(lines.installed()) if name == "torchao" else _TORCH_AO


def quantizer_bases() -> tuple[type, ...]:
    """The Quantizer base classes this environment can import: one flow's, or both."""
    bases = []
    for module in _QUANTIZER_MODULES.values():
        try:
            bases.append(importlib.import_module(module).Quantizer)
        except ImportError:
            continue
    if not bases:
        raise ImportError(f"no PT2E flow is installed: install {_install('torchao')}")
    return tuple(bases)


def flow_of(quantizer: object) -> str | None:
    for cls in type(quantizer).__mro__:
        name = _BASES.get((cls.__module__, cls.__qualname__))
        if name is not None:
            return name
    return None


def load(name: str) -> Flow:
    functions, package = _FUNCTIONS[name]
    try:
        pt2e = importlib.import_module(functions)
        eval_module = importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(f"the {name} flow needs {_install(name)} ({exc})") from exc
    return Flow(name, pt2e.prepare_pt2e, pt2e.prepare_qat_pt2e, pt2e.convert_pt2e,
                eval_module.move_exported_model_to_eval)


def choose(quantizer: object, override: str | None) -> Flow:
    """The quantizer's own flow, or the manifest's `flow`."""
    name = override or flow_of(quantizer)
    if name is None:
        raise TypeError(f"{type(quantizer).__name__} derives from neither torchao's nor torch.ao's "
                        "Quantizer: set `flow` in the manifest")
    return load(name)


def compiled_by_inductor(quantizer: object) -> bool:
    """Whether the quantizer is made for Inductor (torchao's and torch.ao's X86InductorQuantizer,
    XPUInductorQuantizer, ...): its graphs are compiled by `torch.compile`, not lowered, and
    Inductor's own passes decide what a shared dequantize costs (`dqguard.check.sharing`). Read
    by class name along its hierarchy, as the flow is, so a user's subclass counts."""
    return any(cls.__name__.endswith("InductorQuantizer") for cls in type(quantizer).__mro__)
