"""The README tells the truth about what the code holds."""

import re
from pathlib import Path

from dqguard.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_rule_table_is_the_registry() -> None:
    rows = [line.strip("|").split("|") for line in _section("Rules").splitlines()
            if line.startswith("| DQG")]
    table = [tuple(cell.strip() for cell in row) for row in rows]
    assert table == [(r.code, r.name, r.severity, r.summary) for r in RULES.values()]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    block = re.search(r"```sh\n(.*?)```", _section("Quick start"), re.DOTALL)
    assert block
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert "dqguard scan" in commands[0] and "torch==2.13.0" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].lstrip("./") in ci
