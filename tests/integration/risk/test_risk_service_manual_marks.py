"""The README walkthrough's hand-priced book through RiskService: marks recorded by hand
(``source="manual"``, what ``riskdesk prices set`` stores) do not halt the desk when they are
minutes old, and pricing one instrument never halts it for another hand mark; feed marks keep
the live-feed thresholds. The source is read from the ``prices`` table into the risk book."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from risk_service_kit import ETH, PERP, T0, Desk, DeskFactory, order

from riskdesk.bootstrap.risk_settings import KillSwitchSettings, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.risk.decisions import Denied, RiskCode
from riskdesk.domain.risk.monitors import AlertLevel
from riskdesk.domain.risk.trading_state import TradingState

A, H = TradingState.ACTIVE, TradingState.HALTED


def _price(desk: Desk, source: str, seconds: float = 0.0, **marks: str) -> None:
    keys = {"perp": PERP.key, "eth": ETH.key}
    at = T0 + timedelta(seconds=seconds)
    desk.rt.app.book.record_prices(
        {keys[k]: Decimal(v) for k, v in marks.items()},
        {"BTC": Decimal(marks["perp"])} if "perp" in marks else {},
        at,
        source,
    )


def _two_positions(desk: Desk, source: str) -> None:
    desk.fill("buy", "0.1", "50000", at=T0 - timedelta(hours=1))
    desk.fill("buy", "1", "3000", symbol=ETH.symbol, at=T0 - timedelta(hours=1))
    _price(desk, source, perp="50000", eth="3000")


def _at(desk: Desk, seconds: float) -> None:
    desk.clock.set(T0 + timedelta(seconds=seconds))


def test_the_mark_source_reaches_the_risk_book(desk: Desk) -> None:
    _two_positions(desk, "manual")
    _price(desk, "replay", 1.0, eth="3000")
    book = desk.risk.risk_book()
    assert book.instruments[PERP.key].manual_mark
    assert not book.instruments[ETH.key].manual_mark


def test_hand_marks_minutes_old_do_not_halt_the_desk(desk: Desk) -> None:
    _two_positions(desk, "manual")
    _at(desk, 327)  # the walkthrough: a mark 327 s old halted a hand-priced book
    result = desk.risk.monitor(detail=True)
    assert result.state.state is A and result.change is None
    assert [r for r in result.readings if r.kind == "stale_data"] == []
    # Pricing one instrument by hand never halts the desk for the other one's hand mark.
    _price(desk, "manual", 400, perp="50100")
    _at(desk, 400)
    assert desk.risk.monitor().state.state is A
    # And a new entry may rely on a hand mark minutes old.
    assert desk.risk.check(order("0.01", symbol=ETH.symbol)).decision.approved


def test_feed_marks_keep_the_live_feed_thresholds(desk: Desk) -> None:
    _two_positions(desk, "replay")
    _at(desk, 327)
    result = desk.risk.monitor()
    assert result.state.state is H
    assert result.change is not None and result.change.trigger == "stale_data"
    assert "mark is 327 s old (alert at 300 s)" in result.change.reason
    desk.risk.reset("feed is back", "ops")
    _price(desk, "replay", 330, perp="50000", eth="3000")
    _at(desk, 331)
    entry = desk.risk.check(order("0.01", symbol=ETH.symbol)).decision
    assert entry.approved
    _at(desk, 330 + 301)
    stale = desk.risk.check(order("0.01", symbol=ETH.symbol)).decision
    assert isinstance(stale, Denied) and stale.code is RiskCode.STALE_DATA


def test_a_hand_mark_older_than_a_day_warns_and_halts_only_if_configured(
    new_desk: DeskFactory,
) -> None:
    desk = new_desk()
    _two_positions(desk, "manual")
    _at(desk, 86_400 + 60)
    result = desk.risk.monitor(detail=True)
    stale = [r for r in result.readings if r.kind == "stale_data"]
    assert {r.level for r in stale} == {AlertLevel.WARNING}
    assert "mark was set by hand 24 h 01 min ago (alert at 24 h 00 min)" in stale[0].message
    assert result.state.state is A
    entry = desk.risk.check(order("0.001")).decision
    assert isinstance(entry, Denied) and entry.code is RiskCode.STALE_DATA

    strict = new_desk(
        settings=Settings(
            risk=RiskSettings(kill_switch=KillSwitchSettings(manual_marks_trip_stale_data=True))
        )
    )
    _two_positions(strict, "manual")
    _at(strict, 327)
    assert strict.risk.monitor().state.state is A  # still within the day
    _at(strict, 86_400 + 60)
    tripped = strict.risk.monitor()
    assert tripped.state.state is H and tripped.change is not None
    assert tripped.change.trigger == "stale_data"
