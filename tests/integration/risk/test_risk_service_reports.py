"""RiskService reports, flatten plan and sizing over a real store; the risk journal round trip on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from risk_service_kit import (
    ACCT,
    DAY,
    ETH,
    INVERSE,
    PERP,
    SPOT,
    T0,
    Desk,
    DeskFactory,
    order,
)

from riskdesk.bootstrap.risk_settings import LimitOverrides, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.errors import InvalidValue, UnknownInstrument
from riskdesk.domain.orders import OrderType
from riskdesk.domain.risk.decisions import Approved, Denied
from riskdesk.domain.risk.monitors import AlertLevel
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import Side

D1 = DAY + timedelta(days=1)
D2 = DAY + timedelta(days=2)


def _two_days(desk: Desk) -> None:
    """Snapshots at each UTC midnight (as the demo takes them): 100,000 → 102,000 → 101,000.

    Day 1 closes a +2,000 trade; day 2 closes a −1,000 trade and has one denied order."""
    desk.snapshot(DAY)
    desk.fill("buy", "1", "50000", at=T0)
    desk.fill("sell", "1", "52000", at=DAY + timedelta(hours=18))
    desk.marks(perp="52000", at=DAY + timedelta(hours=18))
    desk.snapshot(D1)
    desk.fill("buy", "1", "52000", at=D1 + timedelta(hours=10))
    desk.clock.set(D1 + timedelta(hours=11))
    desk.marks(perp="52000")
    denied = desk.risk.check(order("0.01", symbol=ETH.symbol)).decision  # no mark
    assert isinstance(denied, Denied)
    assert desk.risk.check(order("0.01", "sell")).decision.approved
    desk.fill("sell", "1", "51000", at=D1 + timedelta(hours=14))
    desk.marks(perp="51000", at=D1 + timedelta(hours=14))
    desk.snapshot(D2)


def test_week_report(desk: Desk) -> None:
    _two_days(desk)
    r = desk.risk.report("week", DAY.date())  # 2025-03-03 is a Monday
    assert (r.start, r.end) == (DAY, DAY + timedelta(days=7))
    assert (r.start_equity, r.end_equity) == (Decimal(100_000), Decimal(101_000))
    assert r.pnl == Decimal(1000)
    assert r.return_pct == Decimal("0.01")
    assert r.max_drawdown == Decimal("0.00980392")  # 1,000 / 102,000 to 8 decimals
    assert (r.trades, r.wins, r.win_rate) == (2, 1, Decimal("0.5"))
    assert (r.largest_win, r.largest_loss) == (Decimal(2000), Decimal(-1000))
    assert r.violations == 1
    assert r.violations_by_code == {"no_mark": 1}
    assert r.net_cash_flow == 0
    # The same anchor anywhere in the week gives the same report.
    assert desk.risk.report("week", (DAY + timedelta(days=6)).date()) == r


def test_report_counts_only_the_periods_facts(desk: Desk) -> None:
    _two_days(desk)
    nothing = desk.risk.report("week", (DAY + timedelta(days=7)).date())
    assert (nothing.trades, nothing.violations) == (0, 0)
    assert nothing.start_equity == nothing.end_equity == Decimal(101_000)
    assert nothing.pnl == 0


def test_report_peak_leverage_from_snapshots(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0)
    desk.marks(perp="50000")
    desk.snapshot(T0)
    r = desk.risk.report("day", DAY.date())
    assert r.peak_leverage == Decimal("0.5")
    assert r.peak_exposure_usage == Decimal("0.83333333")  # 0.5 / 0.6 to 8 decimals


def test_report_period_must_be_known(desk: Desk) -> None:
    with pytest.raises(InvalidValue) as err:
        desk.risk.report("quarter", DAY.date())
    assert err.value.field == "period"


def test_day_report_uses_the_snapshots_at_its_boundaries(desk: Desk) -> None:
    _two_days(desk)
    r = desk.risk.report("day", DAY.date())
    assert (r.start_equity, r.end_equity, r.pnl) == (Decimal(100_000), Decimal(102_000), 2000)
    assert (r.trades, r.largest_win) == (1, Decimal(2000))
    r2 = desk.risk.report("day", D1.date())
    assert (r2.start_equity, r2.end_equity, r2.pnl) == (Decimal(102_000), Decimal(101_000), -1000)
    assert r2.violations == 1


def test_month_report_does_not_subtract_deposits_already_in_the_start_equity(desk: Desk) -> None:
    _two_days(desk)
    r = desk.risk.report("month", DAY.date())
    assert r.pnl == Decimal(1000)


# ----------------------------------------------------------------------------- flatten


def _three_positions(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.fill("sell", "10", "2000", symbol=ETH.symbol, at=T0 - timedelta(hours=1))
    desk.fill("buy", "0.5", "50000", symbol=SPOT.symbol, at=T0 - timedelta(hours=1))
    desk.marks(perp="50000", eth="2000", spot="50000")


def test_flatten_plan_closes_the_largest_risk_contribution_first(desk: Desk) -> None:
    """Long 1 BTC perp (50,000), long 0.5 BTC spot (25,000), short 10 ETH (20,000): the book
    loses most at the −30 % spot shock, where the perp loses 15,000, the spot 7,500 and the
    short ETH gains 6,000 (a hedge: closed last). Derivatives close reduce-only; spot cannot."""
    _three_positions(desk)
    plan = desk.risk.flatten_plan()
    assert [(ln.intent.symbol, ln.intent.side, ln.intent.qty) for ln in plan] == [
        (PERP.symbol, Side.SELL, Decimal(1)),
        (SPOT.symbol, Side.SELL, Decimal("0.5")),
        (ETH.symbol, Side.BUY, Decimal(10)),
    ]
    assert [ln.contribution for ln in plan] == pytest.approx([15_000.0, 7_500.0, -6_000.0])
    assert [ln.exposure for ln in plan] == pytest.approx([50_000.0, 25_000.0, 20_000.0])
    assert [ln.intent.reduce_only for ln in plan] == [True, False, True]
    assert all(ln.intent.order_type is OrderType.MARKET for ln in plan)
    assert all(ln.intent.account_id == ACCT and ln.intent.source == "kill_switch" for ln in plan)
    ids = [ln.intent.intent_id for ln in plan]
    assert [ln.intent.intent_id for ln in desk.risk.flatten_plan()] == ids
    assert ids[0] == f"flatten:20250303T120000:{ACCT}:paper:{PERP.symbol}:net"
    desk.clock.advance(timedelta(seconds=1))
    assert {ln.intent.intent_id for ln in desk.risk.flatten_plan()}.isdisjoint(ids)


def test_flatten_orders_pass_in_the_flatten_state_and_are_journaled(desk: Desk) -> None:
    _three_positions(desk)
    desk.risk.escalate(TradingState.FLATTEN, "manual", "flatten the book", by="alice")
    plan = [ln.intent for ln in desk.risk.flatten_plan()]
    results = [desk.risk.check(o).decision for o in plan]
    assert all(isinstance(r, Approved) for r in results), results
    entry = desk.risk.check(order("0.01")).decision
    assert isinstance(entry, Denied) and entry.code.value == "trading_state"
    assert [r.intent_id for r in desk.risk.decisions(outcome="approved")] == [
        o.intent_id for o in plan
    ]


def test_flatten_plan_of_a_flat_book_is_empty(desk: Desk) -> None:
    assert desk.risk.flatten_plan() == []


# ----------------------------------------------------------------------------- sizing


def test_size_from_the_book(desk: Desk) -> None:
    desk.marks(perp="50000")
    r = desk.risk.size(PERP.key, entry=Decimal(50_000), stop=Decimal(49_000), account_id=ACCT)
    assert r.qty == Decimal("0.4")  # 2 contracts by risk, capped at 20 % of 100,000
    assert r.capped_by == "per-symbol limit"
    wide = desk.risk.size(PERP.key, entry=Decimal(50_000), stop=Decimal(40_000), account_id=ACCT)
    assert (wide.qty, wide.capped_by) == (Decimal("0.2"), "risk per trade")
    small = desk.risk.size(
        PERP.key,
        entry=Decimal(50_000),
        stop=Decimal(40_000),
        account_id=ACCT,
        risk_fraction=Decimal("0.005"),
    )
    assert small.qty == Decimal("0.05")


def test_size_caps_by_free_margin(new_desk: DeskFactory) -> None:
    off = dict.fromkeys(
        (
            "max_symbol_exposure",
            "max_total_exposure",
            "max_leverage",
            "max_concentration",
            "max_net_delta_per_underlying",
            "max_net_delta_total",
        ),
        "off",
    )
    desk = new_desk(settings=Settings(risk=RiskSettings(limits=LimitOverrides(**off))))  # type: ignore[arg-type]
    desk.fill("buy", "1.9", "50000", at=T0 - timedelta(hours=1))  # 95,000 of margin at 1x
    desk.marks(perp="50000")
    r = desk.risk.size(PERP.key, entry=Decimal(50_000), stop=Decimal(40_000), account_id=ACCT)
    assert (r.qty, r.capped_by) == (Decimal("0.1"), "available capital")
    levered = desk.risk.size(
        PERP.key, entry=Decimal(50_000), stop=Decimal(40_000), account_id=ACCT, leverage=Decimal(5)
    )
    assert levered.capped_by == "risk per trade"


def test_size_unknown_instrument(desk: Desk) -> None:
    with pytest.raises(UnknownInstrument):
        desk.risk.size("paper:SOL/USDT", entry=Decimal(1), stop=Decimal(2), account_id=ACCT)


def test_size_inverse_contract_in_coin(desk: Desk) -> None:
    desk.rt.app.book.move_cash(ACCT, "BTC", Decimal(1), DAY, "deposit", "dep-btc")
    desk.marks(perp="50000", inverse="50000")  # equity 150,000 USD = 3 BTC
    r = desk.risk.size(INVERSE.key, entry=Decimal(50_000), stop=Decimal(40_000), account_id=ACCT)
    assert r.qty == Decimal(1200)  # 2 % of 3 BTC / 0.00005 BTC per contract


# ----------------------------------------------------------------------------- journal round trip


def test_risk_journal_round_trip(any_desk: DeskFactory) -> None:
    desk = any_desk()
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="44000")
    ok = desk.risk.check(order("0.01", "sell", intent_id="exit-1", source="governance:plan-1"))
    no = desk.risk.check(order("0.3", intent_id="entry-1"))
    assert ok.decision.approved and not no.decision.approved
    desk.risk.escalate(TradingState.HALTED, "manual", "ops: päuse — ünicode", by="ops")
    monitored = desk.risk.monitor()
    assert monitored.alerts
    desk.risk.reset("checked", by="alice")

    other = desk.reopen()
    stored = other.risk.decisions()
    assert stored == [ok.record, no.record]
    assert stored[1].value == no.decision.value  # floats survive the exact column
    assert other.risk.status().state is TradingState.ACTIVE
    assert [(c.new, c.reason) for c in other.risk.history()] == [
        (TradingState.HALTED, "ops: päuse — ünicode"),
        (TradingState.ACTIVE, "checked"),
    ]
    assert other.risk.alerts() == monitored.alerts
    assert other.risk.alerts()[0].level is AlertLevel.WARNING
