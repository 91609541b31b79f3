"""RiskService.check over a real SQLite store: the risk book built from the ledger at stored
marks, every decision journaled (approved and denied), what-if journals nothing, and the
counters that come from the journal and the fills."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from risk_service_kit import ACCT, DAY, ETH, PERP, SPOT, T0, VENUE, Desk, DeskFactory, order

from riskdesk.application.risk_service import decision_dict
from riskdesk.bootstrap.risk_settings import LimitOverrides, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.accounting.book import Account, PositionMode
from riskdesk.domain.errors import UnknownInstrument
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import equity_option
from riskdesk.domain.orders import OrderType
from riskdesk.domain.risk.decisions import Approved, Denied, RiskCode
from riskdesk.domain.risk.trading_state import TradingState


def _long_btc(desk: Desk, qty: str = "1") -> None:
    desk.fill("buy", qty, "50000", at=T0 - timedelta(hours=1))
    desk.marks(perp="50000")


def test_risk_book_is_built_from_the_ledger_at_stored_marks(desk: Desk) -> None:
    _long_btc(desk)
    rb = desk.risk.risk_book()
    assert rb.as_of == T0
    assert rb.equity == 100_000.0
    assert rb.state is TradingState.ACTIVE
    assert rb.count == 1
    assert rb.positions == {(ACCT, PERP.key, "net"): 1.0}
    assert rb.symbol_exposure[PERP.key] == 50_000.0
    assert (rb.gross, rb.long, rb.short) == (50_000.0, 50_000.0, 0.0)
    assert rb.asset_delta["BTC"] == 50_000.0
    assert rb.delta_total == 50_000.0
    assert rb.available[(ACCT, "USDT")] == 50_000.0  # cross: balance − margin at 1x
    assert rb.account_leverage == {ACCT: 1.0}
    assert rb.margin_used == 50_000.0
    assert rb.scenario_sum is not None
    assert float(rb.scenario_sum.min()) == pytest.approx(-15_000.0)  # −30 % spot shock
    inst = rb.instruments[PERP.key]
    assert (inst.mark, inst.mark_ts, inst.margined) == (50_000.0, T0, True)
    assert ETH.key not in rb.instruments  # no mark: not measurable


def test_every_check_is_journaled_what_if_is_not(desk: Desk) -> None:
    desk.marks(perp="50000")
    ok = desk.risk.check(order("0.1", intent_id="ok-1"))
    assert isinstance(ok.decision, Approved)
    assert ok.record is not None and ok.record.outcome == "approved"
    bad = desk.risk.check(order("1", intent_id="bad-1"))  # 50 % of equity
    assert isinstance(bad.decision, Denied)
    assert bad.decision.code is RiskCode.SYMBOL_EXPOSURE
    preview = desk.risk.check(order("1", intent_id="what-if-1"), what_if=True)
    assert preview.record is None
    assert isinstance(preview.decision, Denied)
    desk.risk.check(order("0.1", intent_id="what-if-2"), what_if=True)

    stored = desk.risk.decisions()
    assert [(r.intent_id, r.outcome, r.code) for r in stored] == [
        ("ok-1", "approved", "approved"),
        ("bad-1", "denied", "symbol_exposure"),
    ]
    approved, denied = stored
    assert approved.ts == T0 and approved.qty == Decimal("0.1") and approved.side == "buy"
    assert (approved.venue, approved.symbol, approved.account_id) == (VENUE, PERP.symbol, ACCT)
    assert "no protective stop" in approved.reason
    assert denied.reason == bad.decision.reason
    assert denied.suggestion == bad.decision.suggestion
    assert (denied.value, denied.limit, denied.severity) == (0.5, 0.2, "critical")
    assert denied.details == tuple(d.to_dict() for d in bad.decision.all)
    assert [r.intent_id for r in desk.risk.decisions(outcome="denied")] == ["bad-1"]
    assert desk.risk.decisions(since=T0 + timedelta(seconds=1)) == []


def test_non_critical_denials_are_all_journaled(new_desk: DeskFactory) -> None:
    settings = Settings(
        risk=RiskSettings(limits=LimitOverrides(max_order_notional=1000.0, max_positions=0))
    )
    desk = new_desk(settings=settings)
    desk.marks(perp="50000")
    result = desk.risk.check(order("0.1"))
    assert isinstance(result.decision, Denied)
    assert [d.code for d in result.decision.all] == [
        RiskCode.MAX_POSITIONS,
        RiskCode.ORDER_NOTIONAL,
    ]
    (stored,) = desk.risk.decisions()
    assert [d["code"] for d in stored.details] == ["max_positions", "order_notional"]
    assert decision_dict(result.decision)["all"] == list(stored.details)


def test_instrument_without_a_mark_is_denied_no_mark(desk: Desk) -> None:
    desk.marks(perp="50000")
    result = desk.risk.check(order("1", symbol=ETH.symbol))
    assert isinstance(result.decision, Denied)
    assert result.decision.code is RiskCode.NO_MARK
    assert desk.risk.decisions()[0].code == "no_mark"


def test_unknown_instrument_is_an_error_and_journals_nothing(desk: Desk) -> None:
    with pytest.raises(UnknownInstrument):
        desk.risk.check(order("1", symbol="SOL/USDT:USDT"))
    assert desk.risk.decisions() == []


def test_persisted_trading_state_gates_entries_not_exits(desk: Desk) -> None:
    _long_btc(desk, "0.1")
    desk.risk.escalate(TradingState.REDUCING, "manual", "ops reduce", by="alice")
    entry = desk.risk.check(order("0.01")).decision
    assert isinstance(entry, Denied) and entry.code is RiskCode.TRADING_STATE
    assert "trading is reducing" in entry.reason
    assert isinstance(desk.risk.check(order("0.1", "sell", reduce_only=True)).decision, Approved)
    assert [r.outcome for r in desk.risk.decisions()] == ["denied", "approved"]


def test_persisted_halt_refuses_exits_but_not_the_protective_stop(desk: Desk) -> None:
    _long_btc(desk, "0.1")
    desk.risk.escalate(TradingState.HALTED, "manual", "ops halt", by="alice")
    exit_ = desk.risk.check(order("0.1", "sell", reduce_only=True)).decision
    assert isinstance(exit_, Denied) and exit_.code is RiskCode.TRADING_STATE
    assert "trading is halted" in exit_.reason
    stop = order(
        "0.1",
        "sell",
        reduce_only=True,
        order_type=OrderType.STOP_MARKET,
        stop_price="45000",
        source="protection",
    )
    assert isinstance(desk.risk.check(stop).decision, Approved)


def test_exits_pass_when_the_book_breaches_loss_and_exposure_limits(desk: Desk) -> None:
    desk.snapshot(DAY)
    _long_btc(desk)  # 50 % of equity in one symbol
    desk.marks(perp="42000")  # −8 % today
    entry = desk.risk.check(order("0.01")).decision
    assert isinstance(entry, Denied) and entry.code is RiskCode.DAILY_LOSS
    assert "8.00 % of the day-start equity, limit 5.00 %" in entry.reason
    assert isinstance(desk.risk.check(order("0.5", "sell")).decision, Approved)


def test_adjustments_are_counted_from_the_journal(desk: Desk) -> None:
    desk.marks(perp="50000")
    # Yesterday's adjustment does not count today.
    desk.risk.check(order("0.01", source="hedge"), now=DAY - timedelta(hours=1))
    assert desk.risk.risk_book(T0).adjustments_today == 0
    first = desk.risk.check(order("0.01", source="hedge:plan-1"))
    assert isinstance(first.decision, Approved)
    desk.risk.check(order("1", source="hedge"))  # denied: not an adjustment made
    desk.risk.check(order("0.01", source="manual"))
    rb = desk.risk.risk_book(T0 + timedelta(seconds=30))
    assert rb.adjustments_today == 1
    assert rb.last_adjustment == {"BTC": T0}
    desk.clock.advance(timedelta(seconds=30))
    again = desk.risk.check(order("0.01", source="hedge")).decision
    assert isinstance(again, Denied) and again.code is RiskCode.ADJUSTMENT_INTERVAL
    assert again.reason == "last BTC adjustment 30 s ago, minimum 300 s"  # seed 001
    desk.clock.advance(timedelta(seconds=271))
    desk.marks(perp="50000")  # keep the mark fresh (stale after 300 s)
    assert isinstance(desk.risk.check(order("0.01", source="hedge")).decision, Approved)
    assert desk.risk.risk_book(desk.clock.now()).adjustments_today == 2


def test_cost_today_comes_from_todays_adjustment_fees(desk: Desk) -> None:
    """Seed 001 limits the cost of adjustments: today's fees of the fills of orders approved
    as adjustments (matched by client order id), not yesterday's nor a manual order's."""
    desk.marks(perp="50000")
    hedge = order("0.1", source="hedge", intent_id="adj-1")
    assert isinstance(desk.risk.check(hedge).decision, Approved)
    manual = order("0.1", intent_id="man-1")
    assert isinstance(desk.risk.check(manual).decision, Approved)
    for fill_id, intent, at, fee in (
        ("y", hedge, DAY - timedelta(hours=2), "7"),
        ("a", hedge, T0 + timedelta(minutes=1), "30"),
        ("b", hedge, T0 + timedelta(minutes=2), "12.5"),
        ("m", manual, T0 + timedelta(minutes=3), "99"),
    ):
        desk.rt.app.book.apply_fills(
            [
                Fill.create(
                    venue=VENUE,
                    fill_id=f"cost-{fill_id}",
                    account_id=ACCT,
                    symbol=PERP.symbol,
                    side="buy",
                    qty="0.01",
                    price="50000",
                    ts=at,
                    fee=fee,
                    fee_currency="USDT",
                    order_id=intent.client_order_id,
                )
            ]
        )
    assert desk.risk.risk_book(T0 + timedelta(minutes=5)).cost_today == pytest.approx(42.5)


def test_position_without_a_stored_mark_is_not_treated_as_fresh(desk: Desk) -> None:
    desk.fill("buy", "1", "2000", symbol=ETH.symbol, at=T0 - timedelta(hours=3))
    desk.marks(perp="50000")
    decision = desk.risk.check(order("1", symbol=ETH.symbol)).decision
    assert isinstance(decision, Denied)
    assert decision.code in (RiskCode.NO_MARK, RiskCode.STALE_DATA)


def test_what_if_does_not_spend_the_order_rate(new_desk: DeskFactory) -> None:
    settings = Settings(
        risk=RiskSettings(limits=LimitOverrides(orders_per_second=0.001, order_burst=2))
    )
    desk = new_desk(settings=settings)
    desk.marks(perp="50000")
    for _ in range(3):
        assert isinstance(desk.risk.check(order("0.01"), what_if=True).decision, Approved)
    assert isinstance(desk.risk.check(order("0.01")).decision, Approved)


def test_rate_limit_denies_real_orders_beyond_the_burst(new_desk: DeskFactory) -> None:
    settings = Settings(
        risk=RiskSettings(limits=LimitOverrides(orders_per_second=0.5, order_burst=2))
    )
    desk = new_desk(settings=settings)
    desk.marks(perp="50000", spot="50000")
    outcomes = [desk.risk.check(order("0.01")).decision for _ in range(3)]
    assert [d.approved for d in outcomes] == [True, True, False]
    third = outcomes[2]
    assert isinstance(third, Denied) and third.code is RiskCode.RATE_LIMIT
    assert third.suggestion == "retry in 2.00 s"
    desk.clock.advance(timedelta(seconds=2))
    assert desk.risk.check(order("0.01", symbol=SPOT.symbol)).decision.approved
    assert [r.code for r in desk.risk.decisions()][-2:] == ["rate_limit", "approved"]


def test_option_greeks_and_hedge_mode_slots_reach_the_risk_book(desk: Desk) -> None:
    put = equity_option("TSLA250919P00390000", VENUE)
    book = desk.rt.app.book
    book.register_instruments([put])
    book.register_account(Account("us", VENUE))
    book.register_account(Account("hedge", VENUE, position_mode=PositionMode.HEDGE))
    before = DAY - timedelta(days=1)
    book.move_cash("us", "USD", Decimal(100_000), before, "deposit", "d-us")
    book.move_cash("hedge", "USDT", Decimal(100_000), before, "deposit", "d-hedge")
    desk.fill("sell", "2", "20", symbol=put.symbol, account="us", at=T0 - timedelta(hours=1))
    desk.fill(
        "buy", "0.1", "50000", account="hedge", at=T0 - timedelta(hours=1), position_side="long"
    )
    book.record_prices(
        {put.key: Decimal(20), PERP.key: Decimal(50_000)},
        {"TSLA": Decimal(400), "BTC": Decimal(50_000)},
        T0,
        "test",
    )
    rb = desk.risk.risk_book()
    inst = rb.instruments[put.key]
    assert inst.is_option and inst.asset == "TSLA"
    assert -0.5 * 100 * 400 < inst.delta_per_unit < 0  # a put's dollar delta per contract
    assert inst.gamma_per_unit > 0 and inst.vega_per_unit > 0
    assert inst.exposure_per_unit == inst.delta_per_unit
    assert inst.notional_per_unit == 100 * 400
    assert inst.margin_per_unit == 2000.0  # the premium of one contract
    assert inst.short_margin_per_unit > inst.margin_per_unit
    # Short 2 puts: long delta, short gamma and vega.
    assert rb.asset_delta["TSLA"] == pytest.approx(-2 * inst.delta_per_unit)
    assert rb.asset_gamma["TSLA"] == pytest.approx(-2 * inst.gamma_per_unit)
    assert rb.asset_vega["TSLA"] == pytest.approx(-2 * inst.vega_per_unit)
    grid = rb.scenario["TSLA"]
    assert float(grid.min()) < 0 and float(grid.min()) == float(grid[0].min())  # worst: spot down
    assert rb.positions[("hedge", PERP.key, "long")] == 0.1
    exit_long = order("0.1", "sell", account_id="hedge", reduce_only=True, position_side="long")
    assert isinstance(desk.risk.check(exit_long).decision, Approved)
    wrong_slot = order("0.1", "buy", account_id="hedge", reduce_only=True, position_side="short")
    denied = desk.risk.check(wrong_slot).decision
    assert isinstance(denied, Denied) and denied.code is RiskCode.REDUCE_ONLY
    short_more = desk.risk.check(order("10", "sell", symbol=put.symbol, account_id="us")).decision
    assert isinstance(short_more, Denied) and short_more.code is RiskCode.INSUFFICIENT_MARGIN
    assert "USD of margin and fees" in short_more.reason
