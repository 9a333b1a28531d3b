"""The GitHub Action's entrypoint (`python -m dqguard.action`): action inputs in, one scan, verdict out.

The runner passes each input as `INPUT_<NAME>` (upper-cased, hyphens kept) and mounts the
repository at `GITHUB_WORKSPACE`, which is also the working directory. This module turns the inputs
into a `dqguard scan` command line, installs the user's model requirements first, and afterwards
writes the step's outputs. The scan itself appends the job summary (`GITHUB_STEP_SUMMARY`).

A setup failure (a missing directory, manifest or requirements file, a failed pip install, an
invalid input, a manifest the scan rejects) is an `::error` annotation plus a summary section that
says what to change, and exits 2: the same table as the command line (see `dqguard.errors`).
`fail-on` only decides whether findings or failed cases fail the step: `error`/`warning` are the
scan's `--fail-on`, `findings` and `errors` the older spellings.

Like the command line, this module never imports torch: the scan runs in a fresh interpreter
whose workers import it.
"""

import html
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from dqguard.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE
from dqguard.report import FORMATS
from dqguard.report.github import command as workflow_command
from dqguard.report.github import escape_data
from dqguard.report.json import result_from_document
from dqguard.report.markup import inline
from dqguard.report.outputs import step_outputs

# "error" and "warning" are the scan's own `--fail-on`; "findings" (= "warning") and "errors" (only
# cases that could not be checked) came first and stay.
FAIL_ON = ("findings", "errors", "never", "error", "warning")
SARIF = "dqguard.sarif"
# Under the workspace so `actions/cache` can keep it between runs.
PIP_CACHE = ".cache/dqguard-pip"
_TAIL_LINES = 30


class Inputs(NamedTuple):
    manifest: str = ""
    working_directory: str = "."
    format: str = ""
    jobs: str = ""
    shard: str = ""
    args: str = ""
    requirements: str = ""
    fail_on: str = "findings"


class SetupError(Exception):
    """The scan could not run. `detail` is raw text (a pip log, the scan's stderr)."""

    def __init__(self, message: str, detail: str = "", file: str | None = None,
                 code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.file = file
        self.code = code


def read_inputs(environ: Mapping[str, str]) -> Inputs:
    values = {}
    for field, default in Inputs._field_defaults.items():
        name = "INPUT_" + field.upper().replace("_", "-")
        values[field] = environ.get(name, "").strip() or default
    return Inputs(**values)


def _relative(path: Path, workspace: Path) -> str:
    try:
        return path.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return str(path)


def report_files(spec: str, workdir: Path) -> list[tuple[str, Path]]:
    """`format`'s `NAME[:PATH]` items (blank- or comma-separated) as (format, absolute path)."""
    files = []
    for item in spec.replace(",", " ").split():
        name, _, path = item.partition(":")
        if name not in FORMATS:
            raise SetupError(f"input 'format': {name!r} is not one of {', '.join(FORMATS)}")
        files.append((name, workdir / (path or f"dqguard.{name}")))
    return files


def _pip_constraints() -> str:
    # The image's torch and torchao are the verdict's ground truth: a requirement that wants
    # others fails the install instead of quietly replacing them.
    pins = []
    for package in ("torch", "torchao"):
        try:
            pins.append(f"{package}=={metadata.version(package)}\n")
        except metadata.PackageNotFoundError:
            continue
    return "".join(pins)


def install_requirements(requirements: Path, workspace: Path) -> None:
    shown = _relative(requirements, workspace)
    if not requirements.is_file():
        raise SetupError(f"input 'requirements': no file {shown} (paths are relative to "
                         "'working-directory')")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write(_pip_constraints())
    command = [sys.executable, "-m", "pip", "install", "--cache-dir", str(workspace / PIP_CACHE),
               "--constraint", constraints.name, "--requirement", str(requirements)]
    token = secrets.token_hex(16)
    # pip echoes text from the user's requirements and packages: no line of it may be a command.
    print(f"::group::Installing {escape_data(shown)}\n::stop-commands::{token}", flush=True)
    process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False)
    print(process.stdout, end="", flush=True)
    print(f"::{token}::\n::endgroup::", flush=True)
    os.unlink(constraints.name)
    if process.returncode != 0:
        tail = "\n".join(process.stdout.splitlines()[-_TAIL_LINES:])
        raise SetupError(f"installing {shown} failed (pip exited with {process.returncode}); "
                         "fix the requirements file or its packages' availability",
                         tail, file=shown)


def scan_command(inputs: Inputs, workdir: Path, report: Path, sarif: Path | None) -> list[str]:
    command = [sys.executable, "-m", "dqguard", "scan", "--format", "text", "--format", "github",
               "--format", f"json:{report}"]
    if sarif is not None:
        command += ["--format", f"sarif:{sarif}"]
    for name, path in report_files(inputs.format, workdir):
        if name != "sarif" or path != sarif:
            command += ["--format", f"{name}:{path}"]
    if inputs.manifest:
        manifest = workdir / inputs.manifest
        if not manifest.is_file():
            raise SetupError(f"input 'manifest': no file {inputs.manifest} in '{inputs.working_directory}'"
                             " (paths are relative to 'working-directory')")
        command += ["--manifest", str(manifest)]
    if inputs.jobs:
        command += ["--jobs", inputs.jobs]
    if inputs.shard:
        command += ["--shard", inputs.shard]
    if inputs.fail_on in ("error", "warning"):
        command += ["--fail-on", inputs.fail_on]
    try:
        command += shlex.split(inputs.args)
    except ValueError as exc:
        raise SetupError(f"input 'args': {exc}") from None
    return command


def sarif_path(inputs: Inputs, workdir: Path) -> Path | None:
    if "sarif" not in FORMATS:
        return None
    chosen = [path for name, path in report_files(inputs.format, workdir) if name == "sarif"]
    return chosen[0] if chosen else workdir / SARIF


def _append(variable: str, text: str) -> None:
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as file:
            file.write(text)


def explain(error: SetupError) -> None:
    message = error.message
    if error.detail:
        message += "\n" + "\n".join(error.detail.splitlines()[-_TAIL_LINES:])
    where = {} if error.file is None else {"file": error.file}
    print(workflow_command("error", message, **where, title="dqguard could not run"), flush=True)
    section = f"## dqguard could not run\n\n{inline(error.message)}\n\n"
    if error.detail:
        section += f"<pre>\n{html.escape(error.detail.rstrip(), quote=False)}\n</pre>\n\n"
    _append("GITHUB_STEP_SUMMARY", section)


def write_outputs(document: dict[str, Any], sarif: str | None) -> None:
    files = [] if sarif is None else [("sarif", Path(sarif))]
    _append("GITHUB_OUTPUT", step_outputs(result_from_document(document), files))


def verdict(code: int, document: dict[str, Any], fail_on: str) -> int:
    if code != EXIT_FINDINGS or fail_on == "findings":
        return code
    if fail_on == "errors" and document["summary"]["errors"]:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def run(inputs: Inputs, workspace: Path) -> int:
    if inputs.fail_on not in FAIL_ON:
        raise SetupError(f"input 'fail-on': {inputs.fail_on!r} is not one of {', '.join(FAIL_ON)}")
    workdir = workspace / inputs.working_directory
    if not workdir.is_dir():
        raise SetupError(f"input 'working-directory': no directory {inputs.working_directory} "
                         "in the repository")
    # Model code may import the repository's own packages from its root, as its tests do.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workspace), os.environ.get("PYTHONPATH")]))
    if inputs.requirements:
        install_requirements(workdir / inputs.requirements, workspace)
    sarif = sarif_path(inputs, workdir)
    with tempfile.TemporaryDirectory(prefix="dqguard-action-") as scratch:
        report = Path(scratch) / "report.json"
        command = scan_command(inputs, workdir, report, sarif)
        # The step's outputs are written below: the scan's own would name the private JSON report,
        # and name report files as the container sees them, not relative to the repository.
        environ = {k: v for k, v in os.environ.items() if k != "GITHUB_OUTPUT"}
        scan = subprocess.run(command, cwd=workdir, env=environ, stderr=subprocess.PIPE, text=True,
                              check=False)
        sys.stderr.write(scan.stderr)
        if not report.is_file():
            raise SetupError(f"dqguard scan stopped before checking any case (exit {scan.returncode})",
                             scan.stderr.strip(), code=scan.returncode or EXIT_USAGE)
        document = json.loads(report.read_text())
    write_outputs(document, None if sarif is None or not sarif.is_file() else _relative(sarif, workspace))
    return verdict(scan.returncode, document, inputs.fail_on)


def main() -> None:
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    try:
        code = run(read_inputs(os.environ), workspace)
    except SetupError as error:
        explain(error)
        code = error.code
    sys.exit(code)


if __name__ == "__main__":
    main()
