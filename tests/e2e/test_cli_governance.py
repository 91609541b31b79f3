"""``riskdesk governance …``, ``riskdesk manage`` and the demo's governance section, as a user
runs them."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    db = str(tmp_path_factory.mktemp("gov") / "demo.db")
    code, out, err = run("demo", "--db", db)
    assert code == 0, err
    return db, out


def test_demo_shows_moved_stops_and_a_partial_take_profit(demo: tuple[str, str]) -> None:
    _, out = demo
    section = out[out.index("Position governance") :]
    assert "MOVE_STOP" in section and "REDUCE" in section
    assert "lock-profit tier" in section and "take-profit 2R" in section
    assert "Stop price old → new" in section and "Size old → new" in section


def test_governance_show_and_plans_read_the_demo(demo: tuple[str, str]) -> None:
    db, _ = demo
    # Both paper twins are closed by the end of the replay: nothing open, both listed with --all.
    code, out, err = run("governance", "show", "--db", db)
    assert code == 0, err
    assert "no open governed positions" in out
    code, out, err = run("governance", "show", "--all", "--db", db, "--json")
    assert code == 0, err
    shown = {v["symbol"]: v for v in json.loads(out)}
    assert set(shown) == {"BTC/USDT:USDT", "BTC/USD:BTC"}
    assert {v["lifecycle"] for v in shown.values()} == {"closed"}
    code, out, _ = run("governance", "plans", "--db", db, "--json")
    plans = json.loads(out)
    assert code == 0 and len(plans) >= 5
    assert {p["status"] for p in plans} == {"approved"}
    code, out, _ = run("governance", "events", "--db", db, "--kind", "LIFECYCLE", "--json")
    messages = [e["message"] for e in json.loads(out)]
    assert code == 0 and sum("pending_entry → active" in m for m in messages) == 2
    assert sum("active → closed" in m for m in messages) == 2


def test_manage_dry_run_on_a_fresh_book_then_for_real(tmp_path: Path) -> None:
    db = str(tmp_path / "book.db")
    assert run("init", "--db", db)[0] == 0
    assert (
        run(
            "accounts",
            "add",
            "usdm",
            "--venue",
            "binance",
            "--margin-mode",
            "isolated",
            "--leverage",
            "10",
            "--db",
            db,
        )[0]
        == 0
    )
    assert run("instruments", "add", "BTC/USDT:USDT", "--venue", "binance", "--db", db)[0] == 0
    assert (
        run(
            "cash",
            "move",
            "usdm",
            "50000",
            "USDT",
            "--reference",
            "d1",
            "--at",
            "2025-01-01T00:00:00Z",
            "--db",
            db,
        )[0]
        == 0
    )
    fills = tmp_path / "fills.csv"
    fills.write_text(
        "venue,fill_id,symbol,side,qty,price,ts,leverage,margin_mode\n"
        "binance,1,BTC/USDT:USDT,buy,0.5,60000,2025-01-01T10:00:00Z,10,isolated\n",
        encoding="utf-8",
    )
    assert run("fills", "import", str(fills), "--account", "usdm", "--db", db)[0] == 0
    assert run("prices", "set", "binance:BTC/USDT:USDT", "60000", "--db", db)[0] == 0
    at = "2025-01-01T11:00:00Z"
    code, out, err = run("manage", "--dry-run", "--at", at, "--db", db, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["dry_run"] and result["positions"] == 1
    (plan,) = result["plans"]
    assert plan["plan"]["actions"][0]["action"] == "PLACE_STOP"
    assert plan["orders"][0]["order_type"] == "stop_market" and plan["orders"][0]["reduce_only"]
    assert plan["checks"][0]["approved"]
    assert json.loads(run("governance", "plans", "--db", db, "--json")[1]) == []
    code, out, err = run("manage", "--at", at, "--db", db)
    assert code == 0, err and "plans stored" in out and "PLACE_STOP" in out
    code, out, _ = run("governance", "show", "--db", db, "--json")
    (shown,) = json.loads(out)
    assert shown["stop_price"] == "58800.00" and shown["lifecycle"] == "active"


def test_bad_input_is_refused_naming_the_field(tmp_path: Path) -> None:
    db = str(tmp_path / "empty.db")
    assert run("init", "--db", db)[0] == 0
    code, _, err = run("manage", "--at", "yesterday", "--db", db)
    assert code == 2 and "at:" in err
    code, _, err = run("governance", "attach", "pos_x", "--profile", "nope", "--db", db)
    assert code == 2 and "profile" in err and "unknown profile 'nope'" in err
    code, _, err = run(
        "governance", "attach", "pos_x", "--profile", "swing", "--invalidation", "[1]", "--db", db
    )
    assert code == 2 and "invalidation" in err


def test_an_entrys_stop_is_governed_and_attach_only_tightens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    db = str(tmp_path / "desk.db")
    symbol = "BTC/USDT:USDT"
    assert run("init", "--db", db)[0] == 0
    add = ("instruments", "add", symbol, "--venue", "paper", "--tick-size", "0.1")
    assert run(*add, "--lot-size", "0.001", "--db", db)[0] == 0
    assert run("paper", "open", "paper-usdm", "--deposit", "10000", "--db", db)[0] == 0
    assert run("paper", "quote", symbol, "--bid", "7999", "--ask", "8000", "--db", db)[0] == 0
    code, out, err = run(
        *("orders", "submit", symbol, "--venue", "paper", "-a", "paper-usdm", "--side", "buy"),
        *("--qty", "0.1", "--leverage", "10", "--stop", "7800", "--db", db),
    )
    assert code == 0, out + err
    assert "governed (standard): the stop 7800.0 is its initial stop" in out
    code, out, err = run("manage", "--db", db, "--json")
    assert code == 0, err
    (plan,) = json.loads(out)["plans"]
    assert plan["orders"][0]["stop_price"] == "7800.0"  # not the profile's 2 % (7,840)
    assert "1R = |entry 8,000 − stop 7,800| = 200" in plan["plan"]["actions"][0]["reason"]
    code, out, _ = run("governance", "show", "--db", db, "--json")
    (shown,) = json.loads(out)
    assert shown["stop_price"] == "7800.0" and Decimal(shown["risk_per_unit"]) == 200
    assert shown["venue_stop"]["level"] == "7800.0" and not shown["venue_stop_differs"]
    pid = shown["position_id"]
    attach = ("governance", "attach", pid, "--profile", "standard", "--db", db, "--stop")
    for level, words in (("7700", "would loosen"), ("8100", "at or above the mark")):
        code, _, err = run(*attach, level)
        assert code == 2 and "stop:" in err and words in err, err
    code, out, err = run(*attach, "7850")
    assert code == 0 and "replaces the governed stop 7,800.00 (R unchanged)" in out, out + err
    code, out, err = run("manage", "--db", db)
    assert code == 0 and "MOVE_STOP" in out and "given stop" in out, out + err
    # `manage` stores the plan; until the engine executes it, the venue still holds 7,800.
    code, out, _ = run("governance", "show", "--db", db)
    assert code == 0 and "at the venue:" in out and "7,800.00 × 0.1" in out, out
    (shown,) = json.loads(run("governance", "show", "--db", db, "--json")[1])
    assert shown["stop_price"] == "7850.0" and shown["venue_stop_differs"]
