"""GitHub workflow commands: the annotations a reviewer sees on the pull request's diff.

- One annotation per shared dequantize node (`grouping`): the same finding in several cases is
  one annotation naming them all. Findings come before case errors, errors before warnings.
- GitHub shows 10 errors, 10 warnings and 10 notices per step and drops the rest from the
  diff, so at most `LIMIT` of each level are emitted; the others are listed as plain log lines
  in a group, and one final `::notice` says how many were left out and where they are.
- `title=` is the rule's code and name. The message says what is shared, by which ops at which
  lines (the check's message), the cases, and the rule's fix.
- Every property and message is escaped to the runner's rules, so no text that a user, a model
  or an exception controls can end the command or start one; plain log lines go through
  `logsafe`. A worker's raw stderr or traceback (`Finding.detail`) is printed between
  `::stop-commands::TOKEN` and `::TOKEN::`, with a fresh random token per run, so nothing in it
  is read as a command.
- Paths are as the scan gives them, relative to `GITHUB_WORKSPACE` (or the working directory).
  A path outside it would attach to nothing, so `file=` is dropped and the location goes into
  the message instead.
"""

import secrets

from dqguard.records import ScanResult, severity_of
from dqguard.report import text
from dqguard.report.grouping import Group, grouped, in_workspace
from dqguard.report.style import Style
from dqguard.rules import RULES
from dqguard.words import noun, plural

LIMIT = 10  # annotations GitHub shows per level and step


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(group: Group) -> str:
    finding = group.finding
    rule = RULES[finding.rule]
    label = noun(len(group.cases), "Case")
    message = f"{finding.message}\n{label}: {', '.join(group.cases)}\nFix: {rule.fix}"
    if not in_workspace(finding.path):
        return command(severity_of(finding), f"{finding.path}:{finding.line}: {message}",
                       title=f"{rule.code} {rule.name}")
    return command(severity_of(finding), message, file=finding.path, line=str(finding.line),
                   title=f"{rule.code} {rule.name}")


def _raw_block(title: str, raw: str, token: str) -> list[str]:
    return [command("group", title), f"::stop-commands::{token}", *raw.split("\n"), f"::{token}::",
            "::endgroup::"]


def _overflow_notice(left_out: list[Group], style: Style) -> str:
    levels = {"error": 0, "warning": 0}
    for group in left_out:
        levels[severity_of(group.finding)] += 1
    counted = " and ".join(plural(n, level) for level, n in levels.items() if n)
    places = ['the log above (group "dqguard: more findings")', *style.others]
    where = places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]
    return command(
        "notice",
        f"GitHub shows {LIMIT} annotations of each level per step, so {counted} "
        f"{noun(len(left_out), 'was', 'were')} not annotated here. Every finding is in {where}.",
        title=f"dqguard: {plural(len(left_out), 'more finding')}",
    )


def _token(result: ScanResult) -> str:
    # The runner matches the token in any case, so the raw text must not hold it in any case.
    details = [f.detail.lower() for case in result.cases for f in case.findings if f.detail]
    while True:
        token = secrets.token_hex(16)
        if not any(token in detail for detail in details):
            return token


def lines(result: ScanResult, style: Style, token: str) -> list[str]:
    """The commands and log lines; `token` opens and closes every raw block."""
    shown: dict[str, int] = {}
    out, left_out = [], []
    for group in grouped(result):
        level = severity_of(group.finding)
        if shown.get(level, 0) < LIMIT:
            shown[level] = shown.get(level, 0) + 1
            out.append(annotation(group))
        else:
            left_out.append(group)
    if left_out:
        out.append(command("group", "dqguard: more findings"))
        out.extend(text.finding_line(g.finding, ", ".join(g.cases)) for g in left_out)
        out.append("::endgroup::")
    for case in result.cases:
        for finding in case.findings:
            if finding.detail:
                out.extend(_raw_block(f"{finding.rule} output of case {case.name}", finding.detail, token))
    if left_out:
        out.append(_overflow_notice(left_out, style))
    return out


def render(result: ScanResult, style: Style) -> str:
    return "".join(line + "\n" for line in lines(result, style, _token(result)))
