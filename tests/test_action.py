"""The action's entrypoint on the host, as the runner would start it (no engine needed).

The container runs of the same entrypoint are in test_docker.py; these cover what must hold
wherever it runs: the inputs action.yml declares are the ones read, and every setup failure is an
`::error` plus a summary section and exit 2, before torch is ever imported.
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dqguard.action import FAIL_ON, PIP_CACHE, Inputs, read_inputs
from testing import copy_repo, poisoned_torch
from testing.workflow_commands import Command, commands, output_file

ACTION = Path(__file__).resolve().parent.parent / "action.yml"


class Run:
    def __init__(self, workspace: Path, completed: "subprocess.CompletedProcess[str]", files: Path) -> None:
        self.workspace, self.returncode = workspace, completed.returncode
        self.stdout, self.stderr = completed.stdout, completed.stderr
        self.summary = (files / "summary.md").read_text()
        self.outputs = output_file((files / "output").read_text())

    @property
    def errors(self) -> list[Command]:
        return [c for c in commands(self.stdout) if c.name == "error"]


def run_action(workspace: Path, tmp_path: Path, poison: bool = True, **inputs: str) -> Run:
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    (files / "summary.md").write_text("")
    (files / "output").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update({"GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTIONS": "true",
                "GITHUB_STEP_SUMMARY": str(files / "summary.md"), "GITHUB_OUTPUT": str(files / "output")})
    if poison:  # a setup failure is found before any worker imports torch
        env.update(poisoned_torch(tmp_path))
    env.update({f"INPUT_{name.upper().replace('_', '-')}": value for name, value in inputs.items()})
    completed = subprocess.run([sys.executable, "-m", "dqguard.action"], cwd=workspace, env=env,
                               capture_output=True, text=True, check=False)
    return Run(workspace, completed, files)


def _metadata() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return document


def test_action_yml_declares_exactly_the_inputs_the_entrypoint_reads() -> None:
    declared = {name: spec.get("default", "") for name, spec in _metadata()["inputs"].items()}
    read = {field.replace("_", "-"): default for field, default in Inputs._field_defaults.items()}
    assert declared == read
    assert all(spec.get("description") for spec in _metadata()["inputs"].values())
    assert set(FAIL_ON) == {"findings", "errors", "never", "error", "warning"}


def test_inputs_are_read_with_hyphens_kept() -> None:
    inputs = read_inputs({"INPUT_WORKING-DIRECTORY": " ml ", "INPUT_FAIL-ON": "never", "INPUT_JOBS": ""})
    assert inputs == Inputs(working_directory="ml", fail_on="never")


def test_findings_fail_the_step_with_outputs_and_a_summary(tmp_path: Path) -> None:
    workspace = copy_repo("action-shared", tmp_path)
    run = run_action(workspace, tmp_path, poison=False, jobs="2")

    assert run.returncode == 1, run.stderr
    assert {(c.name, c.properties["title"].split()[0]) for c in commands(run.stdout)
            if c.name in ("error", "warning")} == {("error", "DQG001"), ("warning", "DQG002")}
    assert set(run.outputs) <= set(_metadata()["outputs"])
    assert (run.outputs["findings"], run.outputs["errors"], run.outputs["cases"]) == ("2", "0", "2")
    assert "DQG001" in run.summary


def test_fail_on_never_reports_without_failing(tmp_path: Path) -> None:
    workspace = copy_repo("action-shared", tmp_path)
    run = run_action(workspace, tmp_path, poison=False, fail_on="never", args="--case qkv/xnnpack-dynamic")

    assert run.returncode == 0, run.stderr
    warnings = [c.properties["title"].split()[0] for c in commands(run.stdout) if c.name == "warning"]
    assert warnings == ["DQG002"]
    assert run.outputs["findings"] == "1"


def test_fail_on_error_passes_a_warning_only_scan(tmp_path: Path) -> None:
    workspace = copy_repo("action-shared", tmp_path)
    run = run_action(workspace, tmp_path, poison=False, fail_on="error", args="--case qkv/xnnpack-dynamic")

    assert run.returncode == 0, run.stderr
    warnings = [c.properties["title"].split()[0] for c in commands(run.stdout) if c.name == "warning"]
    assert warnings == ["DQG002"]


@pytest.mark.parametrize(("inputs", "message"), [
    ({"working_directory": "models/missing"}, "input 'working-directory': no directory models/missing"),
    ({"manifest": "ml/dqguard.toml"}, "input 'manifest': no file ml/dqguard.toml"),
    ({"fail_on": "warnings"},
     "input 'fail-on': 'warnings' is not one of findings, errors, never, error, warning"),
    ({"format": "json:out.json, xml"}, "input 'format': 'xml' is not one of"),
    ({"args": "--case 'unclosed"}, "input 'args': No closing quotation"),
    ({"requirements": "requirements-models.txt"}, "input 'requirements': no file requirements-models.txt"),
])
def test_setup_failures_are_explained(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    workspace = copy_repo("action-clean", tmp_path)
    run = run_action(workspace, tmp_path, **inputs)

    assert run.returncode == 2, run.stdout + run.stderr
    [error] = run.errors
    assert error.properties["title"] == "dqguard could not run"
    assert message in error.data
    assert run.summary.startswith("## dqguard could not run\n")
    assert message in run.summary
    assert run.outputs == {}


def test_a_failed_requirements_install_shows_pips_reason(tmp_path: Path) -> None:
    workspace = copy_repo("action-clean", tmp_path)
    (workspace / "requirements.txt").write_text("./wheels/missing-1.0-py3-none-any.whl\n")
    run = run_action(workspace, tmp_path, requirements="requirements.txt")

    assert run.returncode == 2
    [error] = run.errors
    assert error.properties["file"] == "requirements.txt"
    assert "installing requirements.txt failed" in error.data
    assert "missing-1.0-py3-none-any.whl" in run.summary
    # pip's own output is shown, but no line of it can be read as a command.
    assert "::stop-commands::" in run.stdout


def test_a_manifest_the_scan_rejects_is_explained_with_its_location(tmp_path: Path) -> None:
    workspace = copy_repo("action-clean", tmp_path)
    manifest = workspace / "dqguard.toml"
    manifest.write_text(manifest.read_text().replace('quantizer = "quant.backends:per_tensor"',
                                                     'quantizer = "per_tensor"'))
    run = run_action(workspace, tmp_path)

    assert run.returncode == 2
    [error] = run.errors
    assert "dqguard scan stopped before checking any case (exit 2)" in error.data
    assert "dqguard.toml:7: case 'conv-head/per-tensor': key 'quantizer'" in error.data
    assert "key 'quantizer'" in run.summary


def test_pip_cache_lives_in_the_workspace() -> None:
    # actions/cache in the documented workflow keeps this very path.
    workflow = (ACTION.parent / "docs" / "github-workflow.yml").read_text()
    assert f"path: {PIP_CACHE}\n" in workflow
    assert not Path(PIP_CACHE).is_absolute()
