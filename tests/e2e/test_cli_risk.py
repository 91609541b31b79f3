"""``riskdesk risk …`` and the risk work of ``prices set`` / ``paper quote`` as a user runs
them (CliRunner, temporary SQLite): daily loss and drawdown in a fresh database, the kill
switch carried out on the paper venue (HALTED cancels entries; FLATTEN closes), ``risk check``,
``limits``, ``report``, ``monitor``, ``size`` and ``flatten``, and clear errors."""

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


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, out + err
    return out


def ok_json(*args: str) -> object:
    return json.loads(ok(*args, "--json"))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def desk(env: Path) -> str:
    """The audit's book: a cross account with 100,000 USDT and a 1 BTC long at 50,000."""
    db = str(env / "desk.db")
    ok("init", "--db", db)
    ok(
        "accounts",
        "add",
        "usdm",
        "--venue",
        "binance",
        "--margin-mode",
        "cross",
        "--leverage",
        "10",
        "--db",
        db,
    )
    for symbol, tick, lot in ((BTC, "0.1", "0.001"), (ETH, "0.01", "0.01")):
        ok(
            "instruments",
            "add",
            symbol,
            "--venue",
            "binance",
            "--tick-size",
            tick,
            "--lot-size",
            lot,
            "--db",
            db,
        )
    ok("cash", "move", "usdm", "100000", "USDT", "--reference", "dep1", "--db", db)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fills = env / "fills.csv"
    fills.write_text(
        f"timestamp,symbol,side,qty,price,fill_id,venue\n{now},{BTC},buy,1,50000,f1,binance\n"
    )
    ok("fills", "import", str(fills), "-a", "usdm", "--db", db)
    # Both marked, so no test starts with an unmarked position's alert (test_cli_risk_unmarked).
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    ok("prices", "set", f"binance:{ETH}", "3000", "--db", db)
    return db


# ----------------------------------------------------------------------------- B1: fresh database


def test_daily_loss_and_drawdown_work_in_a_fresh_database(desk: str) -> None:
    out = ok("prices", "set", f"binance:{BTC}", "50000", "--db", desk)
    assert "kill switch" not in out
    summary = ok_json("summary", "--db", desk)
    assert isinstance(summary, dict) and float(summary["daily_pnl"]) == 0.0
    out = ok("prices", "set", f"binance:{BTC}", "20000", "--db", desk)
    assert "alert critical: real book: equity is 30.00 % below its peak (alert at 15 %)" in out
    assert (
        "kill switch (real book): trading active -> halted [drawdown] drawdown 30.00 % reached"
        in out
    )
    summary = ok_json("summary", "--db", desk)
    assert isinstance(summary, dict) and float(summary["daily_pnl"]) == -30000  # 8 decimals
    state = ok_json("risk", "state", "--db", desk)
    assert isinstance(state, dict) and state["real"]["state"] == "halted"
    assert state["paper"]["state"] == "active"  # a real drawdown does not halt paper trading
    code, out, _ = run(
        "risk",
        "check",
        ETH,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--side",
        "buy",
        "--qty",
        "1",
        "--db",
        desk,
    )
    assert code == 1 and "DENIED [trading_state] trading is halted" in out
    report = ok_json("risk", "report", "--db", desk)
    assert isinstance(report, dict)
    assert (report["book"], report["pnl"], report["end_equity"]) == ("real", "-30000", "70000")
    assert (report["max_drawdown"], report["return_pct"]) == ("0.30000000", "-0.30000000")
    # The book opened today: it started the day empty, the deposit is cash flow, not P&L.
    assert (report["start_equity"], report["net_cash_flow"]) == ("0", "100000")


def test_monitor_reports_and_moves_the_kill_switch(desk: str) -> None:
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", desk)
    ok("prices", "set", f"binance:{BTC}", "46000", "--db", desk)  # −4 %: warnings only
    data = ok_json("risk", "monitor", "--db", desk)
    assert isinstance(data, dict)
    real = data["books"]["real"]
    assert real["state"] == "active" and real["changed"] is None
    kinds = {r["kind"] for r in real["readings"]}
    assert "position_loss" not in kinds  # −8 % on entry: below the 10 % warning
    out = ok("risk", "monitor", "--db", desk)
    assert "real book: trading active" in out and "paper book: trading active" in out


# ----------------------------------------------------------------------------- checks and errors


def test_check_approval_says_how_many_checks_ran(desk: str) -> None:
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", desk)
    out = ok(
        "risk",
        "check",
        ETH,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--side",
        "buy",
        "--qty",
        "1",
        "--stop",
        "2950",
        "--db",
        desk,
    )
    assert "APPROVED (19 checks ran)" in out  # the linear scenario grid too
    out = ok(
        "risk",
        "check",
        BTC,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--side",
        "sell",
        "--qty",
        "0.5",
        "--reduce-only",
        "--db",
        desk,
    )
    assert "APPROVED (6 checks ran)" in out


def test_unknown_account_is_a_clear_error(desk: str) -> None:
    code, _, err = run(
        "risk",
        "check",
        ETH,
        "--venue",
        "binance",
        "-a",
        "nosuch",
        "--side",
        "buy",
        "--qty",
        "1",
        "--db",
        desk,
    )
    assert code == 2 and "[unknown_account] account_id: no account 'nosuch' (known: usdm)" in err
    code, _, err = run(
        "risk",
        "size",
        BTC,
        "--venue",
        "binance",
        "-a",
        "nobody",
        "--entry",
        "50000",
        "--stop",
        "49000",
        "--db",
        desk,
    )
    assert code == 2 and "no account 'nobody'" in err


def test_a_bad_setting_is_refused_naming_it(desk: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKDESK_RISK__LIMITS__MAX_LEVERAGE", "-1")
    code, _, err = run("risk", "limits")
    assert code == 2
    assert "risk.limits.max_leverage: must be > 0, got -1.0" in err
    assert "RISKDESK_RISK__LIMITS__MAX_LEVERAGE" in err


def test_limits_show_the_kill_switch_policy(env: Path) -> None:
    out = ok("risk", "limits")
    assert "Kill switch (a trigger fires when its value reaches the limit)" in out
    for row in ("drawdown from peak equity", "20.00 %", "halted", "daily loss", "margin usage"):
        assert row in out
    data = ok_json("risk", "limits")
    assert isinstance(data, dict)
    assert data["kill_switch"]["on_margin_block"] == "reducing"
    assert data["limits"]["max_adjustments_per_day"] == 10


def test_report_periods_are_exclusive_and_the_day_title_is_inclusive(desk: str) -> None:
    code, _, err = run("risk", "report", "--week", "--month", "--db", desk)
    assert code == 2 and "choose one period: --week and --month were given together" in err
    out = ok("risk", "report", "--on", "2026-12-07", "--db", desk)
    assert "Risk report, real book, day 2026-12-07\n" in out or (
        "Risk report, real book, day 2026-12-07 " in out
    )
    assert "2026-12-08" not in out
    week = ok("risk", "report", "--week", "--on", "2026-12-09", "--db", desk)
    assert "week 2026-12-07 .. 2026-12-13" in week


# ----------------------------------------------------------------------------- sizing


def test_size_accounts_for_the_position_held_and_takes_confidence_and_kelly(desk: str) -> None:
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", desk)
    held = ok_json(
        "risk",
        "size",
        BTC,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--entry",
        "50000",
        "--stop",
        "49000",
        "--db",
        desk,
    )
    assert isinstance(held, dict)
    assert (held["qty"], held["capped_by"]) == ("0.000", "per-symbol limit")
    code, out, _ = run(
        "risk",
        "check",
        BTC,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--side",
        "buy",
        "--qty",
        "0.01",
        "--db",
        desk,
    )
    assert code == 1 and "symbol_exposure" in out
    eth = ok_json(
        "risk",
        "size",
        ETH,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--entry",
        "3000",
        "--stop",
        "2900",
        "--confidence",
        "0.8",
        "--db",
        desk,
    )
    assert isinstance(eth, dict) and eth["leverage"] == "12"  # tier 0.75: 10-20x, 0.8 is a fifth in
    kelly = ok_json(
        "risk",
        "size",
        ETH,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--entry",
        "3000",
        "--stop",
        "2000",
        "--win-rate",
        "0.4",
        "--payoff",
        "1.6",
        "--db",
        desk,
    )
    assert isinstance(kelly, dict) and kelly["capped_by"] == "fractional Kelly"
    # ½ × (0.4 − 0.6/1.6) = 1.25 % of 100,000 at 1,000 a contract to the stop.
    assert (kelly["qty"], kelly["risk_fraction"]) == ("1.25", "0.0125")
    code, _, err = run(
        "risk",
        "size",
        ETH,
        "--venue",
        "binance",
        "-a",
        "usdm",
        "--entry",
        "3000",
        "--stop",
        "2900",
        "--leverage",
        "3",
        "--confidence",
        "0.8",
        "--db",
        desk,
    )
    assert code == 2 and "confidence" in err


# ----------------------------------------------------------------------------- the paper venue


@pytest.fixture
def paper(env: Path) -> str:
    db = str(env / "paper.db")
    ok("init", "--db", db)
    for symbol, tick, lot in ((BTC, "0.1", "0.001"), (ETH, "0.01", "0.01")):
        ok(
            "instruments",
            "add",
            symbol,
            "--venue",
            "paper",
            "--tick-size",
            tick,
            "--lot-size",
            lot,
            "--db",
            db,
        )
    ok("paper", "open", "pu", "--deposit", "100000", "--margin-mode", "cross", "--db", db)
    ok("paper", "quote", BTC, "--bid", "49999", "--ask", "50000", "--db", db)
    ok("paper", "quote", ETH, "--bid", "2999", "--ask", "3000", "--db", db)
    return db


def _submit(db: str, symbol: str, *extra: str) -> dict[str, object]:
    data = ok_json("orders", "submit", symbol, "--venue", "paper", "-a", "pu", *extra, "--db", db)
    assert isinstance(data, dict)
    return data


def _positions(db: str) -> dict[str, str]:
    rows = ok_json("positions", "--db", db)
    assert isinstance(rows, list)
    return {r["symbol"]: r["qty"] for r in rows}


def test_halt_cancels_working_entries_and_a_later_quote_fills_nothing(paper: str) -> None:
    _submit(paper, BTC, "--side", "buy", "--qty", "0.2")
    entry = _submit(
        paper, BTC, "--side", "buy", "--qty", "0.1", "--type", "limit", "--price", "49000"
    )
    assert entry["status"] == "open"
    out = ok("risk", "halt", "--state", "halted", "--reason", "ops", "--db", paper)
    assert "paper book: trading state is now halted" in out
    intent = entry["intent"]
    assert isinstance(intent, dict)
    assert f"cancelled {intent['intent_id']} (buy 0.1 {BTC}): canceled" in out
    out = ok("risk", "monitor", "--db", paper)
    assert "paper book: trading halted" in out
    ok("paper", "quote", BTC, "--bid", "48990", "--ask", "48995", "--db", paper)
    positions = _positions(paper)
    assert positions.get(BTC) in (None, "0.2")  # never 0.3: the entry is gone (the stop may fire)
    working = ok_json("orders", "list", "--db", paper)
    assert isinstance(working, list)
    assert all(o["role"] != "entry" for o in working)  # type: ignore[index]
    code, out, _ = run(
        "orders",
        "submit",
        ETH,
        "--venue",
        "paper",
        "-a",
        "pu",
        "--side",
        "buy",
        "--qty",
        "1",
        "--db",
        paper,
    )
    assert code == 1 and "trading_state" in out


def test_halt_to_flatten_closes_every_position(paper: str) -> None:
    _submit(paper, BTC, "--side", "buy", "--qty", "0.1")
    _submit(paper, ETH, "--side", "buy", "--qty", "3")
    out = ok("risk", "halt", "--state", "flatten", "--reason", "ops", "--db", paper)
    assert out.index(f"close SELL 3 paper:{ETH}") < out.index(f"close SELL 0.1 paper:{BTC}")
    assert _positions(paper) == {}
    stops = ok_json("orders", "stops", "--db", paper)
    assert isinstance(stops, dict) and stops["protections"] == []  # released once flat


def test_flatten_dry_run_then_confirmed(paper: str) -> None:
    _submit(paper, BTC, "--side", "buy", "--qty", "0.1")
    _submit(paper, ETH, "--side", "sell", "--qty", "2")
    out = ok("risk", "flatten", "--dry-run", "--db", paper)
    assert "FLATTEN plan (dry run: nothing is sent)" in out
    assert "SELL 0.1 paper:BTC/USDT:USDT MARKET reduce-only" in out
    assert "BUY 2 paper:ETH/USDT:USDT MARKET reduce-only" in out
    assert ok_json("risk", "state", "--db", paper)["paper"]["state"] == "active"  # type: ignore[index]
    code, _, err = run("risk", "flatten", "--db", paper)
    assert code == 2 and "a flatten needs a reason" in err
    code, out, _ = run("risk", "flatten", "--reason", "test", "--db", paper, input="n\n")
    assert code == 1 and "nothing changed" in out
    assert len(_positions(paper)) == 2
    code, out, err = run("risk", "flatten", "--reason", "end of day", "--db", paper, input="y\n")
    assert code == 0, out + err
    assert "paper book: trading state is now flatten" in out
    assert _positions(paper) == {}
    data = ok_json(
        "risk", "flatten", "--reason", "again", "--yes", "--book", "paper", "--db", paper
    )
    assert isinstance(data, dict)
    assert data["paper"]["closes"] == [] and data["paper"]["state"] == "flatten"
    history = ok_json("risk", "state", "--db", paper)
    assert isinstance(history, dict)
    assert [h["new"] for h in history["paper"]["history"]] == ["flatten"]
    assert history["paper"]["history"][0]["reason"] == "end of day"
