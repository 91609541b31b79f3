"""The JSON rule of the book commands: money and quantities are decimal strings; ledger facts
exact, computed view figures rounded to 8 decimals (no 1e-28 residues); quantities in tables at
the instrument's lot precision; fills list and balances."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.book_cli_kit import GOOD, init_book, ok, write


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "book.db")
    init_book(path)
    ok("fills", "import", write(tmp_path, "f.csv", GOOD), "-a", "acct", "--db", path)
    # A mark with a long decimal expansion: views divide, the ledger does not.
    ok("prices", "set", "binance:BTC/USDT:USDT", "5500.3", "--db", path)
    ok("prices", "set", "binance:BTC/USDT", "41000.7", "--db", path)
    return path


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_views_round_computed_figures_and_keep_ledger_facts_exact(db: str) -> None:
    positions = {p["symbol"]: p for p in json.loads(ok("positions", "--db", db, "--json"))}
    perp = positions["BTC/USDT:USDT"]
    assert perp["qty"] == "0.8" and Decimal(perp["entry_price"]) == Decimal("5375")
    assert perp["mark_price"] == "5500.3"
    for name in ("unrealized_pnl", "exposure", "notional", "margin_ccy", "pnl_ratio"):
        assert isinstance(perp[name], str) and _decimals(perp[name]) == 8, name
    assert Decimal(perp["unrealized_pnl_ccy"]) == (Decimal("5500.3") - 5375) * Decimal("0.8")
    summary = json.loads(ok("summary", "--db", db, "--json"))
    for name in ("total_equity", "unrealized_pnl", "effective_leverage", "margin_usage"):
        assert _decimals(summary[name]) == 8, name
    assert summary["unpriced"] == [] and summary["currency_rates"]["USDT"]["source"] == "fixed_rate"
    exposure = json.loads(ok("exposure", "--db", db, "--json"))
    row = exposure["by_asset"][0]
    assert Decimal(row["gross"]) == Decimal(row["long"]) + Decimal(row["short"])


def test_fills_list_and_quantities_at_lot_precision(db: str) -> None:
    fills = json.loads(ok("fills", "list", "--db", db, "--json"))
    assert [f["fill_id"] for f in fills] == ["1", "2", "3"]
    assert fills[1]["qty"] == "0.3" and fills[1]["fee"] == "0.72"  # exactly as booked
    table = ok("fills", "list", "--db", db, "--since", "2025-01-01T01:00:00Z")
    assert "0.300" in table and "1.00000" in table  # 0.001 and 0.00001 lots
    assert "0.800" in ok("positions", "--db", db)  # the perpetual's 0.001 lot


def test_balances_value_every_currency_with_its_rate(db: str) -> None:
    data = json.loads(ok("balances", "--db", db, "--json"))
    (usdt,) = data["balances"]
    assert usdt["currency"] == "USDT" and usdt["rate_source"] == "fixed_rate"
    # 100000 deposited, 40000 paid for the spot BTC, 1.72 of fees.
    assert usdt["amount"] == "59998.28" and data["total"] == "59998.28000000"
    assert "Balances" in ok("balances", "--db", db)
