"""Wall time and resident memory of commands, read from outside (subprocess, /proc)."""

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple


class Timed(NamedTuple):
    seconds: float
    code: int
    stdout: str
    stderr: str
    cpu: float = 0.0  # user + system seconds of the command and every process it waited for


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: Sequence[str], cwd: Path) -> Timed:
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    return Timed(seconds, done.returncode, done.stdout, done.stderr, _children_cpu() - cpu)


def interleaved(commands: dict[str, Sequence[str]], cwd: Path, repeat: int) -> dict[str, list[Timed]]:
    """Each command `repeat` times, taking turns, so a drift in machine load hits all of them alike."""
    runs: dict[str, list[Timed]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            run = timed(command, cwd)
            if run.code not in (0, 1):
                raise RuntimeError(f"{name} exited {run.code}:\n{run.stderr[-3000:]}")
            runs[name].append(run)
    return runs


def scan_case(case: str, cwd: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Seconds and JSON result of `dqguard scan --no-cache -j 1 --case CASE` in `cwd`, as a user runs it."""
    command = [sys.executable, "-m", "dqguard", "scan", "--no-cache", "-j", "1", "--format", "json",
               "--case", case]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"dqguard scan --case {case} exited {done.returncode}:\n{done.stderr[-3000:]}")
    [result] = json.loads(done.stdout)["cases"]
    return seconds, result


def median(runs: list[Timed]) -> float:
    return statistics.median(run.seconds for run in runs)


def median_cpu(runs: list[Timed]) -> float:
    return statistics.median(run.cpu for run in runs)


def best(runs: list[Timed]) -> float:
    """The least disturbed run: on a shared machine other jobs only ever add time."""
    return min(run.seconds for run in runs)


def _status(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "PPid"):
                    values[key] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return values


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


class Memory(NamedTuple):
    seconds: float
    code: int
    parent_peak: int  # bytes: the kernel's high-water mark of the dqguard process
    worker_peaks: dict[int, int]  # worker pid -> highest resident size seen


def sampled(command: Sequence[str], cwd: Path, interval: float = 0.05) -> Memory:
    """Run `command`, sampling its children's resident memory from /proc while it runs."""
    start = time.perf_counter()
    process = subprocess.Popen(list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parent_peak = 0
    workers: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal parent_peak
        while not stop.is_set():
            parent_peak = max(parent_peak, _status(process.pid).get("VmHWM", 0) * 1024)
            for child in _children(process.pid):
                rss = _status(child).get("VmRSS", 0) * 1024
                workers[child] = max(workers.get(child, 0), rss)
            stop.wait(interval)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{command} exited {process.returncode}:\n{stderr.decode()[-3000:]}")
    return Memory(time.perf_counter() - start, process.returncode, parent_peak, workers)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} CPUs ({usable} usable), {memory:.0f} GiB"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


_SPIN = "import time\nt = time.perf_counter()\nfor _ in range(3*10**7): pass\nprint(time.perf_counter() - t)"


def free_cpus(python: str) -> float:
    """How many CPUs other jobs leave free now: one spinning process's speed against one per CPU."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    def spin(count: int) -> float:
        spinners = [subprocess.Popen([python, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
                    for _ in range(count)]
        return max(float(spinner.communicate()[0]) for spinner in spinners)

    alone = min(spin(1) for _ in range(2))
    return usable * alone / spin(usable)
