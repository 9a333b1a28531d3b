"""The command line. Options become a ScanOptions; `scan.execute` does the rest.

Exit codes: 0 clean, 1 findings or failed cases, 2 usage or manifest error, 3 internal error
(the traceback goes to a file named in the message), 130 interrupted.
"""

import os
import sys
import tempfile
import traceback
from pathlib import Path

import click

from dqguard import __version__
from dqguard.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, DqguardError
from dqguard.lines import DEFAULT, LINES
from dqguard.report import FORMATS
from dqguard.rules import IGNORABLE, RULES
from dqguard.scan import Output, ScanOptions, execute


def _parse_format(value: str) -> Output:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dqguard")
def cli() -> None:
    """Guard PT2E-quantized models against shared dequantize nodes."""


@cli.command()
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="dqguard.toml or pyproject.toml (default: found from the current directory up).")
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
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="DQGUARD_CACHE_DIR",
              help="Where verdicts are cached (default: .dqguard_cache beside the manifest).")
@click.option("--no-cache", is_flag=True, help="Neither reuse nor record cached verdicts.")
@click.option("-v", "--verbose", is_flag=True, help="Print per-case phase timings and tracebacks.")
@click.option("--docker", is_flag=True,
              help="Run the scan inside dqguard's image (torch and torchao as CI has them).")
@click.option("--image", metavar="REF", help="The image for --docker (implies it; default: the release's).")
@click.option("--torch", "torch_line", type=click.Choice(list(LINES)),
              help="Run the scan in the image of this torch line (implies --docker; default "
              f"{DEFAULT}).")
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
def scan(
    manifest: Path | None,
    formats: tuple[str, ...],
    output: Path | None,
    summary: Path | None,
    jobs: int | None,
    timeout: float | None,
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
    files: tuple[str, ...],
) -> None:
    """Check every case of the manifest for shared dequantize nodes.

    FILES (what pre-commit passes) are accepted and change nothing: a cached verdict is reused
    only when every file, distribution and manifest entry it depends on is unchanged, whichever
    files are named; every other case runs.
    """
    del files
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
    to_terminal = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    machine_on_stdout = any(o.path is None and o.format != "text" for o in outputs)
    options = ScanOptions(
        manifest=manifest,
        outputs=tuple(outputs),
        jobs=jobs,
        timeout=timeout,
        shard=_parse_shard(shard),
        cases=cases,
        ignore=ignore,
        exact_qparams=exact_qparams,
        weightless=weightless,
        cache_dir=cache_dir,
        no_cache=no_cache,
        summary=summary,
        verbose=verbose,
        color=to_terminal,
        progress=sys.stderr.isatty() and not machine_on_stdout,
        docker=docker or image is not None or torch_line is not None,
        image=image,
        torch=torch_line,
    )
    sys.exit(execute(options))


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
