"""Markdown and Mermaid text that renders as exactly what it was given: the escaping the job summary
and `dqguard explain --graph FILE.md` share (`dqguard.report.summary` says why each rule is there)."""

import re

_INLINE = re.compile(r"[\\`*_\[\]<>&|~!@]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _./:,()+=-]")


def control_picture(char: str) -> str:
    return "\u2421" if char == "\x7f" else chr(0x2400 + ord(char))


def inline(value: str) -> str:
    """`value` as Markdown inline text that renders as exactly `value`."""
    escaped = _INLINE.sub(lambda m: "\\" + m.group(), value)
    escaped = _CONTROL.sub(lambda m: control_picture(m.group()), escaped)
    return escaped.replace("\r", "&#13;").replace("\n", "<br>")


def code(value: str) -> str:
    """A code span when `value` can be one, else escaped inline text."""
    if re.search(r"[`|\r\n\x00-\x1f\x7f]|##\[", value) or not value.strip():
        return inline(value)
    return f"`{value}`"


def mermaid_label(*parts: str) -> str:
    """A quoted Mermaid label, one line per part."""
    escaped = ("".join(c if _MERMAID_SAFE.match(c) else f"#{ord(c)};" for c in part) for part in parts)
    return '"' + "<br/>".join(escaped) + '"'
