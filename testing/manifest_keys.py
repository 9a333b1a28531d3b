"""The keys a manifest accepts, table by table, as the loader has them: what the docs and the JSON
schema are held to.

One function, so it is one place to repoint when dqguard.manifest exposes the same as data
(`dqguard.manifest.keys.TABLES`, with these table names).
"""

from dqguard.manifest import load, matrix, specs
from dqguard.rules import IGNORABLE


def tables() -> dict[str, tuple[str, ...]]:
    """Table -> its keys. "manifest" is the top level (or `[tool.dqguard]`); "matrix.models" and
    "matrix.quantizers" are a matrix's entry tables; "inputs" is one inline tensor spec and
    "dynamic_shapes" one dimension's table."""
    case = tuple(load._KEYS)

    def less(*kept_out: str) -> tuple[str, ...]:
        return tuple(key for key in case if key not in kept_out)

    return {
        "manifest": load._TOP,
        "case": case,
        "defaults": less(*load._NOT_DEFAULTS),
        "rules": tuple(IGNORABLE),
        "matrix": (*matrix.OWN, *less(*matrix.NOT_IN_MATRIX)),
        "matrix.models": ("model", "label", *less(*matrix.NOT_IN_MODEL)),
        "matrix.quantizers": ("quantizer", "label", *less(*matrix.NOT_IN_QUANTIZER)),
        "inputs": specs._KEYS,
        "dynamic_shapes": load._DIM_KEYS,
    }
