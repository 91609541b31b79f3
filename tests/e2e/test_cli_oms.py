"""The order-management CLI as a user runs it: a paper account, quotes, orders through risk with
their protective stop, amend / cancel, conditional orders, a stop that fills, reconciliation,
SPOT → FUT transfers with approval, and the replay."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()
SYMBOL = "BTC/USDT:USDT"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok_json(*args: str) -> object:
    code, out, err = run(*args, "--json")
    assert code == 0, out + err
    return json.loads(out)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RISKDESK_OMS__TRANSFERS__MIN_FREE_FUT", "12000")
    path = str(tmp_path / "desk.db")
    assert run("init", "--db", path)[0] == 0
    code, out, _ = run(
        "instruments",
        "add",
        SYMBOL,
        "--venue",
        "paper",
        "--tick-size",
        "0.1",
        "--lot-size",
        "0.001",
        "--db",
        path,
    )
    assert code == 0, out
    assert run("paper", "open", "paper-usdm", "--deposit", "10000", "--db", path)[0] == 0
    assert (
        run(
            "paper",
            "open",
            "paper-spot",
            "--deposit",
            "5000",
            "--margin-mode",
            "cross",
            "--db",
            path,
        )[0]
        == 0
    )
    assert run("paper", "quote", SYMBOL, "--bid", "7999", "--ask", "8000", "--db", path)[0] == 0
    return path


def _submit(db: str, *extra: str) -> dict[str, object]:
    data = ok_json(
        "orders", "submit", SYMBOL, "--venue", "paper", "-a", "paper-usdm", *extra, "--db", db
    )
    assert isinstance(data, dict)
    return data


def test_an_order_is_protected_amended_cancelled_and_its_stop_fills(db: str) -> None:
    entry = _submit(
        db,
        "--side",
        "buy",
        "--qty",
        "0.1",
        "--leverage",
        "10",
        "--stop",
        "7800",
        "--intent-id",
        "e1",
    )
    assert (entry["status"], entry["filled_qty"]) == ("filled", "0.1")
    stops = ok_json("orders", "stops", "--db", db)
    assert isinstance(stops, dict)
    [p] = stops["protections"]
    assert (p["level"], p["qty"], p["mode"], p["trigger"]) == ("7800.0", "0.1", "native", "mark")
    assert stops["covered"] == {p["key"]: True}
    # The same intent again changes nothing.
    assert (
        _submit(db, "--side", "buy", "--qty", "0.1", "--intent-id", "e1")["client_order_id"]
        == entry["client_order_id"]
    )
    limit = _submit(
        db,
        "--side",
        "buy",
        "--qty",
        "0.1",
        "--type",
        "limit",
        "--price",
        "7000",
        "--intent-id",
        "l1",
    )
    assert limit["status"] == "open"
    amended = ok_json("orders", "amend", "l1", "--price", "7100", "--db", db)
    assert isinstance(amended, dict) and amended["intent"]["price"] == "7100"  # type: ignore[index]
    working = ok_json("orders", "list", "--db", db)
    assert isinstance(working, list)
    assert sorted(o["role"] for o in working) == ["entry", "protective_stop"]
    assert ok_json("orders", "cancel", "l1", "--db", db)["status"] == "canceled"  # type: ignore[index]
    shown = ok_json("orders", "show", "l1", "--db", db)
    assert [e["new"] for e in shown["events"] if e["kind"] == "order_transitioned"] == [  # type: ignore[index]
        "created",
        "pending_submit",
        "open",
        "cancel_pending",
        "canceled",
    ]
    # The mark falls through the stop: the venue fills it, the book follows, the stop is released.
    assert run("paper", "quote", SYMBOL, "--bid", "7790", "--ask", "7791", "--db", db)[0] == 0
    stops = ok_json("orders", "stops", "--db", db)
    assert stops == {"protections": [], "covered": {}, "closed": []}
    every = ok_json("orders", "list", "--all", "--db", db)
    assert isinstance(every, list)
    assert {o["intent"]["intent_id"]: o["status"] for o in every}["e1"] == "filled"
    report = ok_json("reconcile", "--db", db)
    assert isinstance(report, dict) and report["clean"] is True


def test_bad_input_is_refused_naming_the_field(db: str) -> None:
    code, _, err = run(
        "orders",
        "submit",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "buy",
        "--qty",
        "0.0001",
        "--db",
        db,
    )
    assert code == 2 and "off_grid" in err and "qty" in err
    code, _, err = run(
        "orders",
        "submit",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "up",
        "--qty",
        "1",
        "--db",
        db,
    )
    assert code == 2 and "side" in err
    code, _, err = run("orders", "cancel", "nothing-like-this", "--db", db)
    assert code == 2 and "not_found" in err
    code, _, err = run("run", "--db", db)
    assert code == 2 and "--replay" in err
    assert ok_json("orders", "list", "--all", "--db", db) == []


def test_risk_denials_exit_1_with_the_reason(db: str) -> None:
    code, out, _ = run(
        "orders",
        "submit",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "buy",
        "--qty",
        "1",
        "--db",
        db,
    )
    assert code == 1 and "REJECTED" in out and "symbol_exposure" in out


def test_conditional_orders_from_the_command_line(db: str) -> None:
    _submit(db, "--side", "buy", "--qty", "0.1", "--stop", "7000")
    legs = ok_json(
        "conditional",
        "oco",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "sell",
        "--qty",
        "0.1",
        "--stop",
        "7500",
        "--take-profit",
        "8200",
        "--group",
        "g1",
        "--db",
        db,
    )
    assert isinstance(legs, list) and [c["status"] for c in legs] == ["armed", "armed"]
    armed = ok_json(
        "conditional",
        "add",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "buy",
        "--qty",
        "0.1",
        "--kind",
        "price_above",
        "--level",
        "9000",
        "--cond-id",
        "breakout",
        "--db",
        db,
    )
    assert isinstance(armed, dict) and armed["cond_id"] == "breakout"
    assert (
        run(
            "paper", "quote", SYMBOL, "--bid", "8200", "--ask", "8201", "--mark", "8200", "--db", db
        )[0]
        == 0
    )
    every = ok_json("conditional", "list", "--all", "--db", db)
    assert isinstance(every, list)
    assert {c["cond_id"]: c["status"] for c in every} == {
        "g1:sl": "canceled",
        "g1:tp": "triggered",
        "breakout": "armed",
    }
    assert ok_json("conditional", "cancel", "breakout", "--db", db)["status"] == "canceled"  # type: ignore[index]


def test_spot_to_futures_transfer_needs_an_approval(db: str) -> None:
    decision = ok_json("transfer", "check", "--db", db)
    assert isinstance(decision, dict)
    request = decision["request"]
    assert isinstance(request, dict) and request["status"] == "pending"
    assert request["amount"] == "2000"  # need = 12000 − 10000 free
    again = ok_json("transfer", "check", "--db", db)
    assert again["request"]["transfer_id"] == request["transfer_id"]  # type: ignore[index]
    done = ok_json("transfer", "approve", str(request["transfer_id"]), "--by", "alice", "--db", db)
    assert isinstance(done, dict) and (done["status"], done["approved_by"]) == ("executed", "alice")
    listed = ok_json("transfer", "list", "--status", "executed", "--db", db)
    assert isinstance(listed, list) and len(listed) == 1
    summary = ok_json("summary", "--db", db)
    assert isinstance(summary, dict)
    assert ok_json("reconcile", "--db", db)["clean"] is True  # type: ignore[index]


def test_the_replay_with_until(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    db = str(tmp_path / "run.db")
    code, out, err = run("run", "--replay", "--until", "2019-10-07T09:00:00Z", "--db", db)
    assert code == 0, out + err
    assert "ENTRY" in out and "stop placed at 7749.6" in out and "stop moved 7749.6 → 7894.4" in out
    summary = ok_json("run", "--replay", "--until", "2019-10-07T11:00:00Z", "--db", db)
    assert isinstance(summary, dict)
    assert summary["steps"] == 2 and summary["ledger_equals_venue"] is True
    assert all(summary["covered"].values())  # type: ignore[union-attr]


def test_one_triggers_the_other_from_the_command_line(db: str) -> None:
    done = ok_json(
        "conditional",
        "oto",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "buy",
        "--qty",
        "0.1",
        "--leverage",
        "5",
        "--then",
        "take_profit",
        "--level",
        "8200",
        "--id",
        "o1",
        "--db",
        db,
    )
    assert isinstance(done, dict)
    first, then = done["first"], done["then"]
    assert isinstance(first, dict) and isinstance(then, dict)
    assert (first["status"], first["filled_qty"]) == ("filled", "0.1")  # market, at the quote
    assert (then["status"], then["link"], then["parent"]) == ("armed", "oto", "o1")
    assert then["order"]["side"] == "sell" and then["order"]["reduce_only"] is True  # type: ignore[index]
    assert then["order"]["qty"] == "0.1"  # type: ignore[index]
    quote = ("paper", "quote", SYMBOL, "--bid", "8200", "--ask", "8201", "--mark", "8200")
    assert run(*quote, "--db", db)[0] == 0
    every = ok_json("conditional", "list", "--all", "--db", db)
    assert isinstance(every, list) and {c["cond_id"]: c["status"] for c in every} == {
        "o1:then": "triggered"
    }
    assert ok_json("reconcile", "--db", db)["clean"] is True  # type: ignore[index]
    bad = run("conditional", "oto", SYMBOL, "--venue", "paper", "-a", "paper-usdm", "--side", "buy")
    assert bad[0] != 0
    code, _, err = run(
        "conditional",
        "oto",
        SYMBOL,
        "--venue",
        "paper",
        "-a",
        "paper-usdm",
        "--side",
        "buy",
        "--qty",
        "0.1",
        "--then",
        "sideways",
        "--db",
        db,
    )
    assert code == 2 and "then" in err and "sideways" in err
