"""The worker pool under pressure, through the real command line and real worker processes.

One case that hangs, aborts, segfaults or eats memory must cost only itself; every other case is
checked and reported in manifest order, whatever the number of workers. Each scan starts workers
that import torch (seconds each), so one scan feeds many tests.
"""

import json
import os
import pty
import random
import string
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from dqguard.commands.cases import memory_warning
from dqguard.commands.options import ScanOptions
from dqguard.commands.selection import in_shard
from dqguard.manifest import load as manifest
from dqguard.records import ScanResult
from dqguard.report import json as json_report
from dqguard.run import pool
from testing import RESOURCES, copy_repo, expected_line
from testing.selection import selected

MODELS = RESOURCES / "unruly" / "models.py"
UNRULY = ["hangs", "small", "aborts", "projections", "segfaults", "broken", "eats-memory", "small-again",
          "threads"]
# Every well-behaved case, and one crash so the serial run also replaces a dead worker.
SERIAL = ["small", "aborts", "projections", "broken", "small-again"]


class Run(NamedTuple):
    code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], cwd: Path, stderr_tty: bool = False, python: tuple[str, ...] = ()) -> Run:
    """`python -m dqguard ARGS`; with `stderr_tty`, standard error is a terminal, as at a shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    command = [sys.executable, *python, "-m", "dqguard", *args]
    if not stderr_tty:
        completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        return Run(completed.returncode, completed.stdout, completed.stderr)
    master, slave = pty.openpty()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    terminal: list[bytes] = []

    def drain() -> None:  # a full pty buffer would block the scan
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            terminal.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = process.communicate()
    reader.join()
    os.close(master)
    return Run(process.returncode, stdout, b"".join(terminal).decode(errors="replace"))


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {case["name"]: case for case in document["cases"]}


def only_finding(case: dict[str, Any]) -> dict[str, Any]:
    assert len(case["findings"]) == 1, case
    finding: dict[str, Any] = case["findings"][0]
    return finding


def comparable(case: dict[str, Any]) -> dict[str, Any]:
    """A case's verdict without what legitimately varies run to run: times and raw stderr."""
    findings = [{k: v for k, v in f.items() if k != "detail"} for f in case["findings"]]
    return {**{k: v for k, v in case.items() if k not in ("duration_s", "phases")}, "findings": findings}


@pytest.fixture(scope="module")
def parallel(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The whole unruly manifest on two workers, with the parent's imports traced."""
    repo = copy_repo("unruly", tmp_path_factory.mktemp("parallel"))
    return run_cli(["scan", "--format", "json", "-j", "2"], repo, python=("-X", "importtime"))


@pytest.fixture(scope="module")
def parallel_report(parallel: Run) -> dict[str, Any]:
    assert parallel.code == 1, parallel.stderr[-3000:]
    document: dict[str, Any] = json.loads(parallel.stdout)
    return document


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, dict[str, Any]]:
    """The well-behaved cases and one abort on one worker, at a terminal: text, verbose, JSON to a file."""
    repo = copy_repo("unruly", tmp_path_factory.mktemp("serial"))
    patterns = [arg for name in SERIAL for arg in ("--case", name)]
    formats = ["--format", "text", "--format", "json:out.json"]
    run = run_cli(["scan", "-j", "1", *patterns, "--verbose", *formats], repo, stderr_tty=True)
    assert run.code == 1, run.stderr[-3000:]
    return run, json.loads((repo / "out.json").read_text())


def test_report_is_in_manifest_order_whatever_finishes_first(parallel_report: dict[str, Any]) -> None:
    # The hanging case is first in the manifest and the last to finish.
    assert [case["name"] for case in parallel_report["cases"]] == UNRULY


def test_a_hanging_case_times_out_and_the_others_finish(parallel_report: dict[str, Any]) -> None:
    cases = by_name(parallel_report)
    hang = only_finding(cases["hangs"])
    assert cases["hangs"]["status"] == "error"
    assert hang["rule"] == "DQG901"
    # The stack dump taken before the kill says where it hung.
    line = expected_line(MODELS, "hang")
    assert hang["message"] == f"timed out after 6 s during export (at models.py:{line})"
    assert hang["step"] == "export"  # the step, for tools, as the parent saw it
    assert "time.sleep" in hang["detail"] or "in forward" in hang["detail"]
    assert cases["small"]["status"] == "ok", cases["small"]
    assert cases["small-again"]["status"] == "ok", cases["small-again"]
    assert [f["rule"] for f in cases["projections"]["findings"]] == ["DQG002"], cases["projections"]
    assert only_finding(cases["broken"])["rule"] == "DQG900"
    assert parallel_report["summary"] == {"cases": 9, "ok": 2, "findings": 1, "errors": 6}


@pytest.mark.parametrize(("name", "signal_name", "marker"), [
    ("aborts", "SIGABRT", "abort"),
    ("segfaults", "SIGSEGV", "segfault"),
])
def test_a_crashing_worker_is_reported_with_its_signal_and_place(
    parallel_report: dict[str, Any], name: str, signal_name: str, marker: str
) -> None:
    case = by_name(parallel_report)[name]
    finding = only_finding(case)
    assert (case["status"], finding["rule"]) == ("error", "DQG902")
    line = expected_line(MODELS, marker)
    assert finding["message"] == f"worker killed by {signal_name} during export (at models.py:{line})"
    assert finding["step"] == "export"
    assert finding["path"] == "dqguard.toml"
    # The detail is the worker's own stderr: faulthandler's dump of the crash.
    assert "Fatal Python error" in finding["detail"]
    assert f"models.py\", line {line} in forward" in finding["detail"]


def test_a_memory_blowup_is_contained(parallel_report: dict[str, Any]) -> None:
    cases = by_name(parallel_report)
    finding = only_finding(cases["eats-memory"])
    assert finding["rule"] == "DQG902"
    assert finding["message"].startswith("worker passed the memory limit during export (")
    assert finding["step"] == "export"
    assert finding["message"].endswith(" MiB resident > 1024 MiB); killed")
    # The case after it ran on a fresh worker and was checked.
    assert cases["small-again"]["status"] == "ok", cases["small-again"]


def test_cases_have_phase_timings_even_when_their_worker_died(parallel_report: dict[str, Any]) -> None:
    cases = by_name(parallel_report)
    assert list(cases["small"]["phases"]) == ["import", "export", "prepare", "calibrate", "convert", "check"]
    assert all(seconds >= 0 for seconds in cases["small"]["phases"].values())
    # Timed by the parent from the worker's phase messages: the last is where it stopped.
    for name in ("hangs", "aborts", "segfaults", "eats-memory"):
        assert list(cases[name]["phases"]) == ["import", "export"], name


def test_workers_share_out_the_cpus(parallel_report: dict[str, Any]) -> None:
    # Two workers with torch's default of a thread per core each would oversubscribe the machine.
    expected = os.environ.get("OMP_NUM_THREADS") or str(max(1, len(os.sched_getaffinity(0)) // 2))
    message = only_finding(by_name(parallel_report)["threads"])["message"]
    assert f"RuntimeError: {expected} intra-op threads" in message


def test_the_parent_never_imports_torch(parallel: Run) -> None:
    imported = [line.rsplit("|", 1)[-1].strip() for line in parallel.stderr.splitlines()
                if line.startswith("import time:")]
    assert "dqguard.run.pool" in imported  # the trace is there to read
    assert not [module for module in imported if module.split(".")[0] in ("torch", "torchao")]


def test_no_progress_line_when_stderr_is_not_a_terminal(parallel: Run) -> None:
    assert "running:" not in parallel.stderr
    assert "\r" not in parallel.stderr


def test_one_worker_and_two_workers_give_the_same_report(
    parallel_report: dict[str, Any], serial: tuple[Run, dict[str, Any]]
) -> None:
    _, report = serial
    assert [case["name"] for case in report["cases"]] == SERIAL
    parallel_cases = by_name(parallel_report)
    assert [comparable(case) for case in report["cases"]] == [comparable(parallel_cases[n]) for n in SERIAL]
    assert not any(case["cached"] for case in report["cases"])


def test_progress_line_at_a_terminal(serial: tuple[Run, dict[str, Any]]) -> None:
    run, _ = serial
    assert "\r\033[K[0/5]" in run.stderr
    assert "running: small" in run.stderr
    assert "[5/5]" in run.stderr
    # The line is erased before the report, which goes to stdout alone.
    assert run.stderr.endswith("\r\033[K")
    assert "running:" not in run.stdout


def test_verbose_text_prints_phase_timings(serial: tuple[Run, dict[str, Any]]) -> None:
    run, _ = serial
    lines = run.stdout.splitlines()
    small = next(line for line in lines if line.strip().startswith("small: ok in "))
    for phase in ("import", "export", "prepare", "calibrate", "convert", "check"):
        assert f"{phase} " in small
    aborts = next(line for line in lines if line.strip().startswith("aborts: error in "))
    assert "export " in aborts


def test_timeout_option_overrides_the_manifest_and_json_on_stdout_shows_no_progress(tmp_path: Path) -> None:
    repo = copy_repo("unruly", tmp_path)
    run = run_cli(["scan", "--case", "hangs", "--timeout", "2", "--format", "json"], repo, stderr_tty=True)
    assert run.code == 1, run.stderr
    finding = only_finding(json.loads(run.stdout)["cases"][0])
    assert finding["rule"] == "DQG901"
    assert finding["message"].startswith("timed out after 2 s during ")
    assert "running:" not in run.stderr


def test_shard_membership_partitions_any_set_of_names() -> None:
    rng = random.Random(3)
    names = ["".join(rng.choices(string.ascii_lowercase + "/-", k=rng.randint(1, 20))) for _ in range(300)]
    names = list(dict.fromkeys(names))
    for count in range(1, 8):
        owners = {name: [k for k in range(1, count + 1) if in_shard(name, (k, count))] for name in names}
        assert all(len(shards) == 1 for shards in owners.values()), count
        # Membership depends on the name alone: more cases never move these ones.
        more = names + [f"added/{i}" for i in range(50)]
        assert all(in_shard(name, (owners[name][0], count)) for name in more[: len(names)])
    sizes = [sum(in_shard(name, (k, 4)) for name in names) for k in range(1, 5)]
    assert min(sizes) > len(names) / 8  # spread, not all in one shard


def test_select_partitions_the_manifest_and_keeps_its_order() -> None:
    cases = manifest.load(RESOURCES / "unruly" / "zoo.toml").cases
    for count in (1, 2, 3, 5, 8, 13):
        shards = [selected(cases, ScanOptions(shard=(k, count))) for k in range(1, count + 1)]
        flat = [case.name for shard in shards for case in shard]
        assert sorted(flat) == sorted(case.name for case in cases)
        assert len(flat) == len(set(flat))
        for shard in shards:
            assert [c.name for c in shard] == [c.name for c in cases if c in shard]


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    repo = copy_repo("unruly", tmp_path_factory.mktemp("shards"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    processes = [
        subprocess.Popen([sys.executable, "-m", "dqguard", "scan", "--manifest", "zoo.toml", "-j", "1",
                          "--shard", f"{k}/3", "--format", "json"],
                         cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in (1, 2, 3)
    ]
    outputs = [process.communicate() for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode in (0, 1), stderr
    return [json.loads(stdout) for stdout, _ in outputs]


def test_shards_of_a_real_scan_partition_the_manifest(shards: list[dict[str, Any]]) -> None:
    everything = [case.name for case in manifest.load(RESOURCES / "unruly" / "zoo.toml").cases]
    reported = [[case["name"] for case in shard["cases"]] for shard in shards]
    flat = [name for names in reported for name in names]
    assert sorted(flat) == sorted(everything)
    assert len(flat) == len(set(flat))
    for k, names in enumerate(reported, 1):
        assert names == [name for name in everything if in_shard(name, (k, 3))]
        assert len(names) < len(everything)  # each shard ran only its part
    statuses = {case["name"]: case["status"] for shard in shards for case in shard["cases"]}
    assert statuses["text/projections"] == "findings"
    assert {statuses[name] for name in everything if name.startswith("vision/")} == {"ok"}


FRAGILE = RESOURCES / "fragile"
REGISTERS = ["--case", "registers-op/*"]


def _scan(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environment.update(env or {})
    completed = subprocess.run([sys.executable, "-m", "dqguard", "scan", "--no-cache", "--format", "json",
                                *args], cwd=repo, env=environment, capture_output=True, text=True,
                               check=False)
    assert completed.stdout, completed.stderr
    return completed.returncode, json.loads(completed.stdout), completed.stderr


def test_import_time_registrations_never_reach_another_case(tmp_path: Path) -> None:
    # ops.py registers a torch.library namespace when imported; importing it twice in one
    # process fails. Each case runs in a process of its own, so one worker or three agree.
    repo = copy_repo("fragile", tmp_path)
    serial = _scan(repo, "-j", "1", *REGISTERS)
    parallel = _scan(repo, "-j", "3", *REGISTERS)
    assert serial[0] == parallel[0] == 0, serial[1]
    assert [comparable(c) for c in serial[1]["cases"]] == [comparable(c) for c in parallel[1]["cases"]]
    assert [c["status"] for c in serial[1]["cases"]] == ["ok", "ok", "ok"]


def test_user_code_reading_standard_input_gets_end_of_file(tmp_path: Path) -> None:
    repo = copy_repo("fragile", tmp_path)
    code, document, _ = _scan(repo, "--case", "asks-for-input", "--case", "small")
    assert code == 1
    asks, small = document["cases"]
    finding = only_finding(asks)
    assert finding["rule"] == "DQG900"
    line = expected_line(FRAGILE / "models.py", "input")
    assert finding["message"] == ("building the model failed: EOFError: EOF when reading a line "
                                  f"(at models.py:{line})")
    assert small["status"] == "ok"


def _site(**env: str) -> dict[str, str]:
    # In front of the PYTHONPATH the tests run with, which may be where dqguard itself is.
    path = os.pathsep.join(filter(None, [str(RESOURCES / "fragile-site"), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, **env}


def test_a_worker_that_never_becomes_ready_fails_its_cases_at_the_deadline(tmp_path: Path) -> None:
    repo = copy_repo("fragile", tmp_path)
    code, document, _ = _scan(repo, "--case", "small", "--case", "small-again", "--start-timeout", "5",
                              env=_site(FRAGILE_WORKERS="hang"))
    assert code == 1
    for case in document["cases"]:
        finding = only_finding(case)
        assert finding["rule"] == "DQG902"
        assert finding["message"] == "no worker could start: it was not ready after 5 s (importing torch?)"


def test_a_replacement_worker_that_cannot_start_keeps_what_finished(tmp_path: Path) -> None:
    repo = copy_repo("fragile", tmp_path)
    marker = tmp_path / "worker-killed"
    code, document, stderr = _scan(repo, "-j", "1", "--case", "small", "--case", "kills-its-worker",
                                   "--case", "small-again",
                                   env=_site(FRAGILE_WORKERS="exit", FRAGILE_MARKER=str(marker)))
    assert code == 1, stderr
    small, killer, again = document["cases"]
    assert small["status"] == "ok"
    # The case's own process goes down with the worker it killed.
    assert only_finding(killer)["message"].startswith("worker killed by SIGKILL during import")
    finding = only_finding(again)
    assert finding["rule"] == "DQG902"
    assert finding["message"] == ("no worker could start: it exited with status 3; "
                                  "stderr ends: site hook: refusing to start")


def test_without_fork_every_case_gets_a_fresh_worker_and_the_same_verdict(
    parallel_report: dict[str, Any], tmp_path: Path
) -> None:
    # Where fork is unsafe (not Linux), the pool's setup says so and each job runs in a worker of
    # its own. The pool runs here, in the test's process: it never imports torch.
    repo = copy_repo("unruly", tmp_path)
    cases = [case for case in manifest.load(repo / "dqguard.toml").cases if case.name in SERIAL]
    results = pool.run(cases, repo, "dqguard.toml", jobs=2, fork=False)
    document = json_report.document(ScanResult(manifest="dqguard.toml", cases=tuple(results)))
    parallel_cases = by_name(parallel_report)
    assert [comparable(c) for c in document["cases"]] == [comparable(parallel_cases[n]) for n in SERIAL]


def test_memory_limits_that_cannot_hold_are_said_to_be_off() -> None:
    cases = manifest.load(RESOURCES / "unruly" / "dqguard.toml").cases
    assert memory_warning(list(cases), supported=True) is None
    assert memory_warning([c for c in cases if c.memory is None], supported=False) is None
    assert memory_warning(list(cases), supported=False) == (
        "dqguard: warning: `memory` limits read /proc, which only Linux has: not enforced for eats-memory\n")
