"""dqguard's own worker, watched: `python -m testing.observed` for the differential tests.

It is `dqguard.worker` unchanged, except that every case also writes, into the directory named
by `DQGUARD_TEST_GRAPHS`, what the result record does not carry: the signature of the graph the
check saw (`testing.signature`) and how many observers structural mode swapped or weightless mode
patched. With `DQGUARD_TEST_INJECT=weightless` it also changes every graph weightless mode
converts, by one node, as a bug in that mode would: the differential must see it. The callees
still run as they do in a scan; the harness (`testing.structure`) drives it through dqguard's
own runner, so timeouts, crashes and memory limits are the product's.

The watch replaces module attributes by name, so a rename in the product would leave it watching
nothing: `_wrap` refuses a name the module lacks, and `testing.structure.compare_modes` fails when
a case that got a verdict from its check left no signature here.
"""

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dqguard.manifest.case import Case
from dqguard.records import CaseResult
from dqguard.worker import pipeline, staging
from dqguard.worker import serve as worker
from testing.signature import signature

OUTPUT = "DQGUARD_TEST_GRAPHS"
INJECT = "DQGUARD_TEST_INJECT"


def _inject(graph_module: Any) -> None:
    """A clone of the output's first input before the output: one more node, one more user."""
    graph = graph_module.graph
    output = next(node for node in graph.nodes if node.op == "output")
    first = next(iter(output.all_input_nodes))
    with graph.inserting_before(output):
        graph.call_method("clone", (first,))


def graph_file(directory: Path, case: str) -> Path:
    return directory / (hashlib.sha256(case.encode()).hexdigest()[:24] + ".json")


def _wrap(module: Any, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(module, name, None)
    if not callable(original):
        raise AssertionError(f"testing.observed: {module.__name__}.{name} is gone; watch what replaced it")
    setattr(module, name, wrapper(original))


def _observe() -> None:
    directory = Path(os.environ[OUTPUT])
    seen: dict[str, Any] = {}
    inject = os.environ.get(INJECT) == "weightless"

    def observed_run(run: Callable[..., CaseResult]) -> Callable[..., CaseResult]:
        def watched(case: Case, *args: Any, **kwargs: Any) -> CaseResult:
            seen.clear()
            result = run(case, *args, **kwargs)
            graph_file(directory, case.name).write_text(json.dumps(
                {"signature": seen.get("signature"), "swapped": seen.get("swapped", 0),
                 "patched": seen.get("patched", 0)}))
            return result
        return watched

    def observed_check(check: Callable[..., Any]) -> Callable[..., Any]:
        def watched(graph_module: Any, *args: Any) -> Any:
            if inject and seen.get("patched"):
                _inject(graph_module)
            seen["signature"] = signature(graph_module)
            return check(graph_module, *args)
        return watched

    def counted(key: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
        def wrapper(patch: Callable[..., int]) -> Callable[..., int]:
            def watched(*args: Any) -> int:
                seen[key] = int(patch(*args))
                return int(seen[key])
            return watched
        return wrapper

    _wrap(pipeline, "run", observed_run)
    _wrap(staging, "check", observed_check)
    _wrap(pipeline, "use_minmax_qparams", counted("swapped"))
    _wrap(pipeline, "patch_observers", counted("patched"))


if __name__ == "__main__":
    _observe()
    worker.main()
