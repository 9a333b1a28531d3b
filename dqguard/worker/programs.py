"""What a stage is handed and what it returns: the calling convention of `stages`, and the graph
every kind of program holds. Worker side.

A stage is a `module:attr` reference to a callable (a class is instantiated with no arguments, as
a torch.fx pass is) applied to the previous stage's program: convert's GraphModule, an
ExportedProgram, or an ExecuTorch EdgeProgramManager. One whose signature takes two positional
arguments is called as `stage(program, example_inputs)`, with the case's inputs as an
`(args, kwargs)` pair; else `stage(program)`. It returns the next program; a pass that works in
place may return None (the same program goes on) or a torch.fx `PassResult`.
"""

import inspect
from typing import Any, NamedTuple

import torch

from dqguard.lines import install
from dqguard.worker import references
from dqguard.worker.examples import Example

INSTALL = install("executorch")


def needs_executorch(exc: BaseException) -> str | None:
    """What to install when a stage finds ExecuTorch missing (a Steps hint)."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "executorch":
        return INSTALL
    return None


class View(NamedTuple):
    """The graph of a program, and which of its placeholders hold weights."""

    module: torch.fx.GraphModule
    constants: frozenset[str]


def view(program: Any) -> View:
    if isinstance(program, torch.fx.GraphModule):
        return View(program, frozenset())
    exported = program
    if not isinstance(exported, torch.export.ExportedProgram) and hasattr(program, "exported_program"):
        exported = program.exported_program()  # an ExecuTorch EdgeProgramManager
    if not isinstance(exported, torch.export.ExportedProgram):
        raise TypeError(f"returned {type(program).__name__}; a stage returns a GraphModule, an "
                        "ExportedProgram or an ExecuTorch EdgeProgramManager")
    signature = exported.graph_signature
    constants = {*signature.inputs_to_parameters, *signature.inputs_to_buffers,
                 *signature.inputs_to_lifted_tensor_constants}
    return View(exported.graph_module, frozenset(constants))


def load(reference: str) -> Any:
    value = references.resolve(reference)
    if inspect.isclass(value):
        value = value()
    if not callable(value):
        raise TypeError(f"stage {reference!r} is {type(value).__name__}, not a callable")
    return value


def takes_inputs(stage: Any) -> bool:
    try:
        inspect.signature(stage).bind(None, None)
    except (TypeError, ValueError):
        return False
    return True


def apply(stage: Any, program: Any, example: Example) -> Any:
    result = stage(program, example) if takes_inputs(stage) else stage(program)
    if result is None:
        return program
    module = getattr(result, "graph_module", None)
    if isinstance(module, torch.fx.GraphModule) and hasattr(result, "modified"):
        return module  # a torch.fx PassResult
    return result
