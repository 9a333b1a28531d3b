"""The image on a real Docker engine: run as GitHub's runner runs it, through act, and by --docker.

The engine, the stand-in base and the image are built once per session (see testing.docker). When
the engine cannot be had, these tests skip with the reason, except in CI (CI=true), where they
fail: a green CI must mean the image was built and run.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dqguard.lines import DEFAULT, RELEASED
from scripts.release_image import pin_action, pin_hook
from testing import RESOURCES, expected_line
from testing import docker as docker_testing
from testing.docker import Engine
from testing.lines import verdicts
from testing.workflow_commands import Command, commands, output_file

pytestmark = pytest.mark.docker

ACT_ACTION = Path(".github/actions/dqguard")
WORKFLOW = docker_testing.REPO / "docs" / "github-workflow.yml"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the container tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    try:
        with docker_testing.engine() as started:
            yield started
    except docker_testing.Unavailable as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def image(engine: Engine) -> str:
    try:
        return docker_testing.build_image(engine)
    except docker_testing.Unavailable as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def legacy_image(engine: Engine) -> str:
    """The image of the torch 2.9 line: torch.ao's flow, torchao 0.15 beside it."""
    try:
        return docker_testing.build_image(engine, "dqguard:test-torch2.9", line="2.9")
    except docker_testing.Unavailable as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def arm_image(engine: Engine) -> str:
    """The main line's Arm variant: dqguard[arm] (ExecuTorch, TOSA, Vela) from the package index."""
    variant = RELEASED[f"{DEFAULT}-arm"]
    try:
        return docker_testing.build_image(engine, f"dqguard:{variant.tag('test')}", extras=variant.extra)
    except docker_testing.Unavailable as exc:
        _unavailable(str(exc))
        raise


def _copy(fixture: str, destination: Path) -> Path:
    shutil.copytree(RESOURCES / fixture, destination, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".dqguard_cache"))
    return destination


class Step:
    """One `uses:` step of a Docker action, run the way GitHub's runner runs it."""

    def __init__(self, engine: Engine, image: str, root: Path) -> None:
        self.engine, self.image = engine, image
        self.workspace = root / "workspace"
        self.files = root / "file_commands"
        self.home = root / "home"
        for directory in (self.workspace, self.files, self.home):
            directory.mkdir(parents=True, exist_ok=True)
        self.returncode = -1
        self.stdout = self.stderr = ""

    def run(self, **inputs: str) -> "Step":
        (self.files / "step_summary").write_text("")
        (self.files / "output").write_text("")
        command = [
            "run", "--rm", "--network", "none", "--workdir", "/github/workspace",
            "--volume", f"{self.workspace}:/github/workspace",
            "--volume", f"{self.files}:/github/file_commands",
            "--volume", f"{self.home}:/github/home",
            "--env", "GITHUB_WORKSPACE=/github/workspace", "--env", "GITHUB_ACTIONS=true",
            "--env", "CI=true", "--env", "HOME=/github/home",
            "--env", "GITHUB_STEP_SUMMARY=/github/file_commands/step_summary",
            "--env", "GITHUB_OUTPUT=/github/file_commands/output",
        ]
        for name, value in inputs.items():
            command += ["--env", f"INPUT_{name.upper().replace('_', '-')}={value}"]
        done = self.engine.docker(*command, self.image, check=False)
        self.returncode, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
        return self

    @property
    def annotations(self) -> list[Command]:
        return [c for c in commands(self.stdout) if c.name in ("error", "warning", "notice")]

    @property
    def summary(self) -> str:
        return (self.files / "step_summary").read_text()

    @property
    def outputs(self) -> dict[str, str]:
        return output_file((self.files / "output").read_text())


def test_action_reports_a_shared_dequantize_at_repository_lines(engine: Engine, image: str,
                                                                tmp_path: Path) -> None:
    step = Step(engine, image, tmp_path)
    repo = _copy("action-shared", step.workspace / "ml")
    step.run(working_directory="ml", jobs="2")

    assert step.returncode == 1, step.stderr
    line = str(expected_line(repo / "models" / "blocks.py", "shared"))
    found = {(a.name, a.properties.get("title", "").split()[0]): a.properties for a in step.annotations}
    assert found[("error", "DQG001")]["file"] == "ml/models/blocks.py"
    assert found[("error", "DQG001")]["line"] == line
    assert found[("warning", "DQG002")]["file"] == "ml/models/blocks.py"
    assert found[("warning", "DQG002")]["line"] == line
    assert "DQG001" in step.summary and "qkv/per-token-static" in step.summary
    outputs = step.outputs
    assert (outputs["findings"], outputs["errors"], outputs["cases"]) == ("2", "0", "2")
    sarif = outputs.get("sarif")
    if sarif:  # written whenever this checkout has a SARIF reporter
        assert sarif == "ml/dqguard.sarif"
        document = json.loads((step.workspace / sarif).read_text())
        uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
                for result in document["runs"][0]["results"] for loc in result["locations"]}
        assert uris == {"ml/models/blocks.py"}


def test_action_passes_a_clean_repository(engine: Engine, image: str, tmp_path: Path) -> None:
    step = Step(engine, image, tmp_path)
    _copy("action-clean", step.workspace)
    step.run()

    assert step.returncode == 0, step.stdout + step.stderr
    assert step.annotations == []
    assert (step.outputs["findings"], step.outputs["cases"]) == ("0", "2")
    assert step.summary.strip()


def test_action_fail_on_errors_lets_findings_pass(engine: Engine, image: str, tmp_path: Path) -> None:
    step = Step(engine, image, tmp_path)
    _copy("action-shared", step.workspace)
    step.run(fail_on="errors", args="--case qkv/per-token-static")

    assert step.returncode == 0, step.stderr
    assert [a.properties["title"].split()[0] for a in step.annotations] == ["DQG001"]
    assert (step.outputs["findings"], step.outputs["cases"]) == ("1", "1")


def test_action_installs_requirements_the_models_import(engine: Engine, image: str, tmp_path: Path) -> None:
    step = Step(engine, image, tmp_path)
    repo = _copy("action-clean", step.workspace)
    wheels = repo / "wheels"
    wheels.mkdir()
    wheel = docker_testing.make_wheel(wheels, "conv_width", "WIDTH = 8\n")
    (repo / "requirements.txt").write_text(f"./wheels/{wheel.name}\n")
    blocks = repo / "models" / "blocks.py"
    blocks.write_text("from conv_width import WIDTH\n" + blocks.read_text().replace("nn.Conv2d(3, 8, 3)",
                                                                                   "nn.Conv2d(3, WIDTH, 3)"))
    step.run(requirements="requirements.txt")

    assert step.returncode == 0, step.stdout + step.stderr
    assert "Successfully installed conv-width-1.0" in step.stdout
    assert step.outputs["cases"] == "2"


def test_action_explains_a_missing_manifest(engine: Engine, image: str, tmp_path: Path) -> None:
    step = Step(engine, image, tmp_path)
    _copy("action-clean", step.workspace)
    step.run(manifest="ml/dqguard.toml")

    assert step.returncode == 2
    [error] = step.annotations
    assert error.name == "error" and "ml/dqguard.toml" in error.data
    assert "## dqguard could not run" in step.summary
    assert step.outputs == {}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=dqguard-tests", "-c", "user.email=tests@dqguard.invalid",
                    *args], cwd=repo, check=True, capture_output=True)


def act_workflow(text: str) -> str:
    """The documented workflow as act can run it here: this checkout's action, nothing fetched."""
    head, _, steps = text.partition("    steps:\n")
    blocks = re.split(r"(?m)^(?=      - )", steps)
    kept, dropped = [], []
    for block in blocks:
        uses = re.search(r"^      - (?:.*\n)*?\s*uses: (\S+)", block, re.MULTILINE)
        action = uses.group(1) if uses else None
        if action and "dqguard@" in action:
            block = block.replace(action, f"./{ACT_ACTION}")
        elif action and not action.startswith(("./", "actions/checkout@")):
            dropped.append(action.partition("@")[0])
            continue
        kept.append(block)
    # Exactly the steps that fetch a published action (act skips checkout of the local repository).
    assert dropped == ["actions/cache", "github/codeql-action/upload-sarif"], dropped
    return head + "    steps:\n" + "".join(kept)


def _act(engine: Engine, repo: Path, home: Path) -> tuple[int, dict[str, list[str]]]:
    act = Path(sys.executable).with_name("act")
    standin = docker_testing.base_name()
    done = subprocess.run(
        [str(act), "push", "-P", f"ubuntu-latest={standin}", "--pull=false"],
        cwd=repo, env={**engine.env, "HOME": str(home)}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=900, check=False,
    )
    jobs: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^\[[^/\]]+/([^\]]+)\] (.*)$", line)
        if match:
            jobs.setdefault(match.group(1).strip(), []).append(match.group(2))
    by_shard = {}
    for lines in jobs.values():
        shard = next(re.search(r"Matrix: map\[shard:(\d+)\]", x) for x in lines if "Matrix:" in x)
        assert shard is not None
        by_shard[shard.group(1)] = lines
    assert set(by_shard) == {"1", "2"}, done.stdout + done.stderr
    return done.returncode, by_shard


def _outputs(lines: list[str]) -> dict[str, str]:
    found = (re.search(r"::set-output:: (\w+)=(.*)$", line) for line in lines)
    return {m.group(1): m.group(2) for m in found if m}


def test_documented_workflow_fails_then_passes_when_fixed(engine: Engine, image: str, tmp_path: Path) -> None:
    repo = _copy("action-shared", tmp_path / "repo")
    action = repo / ACT_ACTION
    action.mkdir(parents=True)
    # The action as a release ships it: action.yml pinned to a prebuilt image, here the one built.
    (action / "action.yml").write_text(pin_action((docker_testing.REPO / "action.yml").read_text(), image))
    (repo / ".github" / "workflows").mkdir()
    (repo / ".github" / "workflows" / "dqguard.yml").write_text(act_workflow(WORKFLOW.read_text()))
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--message", "models with shared dequantize nodes")

    code, shards = _act(engine, repo, tmp_path / "home")
    assert code != 0
    line = expected_line(repo / "models" / "blocks.py", "shared")
    # Each shard checked its own case and failed on its own finding.
    for shard, (severity, rule) in {"1": ("error", "DQG001"), "2": ("warning", "DQG002")}.items():
        log = "\n".join(shards[shard])
        assert f"::{severity} file=models/blocks.py,line={line},title={rule}" in log, log
        assert _outputs(shards[shard])["findings"] == "1"
        assert "Job failed" in log

    for name in ("dqguard.toml", "models", "quant"):
        _git(repo, "rm", "-r", "--quiet", name)
    _copy("action-clean", repo)
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--message", "no shared dequantize")

    code, shards = _act(engine, repo, tmp_path / "home")
    assert code == 0, shards
    for lines in shards.values():
        assert _outputs(lines)["findings"] == "0" and _outputs(lines)["cases"] == "1"
        assert not any("::error" in line or "::warning" in line for line in lines)
        assert "Job succeeded" in "\n".join(lines)


def _verdict(document: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, str, int, str]]]]:
    return [(case["name"], case["status"],
             [(f["rule"], f["path"], f["line"], f["message"]) for f in case["findings"]])
            for case in document["cases"]]


@pytest.mark.parametrize("fixture", ["action-shared", "action-clean"])
def test_scan_docker_gives_the_hosts_verdict(image: str, engine: Engine, fixture: str,
                                             tmp_path: Path) -> None:
    repo = _copy(fixture, tmp_path / "repo")
    _git(repo, "init", "--quiet")
    in_image = subprocess.run(
        [sys.executable, "-m", "dqguard", "scan", "--docker", "--image", image,
         "--format", "text", "--format", "json:reports/docker.json"],
        cwd=repo, env=engine.env, capture_output=True, text=True, check=False)
    # The project was mounted read-only: the container left no cache and no bytecode in it.
    written = {p.relative_to(repo).parts[0] for p in repo.rglob("*") if ".git" not in p.parts}
    assert written == {"dqguard.toml", "models", "quant", "reports"}, in_image.stderr
    assert not any(repo.rglob("__pycache__"))
    on_host = subprocess.run(
        [sys.executable, "-m", "dqguard", "scan", "--no-cache", "--format", f"json:{tmp_path}/host.json"],
        cwd=repo, capture_output=True, text=True, check=False)

    expected = 1 if fixture == "action-shared" else 0
    assert in_image.returncode == on_host.returncode == expected, in_image.stderr + on_host.stderr
    host = json.loads((tmp_path / "host.json").read_text())
    container = json.loads((repo / "reports" / "docker.json").read_text())
    assert _verdict(container) == _verdict(host)
    assert in_image.stdout.splitlines()[-1] == f"2 cases, {'2 with findings' if expected else '2 ok'}"


def test_scan_docker_names_an_image_it_cannot_run(engine: Engine, tmp_path: Path) -> None:
    repo = _copy("action-clean", tmp_path / "repo")
    absent = "127.0.0.1:9/dqguard-tests/absent:never"  # a pull that fails on this machine, offline
    done = subprocess.run(
        [sys.executable, "-m", "dqguard", "scan", "--image", absent],
        cwd=repo, env=engine.env, capture_output=True, text=True, check=False)

    assert done.returncode == 2
    assert f"docker could not run the scan in {absent}" in done.stderr


def test_pinned_pre_commit_hook_runs_the_image(engine: Engine, image: str, tmp_path: Path) -> None:
    # The dqguard-docker hook as a release pins it, to the image built here instead.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    text = (docker_testing.REPO / ".pre-commit-hooks.yaml").read_text()
    (hooks / ".pre-commit-hooks.yaml").write_text(pin_hook(text, image))
    repo = _copy("action-shared", tmp_path / "repo")
    for directory in (hooks, repo):
        _git(directory, "init", "--quiet")
        _git(directory, "add", "--all")
        _git(directory, "commit", "--quiet", "--message", "initial")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("pre-commit")), "try-repo", str(hooks), "dqguard-docker",
         "--all-files"],
        cwd=repo, env={**engine.env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")},
        capture_output=True, text=True, check=False)

    assert done.returncode == 1, done.stdout + done.stderr
    line = expected_line(repo / "models" / "blocks.py", "shared")
    assert f"models/blocks.py:{line}: DQG001" in done.stdout


def test_the_torch_2_9_image_runs_the_action_on_torch_ao_quantizers(engine: Engine, legacy_image: str,
                                                                     tmp_path: Path) -> None:
    step = Step(engine, legacy_image, tmp_path)
    repo = _copy("legacy", step.workspace)
    step.run(jobs="2")

    assert step.returncode == 1, step.stdout + step.stderr
    line = str(expected_line(repo / "models.py", "first consumer"))
    found = {(a.name, a.properties.get("title", "").split()[0]): a.properties for a in step.annotations}
    assert set(found) == {("warning", "DQG002"), ("error", "DQG001")}
    assert all((p["file"], p["line"]) == ("models.py", line) for p in found.values())
    assert (step.outputs["findings"], step.outputs["errors"], step.outputs["cases"]) == ("2", "0", "4")


@pytest.mark.parametrize("scenario", ["testing/resources/legacy", "examples/demo"])
def test_scan_docker_in_the_torch_2_9_image_gives_that_lines_verdicts(engine: Engine, legacy_image: str,
                                                                       scenario: str, tmp_path: Path) -> None:
    # The host runs the main line: torch.ao's quantizers do not even import there.
    repo = tmp_path / "repo"
    shutil.copytree(docker_testing.REPO / scenario, repo, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "--quiet")
    done = subprocess.run(
        [sys.executable, "-m", "dqguard", "scan", "--image", legacy_image, "--format", "json:docker.json"],
        cwd=repo, env=engine.env, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    document = json.loads((repo / "docker.json").read_text())
    rules = {case["name"]: sorted({f["rule"] for f in case["findings"]}) for case in document["cases"]}
    assert rules == verdicts(scenario, "2.9")


def test_the_arm_image_runs_the_action_on_an_ethos_u55_lowering(engine: Engine, arm_image: str,
                                                                 tmp_path: Path) -> None:
    step = Step(engine, arm_image, tmp_path)
    _copy("backends", step.workspace)
    step.run(args="--case ethos-u55", format="json:dqguard.json")

    assert step.returncode == 0, step.stdout + step.stderr
    assert (step.outputs["findings"], step.outputs["errors"], step.outputs["cases"]) == ("0", "0", "1")
    [case] = json.loads((step.workspace / "dqguard.json").read_text())["cases"]
    assert (case["name"], case["status"], case["findings"]) == ("ethos-u55", "ok", [])
    # Vela compiled the whole net for the NPU: only the float interface stays on the CPU.
    delegation = case["delegation"]
    assert (delegation["backends"], delegation["delegates"]) == (["EthosUBackend"], 1)
    assert delegation["non_delegated_ops"] == 2
    assert "| `ethos-u55` | EthosUBackend | 1 |" in step.summary, step.summary
