"""A lowered program's coverage by compute and its partition, as every report shows them: the `-v`
text line, the job summary's bar and picture, `dqguard explain`'s table. Pure functions of a
`records.Delegation`; the facts come from `dqguard.check.coverage`.

The picture is a Mermaid flowchart in program order: each delegate a box (backend, ops, FLOPs),
each CPU island a box of its ops. A program of hundreds of delegates stays readable and small:
past `SEGMENTS` segments the middle ones become one box that says what it holds, and an island
names its first `NAMES` distinct ops (a run of one op once, `xN`).
"""

from itertools import groupby

from dqguard.records import Delegation, Outside, Segment, short_op
from dqguard.report.markup import mermaid_label
from dqguard.words import coverage, flops, plural

SEGMENTS = 12  # drawn one by one; past it, the first and last half and one box for the middle
NAMES = 4  # distinct ops an island's box names
OUTSIDE = 3  # ops a sentence names; the rest are counted
BAR = 10  # cells of the bar


def named(ops: list[Outside] | tuple[Outside, ...]) -> str:
    """`convolution (volume) at models.py:31, 82.9 kFLOPs`, the first few, then how many more."""
    parts = []
    for op in ops[:OUTSIDE]:
        where = f" at {op.path}:{op.line}" if op.path is not None and op.line is not None else ""
        module = f" ({op.module})" if op.module else ""
        parts.append(f"{short_op(op.op)}{module}{where}, {flops(op.flops)}")
    more = f" and {len(ops) - OUTSIDE} more" if len(ops) > OUTSIDE else ""
    return "; ".join(parts) + more


def line(delegation: Delegation) -> str | None:
    """`coverage 0.25 (27.6 kFLOPs of 111 kFLOPs delegated, 2 delegates, 3 ops outside: ...)`."""
    if delegation.coverage is None or delegation.flops is None:
        return None
    # No FLOPs at all (no matmul, convolution or attention): the share is of the ops.
    compute = (f"{flops(delegation.flops_delegated or 0)} of {flops(delegation.flops)} delegated"
               if delegation.flops else "by ops: no FLOPs to count")
    text = (f"coverage {coverage(delegation.coverage)} ({compute}, "
            f"{plural(delegation.delegates, 'delegate')}, {plural(len(delegation.outside), 'op')} outside")
    text += f": {named(delegation.outside)})" if delegation.outside else ")"
    if delegation.uncounted:
        text += f"; not counted: {', '.join(delegation.uncounted)}"
    return text


def bar(fraction: float, width: int = BAR) -> str:
    """`█████████░ 91 %`: the delegated share of the compute."""
    full, percent = int(fraction * width + 0.5), int(fraction * 100 + 0.5)
    if fraction < 1.0:  # a white cell and no "100 %" while any compute stays on the CPU
        full, percent = min(full, width - 1), min(percent, 99)
    return "█" * full + "░" * (width - full) + f" {percent} %"


def _names(segment: Segment) -> str:
    runs = [(name, len(list(group))) for name, group in groupby(segment.names)]
    shown = [name if count == 1 else f"{name} x{count}" for name, count in runs[:NAMES]]
    return ", ".join(shown) + (f" +{len(runs) - NAMES} more" if len(runs) > NAMES else "")


def _label(segment: Segment) -> str:
    if segment.backend is not None:
        return mermaid_label(segment.backend, plural(segment.ops, "op"), flops(segment.flops))
    return mermaid_label("CPU", _names(segment), flops(segment.flops))


def _folded(segments: tuple[Segment, ...]) -> str:
    delegates = sum(s.backend is not None for s in segments)
    cpu = sum(s.ops for s in segments if s.backend is None)
    return mermaid_label(f"{plural(len(segments), 'more segment')}: {plural(delegates, 'delegate')}",
                         f"{plural(cpu, 'CPU op')}", flops(sum(s.flops for s in segments)))


def flowchart(delegation: Delegation) -> str:
    """The partition in program order as a ```mermaid block."""
    segments = delegation.partition
    half = SEGMENTS // 2
    fold = len(segments) > SEGMENTS
    shown = [*segments[:half], None, *segments[-half:]] if fold else list(segments)
    lines = ["```mermaid", "flowchart LR"]
    for index, segment in enumerate(shown):
        if segment is None:
            lines.append(f"  s{index}[{_folded(segments[half:-half])}]")
            lines.append(f"  class s{index} folded")
        else:
            lines.append(f"  s{index}[{_label(segment)}]")
            lines.append(f"  class s{index} {'delegate' if segment.backend is not None else 'cpu'}")
    lines += [f"  s{index} --> s{index + 1}" for index in range(len(shown) - 1)]
    lines += ["  classDef delegate fill:#dafbe1,stroke:#1a7f37",
              "  classDef cpu fill:#fff8c5,stroke:#9a6700",
              "  classDef folded stroke-dasharray:4 3", "```"]
    return "\n".join(lines)


def rows(delegation: Delegation) -> list[tuple[str, str, str, str, str]]:
    """(segment, backend or CPU, ops, FLOPs, share of the program's FLOPs) per segment."""
    total = delegation.flops or 0
    found = []
    for index, segment in enumerate(delegation.partition, 1):
        ops = str(segment.ops) if segment.backend is not None else f"{segment.ops}: {_names(segment)}"
        share = f"{100 * segment.flops / total:.1f} %" if total else "-"
        found.append((str(index), segment.backend or "CPU", ops, flops(segment.flops), share))
    return found


def table(delegation: Delegation) -> str:
    """`rows` as aligned text, with a header."""
    header = ("#", "runs on", "ops", "FLOPs", "share")
    body = [header, *rows(delegation)]
    widths = [max(len(row[column]) for row in body) for column in range(len(header))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in body)
    return "\n".join(f"  {text}".rstrip() for text in lines)
