"""dqguard's own worker, watched: `python -m testing.observed` for the differential tests.

It is `dqguard.worker` unchanged, except that every case also writes, into the directory named
by `DQGUARD_TEST_GRAPHS`, what the result record does not carry: the signature of the graph the
check saw (`testing.signature`) and how many observers structural mode swapped. Both callees
still run as they do in a scan; the harness (`testing.structure`) drives it through dqguard's
own runner, so timeouts, crashes and memory limits are the product's.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dqguard import pipeline, worker
from dqguard.manifest import Case
from dqguard.records import CaseResult
from testing.signature import signature

OUTPUT = "DQGUARD_TEST_GRAPHS"


def graph_file(directory: Path, case: str) -> Path:
    return directory / (hashlib.sha256(case.encode()).hexdigest()[:24] + ".json")


def _observe() -> None:
    directory = Path(os.environ[OUTPUT])
    seen: dict[str, Any] = {}
    run, check, swap = pipeline.run, pipeline.check, pipeline.use_minmax_qparams

    def observed_run(case: Case, *args: Any, **kwargs: Any) -> CaseResult:
        seen.clear()
        result = run(case, *args, **kwargs)
        graph_file(directory, case.name).write_text(json.dumps(
            {"signature": seen.get("signature"), "swapped": seen.get("swapped", 0)}))
        return result

    def observed_check(graph_module: Any, *args: Any) -> Any:
        seen["signature"] = signature(graph_module)
        return check(graph_module, *args)

    def observed_swap(prepared: Any) -> int:
        seen["swapped"] = swap(prepared)
        return int(seen["swapped"])

    pipeline.run = observed_run  # type: ignore[assignment]
    pipeline.check = observed_check  # type: ignore[assignment]
    pipeline.use_minmax_qparams = observed_swap


if __name__ == "__main__":
    _observe()
    worker.main()
