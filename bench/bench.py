"""dqguard's benchmark: `.venv/bin/python bench/bench.py [--repeat N] [--only SECTION ...]`.

Builds a synthetic repository in a temporary directory (bench/repo's models and quantizers: the
four seed scenarios and a deep network), then measures, in this one run and on this machine:

  startup   what a Python process pays to import torch and torchao, and a worker's time to ready
  seed      `dqguard scan` on the four seed cases against the same work as one plain script (the
            floor) and as a hand-written pytest file (what a project would otherwise keep)
  parallel  `-j 2` against `-j 1` on 12 cases whose pipeline takes seconds each
  memory    peak resident memory of the dqguard process and of its workers over 25 and 100 cases

Every command runs as a user would run it, in a fresh process. Times are the best wall-clock time
of --repeat runs taken in turns (other jobs on a shared machine only ever add time), CPU times
the median.
A section is a function from a Context to Rows, registered in SECTIONS.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import measure
import synthetic

TARGET_VS_PLAIN = 1.10
TARGET_VS_PYTEST = 0.80
TARGET_PARALLEL = 1.6
TARGET_FLAT = 1.10


class Row(NamedTuple):
    label: str
    value: str
    target: str = ""
    met: bool | None = None  # None: for information, no target


class Context(NamedTuple):
    root: Path
    python: str
    scan: tuple[str, ...]  # the dqguard command and subcommand, with --no-cache where it exists
    repeat: int


Section = Callable[[Context], list[Row]]


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def _ratio(label: str, value: float, target: float, at_most: bool) -> Row:
    met = value <= target if at_most else value >= target
    return Row(label, f"{value:.2f}x", f"{'<=' if at_most else '>='} {target:.2f}x", met)


def startup(context: Context) -> list[Row]:
    imports = "import torch, torchao.quantization.pt2e.quantize_pt2e"
    commands = {
        "import": [context.python, "-c", f"{imports}, os; os._exit(0)"],
        "import and exit": [context.python, "-c", imports],
    }
    times = {name: measure.best(runs) for name, runs in
             measure.interleaved(commands, context.root, context.repeat).items()}
    ready = []
    for _ in range(context.repeat):
        start = time.perf_counter()
        worker = subprocess.Popen([context.python, "-m", "dqguard.worker"], cwd=context.root,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert worker.stdout is not None and worker.stdin is not None
        assert "ready" in json.loads(worker.stdout.readline())
        ready.append(time.perf_counter() - start)
        worker.kill()  # as the pool retires a worker
        worker.wait()
    return [
        Row("import torch + torchao in a bare interpreter", _seconds(times["import"])),
        Row("the interpreter's exit after that (a script pays it; workers are killed)",
            _seconds(times["import and exit"] - times["import"])),
        Row("a dqguard worker's start until ready", _seconds(min(ready))),
    ]


def seed(context: Context) -> list[Row]:
    scan = [*context.scan, "--manifest", "seed.toml"]
    runs = measure.interleaved({
        "plain": [context.python, "check_plain.py", "seed.toml"],
        "pytest": [context.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_seed_dq.py"],
        "scan": scan,
        "scan -j 1": [*scan, "-j", "1"],
        "scan --exact-qparams": [*scan, "--exact-qparams"],
    }, context.root, context.repeat)
    times = {name: measure.best(result) for name, result in runs.items()}
    cpu = {name: measure.median_cpu(result) for name, result in runs.items()}
    verdicts = {name: {result.code for result in result_runs} for name, result_runs in runs.items()}

    def both(name: str) -> str:
        return f"{_seconds(times[name])} (CPU {_seconds(cpu[name])})"

    return [
        Row("plain script, one process (the floor)", both("plain")),
        Row("pytest file, one test per case", both("pytest")),
        Row("dqguard scan (default -j)", both("scan")),
        Row("dqguard scan -j 1", both("scan -j 1")),
        Row("dqguard scan --exact-qparams (the pytest file's qparams work)", both("scan --exact-qparams")),
        Row("exit codes (0: clean) of plain, pytest, scan",
            ", ".join(str(sorted(verdicts[name])) for name in ("plain", "pytest", "scan"))),
        _ratio("dqguard scan / plain script", times["scan"] / times["plain"], TARGET_VS_PLAIN, True),
        _ratio("dqguard scan / pytest file", times["scan"] / times["pytest"], TARGET_VS_PYTEST, True),
        Row("dqguard scan -j 1 / plain script", f"{times['scan -j 1'] / times['plain']:.2f}x"),
        Row("CPU time: dqguard scan / plain script (a second worker imports torch too)",
            f"{cpu['scan'] / cpu['plain']:.2f}x"),
        Row("CPU time: dqguard scan -j 1 / plain script", f"{cpu['scan -j 1'] / cpu['plain']:.2f}x"),
    ]


def parallel(context: Context) -> list[Row]:
    scan = [*context.scan, "--manifest", "heavy.toml", "--format", "json"]
    # -j 2 gives each worker one intra-op thread; -j 1 keeps torch's default of one per core
    # unless told otherwise. The speed-up of processes alone is measured against the same thread
    # count, the default -j 1 is shown beside it.
    runs = measure.interleaved({
        "-j 1": [*scan, "-j", "1"],
        "-j 1, 1 thread": ["env", "OMP_NUM_THREADS=1", *scan, "-j", "1"],
        "-j 2": [*scan, "-j", "2"],
    }, context.root, context.repeat)
    times = {name: measure.best(result) for name, result in runs.items()}
    durations = [case["duration_s"]
                 for run in runs["-j 1, 1 thread"] for case in json.loads(run.stdout)["cases"]]
    return [
        Row("cases", str(len(json.loads(runs["-j 2"][0].stdout)["cases"]))),
        Row("one case's pipeline in a worker, -j 1 (min / median)",
            f"{min(durations):.2f} s / {statistics.median(durations):.2f} s", ">= 2.00 s",
            min(durations) >= 2.0),
        Row("dqguard scan -j 1 (torch's default threads)", _seconds(times["-j 1"])),
        Row("dqguard scan -j 1, OMP_NUM_THREADS=1 (what each -j 2 worker gets)",
            _seconds(times["-j 1, 1 thread"])),
        Row("dqguard scan -j 2", _seconds(times["-j 2"])),
        _ratio("speed-up of -j 2 over -j 1, same threads per worker",
               times["-j 1, 1 thread"] / times["-j 2"], TARGET_PARALLEL, False),
        Row("speed-up of -j 2 over the default -j 1", f"{times['-j 1'] / times['-j 2']:.2f}x"),
    ]


def memory(context: Context) -> list[Row]:
    rows = []
    peaks = {}
    for count in (25, 100):
        result = measure.sampled([*context.scan, "--manifest", f"many-{count}.toml"], context.root)
        worker_peak = max(result.worker_peaks.values())
        peaks[count] = (result.parent_peak, worker_peak)
        rows += [
            Row(f"{count} cases: wall time, workers started",
                f"{_seconds(result.seconds)}, {len(result.worker_peaks)}"),
            Row(f"{count} cases: peak RSS of the dqguard process", _mib(result.parent_peak)),
            Row(f"{count} cases: peak RSS of a worker (highest / median)",
                f"{_mib(worker_peak)} / {_mib(statistics.median(result.worker_peaks.values()))}"),
        ]
    return [
        *rows,
        _ratio("dqguard process peak, 100 vs 25 cases", peaks[100][0] / peaks[25][0], TARGET_FLAT, True),
        _ratio("worker peak, 100 vs 25 cases", peaks[100][1] / peaks[25][1], TARGET_FLAT, True),
    ]


# Later sections (a no-op scan answered from the cache, the incremental speed-up after editing one
# model file, real models) are functions of the same shape with an entry here.
SECTIONS: dict[str, Section] = {
    "startup": startup,
    "seed": seed,
    "parallel": parallel,
    "memory": memory,
}


def _scan_command(python: str) -> tuple[str, ...]:
    command = (python, "-m", "dqguard", "scan")
    usage = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True).stdout
    # A cached verdict would measure the cache, not the pipeline.
    return (*command, "--no-cache") if "--no-cache" in usage else command


def _versions() -> str:
    found = []
    for package in ("torch", "torchao", "dqguard"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} missing")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def _print_rows(rows: list[Row]) -> None:
    for row in rows:
        verdict = "" if row.met is None else ("  met" if row.met else "  MISSED")
        target = f"  (target {row.target}){verdict}" if row.target else ""
        print(f"  {row.label:<76} {row.value}{target}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timed command (median)")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    options = parser.parse_args()

    print(f"dqguard benchmark on {measure.machine()}")
    print(f"{_versions()}; load average at start {measure.load()}", flush=True)
    # Other jobs on the machine (a shared CI host) skew every wall time, -j 2 above all.
    print(f"CPUs free of other work at start: {measure.free_cpus(sys.executable):.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dqguard-bench-") as scratch:
        root = synthetic.build(options.keep or Path(scratch))
        context = Context(root, sys.executable, _scan_command(sys.executable), options.repeat)
        print(f"command: {' '.join(Path(part).name if os.sep in part else part for part in context.scan)}")
        missed = []
        for name in options.only or SECTIONS:
            print(f"\n[{name}]", flush=True)
            rows = SECTIONS[name](context)
            _print_rows(rows)
            missed += [f"{name}: {row.label}" for row in rows if row.met is False]
    print(f"\nload average at end {measure.load()}; "
          f"CPUs free of other work at end: {measure.free_cpus(sys.executable):.1f}")
    print("all targets met" if not missed else "targets missed:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
