"""The README walkthrough's rough edges, as a user meets them: an import that fails after
booking changes nothing; one unpriced currency never breaks a read command; cash references,
currencies, price keys and re-added instruments or accounts are checked; a re-imported fill is
compared after its defaults."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.application.risk_service import RiskService
from riskdesk.domain.errors import InvalidValue
from tests.e2e.book_cli_kit import fingerprint, ok, run, write

DERIBIT_FILL = """venue,fill_id,account_id,symbol,side,qty,price,ts
deribit,d1,deribit-btc,BTC-PERPETUAL,sell,100,65000,2025-06-01T11:00:00Z
"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "book.db")
    ok("init", "--db", path)
    return path


def _deribit(db: str) -> None:
    ok("accounts", "add", "deribit-btc", "--venue", "deribit", "--db", db)
    ok("instruments", "add", "BTC-PERPETUAL", "--venue", "deribit", "--db", db)
    ok("cash", "move", "deribit-btc", "1", "BTC", "--reference", "dep-1", "--db", db)


# ------------------------------------------------------------------------- atomic import


def test_an_error_after_booking_leaves_every_table_unchanged(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deribit(db)
    before = fingerprint(db)

    def fails(self: RiskService, *args: object, **kwargs: object) -> None:
        raise InvalidValue("no price for BTC in the reporting currency", field="asset_prices")

    monkeypatch.setattr(RiskService, "revalue", fails)  # the revaluation after the booking
    code, _, err = run("fills", "import", write(tmp_path, "d.csv", DERIBIT_FILL), "--db", db)
    assert code == 2 and "asset_prices" in err
    assert fingerprint(db) == before
    monkeypatch.undo()
    out = ok("fills", "import", str(tmp_path / "d.csv"), "--db", db)
    assert "imported 1 fill(s)" in out and "skipped 0" in out


# ------------------------------------------------------------------- unpriced currencies


def test_an_unpriced_coin_never_breaks_a_read_command(db: str, tmp_path: Path) -> None:
    _deribit(db)
    ok("fills", "import", write(tmp_path, "d.csv", DERIBIT_FILL), "--db", db)
    for command in ("positions", "summary", "exposure", "balances"):
        out = ok(command, "--db", db)
        if command != "positions":
            assert "no USD price for BTC" in out and "riskdesk prices set BTC" in out, command
    assert "—" in ok("summary", "--db", db)
    positions = json.loads(ok("positions", "--db", db, "--json"))
    assert positions[0]["unpriced"] == ["BTC"] and positions[0]["unrealized_pnl"] is None
    assert Decimal(positions[0]["margin_ccy"]) > 0  # the coin figures stay
    summary = json.loads(ok("summary", "--db", db, "--json"))
    assert summary["unpriced"] == ["BTC"] and summary["total_equity"] is None
    for command in ("risk limits", "risk state", "risk monitor", "greeks"):
        code, out, err = run(*command.split(), "--db", db)
        assert code == 0, (command, out, err)


def test_a_coin_is_valued_from_the_book_marks_and_says_so(db: str, tmp_path: Path) -> None:
    _deribit(db)
    ok("fills", "import", write(tmp_path, "d.csv", DERIBIT_FILL), "--db", db)
    ok("prices", "set", "deribit:BTC-PERPETUAL", "64000", "--db", db)
    out = ok("summary", "--db", db)
    assert "BTC valued at 64,000.00 USD: mark deribit:BTC/USD:BTC" in out
    summary = json.loads(ok("summary", "--db", db, "--json"))
    assert summary["unpriced"] == []
    # 1 BTC wallet at 64000 + the short's P&L: 100 × 10 × (1/64000 − 1/65000) BTC at 64000.
    upnl = Decimal(1000) * (Decimal(1) / 64000 - Decimal(1) / 65000) * 64000
    assert abs(Decimal(summary["total_equity"]) - (64000 + upnl)) < Decimal("1e-8")
    assert summary["currency_rates"]["BTC"]["source"] == "mark"
    # A stored asset price takes precedence.
    ok("prices", "set", "BTC", "63000", "--asset", "--db", db)
    rates = json.loads(ok("summary", "--db", db, "--json"))["currency_rates"]
    assert rates["BTC"]["price"] == "63000" and rates["BTC"]["source"] == "asset_price"


# ------------------------------------------------------------------------------- cash


def test_withdrawals_take_a_negative_amount(db: str) -> None:
    _deribit(db)
    out = ok("cash", "move", "deribit-btc", "-0.25", "BTC", "--reference", "w1", "--db", db)
    assert "withdrawal of 0.25 BTC" in out
    balances = json.loads(ok("balances", "--db", db, "--json"))
    assert balances["balances"][0]["amount"] == "0.75"


def test_a_reused_reference_with_another_amount_is_a_conflict(db: str) -> None:
    _deribit(db)
    before = fingerprint(db)
    assert "nothing changed" in ok(
        "cash", "move", "deribit-btc", "1", "BTC", "--reference", "dep-1", "--db", db
    )
    code, _, err = run(
        "cash", "move", "deribit-btc", "2", "BTC", "--reference", "dep-1", "--db", db
    )
    assert code == 2 and "conflict" in err and "amount 1 -> 2" in err
    assert fingerprint(db) == before


def test_an_unknown_currency_needs_new_asset(db: str) -> None:
    _deribit(db)
    before = fingerprint(db)
    code, _, err = run("cash", "move", "deribit-btc", "5", "XYZ", "--reference", "x", "--db", db)
    assert code == 2 and "currency:" in err and "--new-asset" in err
    assert fingerprint(db) == before
    ok("cash", "move", "deribit-btc", "5", "XYZ", "--reference", "x", "--new-asset", "--db", db)


# ----------------------------------------------------------------------------- prices


def test_prices_set_refuses_keys_outside_the_catalog(db: str) -> None:
    _deribit(db)
    before = fingerprint(db)
    code, _, err = run("prices", "set", "binance:ETH/USDT:USDT", "3000", "--db", db)
    assert code == 2 and "no instrument binance:ETH/USDT:USDT" in err
    assert "deribit:BTC/USD:BTC" in err
    code, _, err = run("prices", "set", "B-TC", "1", "--asset", "--db", db)
    assert code == 2 and "asset:" in err
    code, _, err = run("prices", "set", "USD", "1", "--asset", "--db", db)
    assert code == 2 and "reporting currency" in err
    assert fingerprint(db) == before
    # Any symbol form of a catalog instrument is accepted and stored under its catalog key.
    assert "deribit:BTC/USD:BTC = 64000" in ok(
        "prices", "set", "deribit:BTC-PERPETUAL", "64000", "--db", db
    )


# ------------------------------------------------------------------------------ add


def test_re_adding_an_instrument_or_account_never_rewrites_it(db: str, tmp_path: Path) -> None:
    _deribit(db)
    ok("fills", "import", write(tmp_path, "d.csv", DERIBIT_FILL), "--db", db)
    assert "nothing changed" in ok(
        "instruments", "add", "BTC-PERPETUAL", "--venue", "deribit", "--db", db
    )
    before = fingerprint(db)
    code, _, err = run(
        "instruments", "add", "BTC-PERPETUAL", "--venue", "deribit", "--contract-size", "1", "--db", db
    )  # fmt: skip
    assert code == 2 and "contract_size 10 -> 1" in err and "--update" in err
    code, _, err = run(
        "instruments", "add", "BTC-PERPETUAL", "--venue", "deribit", "--contract-size", "1",
        "--update", "--db", db,
    )  # fmt: skip
    assert code == 2 and "while 1 position(s) are open" in err
    code, _, err = run("accounts", "add", "deribit-btc", "--venue", "bybit", "--db", db)
    assert code == 2 and "venue deribit -> bybit" in err
    code, _, err = run("accounts", "add", "deribit-btc", "--venue", "bybit", "--update", "--db", db)
    assert code == 2 and "cannot change venue" in err
    assert fingerprint(db) == before
    # A harmless change with --update keeps every other setting.
    out = ok("instruments", "add", "BTC-PERPETUAL", "--venue", "deribit", "--tick-size", "1",
             "--update", "--db", db)  # fmt: skip
    assert "tick_size 0.5 -> 1" in out and "contract size 10" in out
    out = ok("accounts", "add", "deribit-btc", "--leverage", "5", "--update", "--db", db)
    assert "default_leverage 1 -> 5" in out and "on deribit" in out


# ------------------------------------------------------------------------------ fills


def test_a_re_imported_fill_without_its_fee_currency_is_the_same_fill(
    db: str, tmp_path: Path
) -> None:
    ok("accounts", "add", "acct", "--venue", "binance", "--db", db)
    ok("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--db", db)
    ok("cash", "move", "acct", "10000", "USDT", "--reference", "d", "--db", db)
    head = "venue,fill_id,symbol,side,qty,price,ts,fee"
    row = "binance,b1,BTC/USDT:USDT,buy,0.5,64000,2025-06-01T10:00:00Z,12.8"
    ok("fills", "import", write(tmp_path, "a.csv", f"{head},fee_currency\n{row},USDT\n"), "-a", "acct", "--db", db)  # fmt: skip
    out = ok("fills", "import", write(tmp_path, "b.csv", f"{head}\n{row}\n"), "-a", "acct", "--db", db)  # fmt: skip
    assert "skipped 1 already imported" in out
    code, _, err = run(
        "fills", "import", write(tmp_path, "c.csv", f"{head},fee_currency\n{row},BNB\n"),
        "-a", "acct", "--db", db,
    )  # fmt: skip
    assert code == 2 and "fee_currency USDT -> BNB" in err


def test_a_fee_in_btc_then_prices_set_on_the_perpetual(db: str, tmp_path: Path) -> None:
    ok("accounts", "add", "binance-usdm", "--venue", "binance", "--leverage", "10", "--db", db)
    ok("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--db", db)
    ok("cash", "move", "binance-usdm", "10000", "USDT", "--reference", "d", "--db", db)
    fills = "venue,fill_id,symbol,side,qty,price,ts,fee,fee_currency\n" + (
        "binance,b1,BTC/USDT:USDT,buy,0.5,64000,2025-06-01T10:00:00Z,0.0002,BTC\n"
    )
    ok("fills", "import", write(tmp_path, "f.csv", fills), "-a", "binance-usdm", "--db", db)
    assert "no USD price for BTC" in ok("summary", "--db", db)
    out = ok("prices", "set", "binance:BTC/USDT:USDT", "64250.5", "--db", db)
    assert "binance:BTC/USDT:USDT = 64250.5" in out
    summary = json.loads(ok("summary", "--db", db, "--json"))
    assert summary["unpriced"] == []
    # 10000 USDT − 0.0002 BTC at the perpetual's mark + 0.5 × 250.5 uPnL.
    expected = Decimal(10000) - Decimal("0.0002") * Decimal("64250.5") + Decimal("125.25")
    assert Decimal(summary["total_equity"]) == expected
