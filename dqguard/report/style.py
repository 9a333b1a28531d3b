from typing import NamedTuple


class Style(NamedTuple):
    """How a human asked to see the report; machine formats ignore it."""

    color: bool = False
    verbose: bool = False
