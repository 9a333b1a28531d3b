"""The processes a scan runs, as the parent sees them from outside: how much memory they hold, how
they are killed, why they ended and where a stack dump says they were. No torch here.
"""

import contextlib
import os
import re
import signal
import sys
from pathlib import Path

from dqguard.locate import user_frame

MEMORY_LIMITS = os.path.isdir("/proc/self")  # memory limits read /proc: Linux
# A worker forks a process per job only where that is safe for a process that imported torch but
# never ran an op (dqguard.worker.serve): not on macOS, whose system libraries are not fork-safe.
FORK = sys.platform == "linux"

# What faulthandler prints before a thread's frames (innermost first) and after all of them.
_DUMP_HEADER = re.compile(r"^.*\(most recent call first\):$", re.MULTILINE)
_DUMP_MODULES = re.compile(r"^Extension modules: .*$\n?", re.MULTILINE)


def rss(pid: int) -> int:
    """Resident memory of a process in bytes; 0 once it is gone, or where /proc does not exist."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # not yet its own group leader


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _dump_site(text: str, root: Path) -> tuple[str, int] | None:
    """The innermost frame of the user's code in a faulthandler dump, if any."""
    for header in _DUMP_HEADER.finditer(text):
        frames = text[header.end():].strip("\n").split("\n\n")[0].splitlines()
        # user_frame reads tracebacks, which list the innermost frame last.
        site = user_frame("\n".join(reversed(frames)), root)
        if site is not None:
            return site
    return None


def where(stderr: str, root: Path) -> tuple[str, str | None]:
    """` (at file:line)` in the user's code from a case's stack dump, and the stderr to show."""
    site = _dump_site(stderr, root)
    detail = _DUMP_MODULES.sub("", stderr).strip() or None
    return (f" (at {site[0]}:{site[1]})" if site else ""), detail


def crash_message(code: int, phase: str, site: str, detail: str | None) -> str:
    message = f"worker {exit_reason(code)} during {phase}{site}"
    if code == -signal.SIGKILL:
        message += " (the kernel's out-of-memory killer sends SIGKILL)"
    if not site and detail:
        message += f"; stderr ends: {detail.splitlines()[-1][:200]}"
    return message


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_env(workers: int) -> dict[str, str]:
    """The environment workers start with: the user's, with the CPUs shared out among them.

    torch gives each process one intra-op thread per core; several workers each running that
    many threads oversubscribe the machine, and OpenMP threads that spin while they wait take
    CPU from the other workers. A thread count the user set is kept. Nothing of dqguard's own
    travels here: the worker's options are the protocol's `Setup` (dqguard.run.protocol).
    """
    env = dict(os.environ)
    if workers > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, available_cpus() // workers))
    return env
