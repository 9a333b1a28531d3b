"""Findings that differ only in layer indices, folded into one for the reports people read.

A 32-layer decoder shares one dynamic chain per layer: 32 findings whose messages differ only in
the index of a module path (`layers.7.self_attn.q_proj`) and in the numbered name convert gave the
dequantize node (`dequantize_per_tensor_tensor_7`). The text report and the job summary show them
as one, with the count before the message and the index set in it: 32 of them become one
finding of `dequantize_per_tensor_tensor is shared by 3 quantized ops
(layers.{0..31}.self_attn.{q,k,v}_proj); ...`.

Only findings of the same rule, place, severity and stage fold, and only when some module-path
index differs between them: findings at different lines of the user's code stay apart, since each
is a place to fix. JSON, SARIF, annotations and JUnit keep one result per finding (tools count and
track them one by one), and `-v` lists every finding.
"""

import re
from collections.abc import Sequence
from typing import NamedTuple

from dqguard.records import Finding, is_case_error, severity_of

# A numeric component of a dotted module path: the `7` of `layers.7.mlp`, never the `5` of `1.5`.
_INDEX = re.compile(r"(?<=[A-Za-z_]\.)\d+(?=\.|\b)")
_TIMES = "\N{MULTIPLICATION SIGN}"
# `head.q_proj, ...k_proj, ...v_proj`: siblings as the check's messages write them.
_SIBLINGS = re.compile(r"(?P<head>(?:\w|\.|\{[^}]*\})+)\.(?P<first>\w+)(?P<rest>(?:, \.\.\.\w+)+)")


class Folded(NamedTuple):
    finding: Finding  # the first of them, as a report draws it
    message: str  # its message, the dequantize's number dropped and every index set folded in
    members: tuple[int, ...]  # positions in the input of the findings folded here


def _dequantize_base(finding: Finding) -> str:
    """The message with the dequantize node's own number dropped (`..._tensor_7` -> `..._tensor`)."""
    name = finding.dequantize
    if name and finding.message.startswith(name):
        return re.sub(r"_\d+$", "", name) + finding.message[len(name):]
    return finding.message


def _key(finding: Finding) -> tuple[object, ...] | None:
    message = _dequantize_base(finding)
    if is_case_error(finding) or not _INDEX.search(message):
        return None
    return (finding.rule, finding.path, finding.line, severity_of(finding), finding.stage,
            _INDEX.sub("#", message))


def _index_set(values: list[str]) -> str:
    numbers = sorted({int(value) for value in values})
    if len(numbers) == 1:
        return str(numbers[0])
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{{{numbers[0]}..{numbers[-1]}}}"
    return "{" + ",".join(map(str, numbers)) + "}"


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)  # the lexical extremes differ first where any two do
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _siblings(match: re.Match[str]) -> str:
    leaves = [match.group("first"), *re.findall(r"\.\.\.(\w+)", match.group("rest"))]
    prefix = _common_prefix(leaves)
    suffix = _common_prefix([leaf[len(prefix):][::-1] for leaf in leaves])[::-1]
    middles = [leaf[len(prefix):len(leaf) - len(suffix)] for leaf in leaves]
    if not all(middles):
        prefix, suffix, middles = "", "", leaves
    return f"{match.group('head')}.{prefix}{{{','.join(middles)}}}{suffix}"


def _message(findings: list[Finding]) -> str:
    messages = [_dequantize_base(finding) for finding in findings]
    slots = [_INDEX.findall(message) for message in messages]
    folded = iter([_index_set(list(values)) for values in zip(*slots, strict=True)])
    return _SIBLINGS.sub(_siblings, _INDEX.sub(lambda _: next(folded), messages[0]))


def fold(findings: Sequence[Finding]) -> list[Folded]:
    """The findings in their order, those that differ only in layer indices as one (at the first)."""
    members: dict[object, list[int]] = {}
    for position, finding in enumerate(findings):
        key = _key(finding)
        members.setdefault(position if key is None else key, []).append(position)
    folded = []
    for positions in members.values():
        group = [findings[position] for position in positions]
        message = group[0].message if len(group) == 1 else _message(group)
        folded.append(Folded(group[0], message, tuple(positions)))
    return folded


def shown(folded: Folded) -> str:
    """The message a report prints: the count first when several findings were folded."""
    count = len(folded.members)
    return folded.message if count == 1 else f"{count}{_TIMES} {folded.message}"
