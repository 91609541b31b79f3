"""``riskdesk summary``'s max drawdown is the one the drawdown monitor measures: a peak seen by
``prices set`` counts without any snapshot, and a withdrawal is not a drawdown."""

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


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def _max_drawdown(db: str) -> float:
    summary = json.loads(ok("summary", "--db", db, "--json"))
    return float(summary["max_drawdown"])


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A cross account with 100,000 USDT, long 1 BTC from 50,000."""
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    path = str(tmp_path / "desk.db")
    ok("init", "--db", path)
    ok("accounts", "add", "usdm", "--venue", "binance", "--leverage", "10", "--db", path)
    ok("instruments", "add", BTC, "--venue", "binance", "--tick-size", "0.1", "--lot-size",
       "0.001", "--db", path)  # fmt: skip
    ok("cash", "move", "usdm", "100000", "USDT", "--reference", "dep1", "--db", path)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fills = tmp_path / "fills.csv"
    fills.write_text(
        f"timestamp,symbol,side,qty,price,fill_id,venue\n{now},{BTC},buy,1,50000,f1,binance\n"
    )
    ok("fills", "import", str(fills), "-a", "usdm", "--db", path)
    return path


def test_summary_max_drawdown_counts_the_peak_prices_set_saw(db: str) -> None:
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    ok("prices", "set", f"binance:{BTC}", "60000", "--db", db)  # equity 110,000: the peak
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    assert _max_drawdown(db) == pytest.approx(10_000 / 110_000, abs=1e-8)  # ratios: 8 decimals
    out = ok("summary", "--db", db)
    assert "Max drawdown" in out and "9.09" in out


def test_summary_max_drawdown_ignores_a_withdrawal(db: str) -> None:
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    ok("cash", "move", "--reference", "w1", "--db", db, "--", "usdm", "-40000", "USDT")
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    assert _max_drawdown(db) == 0.0
