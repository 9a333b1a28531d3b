"""`path:line: CODE message [case]` lines, then a one-line summary, as compilers and ruff print."""

from dqguard.records import ScanResult, counts
from dqguard.report.style import Style

_RED, _YELLOW, _BOLD, _DIM, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(result: ScanResult) -> str:
    numbers = counts(result)
    parts = [_plural(numbers["cases"], "case")]
    for key, label in (("ok", "ok"), ("findings", "with findings"), ("errors", "failed")):
        if numbers[key]:
            parts.append(f"{numbers[key]} {label}")
    cached = sum(case.cached for case in result.cases)
    if cached:
        parts.append(f"{cached} cached")
    if result.not_run:
        parts.append(f"{len(result.not_run)} never run (no cached result; run without FILES)")
    return ", ".join(parts)


def render(result: ScanResult, style: Style) -> str:
    from dqguard.rules import RULES

    def paint(code: str, value: str) -> str:
        return f"{code}{value}{_RESET}" if style.color else value

    lines = []
    for case in result.cases:
        for finding in case.findings:
            severity = RULES[finding.rule].severity
            code = paint(_RED if severity == "error" else _YELLOW, finding.rule)
            where = paint(_BOLD, f"{finding.path}:{finding.line}:")
            lines.append(f"{where} {code} {finding.message} {paint(_DIM, f'[{case.name}]')}")
            if style.verbose and finding.detail:
                lines.extend("    " + line for line in finding.detail.splitlines())
        if style.verbose:
            phases = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in case.phases.items())
            cached = " (cached)" if case.cached else ""
            lines.append(paint(_DIM, f"  {case.name}: {case.status} in {case.duration_s:.2f}s"
                               f"{cached}" + (f" ({phases})" if phases else "")))
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"
