"""What a scan was asked to do: the command line's options as one value, shared by `scan`,
`baseline`, `explain` and `--docker` (which re-runs the same options in a container)."""

from pathlib import Path
from typing import NamedTuple


class Output(NamedTuple):
    format: str
    path: Path | None  # None: standard output


class ScanOptions(NamedTuple):
    manifest: Path | None = None
    outputs: tuple[Output, ...] = (Output("text", None),)
    jobs: int | None = None
    timeout: float | None = None
    start_timeout: float | None = None  # seconds a worker may take to start (None: the pool's default)
    shard: tuple[int, int] | None = None
    cases: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exact_qparams: bool = False
    weightless: bool | None = None  # None: each case's own `weightless`
    cache_dir: Path | None = None
    no_cache: bool = False
    summary: Path | None = None  # Markdown summary appended here (and to $GITHUB_STEP_SUMMARY)
    verbose: bool = False
    color: bool = False
    progress: bool = False
    docker: bool = False  # re-run the scan inside `image` (dqguard.commands.docker)
    image: str | None = None
    torch: str | None = None  # the torch line whose image --docker runs (dqguard.lines)
    paths: tuple[Path, ...] = ()  # directories whose manifests to scan (dqguard.manifest.projects)
    exclude: tuple[str, ...] = ()
    fail_on: str = "warning"  # "error" | "warning" | "never" (case errors always fail)
    baseline: Path | None = None  # one baseline file instead of each manifest's
    no_baseline: bool = False
