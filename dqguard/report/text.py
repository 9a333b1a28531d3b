"""`path:line: CODE message [case]` lines, then a one-line summary, as compilers and ruff print.

In GitHub Actions this text lands in the step's log next to the annotations, so every string a
user, a model or an exception controls goes through `logsafe.escape`: one finding is one line and
no line can be read as a workflow command.

With `-v` each case also gets its status line (phases and times), for a lowered case its coverage
by compute (`partition.line`), and its notes.
"""

from dqguard.records import Finding, ScanResult, counts, severity_of
from dqguard.report import collapse, logsafe, partition
from dqguard.report.style import Style
from dqguard.words import noun, plural

_RED, _YELLOW, _BOLD, _DIM, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def summary_line(result: ScanResult) -> str:
    numbers = counts(result)
    parts = [plural(numbers["cases"], "case")]
    for key, label in (("ok", "ok"), ("findings", "with findings"), ("errors", "failed")):
        if numbers[key]:
            parts.append(f"{numbers[key]} {label}")
    cached = sum(case.cached for case in result.cases)
    if cached:
        parts.append(f"{cached} cached")
    baselined = sum(f.baselined for case in result.cases for f in case.findings)
    if baselined:
        parts.append(f"{plural(baselined, 'baselined finding')} not shown")
    if result.gone:
        gone = len(result.gone)
        parts.append(f"{plural(gone, 'baseline entry', 'baseline entries')} fixed (run `dqguard baseline` "
                     f"to drop {noun(gone, 'it', 'them')})")
    return ", ".join(parts)


def finding_line(finding: Finding, case: str, color: bool = False) -> str:
    def paint(code: str, value: str) -> str:
        return f"{code}{value}{_RESET}" if color else value

    severity = severity_of(finding)
    code = paint(_RED if severity == "error" else _YELLOW, finding.rule)
    where = paint(_BOLD, f"{logsafe.escape(finding.path, line_start=True)}:{finding.line}:")
    tag = paint(_DIM, f"[{logsafe.escape(case)}]")
    return f"{where} {code} {logsafe.escape(finding.message)} {tag}"


def render(result: ScanResult, style: Style) -> str:
    lines = []
    for case in result.cases:
        new = [f for f in case.findings if not f.baselined]
        # One line for findings that differ only in layer indices; -v lists each.
        shown = new if style.verbose else [f.finding._replace(message=collapse.shown(f))
                                           for f in collapse.fold(new)]
        for finding in shown:
            lines.append(finding_line(finding, case.name, style.color))
            if style.verbose and finding.detail:
                lines.extend("    " + logsafe.escape(line, line_start=True)
                             for line in finding.detail.split("\n"))
        if style.verbose:
            phases = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in case.phases.items())
            status = (f"  {logsafe.escape(case.name, line_start=True)}: {case.status} in "
                      f"{case.duration_s:.2f}s{' (cached)' if case.cached else ''}"
                      + (f" ({phases})" if phases else ""))
            lines.append(f"{_DIM}{status}{_RESET}" if style.color else status)
            coverage = None if case.delegation is None else partition.line(case.delegation)
            if coverage is not None:
                lines.append(f"    {logsafe.escape(coverage)}")
            lines.extend(f"    note: {logsafe.escape(note)}" for note in case.notes)
    for gone in result.gone if style.verbose else ():
        lines.append(f"  fixed: {logsafe.escape(gone.path)}:{gone.line}: {gone.rule} "
                     f"{logsafe.escape(gone.message)} [{logsafe.escape(gone.case)}]")
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"
