"""Every image dqguard names is one the release builds: a tag of dqguard.lines.RELEASED
(`{__version__}-torch{LINE}`, or `-torch{LINE}-{EXTRA}` for a variant), pinned by digest or not. A tag
no release pushes makes a hook or action that cannot pull."""

import re
from pathlib import Path

import yaml

from dqguard import __version__
from dqguard.commands import docker
from dqguard.lines import DEFAULT, LINES, RELEASED
from scripts import release_image

REPO = Path(__file__).resolve().parent.parent
REPOSITORY = "ghcr.io/dqguard/dqguard"


def _released(image: str) -> str | None:
    """The name (`2.13`, `2.13-arm`) of the released image a reference is of, or None when the release
    never builds it."""
    reference = re.fullmatch(rf"{re.escape(REPOSITORY)}:([^@]+)(@sha256:[0-9a-f]{{64}})?", image)
    tags = {released.tag(__version__): name for name, released in RELEASED.items()}
    return tags.get(reference.group(1)) if reference else None


def _action_image(path: Path) -> str:
    return str(yaml.safe_load(path.read_text())["runs"]["image"])


def test_the_docker_hook_runs_the_main_lines_released_image() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    entry = next(hook["entry"] for hook in hooks if hook["id"] == "dqguard-docker")
    start, end = release_image._entry_image(entry)
    image = entry[start:end]
    assert _released(image) == DEFAULT, image


def test_each_line_and_variant_action_runs_its_released_image() -> None:
    for name in RELEASED:
        image = _action_image(release_image.line_action_path(REPO, name)).removeprefix("docker://")
        assert _released(image) == name, image


def test_the_root_action_builds_between_releases_or_runs_the_main_lines_image() -> None:
    image = _action_image(REPO / "action.yml")
    assert image == "Dockerfile" or _released(image.removeprefix("docker://")) == DEFAULT, image


def test_scan_docker_runs_each_lines_released_image() -> None:
    assert {line: _released(image) for line, image in docker.IMAGES.items()} == {line: line for line in LINES}


def test_no_other_action_directory_names_an_image() -> None:
    # A torch-*/ directory the release does not rewrite would keep a stale image forever.
    directories = {path.parent.name for path in REPO.glob("torch-*/action.yml")}
    assert directories == {f"torch-{name}" for name in RELEASED}


def test_every_image_the_docs_name_is_released() -> None:
    # X.Y.Z placeholders (docs/release.md) are no reference; a concrete version must be this one's.
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    named = {match for page in pages
             for match in re.findall(rf"{re.escape(REPOSITORY)}:\d[^\s`'\")@]*", page.read_text())}
    assert named and {image: _released(image) for image in named if _released(image) is None} == {}
