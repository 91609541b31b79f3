"""The demo's governance section shows executed plans on real bundled prices (issue 5's
acceptance): the paper twins of the demo's perpetual positions are traded by the engine loop,
so the moved stops, the partial take-profit and the stop fills shown really happened — at the
paper venue, on the bundled hourly BTC/USDT bars — and the tables label stop prices and sizes
apart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.adapters.market_data.bundled import read_bars
from riskdesk.interfaces.cli.app import app

runner = CliRunner()
BARS = {b.ts: b for b in read_bars("crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = str(tmp_path_factory.mktemp("demo-gov") / "demo.db")
    result = runner.invoke(app, ["demo", "--db", db, "--json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["elapsed_seconds"] < 30
    return data


def _events(demo: dict[str, Any]) -> list[dict[str, Any]]:
    paper = demo["governed_paper_trading"]
    assert paper is not None and paper["errors"] == []
    events: list[dict[str, Any]] = paper["events"]
    return events


def _price(text: str) -> Decimal:
    """The price of ``filled 1 @ 8,412.0`` / ``sell 1 @ 8,204.9``."""
    return Decimal(text.rsplit("@ ", 1)[1].split(";", maxsplit=1)[0].replace(",", ""))


def _within_the_bar(ts: str, price: Decimal) -> bool:
    """The price lies in the range of a bundled candle that closed at or just before ``ts``
    (the paper venue fills at the bar's prices, with its slippage of a few basis points)."""
    close = datetime.fromisoformat(ts)
    for hours in (1, 2):
        bar = BARS.get(close - timedelta(hours=hours))
        if bar is not None and bar.low * Decimal("0.998") <= price <= bar.high * Decimal("1.002"):
            return True
    return False


def test_a_moved_stop_and_a_partial_take_profit_executed_on_real_prices(
    demo: dict[str, Any],
) -> None:
    events = _events(demo)
    moved = [
        e
        for e in events
        if e["kind"] == "MOVE_STOP"
        and e["stop_from"] is not None
        and e["stop_from"] != e["stop_to"]
    ]
    assert moved, "no moved stop"
    for e in moved:
        assert e["result"].startswith("stop moved"), e  # the supervisor moved it at the venue
        assert "lock-profit tier" in e["reason"] or "trail" in e["reason"]
    partial = [e for e in events if e["kind"] == "REDUCE"]
    assert partial, "no partial take-profit"
    for e in partial:
        assert e["result"].startswith("filled"), e
        assert Decimal(e["size_to"]) > 0 and Decimal(e["size_to"]) < Decimal(e["size_from"])
        assert "take-profit" in e["reason"]
        assert _within_the_bar(e["ts"], _price(e["result"])), e
    # The rest of each twin was taken by its (moved) stop at the venue.
    stops = [e for e in events if e["kind"] == "STOP FILL"]
    assert {e["account_id"] for e in stops} == {"paper-usdm", "paper-btc"}
    for e in stops:
        assert _within_the_bar(e["ts"], _price(e["result"])), e


def test_the_stop_covers_the_size_held_and_sizes_never_mix_with_prices(
    demo: dict[str, Any],
) -> None:
    events = _events(demo)
    held: dict[str, Decimal] = {}
    for e in events:
        account = e["account_id"]
        if e["kind"] == "ENTRY FILL":
            held[account] = Decimal(e["qty"])
        elif e["kind"] in ("PLACE_STOP", "MOVE_STOP"):
            # Planned at the size held (a take-profit planned in the same tick has not filled).
            assert Decimal(e["qty"]) == held[account], e
            assert e["size_from"] is None and e["size_to"] is None
        elif e["kind"] in ("REDUCE", "CLOSE"):
            assert e["stop_from"] is None and e["stop_to"] is None
            assert Decimal(e["size_from"]) == held[account]
            held[account] -= Decimal(e["qty"])
        elif e["kind"] == "STOP FILL":
            held[account] -= Decimal(e["qty"])
    assert held == {"paper-usdm": 0, "paper-btc": 0}


def test_every_planned_order_passed_pre_trade_risk(demo: dict[str, Any]) -> None:
    plans = demo["governed_paper_trading"]["plans"]
    assert plans and {p["status"] for p in plans} == {"approved"}
    results = demo["governed_paper_trading"]["results"]
    assert any(r.startswith("paper-usdm: realized P&L") for r in results)


def test_the_table_labels_stop_prices_and_sizes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.stderr
    section = result.stdout[result.stdout.index("Position governance, executed") :]
    for column in ("Stop price old → new", "Size old → new", "Executed", "Reason"):
        assert column in section
    assert "STOP FILL" in section and "ENTRY FILL" in section
