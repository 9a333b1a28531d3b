"""Every image dqguard names is one the release builds: `{__version__}-torch{LINE}` for a line of
dqguard/lines.py, pinned by digest or not. A tag no release pushes makes a hook or action that
cannot pull."""

import re
from pathlib import Path

import yaml

from dqguard import __version__
from dqguard.commands import docker
from dqguard.lines import DEFAULT, LINES
from scripts import release_image

REPO = Path(__file__).resolve().parent.parent
REPOSITORY = "ghcr.io/dqguard/dqguard"


def _line_of(image: str) -> str | None:
    """The torch line a released image reference is of, or None when the release never builds it."""
    released = rf"{re.escape(REPOSITORY)}:{re.escape(__version__)}-torch([\d.]+)(@sha256:[0-9a-f]{{64}})?"
    tag = re.fullmatch(released, image)
    return tag.group(1) if tag and tag.group(1) in LINES else None


def _action_image(path: Path) -> str:
    return str(yaml.safe_load(path.read_text())["runs"]["image"])


def test_the_docker_hook_runs_the_main_lines_released_image() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    entry = next(hook["entry"] for hook in hooks if hook["id"] == "dqguard-docker")
    start, end = release_image._entry_image(entry)
    image = entry[start:end]
    assert _line_of(image) == DEFAULT, image


def test_each_line_action_runs_its_lines_released_image() -> None:
    for line in LINES:
        image = _action_image(release_image.line_action_path(REPO, line)).removeprefix("docker://")
        assert _line_of(image) == line, image


def test_the_root_action_builds_between_releases_or_runs_the_main_lines_image() -> None:
    image = _action_image(REPO / "action.yml")
    assert image == "Dockerfile" or _line_of(image.removeprefix("docker://")) == DEFAULT, image


def test_scan_docker_runs_each_lines_released_image() -> None:
    assert {line: _line_of(image) for line, image in docker.IMAGES.items()} == {line: line for line in LINES}
