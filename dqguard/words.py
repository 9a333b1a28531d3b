"""English for counts, shared by the checks' messages and every reporter. No torch here."""


def noun(count: int, word: str, plural: str | None = None) -> str:
    """`word` as `count` of it takes it: `case`/`cases`; `plural` when it is not `word` + s
    (`entry`/`entries`, `was`/`were`, `it`/`them`)."""
    return word if count == 1 else plural or f"{word}s"


def plural(count: int, word: str, plural: str | None = None) -> str:
    """`1 case`, `2 cases`, `2 baseline entries`."""
    return f"{count} {noun(count, word, plural)}"
