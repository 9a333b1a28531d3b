"""The manifest's JSON Schema (schema/dqguard.schema.json, shipped as dqguard/schema/...) accepts
every manifest the repository holds and the same keys, table by table, as the loader."""

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from testing import RESOURCES
from testing.manifest_keys import tables

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "schema" / "dqguard.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MANIFESTS = sorted(path for root in (REPO / "examples", RESOURCES)
                   for name in ("dqguard.toml", "pyproject.toml") for path in root.rglob(name))


def _table(name: str) -> dict[str, Any]:
    """The schema's object for one of testing.manifest_keys' tables."""
    defs = SCHEMA["$defs"]
    return {
        "manifest": SCHEMA,
        "matrix.models": defs["matrixModel"],
        "matrix.quantizers": defs["matrixQuantizer"],
        "inputs": defs["tensorSpec"]["oneOf"][1],
        "dynamic_shapes": defs["dimension"],
    }.get(name) or defs[name]


def test_the_packaged_schema_is_the_repositorys() -> None:
    packaged = resources.files("dqguard").joinpath("schema", "dqguard.schema.json").read_text()
    assert packaged == (REPO / "schema" / "dqguard.schema.json").read_text()


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_manifest_in_the_repository_validates(path: Path) -> None:
    document = tomllib.loads(path.read_text())
    if path.name == "pyproject.toml":
        document = document["tool"]["dqguard"]
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert errors == []


def test_there_are_manifests_of_both_kinds() -> None:
    assert {path.name for path in MANIFESTS} == {"dqguard.toml", "pyproject.toml"}
    assert REPO / "examples" / "demo" / "dqguard.toml" in MANIFESTS


@pytest.mark.parametrize("name", list(tables()))
def test_the_schema_and_the_loader_accept_the_same_keys(name: str) -> None:
    table = _table(name)
    assert set(table["properties"]) == set(tables()[name])
    assert table["additionalProperties"] is False  # the loader rejects every other key
    assert all(prop.get("description") or "$ref" in prop for prop in table["properties"].values())


_CASE = '[[case]]\nname = "a"\nmodel = "m:M"\ninputs = "m:i"\n'


@pytest.mark.parametrize(("text", "wrong"), [
    (_CASE + 'quantizer = "q:Q"\ncalibrations = 2\n', "'calibrations' was unexpected"),
    (_CASE + 'quantizer = "q:Q"\ncalibration = 0\n', "less than the minimum of 1"),
    (_CASE + 'quantizer = "q:Q"\nflow = "torch_ao"\n', "is not one of"),
    (_CASE, "'quantizer' is a required property"),
    (_CASE + 'quantizer = "q:Q"\n[rules]\nDQG900 = "off"\n', "'DQG900' was unexpected"),
    (_CASE.replace('"m:M"', '"models"') + 'quantizer = "q:Q"\n', "does not match"),
])
def test_the_schema_rejects_what_the_loader_rejects(text: str, wrong: str, tmp_path: Path) -> None:
    from dqguard.errors import DqguardError
    from dqguard.manifest import load

    messages = [error.message for error in VALIDATOR.iter_errors(tomllib.loads(text))]
    assert any(wrong in message for message in messages), messages
    (tmp_path / "dqguard.toml").write_text(text)
    with pytest.raises(DqguardError):
        load.load(tmp_path / "dqguard.toml")
