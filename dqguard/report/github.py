"""GitHub workflow commands: one `::error`/`::warning` annotation per finding.

Everything a user, a model or an exception controls is escaped to the runner's rules, so no such
text can end a command early or start one of its own.
"""

from dqguard.records import Finding, ScanResult
from dqguard.report.style import Style
from dqguard.rules import RULES


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, case: str) -> str:
    rule = RULES[finding.rule]
    properties = ",".join(
        f"{key}={escape_property(value)}"
        for key, value in (
            ("file", finding.path),
            ("line", str(finding.line)),
            ("title", f"{rule.code} {rule.name}"),
        )
    )
    message = f"{finding.message} [{case}]"
    return f"::{rule.severity} {properties}::{escape_data(message)}"


def render(result: ScanResult, style: Style) -> str:
    lines = [annotation(f, case.name) for case in result.cases for f in case.findings]
    return "".join(line + "\n" for line in lines)
