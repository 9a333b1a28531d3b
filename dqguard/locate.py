"""What counts as the user's code, and from a recorded stack trace to a line of it. No torch here.

A file is the user's unless it belongs to the Python installation or to an installed
distribution: the standard library and every `site-packages`/`dist-packages` directory this
interpreter knows are not the user's, nor is dqguard itself. Where the project lives does not
matter: a project under `/usr` (Debian's system Python), inside a virtualenv's prefix, or beside
the project root on `PYTHONPATH` (a monorepo sibling, the `src/` of an editable install) is the
user's, while a `.venv` inside the repository is not, because its files sit in its
`site-packages`.
"""

import functools
import os
import re
import site
import sys
import sysconfig
from pathlib import Path

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)', re.MULTILINE)
_PACKAGE_DIR = Path(__file__).resolve().parent
# The framework whose frames end every traced call (`nn.Linear.forward` calling `F.linear`): never
# the library frame a reader wants, which is the call into it.
_FRAMEWORK = ("torch",)


@functools.cache
def installed_dirs() -> tuple[Path, ...]:
    """The standard library's and every site directory of this interpreter, resolved."""
    paths = sysconfig.get_paths()
    candidates = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    candidates.append(site.getusersitepackages())
    candidates += [entry for entry in sys.path if Path(entry).name in ("site-packages", "dist-packages")]
    return tuple(dict.fromkeys(Path(c).resolve() for c in candidates if c))


def installed_dir(path: Path) -> Path | None:
    """The site (or standard library) directory `path` lies in; None for the user's files."""
    site_dirs = [d for d in installed_dirs() if path.is_relative_to(d)]
    # The longest match: a venv's site-packages may lie inside the standard library's directory.
    return max(site_dirs, key=lambda d: len(d.parts)) if site_dirs else None


@functools.cache
def is_user_file(file: str) -> bool:
    """Whether `file` (an absolute path as the interpreter names it) is the user's own code.

    Resolving costs a stat per path component; a worker asks about thousands of module files, and a
    file's answer never changes within a process, so each is resolved once.
    """
    path = Path(file).resolve()
    return installed_dir(path) is None and not path.is_relative_to(_PACKAGE_DIR)


@functools.cache
def _stdlib_dirs() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple(Path(paths[key]).resolve() for key in ("stdlib", "platstdlib") if paths.get(key))


def library_frame(stack_trace: str | None, root: Path) -> tuple[str, int] | None:
    """The innermost frame in an installed library, when it is inner to every frame of the user's
    code, as (path inside its site directory, line): `transformers/models/vit/modeling_vit.py`.

    The standard library and torch's own frames are skipped: the call into torch is what locates a
    node, not torch's implementation of it."""
    if not stack_trace:
        return None
    frames = [(m.group("path"), int(m.group("line"))) for m in _FRAME.finditer(stack_trace)]
    for path, line in reversed(frames):
        if not os.path.isabs(path) or is_dqguard_file(path):
            continue
        if is_user_file(path):
            return None
        resolved = Path(path).resolve()
        site_dir = installed_dir(resolved)
        if site_dir is None or site_dir in _stdlib_dirs():
            continue
        inside = resolved.relative_to(site_dir)
        if inside.parts[0] not in _FRAMEWORK:
            return inside.as_posix(), line
    return None


@functools.cache
def is_dqguard_file(file: str) -> bool:
    return Path(file).resolve().is_relative_to(_PACKAGE_DIR)


def relative(path: Path, root: Path) -> str:
    """`path` as the reports name it: relative to the project root, with `../` when outside it."""
    return Path(os.path.relpath(path, root)).as_posix()


def user_frame(stack_trace: str | None, root: Path) -> tuple[str, int] | None:
    """The innermost frame of the user's code as (root-relative posix path, line), or None."""
    if not stack_trace:
        return None
    frames = [(m.group("path"), int(m.group("line"))) for m in _FRAME.finditer(stack_trace)]
    for path, line in reversed(frames):
        # Relative names are the interpreter's own (<frozen importlib._bootstrap>, <string>).
        if os.path.isabs(path) and is_user_file(path):
            return relative(Path(path).resolve(), root), line
    return None
