"""A worker process: imports torch once, then runs the cases the parent sends, one at a time.

Protocol: one JSON request a line on stdin ({"case": {...}, "root": ..., "manifest": ...,
"exact_qparams": ...}), one JSON line back ({"result": {...}}) on a private copy of the original
stdout. File descriptor 1 is pointed at stderr before any user code runs, so a model that prints
cannot corrupt the protocol. The parent starts workers as fresh interpreters (`python -m
dqguard.worker`), never by fork, and replaces them after a crash, a timeout, or a number of cases.

faulthandler writes the Python stack to stderr when the worker crashes, and on SIGUSR1, which
the parent sends a case that timed out before killing it: that is how both reports say where.
"""

import faulthandler
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1)
    from dqguard import pipeline  # imports torch: the expensive part, paid once per worker
    from dqguard.manifest import Case
    from dqguard.records import case_to_json

    def send(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    send({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        case = Case(**{**request["case"], "ignore": tuple(request["case"]["ignore"])})
        result = pipeline.run(case, Path(request["root"]), request["manifest"],
                              request["exact_qparams"], lambda phase: send({"phase": phase}))
        send({"result": case_to_json(result)})


if __name__ == "__main__":
    main()
