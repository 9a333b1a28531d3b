#!/usr/bin/env python3
"""Pin a pushed image everywhere dqguard names it, so the action and its image can never drift.

    scripts/release_image.py --repository ghcr.io/OWNER/dqguard --digest sha256:...

rewrites, to `REPOSITORY:VERSION@DIGEST` (VERSION is dqguard's own, from dqguard/__init__.py):
- action.yml: `runs.image` becomes `docker://REFERENCE` (it is `Dockerfile` between releases);
- .pre-commit-hooks.yaml: the image in the `dqguard-docker` hook's entry;
- dqguard/docker.py: `IMAGE`, the default of `dqguard scan --docker`.

Each must be found exactly once; otherwise nothing is written and the script exits 2.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
                           "such as ghcr.io/OWNER/dqguard")
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


def pin_default(text: str, image: str) -> str:
    pattern = re.compile(r'^IMAGE = "[^"]*"$', re.MULTILINE)
    return _replace_once(text, pattern, f'IMAGE = "{image}"', "dqguard/docker.py IMAGE")


def release(root: Path, repository: str, digest: str) -> str:
    match = VERSION.search((root / "dqguard" / "__init__.py").read_text())
    if match is None:
        raise ReleaseError("dqguard/__init__.py has no __version__ line")
    image = reference(repository, match.group(1), digest)
    edits = {
        root / "action.yml": pin_action,
        root / ".pre-commit-hooks.yaml": pin_hook,
        root / "dqguard" / "docker.py": pin_default,
    }
    # All or nothing: every file is checked before any is written.
    new = {path: pin(path.read_text(), image) for path, pin in edits.items()}
    for path, text in new.items():
        path.write_text(text)
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True, help="for example ghcr.io/OWNER/dqguard")
    parser.add_argument("--digest", required=True, help="the pushed image's sha256:... digest")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    try:
        image = release(arguments.root, arguments.repository, arguments.digest)
    except (ReleaseError, OSError) as exc:
        print(f"release_image: error: {exc}", file=sys.stderr)
        return 2
    print(f"pinned {image} in action.yml, .pre-commit-hooks.yaml and dqguard/docker.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
