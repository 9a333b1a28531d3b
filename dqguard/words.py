"""English for counts, shared by the checks' messages and every reporter. No torch here."""


def noun(count: int, word: str, plural: str | None = None) -> str:
    """`word` as `count` of it takes it: `case`/`cases`; `plural` when it is not `word` + s
    (`entry`/`entries`, `was`/`were`, `it`/`them`)."""
    return word if count == 1 else plural or f"{word}s"


def plural(count: int, word: str, plural: str | None = None) -> str:
    """`1 case`, `2 cases`, `2 baseline entries`."""
    return f"{count} {noun(count, word, plural)}"


_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def flops(count: int) -> str:
    """`280 kFLOPs`, `1.2 MFLOPs`, `0 FLOPs`: three significant digits at the largest prefix."""
    for scale, prefix in _PREFIXES:
        if count >= scale:
            return f"{count / scale:.3g} {prefix}FLOPs"
    return f"{count} FLOPs"


def coverage(fraction: float) -> str:
    """A 0-1 coverage as reports print it: `0.91`, and `1.00` only when it is whole."""
    return f"{fraction:.2f}" if fraction >= 1.0 or fraction < 0.995 else "0.99"
