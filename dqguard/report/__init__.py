"""Reporters: pure functions from a scan's results to text. They render; they never decide.

A new format is one module with a `render(result, style)` function and one entry in FORMATS.
"""

from collections.abc import Callable

from dqguard.records import ScanResult
from dqguard.report import github, json, junit, sarif, summary, text
from dqguard.report.style import Style

Reporter = Callable[[ScanResult, Style], str]

FORMATS: dict[str, Reporter] = {
    "text": text.render,
    "github": github.render,
    "json": json.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "summary": summary.render,
}
