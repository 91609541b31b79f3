"""The README's order-management examples on a fresh database, in order, with real accounts
(imported fills on Binance and Deribit) next to the paper ones — what a user's walkthrough
found: paper orders never protect real positions, a re-entry is protected at once, a stop set
by hand through the mark is refused, the paper venue lists the twins of a real venue's
instruments, and the replay keeps to its own database."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()
SYMBOL = "BTC/USDT:USDT"
PAPER = ("--venue", "paper", "-a", "paper-usdm")
WINDOW = {
    "RISKDESK_OMS__REPLAY__START": "2019-10-07T00:00:00Z",
    "RISKDESK_OMS__REPLAY__END": "2019-10-07T12:00:00Z",
}
FILLS = """venue,fill_id,account_id,symbol,side,qty,price,ts,fee
binance,b1,binance-usdm,BTC/USDT:USDT,buy,0.01,64000,2025-06-01T10:00:00Z,0.1
deribit,d1,deribit-btc,BTC-PERPETUAL,sell,10,65000,2025-06-01T11:00:00Z,0.0000001
"""


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, out + err
    return out


def ok_json(*args: str) -> object:
    return json.loads(ok(*args, "--json"))


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh default database (``<data_dir>/riskdesk.db``) set up like the README: a real
    Binance account with a position, a Deribit position, marks."""
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    ok("init")
    ok("accounts", "add", "binance-usdm", "--venue", "binance", "--margin-mode", "isolated")
    ok("accounts", "add", "deribit-btc", "--venue", "deribit", "--margin-mode", "cross")
    ok(
        "instruments",
        "add",
        SYMBOL,
        "--venue",
        "binance",
        "--tick-size",
        "0.1",
        "--lot-size",
        "0.001",
        "--tiers",
        "binance-usdm",
    )
    ok("instruments", "add", "BTC-PERPETUAL", "--venue", "deribit")
    ok("cash", "move", "binance-usdm", "25000", "USDT", "--reference", "deposit-1")
    ok("cash", "move", "deribit-btc", "1.5", "BTC", "--reference", "deposit-2")
    fills = tmp_path / "fills.csv"
    fills.write_text(FILLS, encoding="utf-8")
    ok("prices", "set", "BTC", "64250", "--asset")
    ok("prices", "set", "binance:BTC/USDT:USDT", "64250.5")
    ok("prices", "set", "deribit:BTC/USD:BTC", "64200")
    ok("fills", "import", str(fills))
    ok("prices", "set", "deribit:BTC/USD:BTC", "64200")
    assert "ACTIVE" in ok("risk", "state")
    return tmp_path


def _orders() -> list[dict[str, object]]:
    found = ok_json("orders", "list", "--all")
    assert isinstance(found, list)
    return found


def _stops() -> dict[str, object]:
    found = ok_json("orders", "stops")
    assert isinstance(found, dict)
    return found


def test_the_readme_examples_in_order(desk: Path) -> None:
    code, _, err = run("paper", "quote", SYMBOL, "--bid", "7999", "--ask", "8000")
    assert code == 2 and "--like binance" in err  # not listed on the paper venue yet
    out = ok("paper", "open", "paper-usdm", "--deposit", "10000", "--like", "binance")
    assert "paper:BTC/USDT:USDT" in out
    ok("paper", "quote", SYMBOL, "--bid", "7999", "--ask", "8000")
    out = ok("orders", "submit", SYMBOL, *PAPER, "--side", "buy", "--qty", "0.1", "--stop", "7800")
    assert "FILLED" in out and "protective stop 7800.0 for 0.1" in out
    stops = _stops()
    assert list(stops["covered"]) == ["paper-usdm|paper:BTC/USDT:USDT|net"]  # type: ignore[arg-type]
    assert all(stops["covered"].values())  # type: ignore[union-attr]
    ok(
        "orders",
        "submit",
        SYMBOL,
        *PAPER,
        "--side",
        "buy",
        "--qty",
        "0.01",
        "--type",
        "limit",
        "--price",
        "7000",
        "--intent-id",
        "l1",
    )
    out = ok("orders", "amend", "l1", "--price", "7100")
    assert "price 7000 → 7100" in out
    assert "price 7000 -> 7100" in ok("orders", "show", "l1")
    assert "CANCELED" in ok("orders", "cancel", "l1")
    ok("orders", "cancel-all")
    assert "stop 7850 for 0.1" in ok("orders", "move-stops", "7850")
    common = (SYMBOL, *PAPER)
    code, _, err = run(
        "conditional", "add", *common, "--side", "buy", "--qty", "0.01", "--kind", "price_above"
    )
    assert code == 2 and "level" in err  # a price condition needs its level: nothing armed
    assert ok_json("conditional", "list") == []
    ok(
        "conditional",
        "oco",
        *common,
        "--side",
        "sell",
        "--qty",
        "0.1",
        "--stop",
        "7500",
        "--take-profit",
        "9000",
    )
    ok(
        "conditional",
        "add",
        *common,
        "--side",
        "buy",
        "--qty",
        "0.01",
        "--kind",
        "price_above",
        "--level",
        "8500",
    )
    ok(
        "conditional",
        "bracket",
        *common,
        "--side",
        "buy",
        "--qty",
        "0.01",
        "--stop",
        "7400",
        "--take-profit",
        "9100",
    )
    ok(
        "conditional",
        "oto",
        *common,
        "--side",
        "buy",
        "--qty",
        "0.01",
        "--then",
        "take_profit",
        "--level",
        "9500",
    )
    report = ok_json("reconcile")
    assert isinstance(report, dict) and report["clean"] is True
    ok("orders", "close-all")
    ok("orders", "protect")
    assert _stops() == {"protections": [], "covered": {}, "closed": []}
    # Every order went to the paper venue; the real positions were never touched.
    assert {o["intent"]["venue"] for o in _orders()} == {"paper"}  # type: ignore[index]
    positions = ok_json("positions")
    assert isinstance(positions, list)
    assert sorted((p["account_id"], p["qty"]) for p in positions) == [
        ("binance-usdm", "0.01"),
        ("deribit-btc", "-10"),
    ]
    # SPOT -> FUT transfers need the spot wallet the setting names.
    code, _, err = run("transfer", "check")
    assert code == 2 and "oms.transfers.spot_account" in err and "paper-spot" in err
    ok("paper", "open", "paper-spot", "--deposit", "5000", "--margin-mode", "cross")
    decision = ok_json("transfer", "check")
    assert isinstance(decision, dict) and "reason" in decision
    # The replay keeps to its own database.
    for key, value in WINDOW.items():
        os.environ[key] = value
    try:
        summary = ok_json("run", "--replay", "--until", "2019-10-07T09:00:00Z")
    finally:
        for key in WINDOW:
            del os.environ[key]
    assert isinstance(summary, dict)
    assert summary["database"].endswith("replay.db") and summary["ledger_equals_venue"]  # type: ignore[union-attr]


def test_a_re_entry_after_the_stop_filled_is_protected_at_once(desk: Path) -> None:
    ok("paper", "open", "paper-usdm", "--deposit", "10000", "--like", "binance")
    ok("paper", "quote", SYMBOL, "--bid", "7999", "--ask", "8000")
    ok("orders", "submit", SYMBOL, *PAPER, "--side", "buy", "--qty", "0.1", "--stop", "7800")
    ok("paper", "quote", SYMBOL, "--bid", "7700", "--ask", "7701")  # the stop fills
    assert _stops()["protections"] == []
    ok("orders", "submit", SYMBOL, *PAPER, "--side", "buy", "--qty", "0.05", "--stop", "7600")
    [p] = _stops()["protections"]  # type: ignore[misc]
    assert (p["level"], p["qty"]) == ("7600.0", "0.05")
    working = ok_json("orders", "list")
    assert isinstance(working, list)
    [stop] = [o for o in working if o["role"] == "protective_stop"]
    assert stop["client_order_id"] == p["order_id"] and stop["status"] == "open"
    assert all(_stops()["covered"].values())  # type: ignore[union-attr]
    # A bracket re-entry after the next stop fills: protected at once too.
    ok("paper", "quote", SYMBOL, "--bid", "7590", "--ask", "7591")
    assert _stops()["protections"] == []
    ok(
        "conditional",
        "bracket",
        SYMBOL,
        *PAPER,
        "--side",
        "buy",
        "--qty",
        "0.02",
        "--stop",
        "7400",
        "--take-profit",
        "8000",
    )
    [p] = _stops()["protections"]  # type: ignore[misc]
    assert (p["level"], p["qty"], p["mode"]) == ("7400.0", "0.02", "native")
    assert all(_stops()["covered"].values())  # type: ignore[union-attr]


def test_a_stop_set_by_hand_through_the_mark_is_refused(desk: Path) -> None:
    ok("paper", "open", "paper-usdm", "--deposit", "10000", "--like", "binance")
    ok("paper", "quote", SYMBOL, "--bid", "8100", "--ask", "8101")  # mark 8100.5
    code, _, err = run(
        "orders", "submit", SYMBOL, *PAPER, "--side", "buy", "--qty", "0.1", "--stop", "8200"
    )
    assert code == 2 and all(part in err for part in ("8200", "8100.5", "long", "stop"))
    assert _orders() == []  # nothing journaled, nothing sent
    ok("orders", "submit", SYMBOL, *PAPER, "--side", "buy", "--qty", "0.1", "--stop", "7800")
    code, _, err = run("orders", "move-stops", "8200")
    assert code == 2 and all(
        part in err for part in ("8200", "8100.5", "long", "--close-if-through")
    )
    [p] = _stops()["protections"]  # type: ignore[misc]
    assert p["level"] == "7800.0"
    code, _, err = run("orders", "amend", str(p["order_id"]), "--stop-price", "8150")
    assert code == 2 and "8150" in err and "8100.5" in err
    assert ok_json("positions", "--account", "paper-usdm")[0]["qty"] == "0.1"  # type: ignore[index]
    out = ok("orders", "move-stops", "8200", "--close-if-through")
    assert "closed at market" in out
    assert ok_json("positions", "--account", "paper-usdm") == []
    assert _stops() == {"protections": [], "covered": {}, "closed": []}


def test_paper_quotes_never_protect_real_positions(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("paper", "open", "paper-usdm", "--deposit", "10000", "--like", "binance")
    ok("paper", "quote", SYMBOL, "--bid", "7999", "--ask", "8000")
    ok("prices", "set", "binance:BTC/USDT:USDT", "62000")
    assert _orders() == [] and _stops()["protections"] == []
    alerts = ok_json("risk", "alerts")
    assert isinstance(alerts, list)
    assert not [a for a in alerts if a["key"].startswith("protection:")]  # type: ignore[union-attr]
    code, _, err = run(
        "orders",
        "submit",
        SYMBOL,
        "--venue",
        "binance",
        "-a",
        "binance-usdm",
        "--side",
        "sell",
        "--qty",
        "0.01",
    )
    assert code == 2 and "venue" in err and "paper" in err
    # A paper guard stop (a venue without stop orders) fires when a mark set by hand crosses it.
    monkeypatch.setenv("RISKDESK_OMS__PAPER__NATIVE_STOP", "false")
    ok("orders", "submit", SYMBOL, *PAPER, "--side", "buy", "--qty", "0.1", "--stop", "7900")
    [p] = _stops()["protections"]  # type: ignore[misc]
    assert p["mode"] == "guard"
    out = ok("prices", "set", "paper:BTC/USDT:USDT", "7850")
    assert "paper venue: 1 execution(s) or trigger(s)" in out
    assert ok_json("positions", "--account", "paper-usdm") == []
    ok("orders", "protect")
    assert _stops()["protections"] == []


def test_the_replay_never_uses_the_default_book(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in WINDOW.items():
        monkeypatch.setenv(key, value)
    ok("paper", "open", "paper-usdm", "--deposit", "10000", "--like", "binance")
    before = ok_json("summary")
    default = desk / "riskdesk.db"
    with sqlite3.connect(default) as con:
        accounts = con.execute("select account_id from accounts order by 1").fetchall()
    first = ok_json("run", "--replay", "--until", "2019-10-07T06:00:00Z")
    assert isinstance(first, dict) and first["database"] == f"sqlite:///{desk / 'replay.db'}"
    assert first["ledger_equals_venue"] is True
    assert ok_json("summary") == before
    with sqlite3.connect(default) as con:
        assert con.execute("select account_id from accounts order by 1").fetchall() == accounts
    # Run again: resumed after the last bar; to its end, then nothing left; --fresh starts over.
    rest = ok_json("run", "--replay")
    assert isinstance(rest, dict) and rest["steps"] == 6 and rest["complete"] is True
    assert "already run to its end" in ok("run", "--replay")
    again = ok_json("run", "--replay", "--fresh", "--until", "2019-10-07T06:00:00Z")
    assert isinstance(again, dict) and again["steps"] == first["steps"]
    code, _, err = run("run", "--replay", "--fresh", "--db", str(default))
    assert code == 2 and "fresh" in err
    # On a database shared with real accounts the ledger still equals the venue.
    shared = ok_json("run", "--replay", "--db", str(default), "--until", "2019-10-07T03:00:00Z")
    assert isinstance(shared, dict) and shared["ledger_equals_venue"] is True
