"""How a GitHub Actions runner reads a step's output and its GITHUB_OUTPUT file, for tests.

Follows the runner (`Runner.Common/ActionCommand.cs`, `Runner.Worker/ActionCommandManager.cs`,
`Runner.Worker/FileCommandManager.cs`). Output lines end at CR, LF or CRLF; a line is a command if,
after leading whitespace, it is `::name props::data` with a registered name, or else if it holds
the legacy `##[name props]data` anywhere. `stop-commands` ignores every command until its token
comes back as a command. Names compare case-insensitively.
"""

import re
from typing import NamedTuple

REGISTERED = frozenset({
    "set-env", "set-output", "save-state", "add-mask", "add-path", "add-matcher", "remove-matcher",
    "debug", "warning", "error", "notice", "group", "endgroup", "echo", "stop-commands",
})


class Command(NamedTuple):
    name: str
    properties: dict[str, str]
    data: str


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mappings:
        text = text.replace(replacement, token)
    return text


_DATA = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
_PROPERTY = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))
_LEGACY = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"), ("%", "%25"))


def _parse_v2(line: str, registered: set[str]) -> Command | None:
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties = {}
    for prop in filter(None, props.strip().split(",")):
        key, sep, value = prop.partition("=")
        if sep and key and value:
            properties[key] = _unescape(value, _PROPERTY)
    return Command(name.lower(), properties, _unescape(message[end + 2:], _DATA))


def _parse_v1(line: str, registered: set[str]) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    info = line[start + 3:close]
    name, _, props = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties = {}
    for prop in filter(None, props.split(";")):
        key, sep, value = prop.partition("=")
        if sep and key and value:
            properties[key] = _unescape(value, _LEGACY)
    return Command(name.lower(), properties, _unescape(line[close + 1:], _LEGACY))


def commands(output: str) -> list[Command]:
    """The commands the runner would carry out, stop-commands and its token excluded."""
    registered = set(REGISTERED)
    token: str | None = None
    carried_out = []
    for line in re.split(r"\r\n|\r|\n", output):
        command = _parse_v2(line, registered) or _parse_v1(line, registered)
        if command is None:
            continue
        if token is not None:
            if command.name == token:
                registered.discard(token)
                token = None
            continue
        if command.name == "stop-commands" and command.data:
            token = command.data.lower()
            registered.add(token)
            continue
        carried_out.append(command)
    return carried_out


def output_file(text: str) -> dict[str, str]:
    """The outputs a step sets by writing `text` to GITHUB_OUTPUT."""
    outputs = {}
    lines = iter(text.split("\n"))  # a Linux runner splits on LF alone and keeps a CR in the value
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            outputs[line[:equals]] = line[equals + 1:]
        elif heredoc >= 0:
            delimiter, body = line[heredoc + 2:], []
            for value_line in lines:
                if value_line == delimiter:
                    break
                body.append(value_line)
            else:
                raise ValueError(f"no closing delimiter {delimiter!r}")
            outputs[line[:heredoc]] = "\n".join(body)
        else:
            raise ValueError(f"invalid output line {line!r}")
    return outputs
