"""The inverse of `dqguard.report.logsafe.escape`: what a reader of the log line can recover."""

import re

_ESCAPED = re.compile(r"\\(?:([\\nr#:])|x([0-9a-f]{2})|u([0-9a-f]{4}))")
_PLAIN = {"\\": "\\", "n": "\n", "r": "\r", "#": "#", ":": ":"}


def _restore(match: re.Match[str]) -> str:
    plain, byte, code = match.groups()
    if plain is not None:
        return _PLAIN[plain]
    return chr(int(byte or code, 16))


def unescape(text: str) -> str:
    return _ESCAPED.sub(_restore, text)
