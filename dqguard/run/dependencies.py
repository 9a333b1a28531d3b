"""What a case's verdict depends on, observed in the process that ran it. No torch here.

The cache reuses a verdict only while every recorded dependency still has the fingerprint it had
when the case ran (`fingerprint`: a file's SHA-256, `None` for a file that was absent). They are:

- the file of every imported module that is the user's (`locate.is_user_file`), wherever it lives:
  under the project root, beside it on `PYTHONPATH`, the `src/` of an editable install; and
  dqguard's own files, whose code decides the verdict too;
- for every imported module of an installed distribution, that distribution's metadata file, which
  holds its name and version: upgrading transformers or executorch re-runs the cases that imported
  it, and nothing else. Files inside an installed distribution are not hashed one by one;
- every file under the project root that the case opened for reading, and every directory under it
  that the case listed (an audit hook sees `open`, `os.listdir` and `os.scandir`): the JSON config a
  model reads, the folder it globs. `__pycache__` is left out: it is derived from sources already
  tracked;
- the importable names (modules and regular packages) in every directory of the user's on
  `sys.path`, so a new file that would shadow an imported module re-runs the case.

What is not seen: files read by C code without Python's `open` (a C++ extension loading weights),
files outside the project root read at run time (a hub cache), environment variables, and the
existence checks (`os.path.exists`) a model makes. Use `--no-cache` when those change.
"""

import hashlib
import importlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from dqguard import locate

_EXTENSIONS = (".py", ".pyc", ".so", ".pyd")
_METADATA = {".dist-info": "METADATA", ".egg-info": "PKG-INFO"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
LISTING = "/"  # a recorded path that ends with it stands for the directory's listing
_IMPORTLIB = os.path.dirname(importlib.__file__) + os.sep


def file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _importable(directory: Path) -> list[str]:
    names = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if entry.name.endswith(_EXTENSIONS) or (
            entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py"))
        ):
            names.append(entry.name)
    return sorted(names)


def _listing(directory: Path) -> str | None:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode()).hexdigest()


def _path_listing(directory: Path) -> str:
    return hashlib.sha256("\0".join(_importable(directory)).encode()).hexdigest()


def fingerprint(key: str, root: Path) -> str | None:
    """The current fingerprint of a recorded dependency (`key` as `record` wrote it)."""
    if key.startswith("importable:"):
        return _path_listing(root / key.removeprefix("importable:"))
    if key.endswith(LISTING):
        return _listing(root / key)
    return file_hash(root / key)


def distribution_index() -> dict[str, list[Path]]:
    """Top-level import name -> metadata files of the installed distributions that provide it.

    Read from each distribution's `top_level.txt`, or its `RECORD` when it has none, in every site
    directory: about 40 ms for a venv with torch and transformers, paid once per worker.
    """
    index: dict[str, list[Path]] = {}
    for directory in locate.installed_dirs():
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            suffix = next((s for s in _METADATA if entry.name.endswith(s)), None)
            if suffix is None:
                continue
            info = Path(entry.path)
            for name in _top_level_names(info):
                index.setdefault(name, []).append(info / _METADATA[suffix])
    return index


def _top_level_names(info: Path) -> set[str]:
    try:
        return set((info / "top_level.txt").read_text().split())
    except OSError:
        pass
    try:
        record = (info / "RECORD").read_text()
    except OSError:
        return set()
    names = {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines() if line}
    return {n.removesuffix(".py") for n in names
            if n not in ("..", "__pycache__") and not n.endswith((".dist-info", ".data"))}


class Recorder:
    """Collects what one case depends on; `start` must run in the process that runs the case."""

    def __init__(self, root: Path, index: dict[str, list[Path]]) -> None:
        self.root = root.resolve()
        self.index = index
        self.opened: set[Path] = set()
        self.listed: set[Path] = set()
        self.recording = False  # the recorder's own reads are not the case's

    def start(self) -> None:
        # An audit hook cannot be removed: the case's own process installs it and exits after.
        sys.addaudithook(self._audit)

    def _audit(self, event: str, args: tuple[object, ...]) -> None:
        if self.recording:
            return
        if event == "open":
            path, mode, flags = args
            if isinstance(mode, str) and any(c in mode for c in "wax+"):
                return
            if isinstance(flags, int) and flags & _WRITE_FLAGS:
                return
            self._under_root(path, self.opened)
        elif event in ("os.listdir", "os.scandir") and args:
            # The import system and importlib.metadata list sys.path directories to find modules
            # and distributions; what they find is recorded as module files, distributions'
            # metadata and importable names, so only the case's own listings count.
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith("<frozen importlib") or caller.startswith(_IMPORTLIB):
                return
            self._under_root(args[0] if args[0] is not None else ".", self.listed)

    def _under_root(self, path: object, into: set[Path]) -> None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, (str, os.PathLike)):
            return  # a file descriptor
        absolute = Path(os.path.abspath(path))
        # A virtualenv inside the repository is installed code: keyed by distribution, not hashed.
        if (absolute.is_relative_to(self.root) and "__pycache__" not in absolute.parts
                and locate.installed_dir(absolute) is None):
            into.add(absolute)

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)

    def record(self, modules: Iterable[ModuleType]) -> dict[str, str | None]:
        """Every dependency so far, as recorded path -> fingerprint."""
        self.recording = True
        try:
            return self._record(modules)
        finally:
            self.recording = False

    def _record(self, modules: Iterable[ModuleType]) -> dict[str, str | None]:
        files: set[Path] = set(self.opened)
        for module in modules:
            file = getattr(module, "__file__", None)
            if not isinstance(file, str) or not os.path.isabs(file):
                continue
            if locate.is_user_file(file) or locate.is_dqguard_file(file):
                files.add(Path(file).resolve())
            else:
                top = module.__name__.partition(".")[0]
                files.update(self.index.get(top, ()))
        deps: dict[str, str | None] = {self._key(p): file_hash(p) for p in files}
        for directory in self.listed:
            deps[self._key(directory).rstrip("/") + LISTING] = _listing(directory)
        for entry in sys.path:
            directory = Path(entry or ".").resolve()
            if directory.is_dir() and locate.installed_dir(directory) is None:
                deps["importable:" + self._key(directory)] = _path_listing(directory)
        return dict(sorted(deps.items()))
