"""Which manifests a scan reads: the project you are in, or every project of a monorepo.

- `--manifest PATH`: that manifest alone.
- Otherwise each directory given (the current directory when none is) is searched downwards for
  manifests: `dqguard.toml`, or a `pyproject.toml` with `[tool.dqguard]` (in a directory with both,
  `dqguard.toml`). Inside a git work tree the search is git's own list of files, tracked and
  untracked, less what `.gitignore` (and `.git/info/exclude`, the global excludes file) ignores, as
  ruff and pre-commit honour it. Outside git, hidden directories, `__pycache__`, `node_modules`,
  virtual environments (a `pyvenv.cfg`) and cache directories (a `CACHEDIR.TAG`) are skipped.
- `--exclude PATTERN` drops every manifest whose path or directory, relative to the current
  directory, or any directory above it there, matches the glob (`vendor`, `legacy/*`).
- A directory with no manifest under it lies inside one project: its manifest is the first found
  upwards, as ruff finds its configuration. That keeps `cd models && dqguard scan` working.

A project found below the current directory has its cases named after its directory
(`a/projections-dynamic`): two sub-projects may both have a case `projections-dynamic`, and both
may have a `models` package, since each resolves references against its own root. The project of
the current directory, or one above it, and the one `--manifest` names keep their cases' own
names. No torch here.
"""

import fnmatch
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from dqguard.errors import DqguardError
from dqguard.manifest import load as manifest_module
from dqguard.manifest.load import Manifest

NAMES = ("dqguard.toml", "pyproject.toml")
_SKIPPED = {"__pycache__", "node_modules"}
_OUR_TABLE = re.compile(r"^\s*\[\[?\s*tool\.dqguard[\].]", re.MULTILINE)


class Project(NamedTuple):
    manifest: Manifest
    qualifier: str  # "" or the project's directory relative to where the scan runs, posix

    def qualified(self, name: str) -> str:
        return f"{self.qualifier}/{name}" if self.qualifier else name

    @property
    def manifest_path(self) -> str:
        """The manifest's path relative to its root, as workers and the cache name it."""
        return self.manifest.path.relative_to(self.manifest.root).as_posix()


def is_manifest(path: Path) -> bool:
    if path.name == "dqguard.toml":
        return path.is_file()
    try:
        return path.name == "pyproject.toml" and bool(_OUR_TABLE.search(path.read_text(errors="replace")))
    except OSError:
        return False


def discover(start: Path) -> Path:
    """The manifest of the project `start` lies in: the first directory upwards that has one."""
    for directory in (start, *start.parents):
        for name in NAMES:
            if is_manifest(directory / name):
                return directory / name
    raise DqguardError(
        f"no dqguard.toml, nor a pyproject.toml with [tool.dqguard], in {start} or its parents "
        "(use --manifest PATH)"
    )


def _in_git(directory: Path) -> bool:
    """Whether `directory` lies in a git work tree, without starting git (a warm scan starts nothing)."""
    return any((parent / ".git").exists() for parent in (directory, *directory.parents))


def _git_files(directory: Path, patterns: tuple[str, ...]) -> list[Path] | None:
    """Files matching `patterns` under `directory` that git does not ignore; None outside git."""
    if not _in_git(directory):
        return None
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
               *(f":(glob)**/{pattern}" for pattern in patterns)]
    try:
        done = subprocess.run(command, cwd=directory, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [directory / name for name in dict.fromkeys(done.stdout.decode().split("\0")) if name]


def _skipped(directory: Path) -> bool:
    return (directory.name.startswith(".") or directory.name in _SKIPPED
            or (directory / "pyvenv.cfg").exists() or (directory / "CACHEDIR.TAG").exists())


def _walked_files(directory: Path, patterns: tuple[str, ...]) -> Iterator[Path]:
    for top, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(top, d)))
        yield from (Path(top, name) for pattern in patterns for name in fnmatch.filter(names, pattern))


def files(directory: Path, patterns: tuple[str, ...]) -> list[Path]:
    """The files under `directory` whose names match one of `patterns` (`dqguard.toml`, `*.py`),
    sorted: git's list in a work tree, else a walk that skips what the module's docstring says."""
    listed = _git_files(directory, patterns)
    return sorted(set(listed if listed is not None else _walked_files(directory, patterns)))


def _excluded(path: Path, base: Path, patterns: tuple[str, ...]) -> bool:
    try:
        relative = PurePosixPath(path.relative_to(base).as_posix())
    except ValueError:
        relative = PurePosixPath(path.as_posix())
    names = [str(relative), *(str(parent) for parent in relative.parents if str(parent) != "."),
             *relative.parts]
    return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)


def _search(directory: Path, exclude: tuple[str, ...], base: Path) -> list[Path]:
    """The manifests under `directory`, one per project directory, sorted by path."""
    chosen: dict[Path, Path] = {}
    for path in files(directory, NAMES):
        # dqguard.toml wins over a pyproject.toml in the same directory.
        if is_manifest(path) and not _excluded(path, base, exclude) \
                and (path.parent not in chosen or path.name == "dqguard.toml"):
            chosen[path.parent] = path
    return sorted(chosen.values(), key=lambda p: p.parent.parts)


def find(manifest: Path | None, paths: tuple[Path, ...], exclude: tuple[str, ...]) -> list[Path]:
    """The manifests a scan reads (see the module's docstring), resolved."""
    if manifest is not None:
        return [manifest.resolve()]
    base = Path.cwd().resolve()
    manifests: list[Path] = []
    for directory in paths or (base,):
        directory = (base / directory).resolve()
        if not directory.is_dir():
            raise DqguardError(f"{directory}: no such directory")
        found = _search(directory, exclude, base) or [discover(directory).resolve()]
        manifests += [path for path in found if path not in manifests]
    return manifests


def _qualifier(root: Path, base: Path) -> str:
    if root == base or not root.is_relative_to(base):
        return ""
    return root.relative_to(base).as_posix()


def load(manifest: Path | None, paths: tuple[Path, ...] = (), exclude: tuple[str, ...] = ()) -> list[Project]:
    """Every project a scan reads, loaded; all their manifest errors are raised at once."""
    base = Path.cwd().resolve()
    projects: list[Project] = []
    errors: list[str] = []
    for path in find(manifest, paths, exclude):
        try:
            loaded = manifest_module.load(path)
        except DqguardError as exc:
            errors.append(str(exc))
            continue
        # One manifest named by --manifest is not a monorepo's: its cases keep their own names.
        projects.append(Project(loaded, "" if manifest is not None else _qualifier(loaded.root, base)))
    if errors:
        raise DqguardError("\n".join(errors))
    names: dict[str, Path] = {}
    for project in projects:
        for case in project.manifest.cases:
            name = project.qualified(case.name)
            if name in names:
                raise DqguardError(f"{manifest_module.display_path(project.manifest.path)}:{case.line}: case "
                                   f"'{case.name}' is named '{name}' in this scan, as a case of "
                                   f"{manifest_module.display_path(names[name])} is: rename one")
            names[name] = project.manifest.path
    return projects
