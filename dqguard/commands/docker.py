"""`dqguard scan --docker`: the same scan, inside the image the GitHub Action runs, from any machine.

The verdict CI will give depends on the image's torch and torchao, not on the developer's. So the
scan is re-run in a container:

- The project (the enclosing git work tree, or the directory holding both the current directory
  and the manifest) is mounted read-only at its own path, and the container starts in the current
  directory, so every path in the reports is the one a host scan prints.
- Report files, `--summary` and `$GITHUB_STEP_SUMMARY`/`$GITHUB_OUTPUT` are the only writable
  mounts: each file is created on the host first and bind-mounted at its own path.
- `--network none`: a scan needs no network, and model code gets none. The caller's uid:gid, so
  nothing written is owned by root; HOME and caches in the container's /tmp.
- `--no-cache`: the container never reads a verdict the host computed with its own torch.

`--torch LINE` picks the image of that torch line, `--image` any other.

The container's exit code is the scan's (see `dqguard.errors`); docker's own failures (125-127)
become a usage error naming the image.
"""

import os
import shutil
import subprocess
from pathlib import Path

from dqguard.commands.options import ScanOptions
from dqguard.errors import DqguardError
from dqguard.lines import DEFAULT
from dqguard.manifest import projects

# The released image of each torch line (dqguard.lines); scripts/release_image.py pins them all
# at once, to the digests the actions and the dqguard-docker hook name.
IMAGES = {
    "2.9": "ghcr.io/dqguard/dqguard:0.2.0-torch2.9",
    "2.13": "ghcr.io/dqguard/dqguard:0.2.0-torch2.13",
    "2.14": "ghcr.io/dqguard/dqguard:0.2.0-torch2.14",
}

# ScanOptions fields that stay on the host: how this process shows things or finds the image.
# Every other field must become an argument in `scan_arguments` (a test checks that).
# `paths` and `exclude` choose manifests: `command` resolves the one the container scans.
HOST_ONLY = frozenset({"cache_dir", "no_cache", "color", "progress", "docker", "image", "torch", "paths",
                       "exclude"})
_DOCKER_FAILED = (125, 126, 127)  # docker run's own errors, not the command's


def _absolute(path: Path) -> Path:
    # As the host process would open it, without resolving symbolic links the user chose.
    return Path(os.path.abspath(path))


def project_root(cwd: Path, manifest_root: Path) -> Path:
    common = Path(os.path.commonpath([cwd, manifest_root]))
    for directory in (common, *common.parents):
        if (directory / ".git").exists():
            return directory
    return common


def scan_arguments(options: ScanOptions, manifest: Path) -> list[str]:
    """The container's `dqguard scan` arguments; every path absolute, as it is the host's."""
    arguments = ["--manifest", str(manifest), "--no-cache"]
    for output in options.outputs:
        path = "" if output.path is None else f":{_absolute(output.path)}"
        arguments += ["--format", output.format + path]
    if options.summary is not None:
        arguments += ["--summary", str(_absolute(options.summary))]
    if options.jobs is not None:
        arguments += ["--jobs", str(options.jobs)]
    if options.timeout is not None:
        arguments += ["--timeout", repr(options.timeout)]
    if options.start_timeout is not None:
        arguments += ["--start-timeout", repr(options.start_timeout)]
    if options.shard is not None:
        arguments += ["--shard", f"{options.shard[0]}/{options.shard[1]}"]
    for pattern in options.cases:
        arguments += ["--case", pattern]
    for code in options.ignore:
        arguments += ["--ignore", code]
    if options.exact_qparams:
        arguments.append("--exact-qparams")
    if options.weightless is not None:
        arguments.append("--weightless" if options.weightless else "--no-weightless")
    if options.verbose:
        arguments.append("--verbose")
    if options.fail_on != "warning":
        arguments += ["--fail-on", options.fail_on]
    if options.baseline is not None:
        arguments += ["--baseline", str(_absolute(options.baseline))]
    if options.no_baseline:
        arguments.append("--no-baseline")
    return arguments


def writable_files(options: ScanOptions) -> list[Path]:
    files = [_absolute(o.path) for o in options.outputs if o.path is not None]
    if options.summary is not None:
        files.append(_absolute(options.summary))
    for variable in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        if os.environ.get(variable):
            files.append(_absolute(Path(os.environ[variable])))
    return list(dict.fromkeys(files))


def command(options: ScanOptions, image: str, docker: str) -> tuple[list[str], list[Path]]:
    """The `docker run` command line, and the files it needs to exist on the host first."""
    cwd = Path.cwd()
    manifest = (options.manifest or projects.discover(cwd)).resolve()
    root = project_root(cwd, manifest.parent)
    files = writable_files(options)
    run = [docker, "run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}",
           "--volume", f"{root}:{root}:ro", "--workdir", str(cwd),
           "--env", "HOME=/tmp", "--env", "XDG_CACHE_HOME=/tmp/.cache"]
    for path in files:
        run += ["--volume", f"{path}:{path}:rw"]
    for variable in ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT",
                     "NO_COLOR"):
        if variable in os.environ:
            run += ["--env", variable]
    run += ["--entrypoint", "python", image, "-m", "dqguard", "scan", *scan_arguments(options, manifest)]
    return run, files


def image_of(options: ScanOptions) -> str:
    return options.image or IMAGES[options.torch or DEFAULT]


def execute(options: ScanOptions) -> int:
    docker = shutil.which("docker")
    if docker is None:
        raise DqguardError("--docker needs the docker command on PATH (and a running engine)")
    image = image_of(options)
    run, files = command(options, image, docker)
    created = [path for path in files if not path.exists()]
    for path in created:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    code = -1
    try:
        code = subprocess.run(run, check=False).returncode
    finally:
        for path in created:
            # A scan that stopped early leaves no empty report behind; a clean one may be empty.
            if code not in (0, 1) and path.exists() and path.stat().st_size == 0:
                path.unlink()
    if code in _DOCKER_FAILED:
        raise DqguardError(f"docker could not run the scan in {image} (docker run exited with {code}; "
                           "its message is above). Is the engine running, and the image built or "
                           "pullable? `docker build -t dqguard .` in dqguard's checkout, then "
                           "--image dqguard")
    return code
