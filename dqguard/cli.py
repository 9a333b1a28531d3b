"""The command line. A command's options become one typed value; its module's `execute` does the rest.

Exit codes: 0 clean, 1 findings or failed cases, 2 usage or manifest error, 3 internal error
(the traceback goes to a file named in the message), 130 interrupted.
"""

import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dqguard import __version__, baseline
from dqguard.commands import listing
from dqguard.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, DqguardError
from dqguard.lines import DEFAULT, LINES
from dqguard.manifest import projects
from dqguard.rules import FAIL_ON, IGNORABLE, RULES

if TYPE_CHECKING:
    from dqguard.commands.options import Output

# The commands that run cases import their dqguard.commands module (the runner, every reporter) when
# they run: `dqguard list`, `init` and `--version` answer in the interpreter's start time without them.


def _parse_format(value: str) -> "Output":
    from dqguard.commands.options import Output
    from dqguard.report import FORMATS

    name, _, path = value.partition(":")
    if name not in FORMATS:
        raise click.BadParameter(f"{name!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    return Output(name, Path(path) if path else None)


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise click.BadParameter(f"{value!r} is not K/N with 1 <= K <= N", param_hint="--shard")
    return int(index), int(count)


def _directories(files: tuple[str, ...]) -> tuple[Path, ...]:
    # pre-commit passes files; a directory says which projects to scan.
    return tuple(Path(f) for f in files if Path(f).is_dir())


_manifest_option = click.option(
    "--manifest", type=click.Path(dir_okay=False, path_type=Path),
    help="dqguard.toml or pyproject.toml (default: every manifest under the current directory, or "
    "the one found upwards from it).")
# The one setting besides --cache-dir that the environment may give (a slow runner's, set once for
# every scan): read here, it reaches the pool as an option; workers never read it.
_start_timeout_option = click.option(
    "--start-timeout", type=click.FloatRange(min=0, min_open=True), envvar="DQGUARD_START_TIMEOUT",
    show_envvar=True, metavar="SECONDS",
    help="Seconds a worker may take to start, importing torch (default 180).")
_exclude_option = click.option(
    "--exclude", multiple=True, metavar="GLOB",
    help="Skip manifests whose directory matches this glob (relative to the current directory); repeatable.")
# Environment-configurable on purpose, like ruff's RUFF_CACHE_DIR: CI (or a developer) moves every
# scan's cache at once without editing each command line. Read here only, on every command that
# reads the cache; dqguard.commands.cases.cache_directory gives the default.
_cache_dir_option = click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="DQGUARD_CACHE_DIR",
    show_envvar=True, help="Where verdicts are cached (default: .dqguard_cache beside the manifest).")
_no_cache_option = click.option("--no-cache", is_flag=True, help="Neither reuse nor record cached verdicts.")


def _outputs(formats: tuple[str, ...], output: Path | None) -> tuple["Output", ...]:
    """`--format` and `-o` as the reports to write (text to standard output when neither is given)."""
    from dqguard.commands.options import Output

    explicit = [_parse_format(f) for f in formats]
    outputs = explicit or [Output("text", None)]
    if output is not None:
        to_stdout = [o.format for o in outputs if o.path is None]
        if len(to_stdout) > 1:
            raise click.UsageError(
                f"-o FILE takes one report, but {len(to_stdout)} would go to it ({', '.join(to_stdout)}): "
                "give each its own file with --format FORMAT:PATH", ctx=click.get_current_context())
        outputs = [o._replace(path=o.path or output) for o in outputs]
    if not explicit and os.environ.get("GITHUB_ACTIONS") == "true":
        # The runner reads annotations from the step's standard output only, -o or not.
        outputs.append(Output("github", None))
    return tuple(outputs)


def _shows_progress(outputs: tuple["Output", ...]) -> bool:
    return sys.stderr.isatty() and not any(o.path is None and o.format != "text" for o in outputs)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dqguard")
def cli() -> None:
    """Guard PT2E-quantized models against shared dequantize nodes."""


@cli.command()
@_manifest_option
@click.option("--format", "formats", multiple=True, metavar="FORMAT[:PATH]",
              help="text (default), github (annotations), json, sarif, junit or summary (Markdown); "
              "repeat for several; ':PATH' writes to a file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the one report that has no PATH to this file instead of standard output.")
@click.option("--summary", "summary", type=click.Path(dir_okay=False, path_type=Path),
              help="Append the Markdown job summary to this file (as to $GITHUB_STEP_SUMMARY when set).")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Worker processes (default: the CPUs this process may use).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds per case, overriding the manifest's `timeout`.")
@_start_timeout_option
@click.option("--shard", metavar="K/N", help="Run only the K-th of N stable partitions of the cases.")
@click.option("--case", "cases", multiple=True, metavar="PATTERN",
              help="Run only cases whose name matches this glob; repeatable.")
@click.option("--ignore", multiple=True, metavar="CODE", type=click.Choice(IGNORABLE),
              help="Do not report this rule; repeatable (case errors, DQG9xx, cannot be ignored).")
@click.option("--exact-qparams", is_flag=True,
              help="Compute every observer's qparams exactly as the quantizer configured (slow).")
@click.option("--weightless/--no-weightless", default=None,
              help="Run every selected case on fake tensors (no weights), or none, whatever the "
              "manifest's `weightless` says.")
@_cache_dir_option
@_no_cache_option
@click.option("-v", "--verbose", is_flag=True, help="Print per-case phase timings and tracebacks.")
@click.option("--docker", is_flag=True,
              help="Run the scan inside dqguard's image (torch and torchao as CI has them).")
@click.option("--image", metavar="REF", help="The image for --docker (implies it; default: the release's).")
@click.option("--torch", "torch_line", type=click.Choice(list(LINES)),
              help="Run the scan in the image of this torch line (implies --docker; default "
              f"{DEFAULT}).")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="warning", show_default=True,
              help="The least severity of a new finding that fails the scan; case errors always do.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help=f"Compare against this baseline instead of each manifest's {baseline.FILE_NAME}.")
@click.option("--no-baseline", is_flag=True, help="Report every finding as new, whatever a baseline holds.")
@_exclude_option
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
def scan(
    manifest: Path | None,
    formats: tuple[str, ...],
    output: Path | None,
    summary: Path | None,
    jobs: int | None,
    timeout: float | None,
    start_timeout: float | None,
    shard: str | None,
    cases: tuple[str, ...],
    ignore: tuple[str, ...],
    exact_qparams: bool,
    weightless: bool | None,
    cache_dir: Path | None,
    no_cache: bool,
    verbose: bool,
    docker: bool,
    image: str | None,
    torch_line: str | None,
    fail_on: str,
    baseline_file: Path | None,
    no_baseline: bool,
    exclude: tuple[str, ...],
    files: tuple[str, ...],
) -> None:
    """Check every case of the manifest (or of every manifest under the directories given).

    A directory among the arguments limits the scan to the manifests under it (a monorepo's
    sub-projects). Files (what pre-commit passes) are accepted and change nothing: a cached
    verdict is reused only when every file, distribution and manifest entry it depends on is
    unchanged, whichever files are named; every other case runs.
    """
    if baseline_file is not None and no_baseline:
        raise click.UsageError("--baseline FILE and --no-baseline contradict each other")
    from dqguard.commands import scan as scan_command
    from dqguard.commands.options import ScanOptions

    outputs = _outputs(formats, output)
    options = ScanOptions(
        manifest=manifest, outputs=outputs, jobs=jobs, timeout=timeout, start_timeout=start_timeout,
        shard=_parse_shard(shard), cases=cases, ignore=ignore, exact_qparams=exact_qparams,
        weightless=weightless, cache_dir=cache_dir, no_cache=no_cache, summary=summary, verbose=verbose,
        color=sys.stdout.isatty() and "NO_COLOR" not in os.environ, progress=_shows_progress(outputs),
        docker=docker or image is not None or torch_line is not None, image=image, torch=torch_line,
        paths=_directories(files), exclude=exclude, fail_on=fail_on, baseline=baseline_file,
        no_baseline=no_baseline,
    )
    sys.exit(scan_command.execute(options))


@cli.command("baseline")
@_manifest_option
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help=f"Write one file, naming cases as this scan does, instead of each manifest's "
              f"{baseline.FILE_NAME}.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: the CPUs).")
@_cache_dir_option
@_no_cache_option
@_start_timeout_option
@_exclude_option
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
def baseline_command(manifest: Path | None, baseline_file: Path | None, jobs: int | None,
                     cache_dir: Path | None, no_cache: bool, start_timeout: float | None,
                     exclude: tuple[str, ...], paths: tuple[Path, ...]) -> None:
    """Accept today's findings: write them to the baseline, so scans fail only on new ones.

    Case errors are never accepted: they are printed and the command exits 1.
    """
    from dqguard.commands import baseline as baseline_module
    from dqguard.commands.options import ScanOptions

    options = ScanOptions(manifest=manifest, jobs=jobs, cache_dir=cache_dir, no_cache=no_cache,
                          start_timeout=start_timeout, exclude=exclude, paths=paths,
                          progress=sys.stderr.isatty())
    sys.exit(baseline_module.execute(options, baseline_file))


@cli.command()
@_manifest_option
@click.option("--graph", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the neighbourhoods: FILE.svg (Graphviz), FILE.dot or FILE.md (Mermaid).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds for the case.")
@_start_timeout_option
@_exclude_option
@click.argument("case")
def explain(manifest: Path | None, graph: Path | None, timeout: float | None, start_timeout: float | None,
            exclude: tuple[str, ...], case: str) -> None:
    """Run CASE (a name as `dqguard list` prints it) and show each finding's neighbourhood."""
    from dqguard.commands import explain as explain_module
    from dqguard.commands.options import ScanOptions

    # No --cache-dir: explain always runs the case (see dqguard.commands.explain).
    options = ScanOptions(manifest=manifest, jobs=1, timeout=timeout, start_timeout=start_timeout,
                          exclude=exclude)
    sys.exit(explain_module.execute(options, case, graph))


@cli.command()
def init() -> None:
    """Write a starter dqguard.toml here, from reading the source (never importing it)."""
    from dqguard.commands import init as init_module

    path = init_module.write(Path.cwd())
    click.echo(f"wrote {path.name}: check its guesses, then run `dqguard list` and `dqguard scan`")


@cli.command("list")
@_manifest_option
@click.option("--format", "output_format", type=click.Choice(("text", "json")), default="text",
              show_default=True)
@_exclude_option
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
def list_command(manifest: Path | None, output_format: str, exclude: tuple[str, ...],
                 paths: tuple[Path, ...]) -> None:
    """List the cases a scan would check, expanded, with where each is declared."""
    click.echo(listing.render(projects.load(manifest, paths, exclude), output_format), nl=False)


@cli.command()
def rules() -> None:
    """List the rules dqguard reports."""
    for rule in RULES.values():
        click.echo(f"{rule.code}  {rule.name} ({rule.severity})\n    {rule.summary}\n    Fix: {rule.fix}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.stderr.write("\ndqguard: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except DqguardError as exc:
        sys.stderr.write(f"dqguard: error: {exc}\n")
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        with tempfile.NamedTemporaryFile("w", prefix="dqguard-crash-", suffix=".txt", delete=False) as f:
            traceback.print_exc(file=f)
        sys.stderr.write(f"dqguard: internal error: {type(exc).__name__}: {exc}\n"
                         f"The full traceback is in {f.name}; please report it.\n")
        sys.exit(EXIT_INTERNAL)
