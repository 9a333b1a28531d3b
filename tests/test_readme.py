"""The README tells the truth about what the code holds."""

import re
from pathlib import Path

from dqguard.lines import DEFAULT, LINES
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
    main = LINES[DEFAULT]
    assert "dqguard scan" in commands[0]
    assert f"torch=={main.torch} torchao=={main.torchao}" in commands[0]
    # The test script's main venv holds the same pins.
    assert f"torch=={main.torch} torchao=={main.torchao}" in (ROOT / "scripts" / "test").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].lstrip("./") in ci


def test_support_table_is_the_lines_table() -> None:
    rows = [line.strip("|").split("|") for line in _section("Supported torch").splitlines()
            if re.match(r"^\| \d", line)]
    table = [[cell.strip() for cell in row] for row in rows]
    assert [row[0] for row in table] == list(LINES)
    for (name, torch, flows, torchao, *_), line in zip(table, LINES.values(), strict=True):
        assert torch == line.torch, name
        assert flows == ", ".join(line.flows), name
        assert torchao.split()[0] == line.torchao, name


def test_every_line_has_its_pre_commit_pins() -> None:
    section = _section("pre-commit")
    for line in LINES.values():
        assert f"[torch=={line.torch}, torchao=={line.torchao}]" in section
    assert "torch.ao quantizers only:      [torch==2.9.1]" in section


def test_the_manifest_reference_names_every_key() -> None:
    from dqguard.manifest import keys, specs

    section = _section("The manifest")
    names = [*keys.CASE_KEYS, *keys.MATRIX_OWN, *specs.KEYS, "label", "[defaults]", "[rules]"]
    assert [key for key in names if f"`{key}`" not in section and f"{key} =" not in section] == []
    assert all(dtype in section for dtype in specs.DTYPES)


def test_every_command_is_in_the_command_line_section() -> None:
    from dqguard.cli import cli

    section = _section("Command line")
    assert [name for name in cli.commands if f"dqguard {name}" not in section] == []
