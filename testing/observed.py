"""dqguard's own worker, watched: `python -m testing.observed` for the differential tests.

It is `dqguard.worker` unchanged, except that every case also writes, into the directory named
by `DQGUARD_TEST_GRAPHS`, what the result record does not carry: the signature of the graph the
check saw (`testing.signature`) and how many observers structural mode swapped or weightless mode
patched. With `DQGUARD_TEST_INJECT=weightless` it also changes every graph weightless mode
converts, by one node, as a bug in that mode would: the differential must see it. The callees
still run as they do in a scan; the harness (`testing.structure`) drives it through dqguard's
own runner, so timeouts, crashes and memory limits are the product's.
"""

import hashlib
import json
import os
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


def _observe() -> None:
    directory = Path(os.environ[OUTPUT])
    seen: dict[str, Any] = {}
    run, check = pipeline.run, staging.check
    swap, patch = pipeline.use_minmax_qparams, pipeline.patch_observers
    inject = os.environ.get(INJECT) == "weightless"

    def observed_run(case: Case, *args: Any, **kwargs: Any) -> CaseResult:
        seen.clear()
        result = run(case, *args, **kwargs)
        graph_file(directory, case.name).write_text(json.dumps(
            {"signature": seen.get("signature"), "swapped": seen.get("swapped", 0),
             "patched": seen.get("patched", 0)}))
        return result

    def observed_check(graph_module: Any, *args: Any) -> Any:
        if inject and seen.get("patched"):
            _inject(graph_module)
        seen["signature"] = signature(graph_module)
        return check(graph_module, *args)

    def observed_patch(prepared: Any, mode: Any) -> int:
        seen["patched"] = patch(prepared, mode)
        return int(seen["patched"])

    def observed_swap(prepared: Any) -> int:
        seen["swapped"] = swap(prepared)
        return int(seen["swapped"])

    pipeline.run = observed_run  # type: ignore[assignment]
    staging.check = observed_check  # type: ignore[assignment]
    pipeline.use_minmax_qparams = observed_swap
    pipeline.patch_observers = observed_patch


if __name__ == "__main__":
    _observe()
    worker.main()
