"""Text that is safe on a CI log line: it can neither end the line nor be read as a command.

A GitHub runner reads each line of a step's output for workflow commands: `::name ...::` at the
start of the line (after leading whitespace), and the legacy `##[name]` anywhere in it. Text that
a user, a model or an exception controls is passed through `escape` before it reaches a line:
backslash escapes for `\\`, control characters and line separators, `#\\#[` for `##[`, and `\\:`
for a `::` that would open the line. Nothing is lost: `testing.logsafe.unescape` inverts it
exactly, which the report tests prove on hostile text.
"""

import re

_SPECIAL = re.compile(r"[\\\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]|##\[")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "##[": "#\\#["}


def _replace(match: re.Match[str]) -> str:
    text = match.group()
    if text in _NAMED:
        return _NAMED[text]
    code = ord(text)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, line_start: bool = False) -> str:
    """One line's worth of `text`; `line_start` when it is the first thing on the line."""
    escaped = _SPECIAL.sub(_replace, text)
    stripped = escaped.lstrip()
    if line_start and stripped.startswith("::"):
        at = len(escaped) - len(stripped)
        escaped = escaped[:at] + "\\" + escaped[at:]
    return escaped

