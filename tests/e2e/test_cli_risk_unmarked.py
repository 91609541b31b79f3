"""``prices set`` on a manual book where another position has never had a mark: the unmarked
position raises a stale-data alert and its entries are denied, but trading is not halted."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A cross account with 100,000 USDT, long 1 BTC and 10 ETH, no mark recorded yet."""
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    path = str(tmp_path / "desk.db")
    ok("init", "--db", path)
    ok("accounts", "add", "usdm", "--venue", "binance", "--leverage", "10", "--db", path)
    for symbol, tick, lot in ((BTC, "0.1", "0.001"), (ETH, "0.01", "0.01")):
        ok("instruments", "add", symbol, "--venue", "binance", "--tick-size", tick,
           "--lot-size", lot, "--db", path)  # fmt: skip
    ok("cash", "move", "usdm", "100000", "USDT", "--reference", "dep1", "--db", path)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fills = tmp_path / "fills.csv"
    fills.write_text(
        "timestamp,symbol,side,qty,price,fill_id,venue\n"
        f"{now},{BTC},buy,1,50000,f1,binance\n{now},{ETH},buy,10,3000,f2,binance\n"
    )
    ok("fills", "import", str(fills), "-a", "usdm", "--db", path)
    return path


def test_pricing_one_symbol_does_not_halt_for_another_never_marked(db: str) -> None:
    out = ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    assert "alert critical: ETH/USDT:USDT (usdm, long) has no mark" in out
    assert "kill switch" not in out
    state = json.loads(ok("risk", "state", "--db", db, "--json"))
    assert state["real"]["state"] == "active" and state["real"]["history"] == []
    result = runner.invoke(
        app,
        ["risk", "check", ETH, "--venue", "binance", "-a", "usdm", "--side", "buy", "--qty",
         "1", "--db", db],
    )  # fmt: skip
    assert result.exit_code == 1 and "DENIED [no_mark]" in result.stdout
    # Once ETH is marked too, nothing is left to alert about it being unmarked.
    out = ok("prices", "set", f"binance:{ETH}", "3000", "--db", db)
    assert "kill switch" not in out
