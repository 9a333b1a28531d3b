"""Adopting dqguard on a repo with findings: `dqguard baseline`, then only new findings fail."""

import json
from pathlib import Path
from typing import Any

import pytest

from dqguard import baseline
from dqguard.records import CaseResult, Finding, NodeRef, fingerprint
from testing import copy_repo, dqguard

DYNAMIC = ("zoo/Projections/xnnpack_dynamic", "zoo/Embedder/xnnpack_dynamic")


def _finding(line: int, node: str, users: tuple[tuple[str, str], ...]) -> Finding:
    return Finding("DQG002", "shared", "models/blocks.py", line, dequantize=f"dequantize_{node}",
                   users=tuple(NodeRef(f"{target}_{node}", target, path, line) for target, path in users),
                   producer=NodeRef(f"x_{node}", "placeholder", None, None))


def test_fingerprints_ignore_lines_and_node_names_not_consumers() -> None:
    users = (("aten.linear.default", "models/blocks.py"), ("aten.linear.default", "models/blocks.py"))
    first = fingerprint(_finding(10, "1", users), "case")
    assert fingerprint(_finding(42, "7", users), "case") == first
    assert fingerprint(_finding(10, "1", users[:1]), "case") != first
    assert fingerprint(_finding(10, "1", users), "other") != first


def test_fingerprints_match_the_baselines_repositories_already_hold() -> None:
    # Committed dqguard-baseline.json files hold these hashes: the identity may not drift.
    finding = Finding("DQG001", "m", "models.py", 3, dequantize="dq", stage="convert",
                      users=(NodeRef("linear", "linear", "models.py", 3, module="layers.0.q_proj"),
                             NodeRef("linear_1", "linear", "models.py", 4)),
                      producer=NodeRef("x", "input", None, None))
    assert fingerprint(finding, "zoo/case") == "ebeb6a6287fd8b95de6b"


def test_apply_is_a_multiset_and_returns_what_is_gone() -> None:
    users = (("aten.linear.default", "m.py"),) * 2
    result = CaseResult("case", "findings", 0.0, (_finding(1, "1", users), _finding(2, "2", users)))
    known = [entry for entry in baseline.entries([result])][:1]
    [marked], gone = baseline.apply([result], baseline.read_entries(known))
    assert [f.baselined for f in marked.findings] == [True, False]
    assert gone == []
    _, gone = baseline.apply([result._replace(findings=())], baseline.read_entries(known))
    assert [g.line for g in gone] == [1]


def _scan(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    completed = dqguard("scan", "--format", "json", "-j", "1", *args, cwd=repo)
    assert completed.returncode in (0, 1), completed.stderr
    return completed.returncode, json.loads(completed.stdout)


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_repo("zoo", tmp_path_factory.mktemp("zoo"))
    completed = dqguard("baseline", "-j", "1", cwd=repo)
    assert completed.returncode == 0, completed.stderr
    assert "wrote dqguard-baseline.json (2 findings)" in completed.stderr
    return repo


def test_the_baseline_holds_every_current_finding(adopted: Path) -> None:
    document = json.loads((adopted / baseline.FILE_NAME).read_text())
    assert [(e["case"], e["rule"]) for e in document["findings"]] == [(c, "DQG002") for c in DYNAMIC]


def test_after_adoption_the_scan_passes_and_says_why(adopted: Path) -> None:
    code, document = _scan(adopted)
    assert code == 0
    assert document["baseline"] == baseline.FILE_NAME
    baselined = [c["name"] for c in document["cases"] for f in c["findings"] if f["baselined"]]
    assert baselined == list(DYNAMIC)
    assert {c["status"] for c in document["cases"]} == {"ok"}
    text = dqguard("scan", cwd=adopted)
    assert text.returncode == 0 and "2 baselined findings not shown" in text.stdout
    sarif = json.loads(dqguard("scan", "--format", "sarif", cwd=adopted).stdout)
    assert [r["baselineState"] for r in sarif["runs"][0]["results"]] == ["unchanged", "unchanged"]


def test_unrelated_line_moves_keep_findings_baselined(adopted: Path, tmp_path: Path) -> None:
    repo = tmp_path / "moved"
    repo.mkdir()
    copied = copy_repo("zoo", repo)
    (copied / baseline.FILE_NAME).write_text((adopted / baseline.FILE_NAME).read_text())
    blocks = copied / "models" / "blocks.py"
    blocks.write_text(blocks.read_text().replace('"""\n', '"""\n\n# A comment\n# and another.\n', 1))
    code, document = _scan(copied, "--no-cache")
    assert code == 0
    moved = [f["line"] for c in document["cases"] for f in c["findings"]]
    assert moved and all(f["baselined"] for c in document["cases"] for f in c["findings"])
    assert document["gone"] == []


def test_a_new_finding_fails_and_a_fixed_one_is_listed_as_gone(adopted: Path) -> None:
    path = adopted / baseline.FILE_NAME
    original = path.read_text()
    document = json.loads(original)
    fixed = dict(document["findings"][1], case="zoo/Projections/xnnpack_static", message="fixed since")
    document["findings"] = [document["findings"][0], fixed]
    path.write_text(json.dumps(document))
    try:
        code, report = _scan(adopted)
        assert code == 1
        new = [(c["name"], f["baselined"]) for c in report["cases"] for f in c["findings"]]
        assert new == [(DYNAMIC[0], True), (DYNAMIC[1], False)]
        assert [(g["case"], g["message"]) for g in report["gone"]] == [("zoo/Projections/xnnpack_static",
                                                                        "fixed since")]
        sarif = json.loads(dqguard("scan", "--format", "sarif", cwd=adopted).stdout)
        assert [r["baselineState"] for r in sarif["runs"][0]["results"]] == ["unchanged", "new"]
        assert "1 baseline entry fixed" in dqguard("scan", cwd=adopted).stdout
        # --no-baseline: every finding is new again.
        code, report = _scan(adopted, "--no-baseline")
        assert code == 1 and report["baseline"] is None
    finally:
        path.write_text(original)


def test_baseline_option_names_another_file(adopted: Path, tmp_path: Path) -> None:
    other = tmp_path / "accepted.json"
    assert dqguard("baseline", "--baseline", str(other), cwd=adopted).returncode == 0
    code, report = _scan(adopted, "--no-baseline")
    assert code == 1
    code, report = _scan(adopted, "--baseline", str(other))
    assert code == 0 and report["baseline"] == str(other)


def test_a_broken_baseline_is_a_usage_error(adopted: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    completed = dqguard("scan", "--baseline", str(broken), cwd=adopted)
    assert completed.returncode == 2
    assert f"{broken}: not a dqguard baseline" in completed.stderr
    both = dqguard("scan", "--baseline", str(broken), "--no-baseline", cwd=adopted)
    assert both.returncode == 2 and "contradict" in both.stderr
