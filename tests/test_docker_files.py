"""The image's files without an engine: Dockerfile lint and rules, action.yml against GitHub's
schema, release pinning, and the `docker run` that `dqguard scan --docker` builds."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from dqguard import __version__
from dqguard.cli import cli
from dqguard.commands import docker
from dqguard.commands.options import Output, ScanOptions
from dqguard.lines import DEFAULT, LINES, RELEASED
from scripts import release_image
from testing import copy_repo, dqguard

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = (line.strip() for line in text.splitlines())
    return [(w.split(None, 1)[0].upper(), w.split(None, 1)[1]) for w in lines if w and not w.startswith("#")]


def test_dockerfile_is_hadolint_clean() -> None:
    done = subprocess.run([str(BIN / "hadolint"), "--no-color", "Dockerfile"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_follows_githubs_rules_for_container_actions() -> None:
    instructions = _instructions()
    kinds = [kind for kind, _ in instructions]
    assert "USER" not in kinds and "WORKDIR" not in kinds
    env = " ".join(value for kind, value in instructions if kind == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    assert ("ENTRYPOINT", '["python", "-m", "dqguard.action"]') in instructions
    args = dict(value.split("=", 1) for kind, value in instructions if kind == "ARG" and "=" in value)
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", args["BASE_IMAGE"])
    assert kinds.index("FROM") == 1 and instructions[1][1] == "${BASE_IMAGE}"


def test_image_defaults_to_the_main_line() -> None:
    args = dict(value.split("=", 1) for kind, value in _instructions() if kind == "ARG" and "=" in value)
    assert (args["TORCH_VERSION"], args["TORCHAO_VERSION"]) == LINES[DEFAULT][:2]
    assert args["TORCH_LOCAL_VERSION"] == "+cpu"
    # The full suite runs on the main line: the image holds what it was tested with.
    assert metadata.version("torch").split("+")[0] == args["TORCH_VERSION"]
    assert metadata.version("torchao") == args["TORCHAO_VERSION"]


def test_each_variant_is_a_pinned_extra_the_build_checks() -> None:
    args = dict(value.split("=", 1) for kind, value in _instructions() if kind == "ARG" and "=" in value)
    assert args["EXTRAS"] == '""'  # the plain image of a line
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    runs = [value for kind, value in _instructions() if kind == "RUN"]
    for variant in (image for image in RELEASED.values() if image.extra):
        assert variant.extra in extras, variant
        # The build fails unless the variant's stages can import their backend.
        assert any(f'[ "${{EXTRAS}}" = {variant.extra} ]' in run for run in runs), variant


def test_each_line_and_variant_has_an_action_derived_from_the_root_one(tmp_path: Path) -> None:
    action = (REPO / "action.yml").read_text()
    assert set(docker.IMAGES) == set(LINES)
    for name, released in RELEASED.items():
        path = release_image.line_action_path(REPO, name)
        image = yaml.safe_load(path.read_text())["runs"]["image"].removeprefix("docker://")
        # Edit action.yml, and scripts/release_image.py rewrites these: run it, or copy the change.
        assert path.read_text() == release_image.line_action(action, name, image), path
        assert _check_jsonschema("vendor.github-actions", path).returncode == 0
        tag = rf"ghcr\.io/dqguard/dqguard:{re.escape(released.tag(__version__))}"
        assert re.fullmatch(tag + r"(@sha256:[0-9a-f]{64})?", image)
        if not released.extra:  # what `scan --docker --torch LINE` runs is the line's action's image
            assert docker.IMAGES[name] == image


def _check_jsonschema(schema: str, path: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, check=False)


def test_action_yml_matches_githubs_action_schema(tmp_path: Path) -> None:
    done = _check_jsonschema("vendor.github-actions", REPO / "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    # The same check rejects a docker action without its image.
    broken = tmp_path / "action.yml"
    broken.write_text(re.sub(r"(?m)^  image: .*\n", "", (REPO / "action.yml").read_text()))
    assert _check_jsonschema("vendor.github-actions", broken).returncode == 1


def test_documented_workflow_matches_githubs_workflow_schema() -> None:
    workflow = REPO / "docs" / "github-workflow.yml"
    done = _check_jsonschema("vendor.github-workflows", workflow)
    assert done.returncode == 0, done.stdout + done.stderr
    text = workflow.read_text()
    for needed in ("uses: actions/checkout@", "uses: dqguard/dqguard@v1", "shard: ${{ matrix.shard }}/2",
                   "uses: github/codeql-action/upload-sarif@",
                   "sarif_file: ${{ steps.dqguard.outputs.sarif }}"):
        assert needed in text


def _release_copy(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "dqguard" / "commands").mkdir(parents=True)
    for name in ("action.yml", ".pre-commit-hooks.yaml", "dqguard/__init__.py", "dqguard/commands/docker.py"):
        shutil.copy(REPO / name, root / name)
    return root


def _release(root: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, str(REPO / "scripts" / "release_image.py"), "--root", str(root),
                           *args], capture_output=True, text=True, check=False)


def _digests(digits: str = "0123456789abcdef") -> dict[str, str]:
    return {name: "sha256:" + (digits[index:] + digits[:index]) * 4 for index, name in enumerate(RELEASED)}


def _digest_args(digests: dict[str, str]) -> list[str]:
    return [arg for name, digest in digests.items() for arg in ("--digest", f"{name}={digest}")]


def test_release_pins_every_image_at_once(tmp_path: Path) -> None:
    root = _release_copy(tmp_path)
    digests = _digests()
    done = _release(root, "--repository", "ghcr.io/acme/dqguard", *_digest_args(digests))
    assert done.returncode == 0, done.stderr

    images = {name: f"ghcr.io/acme/dqguard:{__version__}-torch{name}@{digest}"
              for name, digest in digests.items()}
    assert images["2.13-arm"].startswith(f"ghcr.io/acme/dqguard:{__version__}-torch2.13-arm@sha256:")
    action = (root / "action.yml").read_text()
    assert f"  image: docker://{images[DEFAULT]}\n" in action
    assert action.replace(f"docker://{images[DEFAULT]}", "Dockerfile") == (REPO / "action.yml").read_text()
    assert _check_jsonschema("vendor.github-actions", root / "action.yml").returncode == 0
    for name, image in images.items():
        path = release_image.line_action_path(root, name)
        assert path.read_text() == release_image.line_action((REPO / "action.yml").read_text(), name, image)
        assert f"  image: docker://{image}\n" in path.read_text()
    hooks = (root / ".pre-commit-hooks.yaml").read_text()
    [entry] = re.findall(r"- id: dqguard-docker\n(?:  .*\n)*?  entry: (.*)\n", hooks)
    assert entry.split()[2] == images[DEFAULT] and entry.split()[:2] == ["--entrypoint", "dqguard"]
    assert sum(images[DEFAULT] in line for line in hooks.splitlines()) == 1
    module = (root / "dqguard" / "commands" / "docker.py").read_text()
    assert all(f'    "{line}": "{images[line]}",' in module for line in LINES)
    assert images["2.13-arm"] not in module  # `scan --docker` runs a variant through --image only

    other = _digests("fedcba9876543210")
    again = _release(root, "--repository", "ghcr.io/acme/dqguard", *_digest_args(other))
    assert again.returncode == 0 and images[DEFAULT] not in (root / "action.yml").read_text()
    pinned = (root / "dqguard" / "commands" / "docker.py").read_text()
    assert not any(image in pinned for image in images.values())


@pytest.mark.parametrize("missing", ["2.9", "2.13-arm"])
def test_release_needs_a_digest_for_every_image(tmp_path: Path, missing: str) -> None:
    root = _release_copy(tmp_path)
    digests = _digests()
    del digests[missing]
    done = _release(root, "--repository", "ghcr.io/acme/dqguard", *_digest_args(digests))
    assert done.returncode == 2 and f"no --digest for image {missing}:" in done.stderr
    assert (root / "action.yml").read_text() == (REPO / "action.yml").read_text()
    assert not (root / "torch-2.13").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--repository", "ghcr.io/acme/dqguard", "--digest", "2.9=sha256:1234"), "is not sha256: and 64 hex"),
    (("--repository", "ghcr.io/Acme/dqguard"), "is not a lower-case image repository"),
    (("--repository", "ghcr.io/acme/dqguard", "--digest", f"2.7={DIGEST}"), "is not IMAGE=sha256:..."),
    (("--repository", "ghcr.io/acme/dqguard", "--digest", f"2.9-arm={DIGEST}"), "one of 2.9, 2.13, 2.13-arm"),
])
def test_release_refuses_a_bad_reference(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    root = _release_copy(tmp_path)
    given = {arg.partition("=")[0] for arg in args if "=" in arg}
    done = _release(root, *args, *_digest_args({k: v for k, v in _digests().items() if k not in given}))
    assert done.returncode == 2 and message in done.stderr
    assert (root / "action.yml").read_text() == (REPO / "action.yml").read_text()


def test_release_changes_nothing_unless_it_can_pin_everything(tmp_path: Path) -> None:
    root = _release_copy(tmp_path)
    hooks = root / ".pre-commit-hooks.yaml"
    hooks.write_text(hooks.read_text().replace("id: dqguard-docker", "id: dqguard-container"))
    done = _release(root, "--repository", "ghcr.io/acme/dqguard", *_digest_args(_digests()))
    assert done.returncode == 2 and "expected one dqguard-docker hook, found 0" in done.stderr
    assert (root / "action.yml").read_text() == (REPO / "action.yml").read_text()
    docker_py = Path("dqguard", "commands", "docker.py")
    assert (root / docker_py).read_text() == (REPO / docker_py).read_text()


def test_hook_image_is_found_after_any_docker_options() -> None:
    text = ("- id: dqguard-docker\n  entry: --init -e HOME=/tmp --entrypoint=dqguard img:1 scan -v\n"
            "  language: docker_image\n")
    assert release_image.pin_hook(text, "new:2@" + DIGEST).splitlines()[1] == (
        f"  entry: --init -e HOME=/tmp --entrypoint=dqguard new:2@{DIGEST} scan -v")


# A non-default value of every ScanOptions field that the container must receive (`manifest` is
# resolved by docker.command: see the last test).
FORWARDED: dict[str, Any] = {
    "outputs": (Output("text", None), Output("json", Path("out/report.json"))),
    "jobs": 3,
    "timeout": 12.5,
    "start_timeout": 60.0,
    "shard": (2, 3),
    "cases": ("qkv/*",),
    "ignore": ("DQG002",),
    "exact_qparams": True,
    "weightless": True,
    "summary": Path("summary.md"),
    "verbose": True,
    "fail_on": "error",
    "baseline": Path("accepted.json"),
    "no_baseline": True,
}


def test_every_scan_option_reaches_the_container_or_is_host_only() -> None:
    unknown = set(ScanOptions._fields) - {"manifest", *FORWARDED} - docker.HOST_ONLY
    assert not unknown, (f"pass {unknown} to the container in dqguard/commands/docker.py or list it in "
                         "HOST_ONLY")
    manifest = Path("/repo/dqguard.toml")
    plain = docker.scan_arguments(ScanOptions(outputs=()), manifest)
    for field, value in FORWARDED.items():
        changed = ScanOptions(outputs=())._replace(**{field: value})
        assert docker.scan_arguments(changed, manifest) != plain, field


def test_torch_chooses_the_lines_image_and_image_overrides_it() -> None:
    params = cli.commands["scan"].make_context("scan", ["--torch", "2.9"]).params
    assert params["torch_line"] == "2.9"
    assert docker.image_of(ScanOptions(docker=True, torch="2.9")) == docker.IMAGES["2.9"]
    assert docker.image_of(ScanOptions(docker=True)) == docker.IMAGES[DEFAULT]
    assert docker.image_of(ScanOptions(docker=True, torch="2.9", image="mine:1")) == "mine:1"


def test_an_unsupported_torch_line_is_a_usage_error() -> None:
    completed = dqguard("scan", "--torch", "2.8", cwd=REPO)
    assert completed.returncode == 2
    assert "'2.8' is not one of '2.9', '2.13', '2.14'" in completed.stderr


def test_container_arguments_parse_back_to_the_same_scan(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    options = ScanOptions(**FORWARDED)
    arguments = docker.scan_arguments(options, Path("/repo/dqguard.toml"))
    params = cli.commands["scan"].make_context("scan", list(arguments)).params
    assert params["manifest"] == Path("/repo/dqguard.toml") and params["no_cache"]
    assert params["formats"] == ("text", f"json:{tmp_path}/out/report.json")
    assert (params["jobs"], params["timeout"], params["shard"]) == (3, 12.5, "2/3")
    assert params["start_timeout"] == 60.0
    assert (params["cases"], params["ignore"], params["exact_qparams"]) == (("qkv/*",), ("DQG002",), True)
    assert params["summary"] == tmp_path / "summary.md" and params["verbose"]


def test_docker_run_mounts_the_work_tree_read_only_as_the_caller(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    repo = copy_repo("action-shared", tmp_path)
    subprocess.run(["git", "init", "--quiet"], cwd=repo, check=True)
    (repo / "models").joinpath("sub").mkdir()
    monkeypatch.chdir(repo / "models" / "sub")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    options = ScanOptions(manifest=Path("../../dqguard.toml"), outputs=(Output("sarif", Path("r.sarif")),))
    run, files = docker.command(options, "dqguard:test", "docker")

    assert run[:2] == ["docker", "run"]
    joined = " ".join(run)
    assert f"--network none --user {os.getuid()}:{os.getgid()}" in joined
    assert f"--volume {repo}:{repo}:ro --workdir {repo}/models/sub" in joined
    assert files == [repo / "models" / "sub" / "r.sarif", tmp_path / "output"]
    for path in files:
        assert f"--volume {path}:{path}:rw" in joined
    assert joined.endswith(f"dqguard:test -m dqguard scan --manifest {repo}/dqguard.toml --no-cache "
                           f"--format sarif:{repo}/models/sub/r.sarif")
