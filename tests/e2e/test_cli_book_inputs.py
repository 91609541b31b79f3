"""Bad input through the CLI changes nothing — every table of the database is byte-for-byte the
same (row counts and a hash of every row) — and says which line, field and why; JSON output is
plain decimals; hedge-mode cross liquidation, tier tables and inverse sizes end to end."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.book_cli_kit import GOOD, HEADER, fingerprint, init_book, ok, run, write

TS = "2025-01-02T00:00:00Z"


@pytest.fixture
def book(tmp_path: Path) -> str:
    """A book with state in every book table: an account, instruments, a deposit, fills, a mark."""
    db = str(tmp_path / "book.db")
    init_book(db)
    ok("fills", "import", write(tmp_path, "good.csv", GOOD), "-a", "acct", "--db", db)
    ok("prices", "set", "binance:BTC/USDT:USDT", "5500", "--db", db)
    return db


def _row(fill_id: str, qty: str = "0.1", price: str = "6000", symbol: str = "BTC/USDT:USDT") -> str:
    return f"binance,{fill_id},{symbol},buy,{qty},{price},{TS},0,USDT"


BAD_IMPORTS = {
    "malformed symbol": ([_row("9", symbol="BTCUSDT-XYZ-1-Q")], "expiry", "expiry"),
    "negative price": ([_row("9", price="-5")], "price", "greater than 0"),
    "NaN quantity": ([_row("9", qty="nan")], "qty", "finite"),
    "unknown instrument": ([_row("9", symbol="ETH/USDT:USDT")], "symbol", "no instrument"),
    "one bad row among good ones": (
        [_row("9"), _row("10", qty="abc"), _row("11")],
        "qty",
        "not a number",
    ),
    "quantity 1e30": ([_row("9", qty="1e30")], "qty", "largest accepted quantity"),
    "price 1e50": ([_row("9", price="1e50")], "price", "largest accepted price"),
    "price 1e999999": ([_row("9", price="1e999999")], "price", "largest accepted price"),
    "price below the smallest": ([_row("9", price="0.0000000000001")], "price", "smallest"),
    "quantity off the lot": ([_row("9", qty="0.0001")], "qty", "not a multiple of the lot size"),
    "underscore in a number": ([_row("9", qty="1_000")], "qty", "'_'"),
    "notional beyond the ledger": ([_row("9", qty="1000000000000", price="10000000")], "qty", "notional"),
    "conflicting re-import": ([_row("1", qty="0.6", price="5000")], "fill_id", "different content"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_IMPORTS), ids=list(BAD_IMPORTS))
def test_bad_import_changes_no_table(book: str, tmp_path: Path, case: str) -> None:
    rows, field, reason = BAD_IMPORTS[case]
    before = fingerprint(book)
    path = write(tmp_path, "bad.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    code, _, err = run("fills", "import", path, "-a", "acct", "--db", book)
    assert code == 2
    assert f"{field}:" in err and reason in err, err
    assert fingerprint(book) == before


@pytest.mark.parametrize(
    "command",
    [
        ["cash", "move", "acct", "1e16", "USDT", "--reference", "big", "--db", "DB"],
        ["cash", "move", "acct", "1_000", "USDT", "--reference", "underscore", "--db", "DB"],
        ["cash", "move", "--reference", "overdraw", "--db", "DB", "--", "acct", "-200000", "USDT"],
        ["prices", "set", "binance:BTC/USDT:USDT", "1e50", "--db", "DB"],
        ["prices", "set", "--db", "DB", "--", "binance:BTC/USDT:USDT", "-1"],
        ["accounts", "add", "x", "--venue", "binance", "--leverage", "5000", "--db", "DB"],
        ["instruments", "add", "ETH/USDT:USDT", "--venue", "binance", "--tiers", "nope", "--db", "DB"],
        ["instruments", "add", "BTC/USDT", "--venue", "binance", "--tiers", "binance-usdm", "--db", "DB"],
    ],
)  # fmt: skip
def test_other_bad_writes_change_no_table(book: str, command: list[str]) -> None:
    before = fingerprint(book)
    code, _, err = run(*(book if part == "DB" else part for part in command))
    assert code == 2 and "error [" in err, err
    assert fingerprint(book) == before


def test_identical_re_import_is_a_no_op(book: str, tmp_path: Path) -> None:
    before = fingerprint(book)
    out = ok("fills", "import", write(tmp_path, "again.csv", GOOD), "-a", "acct", "--db", book)
    assert "imported 0 fill(s)" in out and "skipped 3 already imported" in out
    assert fingerprint(book) == before


def test_conflict_names_every_differing_field(book: str, tmp_path: Path) -> None:
    changed = GOOD.replace(
        "binance,2,BTC/USDT:USDT,buy,0.3,6000,2025-01-01T01:00:00Z,0.72,USDT",
        "binance,2,BTC/USDT:USDT,sell,0.3,6001,2025-01-01T01:00:00Z,0.7,USDT",
    )
    code, _, err = run("fills", "import", write(tmp_path, "c.csv", changed), "-a", "acct",
                       "--db", book, "--json")  # fmt: skip
    assert code == 2
    error = json.loads(err)["error"]
    (row,) = error["errors"]
    assert row["line"] == 3 and row["field"] == "fill_id"
    assert "side buy -> sell" in row["reason"] and "price 6000 -> 6001" in row["reason"]
    assert "fee 0.72 -> 0.7" in row["reason"] and "qty" not in row["reason"]


def test_json_errors_are_structured_and_list_every_bad_line(book: str, tmp_path: Path) -> None:
    # Found while parsing: lines 2 and 4.
    text = HEADER + "\n" + "\n".join([_row("20", qty="x"), _row("21"), _row("22", price="-1")])
    code, _, err = run("fills", "import", write(tmp_path, "p.csv", text + "\n"), "-a", "acct",
                       "--db", book, "--json")  # fmt: skip
    assert code == 2
    error: dict[str, Any] = json.loads(err)["error"]
    assert error["code"] == "import_rejected"
    assert [(e["line"], e["field"]) for e in error["errors"]] == [(2, "qty"), (4, "price")]
    # Found while booking (instrument, lot grid, spot oversell): every one is listed.
    text = (
        HEADER
        + "\n"
        + "\n".join(
            [
                _row("30", symbol="ETH/USDT:USDT"),
                _row("31", qty="0.0005"),
                _row("32"),
                "binance,33,BTC/USDT,sell,5,40000," + TS + ",0,USDT",
            ]
        )
    )
    code, _, err = run("fills", "import", write(tmp_path, "b.csv", text + "\n"), "-a", "acct",
                       "--db", book, "--json")  # fmt: skip
    assert code == 2
    error = json.loads(err)["error"]
    assert [(e["line"], e["field"]) for e in error["errors"]] == [
        (2, "symbol"),
        (3, "qty"),
        (5, "qty"),
    ]
    # One bad row: the top-level field is that row's.
    code, _, err = run("fills", "import", write(tmp_path, "o.csv", HEADER + "\n" + _row("40", qty="nan") + "\n"),
                       "-a", "acct", "--db", book, "--json")  # fmt: skip
    error = json.loads(err)["error"]
    assert error["field"] == "qty" and error["errors"] == [
        {"line": 2, "field": "qty", "reason": "must be finite, got NaN"}
    ]


def _no_exponent(value: object) -> None:
    if isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError:
            return
        assert "E" not in value.upper(), value
    elif isinstance(value, dict):
        for v in value.values():
            _no_exponent(v)
    elif isinstance(value, list):
        for v in value:
            _no_exponent(v)


def test_hedge_mode_cross_liquidation_end_to_end(tmp_path: Path) -> None:
    """The audit's repro: 1000 USDT, long 1 and short 1 BTC/USDT:USDT at 20000 on a 20x cross
    hedge-mode Binance account. The legs' P&L cancels: only the maintenance, 0.5 % of both
    notionals, can use the 1000 up — at 100,000, not 4 % away."""
    db = str(tmp_path / "h.db")
    ok("init", "--db", db)
    ok("accounts", "add", "h", "--venue", "binance", "--mode", "hedge", "--margin-mode", "cross",
       "--leverage", "20", "--db", db)  # fmt: skip
    ok("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--db", db)
    ok("cash", "move", "h", "1000", "USDT", "--reference", "d1", "--db", db)
    fills = (
        "venue,fill_id,symbol,side,qty,price,ts,position_side\n"
        f"binance,1,BTC/USDT:USDT,buy,1,20000,{TS},long\n"
        f"binance,2,BTC/USDT:USDT,sell,1,20000,{TS},short\n"
    )
    ok("fills", "import", write(tmp_path, "h.csv", fills), "-a", "h", "--db", db)
    ok("prices", "set", "binance:BTC/USDT:USDT", "20000", "--db", db)
    positions = json.loads(ok("positions", "--db", db, "--json"))
    assert {p["slot"]: p["liquidation_price"] for p in positions} == {
        "long": "100000.00",
        "short": "100000.00",
    }
    assert all(p["liq_distance_ratio"] == "4.00000000" for p in positions)
    for command in ("positions", "summary", "exposure"):
        _no_exponent(json.loads(ok(command, "--db", db, "--json")))


def test_json_numbers_are_plain(book: str) -> None:
    positions = json.loads(ok("positions", "--db", book, "--json"))
    perp = next(p for p in positions if p["symbol"] == "BTC/USDT:USDT")
    assert perp["entry_price"] == "5375"  # (0.5·5000 + 0.3·6000) / 0.8, trailing zeros dropped
    assert perp["pnl_ratio"] == "0.00000000" or "." in perp["pnl_ratio"]
    for command in ("positions", "summary", "exposure", "history"):
        _no_exponent(json.loads(ok(command, "--db", book, "--json")))


def test_instruments_add_with_tiers_and_inverse_sizes(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    ok("init", "--db", db)
    out = ok("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--tiers",
             "binance-usdm", "--db", db)  # fmt: skip
    assert "12 maintenance brackets" in out
    table = write(
        tmp_path,
        "sol.csv",
        "symbol,tier,currency,min_notional,max_notional,maint_margin_rate,max_leverage,maint_amount_cum\n"
        "SOL/USDT:USDT,1,USDT,0,5000,0.01,50,0\n"
        "SOL/USDT:USDT,2,USDT,5000,50000,0.02,25,50\n",
    )
    ok("instruments", "add", "SOL/USDT:USDT", "--venue", "binance", "--tiers", table, "--db", db)
    ok("instruments", "add", "BTC/USD:BTC", "--venue", "binance", "--db", db)
    ok("instruments", "add", "BTC-PERPETUAL", "--venue", "deribit", "--db", db)
    ok("instruments", "add", "ETH-PERPETUAL", "--venue", "deribit", "--db", db)
    ok("instruments", "add", "ETH/USD:ETH", "--venue", "bybit", "--db", db)
    ok("instruments", "add", "XRP/USD:XRP", "--venue", "bybit", "--contract-size", "7", "--db", db)
    listed = {i["key"]: i for i in json.loads(ok("instruments", "list", "--db", db, "--json"))}
    assert len(listed["binance:BTC/USDT:USDT"]["margin_tiers"]) == 12
    assert [t["maint_amount"] for t in listed["binance:SOL/USDT:USDT"]["margin_tiers"]] == [
        "0",
        "50",
    ]
    sizes = {k: i["contract_size"] for k, i in listed.items() if i["inverse"]}
    assert sizes == {
        "binance:BTC/USD:BTC": "100",
        "deribit:BTC/USD:BTC": "10",
        "deribit:ETH/USD:ETH": "1",
        "bybit:ETH/USD:ETH": "1",
        "bybit:XRP/USD:XRP": "7",
    }
    code, _, err = run("instruments", "add", "BTC/USD:BTC", "--venue", "okx", "--db", db)
    assert code == 2 and "contract_size:" in err and "no default size" in err


def test_tiered_liquidation_through_the_cli(tmp_path: Path) -> None:
    """A Binance perpetual added with --tiers gets Binance's bracket (here 0.5 %, cum 50 at a
    notional of 60,000), not the flat 0.5 % without the maintenance amount."""
    db = str(tmp_path / "l.db")
    ok("init", "--db", db)
    ok("accounts", "add", "a", "--venue", "binance", "--margin-mode", "isolated", "--leverage",
       "10", "--db", db)  # fmt: skip
    ok("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--tiers", "binance-usdm",
       "--db", db)  # fmt: skip
    ok("fills", "import", write(tmp_path, "f.csv", f"{HEADER}\nbinance,1,BTC/USDT:USDT,buy,1,60000,{TS},0,USDT\n"),
       "-a", "a", "--db", db)  # fmt: skip
    ok("prices", "set", "binance:BTC/USDT:USDT", "60000", "--db", db)
    (position,) = json.loads(ok("positions", "--db", db, "--json"))
    # Isolated 6000 margin: 6000 + (P − 60000) = 0.005·P − 50  →  P = 53950 / 0.995.
    exact = Decimal(53950) / Decimal("0.995")
    assert Decimal(position["liquidation_price"]) - exact < Decimal("0.01")
    assert Decimal(position["liquidation_price"]) >= exact  # rounded toward the mark
    assert Decimal(position["maintenance_ccy"]) == 250  # 60000 × 0.5 % − 50
