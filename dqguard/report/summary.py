"""The job summary: Markdown for `GITHUB_STEP_SUMMARY`, with a picture of every shared dequantize.

- A table of cases (status, findings, time), then one section per shared dequantize node (one
  per `grouping.Group`: the same node in several cases is drawn once), then one per case error.
- Each shared node is a Mermaid flowchart: producer -> quantize -> the shared dequantize
  (highlighted) -> each consumer, labelled with its source line. Past `FAN_OUT` consumers the
  rest are one "+N more" node, so a 30-consumer fan-out stays readable.
- Escaping: text that a user, a model or an exception controls never starts a Markdown line (it
  always follows a fixed prefix), so only inline syntax needs escaping: ASCII punctuation that
  Markdown or HTML reads is backslash-escaped (which also breaks up `##[`), line breaks become
  `<br>` (`\\r` becomes `&#13;`), other control characters become their Unicode control
  pictures. Mermaid labels are quoted and every character outside a small safe set is written
  as Mermaid's `#<decimal>;` entity, so no label can close its quotes, its node or the code block.
  Raw output (`Finding.detail`) goes in a `<pre>` block, HTML-escaped, with `##[` and a leading
  `::` written as entities so that even printed to a CI log it starts no workflow command.
- GitHub accepts at most 1 MiB per step. Sections that do not fit are left out, in order of
  importance, with a note saying how many and where they are.
"""

import html

from dqguard.records import Delegation, Finding, NodeRef, ScanResult, is_case_error, place, severity_of
from dqguard.report import collapse, partition, text
from dqguard.report.grouping import Group, grouped
from dqguard.report.markup import code, inline, mermaid_label
from dqguard.report.style import Style
from dqguard.rules import RULES
from dqguard.words import flops, noun, plural

LIMIT = 2**20  # bytes GitHub accepts per step summary
FAN_OUT = 8  # consumers drawn one by one; the rest become one "+N more" node

_STATUS = {"ok": "✅ ok", "error": "💥 error"}


def _name(ref: NodeRef) -> str:
    return ref.node if ref.node.startswith(ref.target) else f"{ref.node} ({ref.target})"


def _where(ref: NodeRef) -> str:
    return place(ref) or "no source line"


def flowchart(finding: Finding) -> str:
    """The shared dequantize and its neighbourhood as a ```mermaid block."""
    lines = ["```mermaid", "flowchart LR"]
    shapes = dict(finding.shapes)

    def shaped(ref: NodeRef) -> tuple[str, ...]:
        return (shapes[ref.node],) if ref.node in shapes else ()

    producer = finding.producer
    if producer is not None:
        where = tuple(filter(None, [place(producer)]))
        lines.append(f"  p[{mermaid_label(_name(producer), *shaped(producer), *where)}]")
    quantize = "choose_qparams, quantize" if finding.rule == "DQG002" else "quantize"
    lines.append(f"  q[{mermaid_label(quantize)}]")
    if producer is not None:
        lines.append("  p --> q")
    users = finding.users
    dequantize = finding.dequantize or "dequantize"
    shared = mermaid_label(dequantize, *((shapes[dequantize],) if dequantize in shapes else ()),
                           f"shared by {len(users)} ops")
    lines += [f"  d[{shared}]", "  q --> d"]
    shown = users if len(users) <= FAN_OUT else users[:FAN_OUT]
    for index, user in enumerate(shown):
        lines.append(f"  d --> u{index}[{mermaid_label(_name(user), *shaped(user), _where(user))}]")
    rest = users[len(shown):]
    if rest:
        places = list(dict.fromkeys(_where(u) for u in rest))
        at = ", ".join(places[:3]) + (" ..." if len(places) > 3 else "")
        lines.append(f"  d --> more[{mermaid_label(f'+{len(rest)} more ops', f'at {at}')}]")
        lines.append("  classDef more stroke-dasharray:4 3")
        lines.append("  class more more")
    lines += ["  classDef shared fill:#ffebe9,stroke:#cf222e,stroke-width:3px",
              "  class d shared", "```"]
    return "\n".join(lines)


def _cases(names: tuple[str, ...]) -> str:
    return f"{noun(len(names), 'case')} {', '.join(code(n) for n in names)}"


def _icon(finding: Finding) -> str:
    if is_case_error(finding):
        return "💥"
    return "❌" if severity_of(finding) == "error" else "⚠️"


def _pre(raw: str) -> str:
    escaped = html.escape(raw, quote=False).replace("##[", "#&#35;[").replace("\r", "&#13;")
    lines = []
    for line in escaped.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("::"):
            line = line[: len(line) - len(stripped)] + "&#58;" + stripped[1:]
        lines.append(line)
    return "<pre>\n" + "\n".join(lines) + "\n</pre>"


def section(group: Group) -> str:
    finding = group.finding
    rule = RULES[finding.rule]
    where = code(f"{finding.path}:{finding.line}")
    if is_case_error(finding):
        parts = [f"### {_icon(finding)} {rule.code} {rule.name} in {_cases(group.cases)}",
                 f"At {where}: {inline(finding.message)}"]
    else:
        parts = [f"### {_icon(finding)} {rule.code} {rule.name} at {where}",
                 f"In {_cases(group.cases)}: {inline(finding.message)}"]
    if finding.dequantize is not None and finding.users:
        parts.append(flowchart(finding))
    if finding.detail:
        parts.append(f"<details><summary>Output</summary>\n\n{_pre(finding.detail)}\n\n</details>")
    parts.append(f"**Fix:** {rule.fix}")
    return "\n\n".join(parts) + "\n\n"


def _findings_cell(findings: tuple[Finding, ...]) -> str:
    new = [f for f in findings if not f.baselined]
    baselined = f" (+{len(findings) - len(new)} baselined)" if len(new) < len(findings) else ""
    if not new:
        return f"0{baselined}"
    codes = list(dict.fromkeys(f.rule for f in new))
    return f"{len(new)}: {', '.join(codes)}{baselined}"


def _status(findings: tuple[Finding, ...], status: str) -> str:
    if status in _STATUS:
        return _STATUS[status]
    worst = "error" if any(severity_of(f) == "error" for f in findings if not f.baselined) else "warning"
    return "❌ findings" if worst == "error" else "⚠️ findings"


def blocks(result: ScanResult) -> list[str]:
    """The summary in pieces that can each be left out whole, most important first."""
    head = (f"## dqguard: {text.summary_line(result)}\n\n"
            "| Case | Status | Findings | Time |\n|---|---|---|---|\n")
    rows = [
        f"| {code(case.name)} | {_status(case.findings, case.status)} | {_findings_cell(case.findings)} "
        f"| {case.duration_s:.1f} s{' (cached)' if case.cached else ''} |\n"
        for case in result.cases
    ]
    # Not findings: how a case was checked (weightless mode fell back), one paragraph each.
    notes = [f"**Note** ({code(case.name)}): {inline(note)}\n\n"
             for case in result.cases for note in case.notes]
    # The partitions last: a finding matters more than a picture when the size limit cuts.
    return [head, *rows, "\n", *notes, *_delegation(result), *_sections(grouped(result)),
            *_partitions(result)]


def _sections(groups: list[Group]) -> list[str]:
    # Findings that differ only in layer indices are one section (dqguard.report.collapse).
    return [section(Group(f.finding._replace(message=collapse.shown(f)),
                          tuple(dict.fromkeys(name for i in f.members for name in groups[i].cases))))
            for f in collapse.fold([group.finding for group in groups])]


def _delegation(result: ScanResult) -> list[str]:
    """What each lowering stage delegated, for the cases that lower."""
    lowered = [case for case in result.cases if case.delegation is not None]
    if not lowered:
        return []
    rows = [f"| {code(case.name)} | {inline(', '.join(d.backends))} | {d.delegates} | {d.delegated_ops} "
            f"| {d.non_delegated_ops} | {_coverage(d)} |\n"
            for case in lowered if (d := case.delegation) is not None]
    return ["| Lowered case | Backend | Delegates | Delegated ops | Ops outside | Compute delegated |\n"
            "|---|---|---|---|---|---|\n", *rows, "\n"]


def _coverage(delegation: Delegation) -> str:
    if delegation.coverage is None or delegation.flops is None:
        return "-"
    return f"`{partition.bar(delegation.coverage)}` of {flops(delegation.flops)}"


def _figures(delegation: Delegation) -> str:
    """The backend's own figures, one line per delegate, kept apart from dqguard's."""
    lines = [", ".join(f"{key} {value}" for key, value in figures.items() if value is not None)
             for figures in delegation.figures]
    return "\n".join(f"- The backend's own figures, delegate {index}: {inline(text)}"
                     for index, text in enumerate(lines, 1))


def _partitions(result: ScanResult) -> list[str]:
    """Per lowered case, its partition in program order and what it left on the CPU."""
    pieces = []
    for case in result.cases:
        d = case.delegation
        said = None if d is None else partition.line(d)
        if d is None or said is None:
            continue
        parts = [f"### Partition of {code(case.name)}", inline(said), _figures(d), partition.flowchart(d)]
        pieces.append("\n\n".join(filter(None, parts)) + "\n\n")
    return pieces


def _size(value: str) -> int:
    return len(value.encode())


def markdown(result: ScanResult, style: Style, limit: int = LIMIT) -> str:
    """The summary in at most `limit` bytes of UTF-8."""
    pieces = blocks(result)
    places = ["the log", *style.others]
    where = ", ".join(places[:-1]) + " and " + places[-1] if len(places) > 1 else places[0]

    def note(left: int) -> str:
        return (f"\n\n> **Truncated:** {plural(left, 'more part')} of this summary "
                f"did not fit in the step summary's size limit (GitHub allows 1 MiB). Every finding is in "
                f"{where}.\n")

    out, used = [], 0
    for index, piece in enumerate(pieces):
        remaining = len(pieces) - index - 1
        reserve = _size(note(len(pieces))) if remaining else 0
        if used + _size(piece) + reserve > limit:
            if used + _size(note(len(pieces) - index)) <= limit:
                out.append(note(len(pieces) - index))
            break
        out.append(piece)
        used += _size(piece)
    return "".join(out)


def render(result: ScanResult, style: Style) -> str:
    return markdown(result, style)
