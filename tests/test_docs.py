"""The docs site documents everything a user can write or type: every rule (its page generated
from the registry), every manifest key, every command and option."""

import re
from pathlib import Path

import click
import pytest

from dqguard.cli import cli
from dqguard.manifest import specs
from dqguard.rules import RULES
from scripts import docs
from testing.manifest_keys import tables

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GOLDEN = ROOT / "tests" / "golden"


def test_rule_pages_are_what_the_registry_generates() -> None:
    assert docs.stale() == [], "run `python scripts/docs.py` and commit docs/rules/"


@pytest.mark.parametrize("code", list(RULES))
def test_every_rule_has_a_page_with_an_example_and_a_fix(code: str) -> None:
    rule = RULES[code]
    assert rule.example.strip() and rule.fix.strip() and rule.explanation.strip()
    assert re.match(rf"^\S+:\d+: {code} ", rule.message), rule.message
    page = (DOCS / "rules" / f"{code}.md").read_text()
    assert rule.example in page and rule.message in page and rule.fix in page
    assert f"({code}.md)" in (DOCS / "rules" / "index.md").read_text()


@pytest.mark.parametrize("code", ["DQG001", "DQG002", "DQG003", "DQG900"])
def test_example_messages_are_what_a_real_scan_printed(code: str) -> None:
    # The golden text reports come from real scans of the demo and the scenario repositories.
    printed = "\n".join(path.read_text() for path in GOLDEN.rglob("*.txt"))
    assert RULES[code].message in printed


@pytest.mark.parametrize("table", list(tables()))
def test_every_manifest_key_is_documented(table: str) -> None:
    page = (DOCS / "manifest.md").read_text()
    if table == "rules":  # rule codes: each has its page
        assert all((DOCS / "rules" / f"{code}.md").exists() for code in tables()[table])
        return
    forms = ("`{}`", "{} =", "[{}]", "[[{}]]")
    assert [key for key in tables()[table] if not any(form.format(key) in page for form in forms)] == []


def test_every_inline_dtype_is_documented() -> None:
    page = (DOCS / "manifest.md").read_text()
    assert [dtype for dtype in specs.DTYPES if f"`{dtype}`" not in page] == []


def _options(command: click.Command) -> list[str]:
    names = [name for param in command.params if isinstance(param, click.Option)
             for name in (*param.opts, *param.secondary_opts)]
    return [name for name in names if name not in ("-h", "--help")]


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_and_option_is_documented(name: str) -> None:
    page = (DOCS / "cli.md").read_text()
    match = re.search(rf"^## dqguard {name}\n(.*?)(?=^## |\Z)", page, re.MULTILINE | re.DOTALL)
    assert match, f"docs/cli.md has no '## dqguard {name}' section"
    section = match.group(1)
    command = cli.commands[name]
    named = [opt for opt in _options(command) if re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", section)]
    assert [opt for opt in _options(command) if opt not in named] == []
    assert [arg.name for arg in command.params if isinstance(arg, click.Argument)
            and (arg.name or "").upper() not in section] == []


def test_the_groups_own_options_are_documented() -> None:
    page = (DOCS / "cli.md").read_text()
    assert [opt for opt in _options(cli) if f"`dqguard {opt}`" not in page and f"`{opt}`" not in page] == []


def test_every_page_is_in_the_nav_or_a_rule_page() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    listed = set(re.findall(r":\s+(\S+\.md)\s*$", config, re.MULTILINE))
    assert pages - listed == {f"rules/{code}.md" for code in RULES}
