"""``riskdesk run --replay`` and ``riskdesk reconcile`` as a user sees them: every fill is named
by what its order was for (take-profit, guard stop, stop, add-on…), and a replay's database is
reconciled at the replay's time, not today's."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.domain.order_lifecycle import Order, OrderRole, new_order
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.values import Side
from riskdesk.interfaces.cli.app import app
from riskdesk.interfaces.cli.oms_commands import fill_label

runner = CliRunner()
WINDOW = {
    "RISKDESK_OMS__REPLAY__START": "2019-10-07T00:00:00Z",
    "RISKDESK_OMS__REPLAY__END": "2019-10-08T06:00:00Z",
}


@pytest.fixture
def replay_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    for key, value in WINDOW.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def _order(role: OrderRole, source: str) -> Order:
    intent = OrderIntent(
        "i", "a", "paper", "BTC/USDT:USDT", Side.SELL, Decimal(1), reduce_only=True, source=source
    )
    return new_order(intent, datetime(2019, 10, 7, tzinfo=UTC), role)


@pytest.mark.parametrize(
    ("role", "source", "label"),
    [
        (OrderRole.PROTECTIVE_STOP, "protection", "STOP FILLED"),
        (OrderRole.TAKE_PROFIT, "governance:p1", "TAKE-PROFIT"),
        (OrderRole.CLOSE, "guard_stop", "GUARD STOP"),
        (OrderRole.CLOSE, "protection", "STOP-OUT"),
        (OrderRole.CLOSE, "close_all", "CLOSE-ALL"),
        (OrderRole.CLOSE, "governance:p1", "CLOSE"),
        (OrderRole.REDUCE, "manual", "MANUAL CLOSE"),
        (OrderRole.REDUCE, "governance:p1", "REDUCE"),
        (OrderRole.ENTRY, "replay", "ENTRY"),
        (OrderRole.ENTRY, "governance:p1", "ADD-ON"),
        (OrderRole.OTHER, "manual", "FILL"),
    ],
)
def test_a_fill_is_named_by_its_orders_purpose(role: OrderRole, source: str, label: str) -> None:
    assert fill_label(_order(role, source)) == label


def test_a_guard_stop_fill_is_not_called_a_take_profit(replay_dir: Path) -> None:
    db = str(replay_dir / "r.db")
    result = runner.invoke(
        app,
        ["run", "--replay", "--db", db],
        env={"RISKDESK_OMS__PAPER__NATIVE_STOP": "false"},  # the venue has no stop orders
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    [take_profit] = [line for line in lines if "TAKE-PROFIT" in line]
    assert "sell 0.100" in take_profit and "gov-" in take_profit
    [guard] = [line for line in lines if "GUARD STOP" in line]
    assert "sell 0.100" in guard and "[guard-" in guard


def test_reconcile_on_a_replay_runs_at_the_replays_time(replay_dir: Path) -> None:
    db = str(replay_dir / "r.db")
    result = runner.invoke(app, ["run", "--replay", "--db", db, "--until", "2019-10-07T09:00:00Z"])
    assert result.exit_code == 0, result.stdout + result.stderr
    result = runner.invoke(app, ["reconcile", "--db", db, "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    # The close of the last bar replayed (09:00 → 10:00), not the wall clock.
    assert json.loads(result.stdout)["as_of"] == "2019-10-07T10:00:00+00:00"
    result = runner.invoke(app, ["orders", "list", "--all", "--db", db, "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    stamps = [datetime.fromisoformat(o["updated_at"]) for o in json.loads(result.stdout)]
    assert stamps and all(ts.year == 2019 for ts in stamps)


def test_the_run_prints_what_was_disarmed_with_the_reason(replay_dir: Path) -> None:
    """An OCO pair armed on the replay's position: the take-profit leg fires and the stop-loss
    leg is disarmed; a reduce-only limit far above the price expires at the venue when the stop
    closes the position. Each is one DISARMED line with its reason."""
    db = str(replay_dir / "r.db")

    def cli(*args: str) -> str:
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout

    cli("run", "--replay", "--until", "2019-10-07T05:00:00Z")  # the 0.2 BTC long is open
    common = ("BTC/USDT:USDT", "--venue", "paper", "--account", "paper-usdm", "--side", "sell")
    cli("conditional", "oco", *common, "--qty", "0.05", "--stop", "7000", "--take-profit", "8100",
        "--group", "g1")  # fmt: skip
    cli("orders", "submit", *common, "--qty", "0.05", "--type", "limit", "--price", "9900",
        "--reduce-only", "--intent-id", "far-tp")  # fmt: skip
    out = cli("run", "--replay")
    disarmed = [line for line in out.splitlines() if "DISARMED" in line]
    assert any(
        "condition g1:sl (stop_loss at 7000 mark, sell 0.05 BTC/USDT:USDT): linked to g1:tp" in line
        for line in disarmed
    ), out
    assert any(
        "order far-tp (reduce, sell 0.05 BTC/USDT:USDT): expired by the venue: "
        "reduce-only: the position is closed" in line
        for line in disarmed
    ), out
    assert any("TRIGGERED    g1:tp" in line for line in out.splitlines()), out
