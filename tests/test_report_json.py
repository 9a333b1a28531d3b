"""The JSON report reads back into the result it was rendered from, hostile text included."""

import json

import pytest

from dqguard.report import json as json_report
from dqguard.report.style import Style
from testing import reports
from testing.workflow_commands import commands


@pytest.mark.parametrize("run", ["hostile", "errors"])
def test_round_trip(run: str) -> None:
    result = reports.scan(run).result()
    output = json_report.render(result, Style())
    assert commands(output) == []
    again = json_report.result_from_document(json.loads(output))
    assert again == result
    assert json.loads(output)["summary"]["cases"] == len(result.cases)
