"""What a worker does once, before it forks any job, so that every job's process starts with it done.

- torch, torchao and dqguard's pipeline, and what torch imports lazily on a first export, prepare
  and convert (about 400 modules, half a second a case);
- the installed libraries every case of the scan imports (`dqguard.run.preimport`);
- the installed distributions' index (`dqguard.run.dependencies`) and, for every module imported
  so far, whether it is the user's (`dqguard.locate`): each job then resolves only the files it
  imports itself.

Each is only a head start: a job's process would do all of it itself and reach the same verdict,
so a module a torch release lacks is skipped.
"""

import contextlib
import importlib
import os
import sys
from pathlib import Path

from dqguard import locate
from dqguard.run import dependencies, preimport
from dqguard.worker import flows

_LAZY = ("torch._dynamo", "torch.export", "torch._functorch.aot_autograd", "torch._functorch.partitioners",
         "torch._inductor.decomposition", "torch._export.passes.replace_quantized_ops_with_standard_ops_pass")


def up(named: list[list[str]]) -> dict[str, list[Path]]:
    """Warm this process for its forks; `named` is the modules each case names. Returns the
    distribution index each job's dependency recorder reads."""
    importlib.import_module("dqguard.worker.pipeline")
    for name in (*_LAZY, *flows.MODULES):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    preimport.run(named)
    index = dependencies.distribution_index()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.isabs(file):
            locate.is_user_file(file)  # cached: the forks inherit the answer
    return index
