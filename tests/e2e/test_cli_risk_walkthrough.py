"""The README walkthrough's risk findings, as a user runs them (CliRunner, temporary SQLite):
input errors of ``risk check`` are errors naming the field (exit 2) while DENIED (exit 1) is for
valid orders; denial sentences that read right and say plainly when no size fits; a fresh
database's state says it never changed; the JSON number rule (money exact strings, analytics
rounded to 8 decimals); paper orders judged on the paper book; and ``riskdesk config`` showing
the active limits without Python reprs."""

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


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, out + err
    return out


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def desk(env: Path) -> str:
    """A real account with 100,000 USDT and a 0.5 BTC long at 50,000 (25 % of equity)."""
    db = str(env / "desk.db")
    ok("init", "--db", db)
    ok("accounts", "add", "usdm", "--venue", "binance", "--leverage", "10", "--db", db)
    for venue in ("binance", "paper"):
        ok(
            "instruments",
            "add",
            BTC,
            "--venue",
            venue,
            "--tick-size",
            "0.1",
            "--lot-size",
            "0.001",
            "--db",
            db,
        )
    ok("cash", "move", "usdm", "100000", "USDT", "--reference", "dep1", "--db", db)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fills = env / "fills.csv"
    fills.write_text(
        f"timestamp,symbol,side,qty,price,fill_id,venue\n{now},{BTC},buy,0.5,50000,f1,binance\n"
    )
    ok("fills", "import", str(fills), "-a", "usdm", "--db", db)
    ok("prices", "set", f"binance:{BTC}", "50000", "--db", db)
    return db


def check(db: str, qty: str, *extra: str) -> tuple[int, str, str]:
    return run(
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
        qty,
        *extra,
        "--db",
        db,
    )


@pytest.mark.parametrize(
    ("qty", "message"),
    [
        ("-1", "[invalid_value] qty: must be greater than 0, got -1"),
        ("0", "[invalid_value] qty: must be greater than 0, got 0"),
        ("NaN", "[invalid_value] qty: must be finite, got NaN"),
        ("0.0001", "[off_grid] qty: 0.0001 is not a multiple of the lot size 0.001"),
    ],
)
def test_a_bad_quantity_is_an_input_error_not_a_denial(desk: str, qty: str, message: str) -> None:
    code, out, err = check(desk, qty)
    assert code == 2 and message in err
    assert "DENIED" not in out


def test_unknown_symbol_and_account_are_input_errors(desk: str) -> None:
    code, _, err = run(
        "risk", "check", "DOGE/USDT:USDT", "--venue", "binance", "-a", "usdm", "--side", "buy",
        "--qty", "1", "--db", desk,
    )  # fmt: skip
    assert code == 2 and "symbol: no instrument 'binance:DOGE/USDT:USDT'" in err
    code, _, err = run(
        "risk", "check", BTC, "--venue", "binance", "-a", "ghost", "--side", "buy", "--qty", "1",
        "--json", "--db", desk,
    )  # fmt: skip
    assert code == 2
    assert json.loads(err)["error"]["field"] == "account_id"


def test_denied_reads_right_and_says_when_no_size_fits(desk: str) -> None:
    code, out, _ = check(desk, "0.1")
    assert code == 1
    flat = " ".join(out.split())
    assert (
        f"DENIED [symbol_exposure] binance:{BTC}: exposure 30,000.00 would be 30.00 % of equity "
        "100,000.00, limit 20.00 %" in flat
    )
    assert (
        "suggestion: no room: the position already uses 25.00 % of equity against the 20.00 % "
        "limit; reduce the position first or raise risk.limits.max_symbol_exposure" in flat
    )
    assert "at most 0 contracts" not in flat


def test_check_json_rounds_analytics_and_names_their_unit(desk: str) -> None:
    code, out, _ = check(desk, "0.1", "--json")
    assert code == 1
    data = json.loads(out)
    assert (data["code"], data["value"], data["limit"]) == ("symbol_exposure", 0.3, 0.2)
    assert data["unit"] == "fraction of equity"
    assert data["all"][0]["unit"] == "fraction of equity"


def test_a_fresh_state_says_it_never_changed(env: Path) -> None:
    db = str(env / "fresh.db")
    ok("init", "--db", db)
    out = ok("risk", "state", "--db", db)
    assert "real book: trading ACTIVE (never changed)" in out
    assert "paper book: trading ACTIVE (never changed)" in out
    assert "1970" not in out
    data = json.loads(ok("risk", "state", "--db", db, "--json"))
    assert data["real"]["since"] is None and data["paper"]["since"] is None


def test_report_json_money_is_exact_and_ratios_have_8_decimals(desk: str) -> None:
    report = json.loads(ok("risk", "report", "--month", "--db", desk, "--json"))
    assert report["book"] == "real"
    # The book opened today: it started empty and the deposit is net cash flow, not P&L.
    assert (report["start_equity"], report["net_cash_flow"], report["pnl"]) == (
        "0",
        "100000",
        "0.0",
    )
    assert report["peak_leverage"] == "0.25000000"
    assert report["peak_exposure_usage"] == "0.41666667"
    for name in ("return_pct", "max_drawdown", "peak_leverage", "peak_exposure_usage"):
        assert len(report[name].split(".")[1]) == 8


def test_limits_json_money_is_exact_analytics_are_numbers(env: Path) -> None:
    data = json.loads(ok("risk", "limits", "--json"))
    assert data["limits"]["max_order_notional"] == "250000"
    assert data["limits"]["max_cost_per_day"] == "1000"
    assert data["limits"]["max_symbol_exposure"] == 0.2
    assert data["thresholds"]["manual_mark_max_age_seconds"] == 86400.0
    assert data["kill_switch"]["manual_marks_trip_stale_data"] is False
    assert data["manual_mark_sources"] == ["manual", "paper quote"]


def test_a_paper_order_is_judged_on_the_paper_book(desk: str) -> None:
    """The walkthrough: a README paper order refused for the concentration of the real
    positions, and paper deposits counted in real equity."""
    ok("paper", "open", "pu", "--deposit", "10000", "--db", desk)
    ok("paper", "quote", BTC, "--bid", "49999", "--ask", "50000", "--db", desk)
    code, out, _ = run(
        "risk", "check", BTC, "--venue", "paper", "-a", "pu", "--side", "buy", "--qty", "0.01",
        "--db", desk,
    )  # fmt: skip
    assert code == 0 and "APPROVED" in out, out  # 500 of BTC on 10,000 of paper equity
    real = json.loads(ok("risk", "report", "--book", "real", "--db", desk, "--json"))
    paper = json.loads(ok("risk", "report", "--book", "paper", "--db", desk, "--json"))
    assert real["end_equity"] == "100000.0"  # the paper deposit is not real equity
    assert paper["end_equity"] == "10000" and paper["net_cash_flow"] == "10000"


def test_config_shows_the_active_limits_without_reprs(env: Path) -> None:
    out = ok("config")
    assert "LeverageTier(" not in out and "Decimal(" not in out
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if line.count("│") >= 4}  # fmt: skip
    assert rows["risk.limits.max_symbol_exposure"] == "0.2"
    assert rows["risk.limits.max_order_notional"] == "250000.0"
    assert rows["fixed_rates"] == "USD=1, USDT=1, USDC=1"
    data = json.loads(ok("config", "--json"))
    assert data["risk.limits.max_leverage"] == 5.0
    assert data["risk.limits.leverage_tiers"][0] == {
        "min_confidence": 0.75,
        "low": 10.0,
        "high": 20.0,
    }
