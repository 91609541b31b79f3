"""Daily loss and drawdown in a fresh database with no snapshots taken by anyone: every mark
update records the day's baseline and the high-water mark, so the checks, the monitors and the
kill switch work; cash moved in or out is neither a gain nor a drawdown; the marks survive a
restart; margin usage at its block level moves trading to REDUCING; and the risk report counts
every realized reduction as a trade."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from risk_service_kit import ACCT, DAY, PERP, T0, Desk, DeskFactory, order

from riskdesk.domain.risk.decisions import Denied, RiskCode
from riskdesk.domain.risk.trading_state import TradingState


def _update(desk: Desk, **marks: str) -> TradingState:
    """A mark update as the engine and ``prices set`` do it."""
    desk.marks(**marks)
    return desk.risk.on_mark_update().monitor.state.state


def test_daily_loss_works_with_no_snapshot_taken(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    assert _update(desk, perp="50000") is TradingState.ACTIVE  # the day's baseline: 100,000
    summary = desk.rt.app.book.report().summary
    assert summary.daily_pnl == Decimal(0)  # `riskdesk summary` shows it too
    assert _update(desk, perp="44000") is TradingState.REDUCING
    (change,) = desk.risk.history()
    assert (change.trigger, change.reason) == (
        "daily_loss",
        "daily loss 6.00 % reached the limit 5 %",
    )
    # Reset by hand, the daily loss check itself still blocks new risk for the day.
    desk.risk.reset("checked the book", "alice")
    entry = desk.risk.check(order("0.01")).decision
    assert isinstance(entry, Denied) and entry.code is RiskCode.DAILY_LOSS
    assert "6.00 % of the day-start equity, limit 5.00 %" in entry.reason


def test_drawdown_works_with_no_snapshot_taken(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=2))
    _update(desk, perp="60000")  # 110,000: the peak
    desk.clock.advance(timedelta(days=1))  # a new day: the daily loss does not fire
    assert _update(desk, perp="38000") is TradingState.HALTED  # 88,000: 20 % below
    assert desk.risk.history()[-1].trigger == "drawdown"
    marks = desk.risk.equity_marks()["*"]
    assert (marks.peak, marks.equity) == (Decimal(110_000), Decimal(88_000))


def test_the_next_day_starts_from_the_last_equity_known(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    _update(desk, perp="47000")  # 97,000 at 12:00 on DAY
    desk.clock.advance(timedelta(days=1))
    _update(desk, perp="46000")  # 96,000 on DAY + 1
    book = desk.risk.risk_book()
    assert book.day_start_equity == pytest.approx(97_000.0)
    assert desk.rt.app.book.report().summary.daily_pnl == Decimal(-1000)
    with desk.rt.store() as uow:
        series = uow.snapshots.series("*")
    (snapshot,) = [s for s in series if s.ts == DAY + timedelta(days=1)]
    assert snapshot.total_equity == Decimal(97_000)
    assert snapshot.summary["kind"] == "day_start"


def test_a_withdrawal_is_not_a_drawdown_and_a_deposit_not_a_gain(desk: Desk) -> None:
    _update(desk, perp="50000")  # flat book, 100,000
    desk.rt.app.book.move_cash(ACCT, "USDT", Decimal(-60_000), desk.clock.now(), "withdraw", "w1")
    assert _update(desk, perp="50000") is TradingState.ACTIVE
    assert desk.risk.equity_marks()["*"].peak == Decimal(40_000)
    desk.rt.app.book.move_cash(ACCT, "USDT", Decimal(10_000), desk.clock.now(), "deposit", "d2")
    _update(desk, perp="50000")
    assert desk.risk.equity_marks()["*"].peak == Decimal(50_000)
    assert desk.risk.history() == []


def test_marks_survive_a_restart(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    _update(desk, perp="60000")
    again = desk.reopen()
    assert again.risk.risk_book().peak_equity == pytest.approx(110_000.0)
    assert again.risk.equity_marks().keys() == {"*", "*real", "*paper", ACCT}


def test_a_what_if_records_nothing(desk: Desk) -> None:
    desk.marks(perp="50000")
    desk.risk.check(order("0.01"), what_if=True)
    assert desk.risk.equity_marks() == {}
    desk.risk.check(order("0.01"))
    assert set(desk.risk.equity_marks()) == {"*", "*real", "*paper", ACCT}


def test_margin_usage_at_its_block_level_moves_trading_to_reducing(new_desk: DeskFactory) -> None:
    desk = new_desk(leverage="1")
    desk.fill("buy", "2", "50000", at=T0 - timedelta(hours=1))  # 100,000 of margin at 1x
    desk.marks(perp="50000")
    result = desk.risk.on_mark_update()
    assert result.monitor.state.state is TradingState.REDUCING
    change = result.monitor.change
    assert change is not None and change.trigger == "margin_block"
    assert "margin in use is 100.00 % of equity (alert at 100 %)" in change.reason
    assert desk.risk.check(order("1", "sell")).decision.approved
    entry = desk.risk.check(order("0.01")).decision
    assert isinstance(entry, Denied) and entry.code is RiskCode.TRADING_STATE


def test_the_report_counts_every_realized_reduction_as_a_trade(desk: Desk) -> None:
    desk.fill("buy", "2", "50000", at=T0 - timedelta(hours=3))
    desk.fill("sell", "0.5", "52000", at=T0 - timedelta(hours=2), fee="5")  # +1,000 − 5
    desk.fill("sell", "0.5", "49000", at=T0 - timedelta(hours=1))  # −500
    desk.marks(perp="49000")
    report = desk.risk.report("day", DAY.date())
    assert (report.trades, report.wins) == (2, 1)
    assert (report.largest_win, report.largest_loss) == (Decimal(995), Decimal(-500))
    assert report.win_rate == Decimal("0.5")


def test_the_day_report_ends_at_the_latest_revaluation(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    _update(desk, perp="50000")
    desk.clock.advance(timedelta(hours=1))
    _update(desk, perp="45000")
    report = desk.risk.report("day", DAY.date())
    assert (report.start_equity, report.end_equity) == (Decimal(100_000), Decimal(95_000))
    assert report.max_drawdown == Decimal("0.05")
    assert PERP.key.startswith("paper:")


def test_equity_marks_round_trip(any_desk: DeskFactory) -> None:
    """SQLite and PostgreSQL: exact decimals and the per-currency cash flows come back."""
    desk = any_desk()
    desk.rt.app.book.move_cash(ACCT, "BTC", Decimal("0.5"), DAY, "deposit", "btc")
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=1))
    _update(desk, perp="50000.5")
    marks = desk.risk.equity_marks()
    desk_mark = marks["*"]
    assert desk_mark.equity == Decimal("125000.75")  # 100,000 + 0.5 BTC + 0.5 of P&L
    assert dict(desk_mark.flows) == {"USDT": Decimal(100_000), "BTC": Decimal("0.5")}
    assert desk_mark.ts == T0 and desk_mark.peak == desk_mark.equity
