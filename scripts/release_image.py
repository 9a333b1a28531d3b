#!/usr/bin/env python3
"""Pin the pushed images of every torch line everywhere dqguard names them, all at once, so the
actions and their images can never drift.

    scripts/release_image.py --repository ghcr.io/dqguard/dqguard \
        --digest 2.9=sha256:... --digest 2.13=sha256:... --digest 2.13-arm=sha256:... \
        --digest 2.14=sha256:...

takes one digest per image of dqguard.lines.RELEASED (each line's, tagged `VERSION-torchLINE`, and
each variant with a dqguard extra, `VERSION-torchLINE-EXTRA`; VERSION is dqguard's own from
dqguard/__init__.py) and rewrites, to `REPOSITORY:TAG@DIGEST`:
- action.yml: `runs.image` becomes `docker://REFERENCE` of the default line (it is `Dockerfile`
  between releases);
- torch-NAME/action.yml, for every image (torch-2.13, torch-2.13-arm, ...): action.yml's inputs
  and outputs with that image;
- .pre-commit-hooks.yaml: the default line's image in the `dqguard-docker` hook's entry;
- dqguard/commands/docker.py: every line's entry in `IMAGES`, what `dqguard scan --docker --torch LINE` runs.

An image without a digest, or a place not found exactly once, and nothing is written: exit 2.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dqguard.lines import DEFAULT, RELEASED  # noqa: E402

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$")
VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
# `docker run` options a hook entry may put before the image that take a separate value.
_DOCKER_RUN_VALUE_OPTIONS = frozenset({"--entrypoint", "-e", "--env", "-u", "--user", "-v", "--volume",
                                       "-w", "--workdir", "--network", "--platform"})


class ReleaseError(Exception):
    pass


def reference(repository: str, version: str, digest: str) -> str:
    if not REPOSITORY.match(repository):
        raise ReleaseError(f"--repository {repository!r} is not a lower-case image repository "
                           "such as ghcr.io/dqguard/dqguard")
    if not DIGEST.match(digest):
        raise ReleaseError(f"--digest {digest!r} is not sha256: and 64 hex digits (docker push prints it)")
    return f"{repository}:{version}@{digest}"


def _replace_once(text: str, pattern: re.Pattern[str], replacement: str, where: str) -> str:
    new, count = pattern.subn(replacement, text)
    if count != 1:
        raise ReleaseError(f"{where}: expected exactly one match of {pattern.pattern!r}, found {count}")
    return new


def pin_action(text: str, image: str) -> str:
    pattern = re.compile(r"^(runs:\n(?:[ \t]+.*\n|\n)*?[ \t]+image:[ \t]*)\S.*$", re.MULTILINE)
    return _replace_once(text, pattern, rf"\g<1>docker://{image}", "action.yml runs.image")


def _entry_image(entry: str) -> tuple[int, int]:
    """Where the image is in a docker_image entry: the first word that is no option nor its value."""
    words = list(re.finditer(r"\S+", entry))
    index = 0
    while index < len(words) and words[index].group().startswith("-"):
        takes_value = words[index].group() in _DOCKER_RUN_VALUE_OPTIONS
        index += 2 if takes_value else 1
    if index >= len(words):
        raise ReleaseError(f".pre-commit-hooks.yaml: no image in the dqguard-docker entry {entry!r}")
    return words[index].span()


def pin_hook(text: str, image: str) -> str:
    block = re.compile(r"^- id: dqguard-docker\n(?:(?!- ).*\n?)*", re.MULTILINE)
    hooks = list(block.finditer(text))
    if len(hooks) != 1:
        raise ReleaseError(f".pre-commit-hooks.yaml: expected one dqguard-docker hook, found {len(hooks)}")
    hook = hooks[0]
    entries = list(re.finditer(r"^([ \t]+entry:[ \t]*)(.*)$", hook.group(), re.MULTILINE))
    if len(entries) != 1:
        raise ReleaseError(".pre-commit-hooks.yaml: the dqguard-docker hook needs one `entry:` line")
    entry = entries[0].group(2)
    start, end = _entry_image(entry)
    offset = hook.start() + entries[0].start(2)
    return text[:offset + start] + image + text[offset + end:]


def pin_images(text: str, images: dict[str, str]) -> str:
    for line, image in images.items():
        pattern = re.compile(rf'^(    "{re.escape(line)}": )"[^"]*",$', re.MULTILINE)
        where = f"dqguard/commands/docker.py IMAGES[{line!r}]"
        text = _replace_once(text, pattern, rf'\g<1>"{image}",', where)
    return text


def line_action(action: str, name: str, image: str) -> str:
    """torch-NAME/action.yml: the root action with that image and its name (`2.13-arm`) in the name."""
    named = _replace_once(action, re.compile(r"^name: (.*)$", re.MULTILINE), rf"name: \g<1> (torch {name})",
                          "action.yml name")
    return pin_action(named, image)


def line_action_path(root: Path, name: str) -> Path:
    return root / f"torch-{name}" / "action.yml"


def parse_digests(values: list[str]) -> dict[str, str]:
    digests = {}
    for value in values:
        name, _, digest = value.partition("=")
        if name not in RELEASED or not digest:
            raise ReleaseError(f"--digest {value!r} is not IMAGE=sha256:... with IMAGE one of "
                               f"{', '.join(RELEASED)}")
        digests[name] = digest
    missing = [name for name in RELEASED if name not in digests]
    if missing:
        raise ReleaseError(f"no --digest for image {', '.join(missing)}: every image is released and "
                           "pinned at once")
    return digests


def release(root: Path, repository: str, digests: dict[str, str]) -> dict[str, str]:
    match = VERSION.search((root / "dqguard" / "__init__.py").read_text())
    if match is None:
        raise ReleaseError("dqguard/__init__.py has no __version__ line")
    images = {name: reference(repository, image.tag(match.group(1)), digests[name])
              for name, image in RELEASED.items()}
    lines = {image.line: images[name] for name, image in RELEASED.items() if not image.extra}
    action = (root / "action.yml").read_text()
    hooks = (root / ".pre-commit-hooks.yaml").read_text()
    docker = root / "dqguard" / "commands" / "docker.py"
    # All or nothing: every file is computed before any is written.
    new = {
        root / "action.yml": pin_action(action, images[DEFAULT]),
        root / ".pre-commit-hooks.yaml": pin_hook(hooks, images[DEFAULT]),
        docker: pin_images(docker.read_text(), lines),
        **{line_action_path(root, name): line_action(action, name, image) for name, image in images.items()},
    }
    for path, text in new.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True, help="for example ghcr.io/dqguard/dqguard")
    parser.add_argument("--digest", action="append", default=[], metavar="IMAGE=DIGEST",
                        help="an image's pushed digest (sha256:...), IMAGE a line or a line's variant "
                             "(2.13-arm); one for every image")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    try:
        images = release(arguments.root, arguments.repository, parse_digests(arguments.digest))
    except (ReleaseError, OSError) as exc:
        print(f"release_image: error: {exc}", file=sys.stderr)
        return 2
    for name, image in images.items():
        where = "action.yml, .pre-commit-hooks.yaml, " if name == DEFAULT else ""
        also = "" if RELEASED[name].extra else " and dqguard/commands/docker.py"
        print(f"pinned {image} in {where}{line_action_path(Path(), name)}{also}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
