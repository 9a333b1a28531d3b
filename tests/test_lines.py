"""Each scenario's verdicts on the torch line this suite runs on (testing/verdicts.toml).

scripts/lines.py runs this file, with the rest of testing.lines.CORE, in each supported line's
own virtualenv; the main line runs it with everything else.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dqguard.lines import LINES
from testing import REPO, dqguard, expected_line, poisoned
from testing.lines import current, scenarios, verdicts

LEGACY = "testing/resources/legacy"


def _copy(repo: str, tmp_path: Path) -> Path:
    target = tmp_path / Path(repo).name
    shutil.copytree(REPO / repo, target, ignore=shutil.ignore_patterns("__pycache__", ".dqguard_cache"))
    return target


def _scan(repo: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    completed = dqguard("scan", "--no-cache", "--format", "json", cwd=repo, env=env)
    assert completed.returncode in (0, 1), completed.stderr
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def _rules(document: dict[str, Any]) -> dict[str, list[str]]:
    return {case["name"]: sorted({f["rule"] for f in case["findings"]}) for case in document["cases"]}


def test_the_suite_runs_on_a_supported_line() -> None:
    assert current() in LINES


@pytest.mark.parametrize("repo", scenarios())
def test_each_scenario_gives_this_lines_verdicts(repo: str, tmp_path: Path) -> None:
    assert _rules(_scan(_copy(repo, tmp_path))) == verdicts(repo, current())


def test_legacy_quantizers_need_no_torchao(tmp_path: Path) -> None:
    # torchao made unimportable, as in a torch 2.9 project that never installed it.
    repo = _copy(LEGACY, tmp_path)
    document = _scan(repo, env=poisoned("torchao", tmp_path))
    assert _rules(document) == verdicts(LEGACY, current())
    dynamic = next(case for case in document["cases"] if case["name"] == "heads/dynamic")
    [finding] = dynamic["findings"]
    if "torch.ao" in LINES[current()].flows:
        markers = ("first consumer", "second consumer", "third consumer")
        lines = [expected_line(repo / "models.py", marker) for marker in markers]
        assert [u["line"] for u in finding["users"]] == lines
        assert finding["message"].endswith("dynamic quantization: DuplicateDQPass leaves the "
                                           "choose_qparams -> quantize -> dequantize chain shared on purpose")
    else:
        # torch.ao's PT2E modules are gone from this torch: the case says so in the words of the
        # user's own import (not "no PT2E flow is installed"), at its manifest line.
        assert "No module named 'torch.ao.quantization." in finding["message"]
        assert "(at quantizers.py:" in finding["message"]
        assert (finding["path"], finding["line"]) == ("dqguard.toml", 11)  # its [[case]]
