"""The keys a manifest accepts, table by table, as the loader has them: what the docs and the JSON
schema are held to."""

from dqguard.manifest.keys import TABLES


def tables() -> dict[str, tuple[str, ...]]:
    """Table -> its keys (`dqguard.manifest.keys.TABLES`): "manifest" is the top level (or
    `[tool.dqguard]`); "matrix.models" and "matrix.quantizers" are a matrix's entry tables;
    "inputs" is one inline tensor spec and "dynamic_shapes" one dimension's table."""
    return dict(TABLES)
