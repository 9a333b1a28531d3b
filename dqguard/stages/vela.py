"""Vela's own figures for an Ethos-U lowering: what it printed, captured and parsed. No torch here.

ExecuTorch's Ethos-U backend runs Vela in-process, once per delegate, inside the partitioner's
preprocess. Vela prints a "Network summary" per delegate to the sys.stdout it found when it was
imported, and its C++ compiler (Regor) writes to file descriptor 1 directly; neither keeps another
record (the summary CSV Vela can write is overwritten by each delegate). So `captured` points fd 1
at a file for the call and `summaries` reads the blocks. A worker's fd 1 is already its stderr
(dqguard.worker.serve keeps the protocol on a private copy), so nothing is lost: the captured text
is written on to fd 2 afterwards.

Vela reads its flags with argparse: a bad one prints the usage to sys.stderr and raises
SystemExit. `captured` also holds Python's sys.stderr, so the stage can say which flag. It leaves
fd 2 alone: faulthandler writes a crash's stack there.

Here, not in dqguard.check: these are one backend's figures about its own compile, read where the
stage runs it; no rule decides on them.
"""

import contextlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import NamedTuple

_BLOCK = re.compile(r"(?=^Network summary for )", re.M)
_ACCELERATOR = re.compile(r"^Accelerator configuration\s+(\S+)", re.M)
_CPU_OPS = re.compile(r"^CPU operators = (\d+) \(([\d.]+)%\)", re.M)
_NPU_OPS = re.compile(r"^NPU operators = (\d+) \(([\d.]+)%\)", re.M)
_MACS = re.compile(r"^Neural network macs\s+(\d+) MACs/batch", re.M)
_SRAM_KIB = re.compile(r"^Total SRAM used\s+([\d.]+) KiB", re.M)


class Summary(NamedTuple):
    """One delegate's Vela summary; None where the block lacks the line."""

    accelerator: str | None
    cpu_ops: int | None
    npu_ops: int | None
    macs: int | None
    sram_kib: float | None


def _first(pattern: re.Pattern[str], block: str) -> str | None:
    found = pattern.search(block)
    return found.group(1) if found else None


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def summaries(text: str) -> list[Summary]:
    """Every "Network summary" block in `text`, in the order Vela printed them."""
    found = []
    for block in _BLOCK.split(text):
        if not block.startswith("Network summary for "):
            continue
        sram = _first(_SRAM_KIB, block)
        found.append(Summary(_first(_ACCELERATOR, block), _int(_first(_CPU_OPS, block)),
                             _int(_first(_NPU_OPS, block)), _int(_first(_MACS, block)),
                             None if sram is None else float(sram)))
    return found


def error(stderr: str) -> str | None:
    """argparse's one-line complaint (`vela: error: ...`), if Vela printed one."""
    lines = [line for line in stderr.splitlines() if ": error: " in line]
    return lines[-1].strip() if lines else None


def _write_stderr(text: str) -> None:
    data = text.encode()
    while data:
        data = data[os.write(2, data):]


class Captured:
    """What was printed during a `captured` block; filled in when the block ends."""

    def __init__(self) -> None:
        self.stdout = ""
        self.stderr = ""


@contextlib.contextmanager
def captured() -> Iterator[Captured]:
    """Hold file descriptor 1 and sys.stderr for the block, then write both on to fd 2."""
    output = Captured()
    sys.stdout.flush()
    saved = os.dup(1)
    errors = io.StringIO()
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 1)
            try:
                with contextlib.redirect_stderr(errors):
                    yield output
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
                held.seek(0)
                output.stdout = held.read().decode(errors="replace")
                output.stderr = errors.getvalue()
                _write_stderr(output.stdout + output.stderr)
    finally:
        os.close(saved)
