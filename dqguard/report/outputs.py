"""Where a scan's results go besides `--format`: the job summary and the step's outputs.

- The Markdown summary is appended to the file named by `GITHUB_STEP_SUMMARY` when it is set and
  to `--summary FILE` when given. Appended, not overwritten, as GitHub's own steps do, so several
  scans in one step (shards, manifests) add up; each gets what is left of GitHub's 1 MiB per step
  after what the file already holds.
- When `GITHUB_OUTPUT` is set: `findings` (findings over all cases, a finding in two cases
  counting twice, case errors not counted), `errors` (failed cases), `cases` (cases checked), and
  one `FORMAT=PATH` per report file written (`sarif=dqguard.sarif`, `junit=...`, `summary=...`
  for `--summary`), paths as given on the command line. A value with a line break is written in
  the `name<<DELIMITER` form with a random delimiter, so it cannot add outputs of its own.
"""

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from dqguard.records import ScanResult, counts
from dqguard.report import summary
from dqguard.report.grouping import finding_count
from dqguard.report.style import Style

_NAMES = {"text": "text", "github": "annotations", "json": "JSON", "sarif": "SARIF", "junit": "JUnit",
          "summary": "Markdown summary"}


def summary_files(option: Path | None) -> list[Path]:
    paths = [Path(p) for p in (os.environ.get("GITHUB_STEP_SUMMARY"),) if p]
    return paths + ([option] if option is not None else [])


def elsewhere(files: Sequence[tuple[str, Path]], summaries: Sequence[Path]) -> tuple[str, ...]:
    """How other reports would name the files this run writes (`Style.others`)."""
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    named = [f"the {_NAMES.get(fmt, fmt)} report {path}" for fmt, path in files]
    named += ["the job summary" if str(path) == step_summary else f"the Markdown summary {path}"
              for path in summaries]
    return tuple(named)


def append_summaries(result: ScanResult, style: Style, paths: Sequence[Path]) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        used = path.stat().st_size if path.exists() else 0
        with path.open("a", encoding="utf-8") as file:
            file.write(summary.markdown(result, style, limit=max(summary.LIMIT - used, 0)))


def _line(name: str, value: str) -> str:
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def step_outputs(result: ScanResult, files: Sequence[tuple[str, Path]]) -> str:
    """The lines for `GITHUB_OUTPUT`; `files` are (output name, path) for each file written."""
    numbers = counts(result)
    values = [("findings", str(finding_count(result))), ("errors", str(numbers["errors"])),
              ("cases", str(numbers["cases"]))]
    values += [(name, str(path)) for name, path in files]
    return "".join(_line(name, value) for name, value in values)


def write_step_outputs(result: ScanResult, files: Sequence[tuple[str, Path]]) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as file:
            file.write(step_outputs(result, files))
