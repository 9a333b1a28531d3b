"""JUnit XML from real scans, read back with an XML parser."""

import xml.etree.ElementTree as ET

from dqguard.records import ScanResult
from dqguard.report import junit
from dqguard.report.style import Style
from dqguard.rules import RULES
from testing import reports
from testing.workflow_commands import commands


def parsed(run: str) -> ET.Element:
    return ET.parse(reports.scan(run).out / reports.FILES["junit"]).getroot()


def test_one_testcase_per_case_with_a_failure_per_finding() -> None:
    root = parsed("fanout")
    (suite,) = root
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "2", "0")
    wide, many = suite.findall("testcase")
    assert (wide.get("classname"), wide.get("name")) == ("dqguard", "fan-out/30-consumers")
    assert [f.get("type") for f in wide] == ["DQG002"]
    assert [f.tag for f in many] == ["failure"] * 12
    first = many.find("failure")
    assert first is not None and first.text is not None
    assert first.text.startswith("wide.py:38: dequantize_affine is shared by 2 quantized ops")
    assert first.text.endswith(f"Fix: {RULES['DQG001'].fix}")
    assert float(many.get("time", "")) > 0


def test_case_error_is_an_error_with_its_traceback() -> None:
    (suite,) = parsed("errors")
    assert (suite.get("failures"), suite.get("errors")) == ("0", "1")
    clean, broken = suite.findall("testcase")
    assert list(clean) == []
    (error,) = broken
    assert error.tag == "error" and error.get("type") == "DQG900"
    assert error.get("message", "").startswith("DQG900 case-error: building the model failed: ValueError")
    assert error.text is not None and "Traceback (most recent call last):" in error.text


def test_hostile_text_is_escaped_and_reads_back() -> None:
    result: ScanResult = reports.scan("hostile").result()
    output = junit.render(result, Style())
    assert commands(output) == []
    (suite,) = ET.fromstring(output.encode())
    for case, element in zip(result.cases, suite, strict=True):
        assert element.get("name") == junit.clean(case.name)
        (finding,) = case.findings
        (problem,) = element
        assert problem.get("message") == f"{finding.rule} {RULES[finding.rule].name}: {finding.message}"
        assert problem.text is not None and finding.message in problem.text
        if finding.detail:
            assert problem.text.endswith(junit.clean(finding.detail))
    # The one character XML 1.0 cannot hold is dropped, nothing else.
    assert suite[2].get("name") == result.cases[2].name.replace("\x01", "")
