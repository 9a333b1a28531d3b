"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

- `tool.driver.rules` is the rule registry, in registry order, so `ruleIndex` is a rule's
  position in `rules.RULES`.
- One result per finding per case (not grouped as annotations are): code scanning tracks an
  alert by its fingerprint, and a case's findings come and go with that case.
- The primary location is the finding's (the first quantized consumer with a line in the
  repository, or the case's manifest line), with that consumer's submodule as a logical location
  (a line calling a library model made all of that model's nodes); `relatedLocations` are the
  other consumers and the producer, where they have a line in the repository. Paths are relative
  to the workspace and resolved against `%SRCROOT%`, which code scanning maps to the checkout.
- `partialFingerprints["dqguard/v1"]` is the baseline's key for the finding (`records.fingerprint`:
  case, rule, stage, and producer and consumers by op and submodule or file), never line numbers
  or node names, so neither an edit elsewhere in the file nor a node added upstream moves the alert.
- Case errors (DQG9xx) are results under their own rules at the case's manifest line, so a
  failed case is as visible as a finding; the traceback or stderr tail is in `properties.detail`.
- Compared against a baseline (`dqguard.baseline`), every result has a `baselineState`: "new", or
  "unchanged" for one the baseline holds (code scanning shows those as existing, not new, alerts).
- A scan with lowered cases says how much of each one's compute the delegates took in the run's
  property bag: `runs[0].properties.dqguard.delegation[CASE]` holds `backends`, `delegates`,
  `coverage`, `flops` and `flops_delegated` (a case with no finding has no result to carry them).
"""

from typing import Any
from urllib.parse import quote

from dqguard import __version__
from dqguard.records import Finding, NodeRef, ScanResult, fingerprint, severity_of
from dqguard.report.json import dumps
from dqguard.report.style import Style
from dqguard.rules import RULES

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/dqguard/dqguard"
SRCROOT = "%SRCROOT%"
_INDEX = {code: index for index, code in enumerate(RULES)}


def _rule(code: str) -> dict[str, Any]:
    rule = RULES[code]
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.explanation},
        "help": {
            "text": f"{rule.explanation}\n\nFix: {rule.fix}",
            "markdown": f"{rule.explanation}\n\n**Fix:** {rule.fix}",
        },
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"tags": ["quantization", "pt2e"]},
    }


def _location(path: str, line: int) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT},
            "region": {"startLine": max(line, 1)},
        }
    }


def _related(finding: Finding) -> list[dict[str, Any]]:
    related: list[tuple[NodeRef, str]] = []
    primary_seen = False
    for user in finding.users:
        if not primary_seen and (user.path, user.line) == (finding.path, finding.line):
            primary_seen = True  # the primary location already points at this one
            continue
        # A finding about a lowering (DQG004, DQG006) names ops, not the readers of a dequantize.
        reads = f" also reads {finding.dequantize}" if finding.dequantize is not None else ", also named"
        related.append((user, f"{user.node} ({user.target}){reads}"))
    if finding.producer is not None:
        producer = finding.producer
        related.append((producer, f"{producer.node} ({producer.target}) is what {finding.dequantize} "
                                  "dequantizes"))
    locations: list[dict[str, Any]] = []
    for ref, text in related:
        location: dict[str, Any] = {}
        if ref.path is not None and ref.line is not None:
            location.update(_location(ref.path, ref.line))
        if ref.module is not None:
            # A library model's nodes have no line of the project: the submodule is where they are.
            location["logicalLocations"] = [{"fullyQualifiedName": ref.module, "kind": "module"}]
        if location:
            locations.append({"id": len(locations) + 1, **location, "message": {"text": text}})
    return locations


def _primary(finding: Finding) -> dict[str, Any]:
    """The finding's line, with the submodule of the node there (a wrapper's one line makes every
    node of the library model it calls: the module tells which)."""
    location = _location(finding.path, finding.line)
    first = next((u for u in finding.users if (u.path, u.line) == (finding.path, finding.line)), None)
    if first is not None and first.module is not None:
        location["logicalLocations"] = [{"fullyQualifiedName": first.module, "kind": "module"}]
    return location


def result_of(finding: Finding, case: str, baseline: bool = False) -> dict[str, Any]:
    rule = RULES[finding.rule]
    result: dict[str, Any] = {
        "ruleId": rule.code,
        "ruleIndex": _INDEX[rule.code],
        "level": severity_of(finding),
        "message": {"text": f"{finding.message} [case: {case}]"},
        "locations": [_primary(finding)],
        "partialFingerprints": {"dqguard/v1": fingerprint(finding, case)},
        "properties": {"case": case},
    }
    if baseline:  # compared against a baseline: say which results it already held
        result["baselineState"] = "unchanged" if finding.baselined else "new"
    related = _related(finding)
    if related:
        result["relatedLocations"] = related
    if finding.detail:
        result["properties"]["detail"] = finding.detail
    return result


def delegation(result: ScanResult) -> dict[str, Any]:
    """`runs[0].properties.dqguard.delegation`: each lowered case's coverage by compute."""
    return {
        case.name: {"backends": list(d.backends), "delegates": d.delegates, "coverage": d.coverage,
                    "flops": d.flops, "flops_delegated": d.flops_delegated}
        for case in result.cases if (d := case.delegation) is not None
    }


def document(result: ScanResult) -> dict[str, Any]:
    lowered = delegation(result)
    run: dict[str, Any] = {"properties": {"dqguard": {"delegation": lowered}}} if lowered else {}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dqguard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(code) for code in RULES],
            }},
            "results": [result_of(f, case.name, result.baseline is not None)
                        for case in result.cases for f in case.findings],
            **run,
        }],
    }


def render(result: ScanResult, style: Style) -> str:
    return dumps(document(result))
