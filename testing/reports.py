"""Real scans for the report tests, each run once per test session and shared, and the results
the golden tests render, checked in.

A run copies a scenario repository to a temporary directory and runs the real CLI there, as CI
would: every file format at once (`--format json:... --format sarif:... --format junit:...
--format github --summary ...`) with `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` set. `normalised`
reads its JSON report back without what changes from run to run (times, cache hits, absolute
paths, frames of code outside the scenario).

The golden tests render `checked_in` results (tests/data/results/NAME.json), so they test the
renderers alone; one test compares those files with a fresh scan. After an intended change to
what a scan finds, `python -m testing.reports [NAME...]` rewrites them from real scans.
"""

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.records import CaseResult, Finding, Gone, ScanResult, case_from_json, case_to_json
from dqguard.report.json import result_from_document

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).resolve().parent / "resources"
REPOS = {
    "findings": ROOT / "examples" / "demo",
    "errors": RESOURCES / "report-errors",
    "hostile": RESOURCES / "report-hostile",
    "fanout": RESOURCES / "report-fanout",
    "lowered": RESOURCES / "report-lowered",
}
DATA = ROOT / "tests" / "data"
RESULTS = DATA / "results"
OUT = "out"  # under the scanned copy
FILES = {"json": "report.json", "sarif": "report.sarif", "junit": "report.xml"}


class Run(NamedTuple):
    directory: Path  # the scanned copy
    returncode: int
    stdout: str  # the github format
    stderr: str

    @property
    def out(self) -> Path:
        return self.directory / OUT

    def result(self) -> ScanResult:
        return result_from_document(json.loads((self.out / FILES["json"]).read_text()))


def _environment(out: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "DQGUARD_", "INPUT_")) and k not in ("CI", "NO_COLOR")}
    env["GITHUB_OUTPUT"] = str(out / "github_output")
    env["GITHUB_STEP_SUMMARY"] = str(out / "step_summary.md")
    return env


def scan_copy(directory: Path, *extra: str) -> Run:
    """Run the CLI in `directory`, writing every format under `directory/out`."""
    out = directory / OUT
    out.mkdir(exist_ok=True)
    formats = [arg for fmt, name in FILES.items() for arg in ("--format", f"{fmt}:{OUT}/{name}")]
    completed = subprocess.run(
        [sys.executable, "-m", "dqguard", "scan", "-j", "2", *formats, "--format", "github",
         "--summary", f"{OUT}/summary.md", *extra],
        cwd=directory, env=_environment(out), capture_output=True, timeout=600, check=False,
    )
    # Decoded by hand: text mode would turn a CR LF that a model printed into LF.
    return Run(directory, completed.returncode, completed.stdout.decode(), completed.stderr.decode())


def copy(name: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix=f"dqguard-report-{name}-")).resolve()
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    # Only the sources: a cache left by an earlier scan of the original would answer for us.
    shutil.copytree(REPOS[name], directory / "repo", ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return directory / "repo"


@functools.cache
def scan(name: str) -> Run:
    """The run of scenario `name` (see REPOS); the first call pays for the scan."""
    run = scan_copy(copy(name))
    if run.returncode not in (0, 1):
        raise AssertionError(f"dqguard scan of {name} exited {run.returncode}:\n{run.stderr}")
    return run


@functools.cache
def sarif_schema() -> dict[str, Any]:
    """SARIF 2.1.0's JSON schema (OASIS errata 01), what every SARIF document must validate against."""
    schema: dict[str, Any] = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    return schema


_FRAME = re.compile(r'^  File "(?P<path>[^"]*)", line \d+, in .*$')


def _detail(detail: str, directory: Path) -> str:
    """A traceback with only the scenario's own frames, its directory written `<repo>`."""
    lines, keep = [], True
    for line in detail.split("\n"):
        frame = _FRAME.match(line)
        if frame:
            keep = Path(frame.group("path")).is_relative_to(directory)
        elif not line.startswith("    "):
            keep = True
        if keep:
            lines.append(line)
    return "\n".join(lines).replace(str(directory), "<repo>").replace(sys.prefix, "<python>")


def _finding(finding: Finding, directory: Path) -> Finding:
    return finding if finding.detail is None else finding._replace(detail=_detail(finding.detail, directory))


def _case(case: CaseResult, directory: Path) -> CaseResult:
    return case._replace(
        duration_s=0.0,
        phases=dict.fromkeys(case.phases, 0.0),
        cached=False,
        findings=tuple(_finding(f, directory) for f in case.findings),
    )


def normalised(name: str) -> ScanResult:
    """Scenario `name`'s result with nothing that differs between runs or machines."""
    run = scan(name)
    result = run.result()
    return result._replace(cases=tuple(_case(c, run.directory) for c in result.cases))


def result_to_json(result: ScanResult) -> dict[str, Any]:
    """Every field of the ScanResult: unlike the JSON report, severities stay as the records hold them."""
    return {"manifest": result.manifest, "baseline": result.baseline,
            "cases": [case_to_json(case) for case in result.cases],
            "gone": [gone._asdict() for gone in result.gone]}


def result_from_json(data: dict[str, Any]) -> ScanResult:
    return ScanResult(manifest=data["manifest"], cases=tuple(case_from_json(c) for c in data["cases"]),
                      baseline=data["baseline"], gone=tuple(Gone(**gone) for gone in data["gone"]))


def checked_in(name: str) -> ScanResult:
    """Scenario `name`'s normalised result as tests/data/results holds it: no scan, no torch."""
    return result_from_json(json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8")))


def write_checked_in(name: str) -> Path:
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result_to_json(normalised(name)), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="")
    return path


if __name__ == "__main__":
    for chosen in sys.argv[1:] or REPOS:
        print(write_checked_in(chosen))
