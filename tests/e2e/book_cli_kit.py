"""Helpers for the book CLI tests: run a command, set a book up, and fingerprint a SQLite
database (every table's rows) to prove that a refused command changed nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from riskdesk.interfaces.main import app

runner = CliRunner()

HEADER = "venue,fill_id,symbol,side,qty,price,ts,fee,fee_currency"
GOOD = f"""{HEADER}
binance,1,BTC/USDT:USDT,buy,0.5,5000,2025-01-01T00:00:00Z,1,USDT
binance,2,BTC/USDT:USDT,buy,0.3,6000,2025-01-01T01:00:00Z,0.72,USDT
binance,3,BTC/USDT,buy,1,40000,2025-01-01T02:00:00Z,0,USDT
"""


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process: ``(exit code, stdout, stderr)``."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    """Run a command that must succeed; its stdout."""
    code, out, err = run(*args)
    assert code == 0, f"{args}: {out}{err}"
    return out


def init_book(db: str) -> None:
    """``init`` plus an account, two instruments (perpetual and spot) and a deposit."""
    ok("init", "--db", db)
    ok("accounts", "add", "acct", "--venue", "binance", "--db", db)
    ok("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--db", db)
    ok("instruments", "add", "BTC/USDT", "--venue", "binance", "--db", db)
    ok(
        "cash", "move", "acct", "100000", "USDT", "--reference", "dep-1", "--at",
        "2024-12-31T00:00:00Z", "--db", db,
    )  # fmt: skip


def fingerprint(db: str) -> tuple[dict[str, int], str]:
    """Row count per table and one hash over every table's rows (sorted), so any write shows."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for table in tables:
            rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))  # noqa: S608 - names from sqlite_master
            counts[table] = len(rows)
            digest.update(table.encode())
            for row in rows:
                digest.update(row.encode())
    return counts, digest.hexdigest()


def write(tmp: Path, name: str, text: str) -> str:
    """Write a file and return its path."""
    path = tmp / name
    path.write_text(text)
    return str(path)
