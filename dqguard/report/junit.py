"""JUnit XML, which GitLab, Jenkins, Buildkite and most CI systems render as test results.

- One `<testcase classname="dqguard" name=CASE time=SECONDS>` per case; a `<failure>` per
  finding, an `<error>` per case error (DQG9xx). There is no `<skipped>`: every selected case is
  reported as checked, cached or failed, never as skipped. `failures`/`errors` on the suite count
  cases, as JUnit's do, not findings.
- A failure's `message` is the one-line finding; its text adds the location, the fix and, for
  a case error, the traceback or stderr tail.
- Characters XML 1.0 forbids (most C0 controls, unpaired surrogates, U+FFFE/U+FFFF) are removed;
  everything else is escaped by the serializer, line breaks in attributes as `&#10;`/`&#13;`.
- Text content is also kept inert on a CI log: a carriage return is written `&#13;`, `##[` as
  `#&#35;[` and a `::` that opens a line as `&#58;:`; a parser reads the same text back.
"""

import re
import xml.etree.ElementTree as ET

from dqguard.records import CaseResult, Finding, ScanResult, counts, is_case_error
from dqguard.report.style import Style
from dqguard.rules import RULES

_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


def clean(text: str) -> str:
    return _FORBIDDEN.sub("", text)


def _problem(parent: ET.Element, finding: Finding) -> None:
    rule = RULES[finding.rule]
    body = f"{finding.path}:{finding.line}: {finding.message}\n\nFix: {rule.fix}"
    if finding.detail:
        body += f"\n\n{finding.detail}"
    element = ET.SubElement(parent, "error" if is_case_error(finding) else "failure",
                            message=clean(f"{rule.code} {rule.name}: {finding.message}"),
                            type=rule.code)
    element.text = clean(body)


def _testcase(parent: ET.Element, case: CaseResult, manifest: str) -> None:
    element = ET.SubElement(parent, "testcase", classname="dqguard", name=clean(case.name),
                            file=clean(manifest), time=f"{case.duration_s:.3f}")
    for finding in case.findings:
        if not finding.baselined:  # accepted: the test passes
            _problem(element, finding)


def _inert(xml: str) -> str:
    # Only text content can hold these: the serializer writes markup without them and escapes
    # line breaks in attribute values, so every line but the first starts inside text or a tag.
    return _LINE_COMMAND.sub(r"\1&#58;", xml.replace("\r", "&#13;").replace("##[", "#&#35;["))


def render(result: ScanResult, style: Style) -> str:
    numbers = counts(result)
    totals = {
        "tests": str(numbers["cases"]),
        "failures": str(numbers["findings"]),
        "errors": str(numbers["errors"]),
        "time": f"{sum(case.duration_s for case in result.cases):.3f}",
    }
    suites = ET.Element("testsuites", {"name": "dqguard", **totals})
    suite = ET.SubElement(suites, "testsuite", {"name": "dqguard", **totals})
    for case in result.cases:
        _testcase(suite, case, result.manifest)
    ET.indent(suites)
    xml = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _inert(xml) + "\n"
