"""The README's book commands (the "Using riskdesk" block, from init to calc) run as written on
a fresh database, each exiting 0."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.e2e.book_cli_kit import run

ROOT = Path(__file__).parents[2]
BOOK_COMMANDS = {
    "init", "accounts", "instruments", "cash", "fills", "prices", "positions", "summary",
    "exposure", "balances", "history", "calc",
}  # fmt: skip


def _readme_book_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Using riskdesk", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        words = shlex.split(line.split("  #", 1)[0].split(" # ", 1)[0])
        if words[:1] == ["riskdesk"] and words[1] in BOOK_COMMANDS:
            commands.append(words[1:])
    return commands


def test_the_readme_lists_the_book_commands() -> None:
    names = {c[0] for c in _readme_book_commands()}
    assert names == BOOK_COMMANDS


def test_every_readme_book_command_works_on_a_fresh_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # examples/fills.csv is relative to the repository
    db = str(tmp_path / "readme.db")
    for words in _readme_book_commands():
        args = [*words] if words[0] == "calc" else [*words, "--db", db]
        code, out, err = run(*args)
        assert code == 0, (words, out, err)
        assert "error" not in err.lower(), (words, err)
