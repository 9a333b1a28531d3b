"""What each built-in lowering needs installed: dqguard's extras, and the one way a stage imports them.

A backend that is missing (or half there: ExecuTorch without Vela) fails at the stage's first import
with a ModuleNotFoundError whose message names the extra to install; the stage loop turns it into
the case's DQG900, naming the stage. The pins are those the stages are tested with; pyproject's
`[project.optional-dependencies]` lists the same (tests/test_extras.py keeps them equal).
No torch here.
"""

import importlib
from typing import Any, NamedTuple

EXECUTORCH = "executorch==1.5.1"


class Extra(NamedTuple):
    what: str
    requires: tuple[str, ...]


EXTRAS = {
    "executorch": Extra("ExecuTorch", (EXECUTORCH,)),
    "arm": Extra("the Arm backend", (EXECUTORCH, "tosa-tools==2026.8.0", "ethos-u-vela==5.2.0")),
    "coreml": Extra("the Core ML backend", (EXECUTORCH, "coremltools==9.0")),
    "openvino": Extra("the OpenVINO backend", (EXECUTORCH, "nncf==3.4.0", "openvino==2026.4.1")),
    # ExecuTorch's wheel carries the Vulkan partitioner; lowering needs no GPU.
    "vulkan": Extra("the Vulkan backend", (EXECUTORCH,)),
}


def install(extra: str) -> str:
    wanted = EXTRAS[extra]
    return f"install {wanted.what}: pip install 'dqguard[{extra}]' ({', '.join(wanted.requires)})"


def load(extra: str, *modules: str) -> list[Any]:
    """Import `modules`, all of which `extra` installs."""
    try:
        return [importlib.import_module(module) for module in modules]
    except ImportError as exc:
        kind = ModuleNotFoundError if isinstance(exc, ModuleNotFoundError) else ImportError
        # No `name`: the message already says what to install, and the stage loop adds its own
        # ExecuTorch hint to an error that names the executorch package.
        raise kind(f"{exc}: {install(extra)}") from exc
