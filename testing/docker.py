"""A real Docker engine for the container tests, and the images they run.

There is no system service to rely on: the tests start their own `dockerd` (root only), with its
socket, pid file and exec root in a fresh temporary directory and its data root in a cache
directory, so images survive between runs. The daemon creates no bridge and touches no iptables
rules: builds use the host's network, the action runs with none, as `dqguard scan --docker` does.

No image can be pulled here. The Dockerfile's digest-pinned base is replaced by a stand-in built
from Debian packages with mmdebstrap (python3, pip, the host's extra CA certificates so that pip
in a build reaches the package index), tagged with the base's name without its digest (a digest
cannot be a local tag). torch comes from the local wheel in pip's `find-links`, served over HTTP
to the build.
"""

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from dqguard.lines import DEFAULT, LINES
from testing import lines

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
CACHE = lines.CACHE
IMAGE = "dqguard:test"
STANDIN_PACKAGES = ("python3", "python3-pip", "python3-venv", "python-is-python3", "ca-certificates")
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
CA_DIR = Path("/usr/local/share/ca-certificates")
# The wheel server's URL is a build argument, so its port is part of the build's cache key for every
# layer: fixed for a test cache, and apart for runs with caches of their own (DQGUARD_TEST_CACHE),
# which may build at the same time on this host's network.
WHEEL_PORT = 38765 + int(hashlib.sha256(str(CACHE).encode()).hexdigest(), 16) % 500


Completed = subprocess.CompletedProcess[str]


class Unavailable(Exception):
    """The machine cannot run the container tests; the message says why."""


class Engine(NamedTuple):
    env: dict[str, str]  # os.environ with DOCKER_HOST set to this engine
    pid: int
    log: Path

    def docker(self, *args: str, check: bool = True, timeout: float = 600) -> Completed:
        done = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done


def dockerfile_default(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S*)$", DOCKERFILE.read_text(), re.MULTILINE)
    if match is None:
        raise AssertionError(f"Dockerfile has no default for ARG {name}")
    return match.group(1).strip('"')


def base_name() -> str:
    """The pinned base's name without its digest: what the stand-in is tagged as."""
    return dockerfile_default("BASE_IMAGE").partition("@")[0]


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise Unavailable(reason)


def _lock(path: Path) -> IO[str] | None:
    """An exclusive lock held as long as the returned file is open; None if another run holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def engine() -> Iterator[Engine]:
    _require(os.geteuid() == 0, "the container tests start their own dockerd, which needs root")
    # Debian installs dockerd in /usr/sbin, which a non-login PATH may lack.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    dockerd = shutil.which("dockerd", path=search)
    _require(dockerd is not None and shutil.which("docker") is not None,
             "dockerd is not installed (as root, scripts/test installs Debian's docker.io)")
    assert dockerd is not None
    run_dir = Path(tempfile.mkdtemp(prefix="dqd-"))  # short: it holds the daemon's socket
    # One run at a time may keep its images in the cache; a concurrent one starts empty.
    lock = _lock(CACHE / "docker.lock")
    data_root = CACHE / "docker" if lock else run_dir / "data"
    log = run_dir / "dockerd.log"
    with log.open("w") as log_file:
        daemon = subprocess.Popen(
            [dockerd, "--data-root", str(data_root), "--exec-root", str(run_dir / "exec"),
             "--pidfile", str(run_dir / "docker.pid"), "--host", f"unix://{run_dir}/docker.sock",
             "--bridge", "none", "--iptables=false", "--ip6tables=false"],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PATH": search},  # runc and iptables live in /usr/sbin too
        )
    env = {**os.environ, "DOCKER_HOST": f"unix://{run_dir}/docker.sock", "DOCKER_BUILDKIT": "0"}
    started = Engine(env, daemon.pid, log)
    try:
        deadline = time.monotonic() + 60
        while started.docker("info", check=False, timeout=30).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                raise Unavailable(f"dockerd did not start (exit {daemon.poll()}):\n{tail}")
            time.sleep(0.2)
        started.docker("container", "prune", "--force")
        yield started
    finally:
        if daemon.poll() is None:
            with contextlib.suppress(Exception):
                leftovers = started.docker("ps", "-aq", check=False, timeout=60).stdout.split()
                if leftovers:
                    started.docker("rm", "-f", *leftovers, check=False, timeout=120)
            os.kill(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        if lock is not None:
            lock.close()
        _unmount_under(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


def _unmount_under(directory: Path) -> None:
    # dockerd leaves its network namespace mounted in the exec root when it stops.
    mounts = Path("/proc/mounts").read_text().splitlines()
    for target in sorted({line.split()[1] for line in mounts}, reverse=True):
        if Path(target).is_relative_to(directory):
            subprocess.run(["umount", target], capture_output=True, check=False)


def _standin_key() -> str:
    digest = hashlib.sha256(" ".join(STANDIN_PACKAGES).encode())
    for path in (SOURCES, *sorted(CA_DIR.glob("*.crt"))):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def standin_tar() -> Path:
    """The stand-in base's root file system as a tar, built once per package list and mirror."""
    _require(shutil.which("mmdebstrap") is not None,
             "mmdebstrap is not installed (as root, scripts/test installs it)")
    _require(SOURCES.is_file(), f"no Debian mirror configured in {SOURCES}")
    tar = CACHE / f"standin-{_standin_key()}.tar"
    if tar.is_file():
        return tar
    tar.parent.mkdir(parents=True, exist_ok=True)
    partial = tar.with_suffix(f".{os.getpid()}.partial")
    hooks = [
        'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
        f'cp {CA_DIR}/*.crt "$1"/usr/local/share/ca-certificates/ 2>/dev/null; '
        'chroot "$1" update-ca-certificates >/dev/null 2>&1',
    ]
    command = ["mmdebstrap", "--quiet", "--format=tar", "--variant=minbase",
               f"--include={','.join(STANDIN_PACKAGES)}", *(f"--customize-hook={hook}" for hook in hooks),
               "bookworm", str(partial), str(SOURCES)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise Unavailable(f"mmdebstrap failed ({done.returncode}):\n{done.stderr[-2000:]}")
    partial.rename(tar)
    return tar


def standin_base(engine: Engine) -> str:
    """The stand-in imported and tagged as the Dockerfile's base; reused when already there."""
    name, tar = base_name(), standin_tar()
    label = "dqguard.standin"
    inspected = engine.docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}',
                              name, check=False)
    if inspected.returncode != 0 or inspected.stdout.strip() != tar.stem:
        engine.docker("import", "--change", f"LABEL {label}={tar.stem}", str(tar), name)
    return name


def torch_wheels() -> Path:
    """The directory pip's configuration names under find-links that holds the torch wheel."""
    version = dockerfile_default("TORCH_VERSION")
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                            text=True, check=False).stdout
    places = re.findall(r"find-links='([^']*)'", listed) + os.environ.get("PIP_FIND_LINKS", "").split()
    for place in places:
        for entry in place.split():
            directory = Path(entry.removeprefix("file://"))
            if directory.is_dir() and any(directory.glob(f"torch-{version}+cpu-*.whl")):
                return directory
    raise Unavailable(f"no torch-{version}+cpu wheel in pip's find-links ({places or 'none set'})")


def _free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 50):
        with socket.socket() as probe:
            # As http.server binds: the last build's connections in TIME_WAIT must not move the port.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise Unavailable(f"no free port from {preferred} on to serve the torch wheel")


@contextlib.contextmanager
def wheel_server(directory: Path) -> Iterator[str]:
    port = _free_port(WHEEL_PORT)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(directory),
         str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise Unavailable(f"the wheel server on port {port} did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait()


def build_image(engine: Engine, tag: str = IMAGE, line: str = DEFAULT, extras: str = "") -> str:
    """dqguard's image of a torch line from this checkout, on the stand-in base; with `extras`
    (`arm`), that line's variant holding dqguard's extra.

    The main line's torch is the local CPU wheel. Another line's torch, torchao and their
    dependencies are downloaded once into the test cache (testing.lines.wheels) and served the
    same way: the only builds of them this machine can reach are CUDA builds, hence no `+cpu`.
    An extra's packages (ExecuTorch and the rest) come from the package index, through the host's
    network.
    """
    base = standin_base(engine)
    arguments = ["--build-arg", f"BASE_IMAGE={base}", "--build-arg", "TORCH_INDEX_URL=",
                 "--build-arg", f"EXTRAS={extras}"]
    if line == DEFAULT:
        directory = torch_wheels()
    else:
        directory = lines.wheels(line)
        pair = LINES[line]
        arguments += ["--build-arg", f"TORCH_VERSION={pair.torch}",
                      "--build-arg", f"TORCHAO_VERSION={pair.torchao}", "--build-arg", "TORCH_LOCAL_VERSION="]
    with wheel_server(directory) as url:
        engine.docker("build", "--network=host", *arguments, "--build-arg", f"PIP_FIND_LINKS={url}",
                      "--tag", tag, str(REPO), timeout=2400)
    engine.docker("image", "prune", "--force")  # the layers of earlier builds of this checkout
    return tag


def make_wheel(directory: Path, name: str, source: str) -> Path:
    """A pure-Python wheel holding one module, `name`, with `source` as its text."""
    dist = f"{name}-1.0"
    files = {
        f"{name}.py": source,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: dqguard-tests\n"
                                   "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}.dist-info/RECORD,,\n"
    files[f"{dist}.dist-info/RECORD"] = record
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel
