"""A mistyped ``--db`` never creates a database: every command except ``init`` (and the demo
and the replay, which are documented to create their own state) refuses a SQLite file that does
not exist, with a clear error telling the user to run ``riskdesk init``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from riskdesk.interfaces.main import app
from tests.e2e.book_cli_kit import ok, run

#: Commands that create their database: ``init`` itself, the demo and the replay.
CREATORS = {("init",), ("demo",), ("run",)}
#: Served over stdio: checked in a subprocess with a timeout below.
SERVERS = {("mcp",)}


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, cmd

    yield from walk(typer.main.get_command(app), ())


def _with_db() -> list[tuple[tuple[str, ...], list[str]]]:
    """Every command taking ``--db``, with placeholder values for its required parameters."""
    out = []
    for path, cmd in _commands():
        if path in CREATORS or path in SERVERS:
            continue
        if not any("--db" in getattr(p, "opts", ()) for p in cmd.params):
            continue
        args: list[str] = []
        for p in cmd.params:
            if not p.required:
                continue
            if p.param_type_name == "argument":
                args.append("1")
            else:
                args += [p.opts[0], "1"]
        out.append((path, args))
    return out


COMMANDS = _with_db()


def test_the_walk_finds_the_commands_of_every_area() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in (
        "positions",
        "summary",
        "exposure",
        "history",
        "fills import",
        "accounts list",
        "greeks",
        "governance show",
        "risk alerts",
        "orders list",
        "options book",
        "reconcile",
    ):
        assert expected in names


@pytest.mark.parametrize(("path", "args"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_no_command_creates_a_missing_database(
    tmp_path: Path, path: tuple[str, ...], args: list[str]
) -> None:
    missing = tmp_path / "typo" / "nonexist.db"
    code, out, err = run(*path, *args, "--db", str(missing))
    assert not missing.parent.exists(), "the command created the database directory"
    if code != 0:  # (a command that never opens the database, like `risk limits`, succeeds)
        assert code == 2, out + err
        assert "error [" in err, err  # a clear message (code, field, reason), no traceback


@pytest.mark.parametrize(
    "command",
    [
        ["positions"],
        ["summary"],
        ["exposure"],
        ["history"],
        ["accounts", "list"],
        ["instruments", "list"],
        ["greeks"],
        ["governance", "show"],
        ["risk", "alerts"],
        ["orders", "list"],
        ["options", "book"],
        ["prices", "set", "binance:BTC/USDT:USDT", "100"],
        ["accounts", "add", "acct", "--venue", "binance"],
    ],
)
def test_read_and_write_commands_say_to_run_init(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "x" / "nonexist" / "x.db"
    code, _, err = run(*command, "--db", str(missing))
    assert code == 2
    assert "[database_missing] db: no database at" in err and "riskdesk init --db" in err
    assert not (tmp_path / "x").exists()


def test_json_error_for_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "x.db"
    code, _, err = run("positions", "--db", str(missing), "--json")
    assert code == 2
    error = json.loads(err)["error"]
    assert error["code"] == "database_missing" and error["field"] == "db"
    assert not missing.exists()


def test_init_creates_and_then_reads_work(tmp_path: Path) -> None:
    db = tmp_path / "new" / "book.db"
    ok("init", "--db", str(db))
    assert db.exists()
    assert json.loads(ok("positions", "--db", str(db), "--json")) == []


def test_default_database_is_not_created_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RISKDESK_DATABASE_URL", raising=False)
    code, _, err = run("summary")
    assert code == 2 and "riskdesk init`" in err
    assert not (tmp_path / "data").exists()


def test_mcp_server_refuses_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "mcp.db"
    result = subprocess.run(
        [sys.executable, "-m", "riskdesk.interfaces.main", "mcp", "--db", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "database_missing" in result.stderr
    assert not missing.parent.exists()
