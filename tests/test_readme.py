"""The README and the docs tell the truth about what the code holds."""

import re
from pathlib import Path

from dqguard.lines import DEFAULT, LINES
from dqguard.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def _section(title: str, text: str = README) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no '## {title}' section"
    return match.group(1)


def _rule_rows(text: str) -> list[tuple[str, ...]]:
    rows = [line.strip("|").split("|") for line in text.splitlines() if re.match(r"^\| \[?DQG", line)]
    return [tuple(re.sub(r"^\[(\w+)\]\(.*\)$", r"\1", cell.strip()) for cell in row) for row in rows]


def test_rule_tables_are_the_registry() -> None:
    registry = [(r.code, r.name, r.severity, r.summary) for r in RULES.values()]
    assert _rule_rows(_section("What it catches")) == registry
    assert _rule_rows((DOCS / "rules" / "index.md").read_text()) == registry


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
    # The docs' quick start is the same two commands.
    assert block.group(0) in (DOCS / "getting-started.md").read_text()


def test_support_tables_are_the_lines_table() -> None:
    for text in (_section("Supported torch"), (DOCS / "torch.md").read_text()):
        rows = [line.strip("|").split("|") for line in text.splitlines() if re.match(r"^\| \d", line)]
        table = [[cell.strip() for cell in row] for row in rows]
        assert [row[0] for row in table] == list(LINES)
        for (name, torch, flows, torchao, *_), line in zip(table, LINES.values(), strict=True):
            assert torch == line.torch, name
            assert flows == ", ".join(line.flows), name
            assert torchao.split()[0] == line.torchao, name


def test_every_line_has_its_pre_commit_pins() -> None:
    for section in (_section("pre-commit"), (DOCS / "pre-commit.md").read_text()):
        for line in LINES.values():
            assert f"[torch=={line.torch}, torchao=={line.torchao}]" in section
        assert "torch.ao quantizers only:      [torch==2.9.1]" in section


def test_snippets_name_this_release() -> None:
    from dqguard import __version__

    for text in (README, (DOCS / "pre-commit.md").read_text()):
        assert f"rev: v{__version__}" in text
    assert f"dqguard@v{__version__}" in README
    assert "OWNER" not in README and not [p for p in DOCS.rglob("*.md") if "OWNER" in p.read_text()]


def test_readme_is_one_screen_of_first_contact() -> None:
    assert len(README.splitlines()) <= 200
    assert "issue #" not in README


def test_readme_links_point_at_files() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    relative = [t for t in targets if "://" not in t]
    assert relative and [t for t in relative if not (ROOT / t).exists()] == []
