"""Where tables and keys sit in a manifest's TOML text, for errors that name a line.

tomllib keeps no positions, so the text is read again: a table is found by its header, a key by
`key =` between its table's header and the next one.
"""

import re
from typing import NamedTuple

_HEADER = re.compile(r"^\s*\[\[?\s*([\w.\"' -]+?)\s*\]\]?")


class Lines(NamedTuple):
    lines: tuple[str, ...]
    tables: tuple[tuple[str, int], ...]  # (dotted name, line of its header), in order
    prefix: str  # "tool.dqguard." in a pyproject.toml, else ""

    def table(self, name: str, index: int = 0) -> int:
        """The header line of the `index`th table `name` (1 when there is none)."""
        starts = [n for t, n in self.tables if t == self.prefix + name]
        return starts[index] if index < len(starts) else 1

    def find(self, name: str) -> int:
        """A top-level key's line: its own table's header, or `name = ...` in the enclosing table."""
        headers = [n for t, n in self.tables if t == self.prefix + name]
        if headers:
            return headers[0]
        enclosing = [n for t, n in self.tables if self.prefix and t == self.prefix.rstrip(".")]
        return max(self.key(enclosing[0] if enclosing else 0, name), 1)

    def key(self, table_line: int, key: str) -> int:
        """The line of `key = ...` in the table at `table_line`, or the table's."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(table_line + 1, self._end(table_line)):
            if pattern.match(self.lines[number - 1]):
                return number
        return table_line

    def occurrence(self, table_line: int, reference: str, nth: int) -> int:
        """The line of the `nth` quoted `reference` in the table at `table_line`, or the table's."""
        quoted = re.compile(rf"[\"']{re.escape(reference)}[\"']")
        hits = [n for n in range(table_line, self._end(table_line)) if quoted.search(self.lines[n - 1])]
        return hits[nth] if nth < len(hits) else (hits[-1] if hits else table_line)

    def _end(self, table_line: int) -> int:
        following = [n for _, n in self.tables if n > table_line]
        return following[0] if following else len(self.lines) + 1


def parse(text: str, prefix: str) -> Lines:
    lines = tuple(text.splitlines())
    tables = tuple((match.group(1).replace(" ", ""), number) for number, line in enumerate(lines, 1)
                   if (match := _HEADER.match(line)))
    return Lines(lines, tables, prefix)
