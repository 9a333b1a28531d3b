"""Every format, rendered from checked-in scan results, against the files in tests/golden/report/.

The results (tests/data/results/, see `testing.reports`) are real scans of: `findings`
(examples/demo), `errors` (a case whose model raises), `hostile` (case names, exception text and
stderr built to break reporters), `fanout` (30 consumers of one dequantize, 12 shared
dequantizes) and `lowered` (XNNPACK lowerings: coverage by compute, an op left outside, DQG006
under a `min_coverage` floor). Rendering them needs no scan, so these tests are about the
renderers alone; the last test checks the results are still what a scan gives. Regenerate goldens
after an intended change with DQGUARD_UPDATE_GOLDEN=1 and review the diff.
"""

import re
from pathlib import Path

import pytest

from dqguard.report import FORMATS
from dqguard.report.style import Style
from testing import matches_golden, reports
from testing.workflow_commands import commands

GOLDEN = Path(__file__).parent / "golden" / "report"
SUFFIX = {"text": "txt", "github": "github.txt", "json": "json", "sarif": "sarif", "junit": "xml",
          "summary": "md"}
STYLE = Style(verbose=True, others=("the SARIF report dqguard.sarif",))
_TOKEN = re.compile(r"^::stop-commands::([0-9a-f]{32})$", re.MULTILINE)  # ours, not the stderr's


def rendered(run: str, fmt: str) -> str:
    output = FORMATS[fmt](reports.checked_in(run), STYLE)
    for token in set(_TOKEN.findall(output)):  # random per run
        output = output.replace(token, "TOKEN")
    return output


def test_every_format_has_goldens() -> None:
    assert set(SUFFIX) == set(FORMATS)


@pytest.mark.parametrize("fmt", list(SUFFIX))
@pytest.mark.parametrize("run", list(reports.REPOS))
def test_golden(run: str, fmt: str) -> None:
    path = GOLDEN / f"{run}.{SUFFIX[fmt]}"
    assert matches_golden(path, rendered(run, fmt)), (
        f"{path.name} differs; if the change is intended, rerun with DQGUARD_UPDATE_GOLDEN=1"
    )


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_hostile_input_runs_no_command_of_its_own(fmt: str) -> None:
    carried_out = commands(FORMATS[fmt](reports.checked_in("hostile"), STYLE))
    if fmt == "github":
        assert {c.name for c in carried_out} == {"warning", "error", "group", "endgroup"}
        annotations = [c for c in carried_out if c.name in ("warning", "error")]
        assert [c.properties["file"] for c in annotations] == ["hostile.py", "dqguard.toml", "dqguard.toml"]
    else:
        assert carried_out == []


@pytest.mark.parametrize("run", list(reports.REPOS))
def test_the_checked_in_results_are_what_a_scan_gives(run: str) -> None:
    assert reports.normalised(run) == reports.checked_in(run), (
        f"a scan of {run} no longer gives tests/data/results/{run}.json; if intended, rewrite it with "
        f"`python -m testing.reports {run}` and review the diff"
    )
