"""The manifest's `module:attribute` references, resolved and built in the case's own process.

A reference names a class (instantiated with no arguments), an instance (used as it is) or any
other callable (a factory, called with no arguments). No torch here: the caller says what kind
of object it needs.
"""

import contextlib
import importlib
from contextlib import AbstractContextManager
from typing import Any


def resolve(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def build(reference: str, kind: type | tuple[type, ...], what: str,
          calling: AbstractContextManager[Any] | None = None) -> Any:
    """The object `reference` names; a factory is called under `calling` (its module imported
    outside it, so module-level code runs as it always does)."""
    value = resolve(reference)
    if not isinstance(value, kind) and callable(value):
        with calling or contextlib.nullcontext():
            value = value()
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{what} {reference!r} gave {type(value).__name__}, not {expected}")
    return value
