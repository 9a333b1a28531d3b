"""From a node's recorded stack trace to a line of the user's own source. No torch here."""

import re
import sys
from pathlib import Path

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)', re.MULTILINE)
_LIBRARY_DIRS = ("site-packages", "dist-packages")


_ENVIRONMENTS = tuple({Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def is_user_file(path: Path, root: Path) -> bool:
    """Under the project root, and not part of an installed environment."""
    if not path.is_relative_to(root) or any(part in _LIBRARY_DIRS for part in path.parts):
        return False
    # A virtualenv inside the repository holds torch's files too; they are not the user's.
    return not any(path.is_relative_to(env) and env != root for env in _ENVIRONMENTS)


def user_frame(stack_trace: str | None, root: Path) -> tuple[str, int] | None:
    """The innermost frame under `root` as (root-relative posix path, line), or None."""
    if not stack_trace:
        return None
    frames = [(Path(m.group("path")), int(m.group("line"))) for m in _FRAME.finditer(stack_trace)]
    for path, line in reversed(frames):
        # Relative names are the interpreter's own (<frozen importlib._bootstrap>, <string>).
        if path.is_absolute() and is_user_file(path, root):
            return path.relative_to(root).as_posix(), line
    return None
