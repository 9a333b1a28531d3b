"""The one way a built-in lowering imports its backend.

A backend that is missing (or half there: ExecuTorch without Vela) fails at the stage's first import
with a ModuleNotFoundError whose message names the extra to install (`dqguard.lines.EXTRAS`, the
pins the stages are tested with); the stage loop turns it into the case's DQG900, naming the stage.
No torch here.
"""

import importlib
from typing import Any

from dqguard.lines import install


def load(extra: str, *modules: str) -> list[Any]:
    """Import `modules`, all of which `extra` installs."""
    try:
        return [importlib.import_module(module) for module in modules]
    except ImportError as exc:
        kind = ModuleNotFoundError if isinstance(exc, ModuleNotFoundError) else ImportError
        # No `name`: the message already says what to install, and the stage loop adds its own
        # ExecuTorch hint to an error that names the executorch package.
        raise kind(f"{exc}: {install(extra)}") from exc
