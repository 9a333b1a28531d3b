"""SARIF from real scans: valid against the OASIS schema, complete for code scanning, stable."""

import json
from typing import Any

import jsonschema
import pytest

from dqguard import __version__
from dqguard.report import sarif
from dqguard.report.style import Style
from dqguard.rules import RULES
from testing import reports


def written(run: str) -> dict[str, Any]:
    return json.loads((reports.scan(run).out / reports.FILES["sarif"]).read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("run", list(reports.REPOS))
def test_valid_against_the_schema(run: str) -> None:
    validator = jsonschema.Draft4Validator(reports.sarif_schema(), format_checker=jsonschema.FormatChecker())
    validator.validate(written(run))


def test_rules_come_from_the_registry() -> None:
    driver = written("findings")["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("dqguard", __version__)
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    for entry, rule in zip(driver["rules"], RULES.values(), strict=True):
        assert entry["name"] == rule.name
        assert entry["shortDescription"]["text"] == rule.summary
        assert entry["fullDescription"]["text"] == rule.explanation
        assert rule.fix in entry["help"]["text"]
        assert entry["defaultConfiguration"]["level"] == rule.severity


def test_results_carry_what_code_scanning_needs() -> None:
    document = written("findings")
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    results = document["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["DQG002", "DQG001"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == RULES[result["ruleId"]].severity
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "models/blocks.py", "uriBaseId": "%SRCROOT%"}
        assert location["physicalLocation"]["region"] == {"startLine": 32}
        # The other two consumers; the producer is the model's input, which has no line.
        related = [(r["physicalLocation"]["region"]["startLine"], r["message"]["text"].split()[0])
                   for r in result["relatedLocations"]]
        assert related == [(33, "linear_1"), (34, "linear_2")]
        assert [r["id"] for r in result["relatedLocations"]] == [1, 2]


def test_thirty_consumers_are_all_related() -> None:
    results = written("fanout")["runs"][0]["results"]
    wide = next(r for r in results if r["ruleId"] == "DQG002")
    assert len(wide["relatedLocations"]) == 29
    shared = [r for r in results if r["ruleId"] == "DQG001"]
    # Each of the 12 has its other consumer and its producer (the `mul` that feeds it).
    assert all(len(r["relatedLocations"]) == 2 for r in shared) and len(shared) == 12
    assert len({r["partialFingerprints"]["dqguard/v1"] for r in shared}) == 12


def test_case_errors_are_results_under_their_rules() -> None:
    (result,) = written("errors")["runs"][0]["results"]
    assert result["ruleId"] == "DQG900" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dqguard.toml"
    assert result["properties"]["case"] == "broken/raises-in-init"
    assert "ValueError: checkpoint 'weights/small.pt' is missing" in result["properties"]["detail"]


def test_fingerprints_survive_a_rescan_and_lines_moving() -> None:
    before = written("findings")["runs"][0]["results"]
    shifted = reports.copy("findings")
    blocks = shifted / "models" / "blocks.py"
    blocks.write_text("# three lines added above the model\n\n\n" + blocks.read_text())
    run = reports.scan_copy(shifted)
    after = json.loads((run.out / reports.FILES["sarif"]).read_text())["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after] == [35, 35]
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]
    assert len({r["partialFingerprints"]["dqguard/v1"] for r in after}) == 2


def test_hostile_text_survives_exactly() -> None:
    result = reports.scan("hostile").result()
    output = sarif.render(result, Style())
    assert "##[" not in output and all(not line.lstrip().startswith("::") for line in output.splitlines())
    results = json.loads(output)["runs"][0]["results"]
    for case, entry in zip(result.cases, results, strict=True):
        (finding,) = case.findings
        assert entry["properties"]["case"] == case.name
        assert entry["message"]["text"] == f"{finding.message} [case: {case.name}]"
        assert entry["properties"].get("detail") == finding.detail
