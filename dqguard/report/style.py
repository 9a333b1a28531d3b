from typing import NamedTuple


class Style(NamedTuple):
    """How a human asked to see the report, and what else the run writes.

    `others` names the other reports of the same run ("the job summary", "sarif: out.sarif"), so
    a report that has to leave something out can say where to find it. Machine formats ignore it.
    """

    color: bool = False
    verbose: bool = False
    others: tuple[str, ...] = ()
