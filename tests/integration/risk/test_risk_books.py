"""Paper and real money are separate risk books (``domain.risk.books``): an order on a paper
account is checked against the accounts on the paper venue, a real order against every other
account; each book has its own equity (a paper deposit is not real equity), monitors and
kill-switch state (a paper drawdown does not halt real trading). A state stored for the whole
desk before the split applies to both books until each is reset."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from risk_service_kit import DAY, T0, Desk, order

from riskdesk.adapters.persistence.risk_repository import SqlRiskRepository
from riskdesk.bootstrap.risk_settings import LimitOverrides, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.errors import UnknownAccount
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.risk.books import PAPER, REAL
from riskdesk.domain.risk.decisions import Denied, RiskCode
from riskdesk.domain.risk.trading_state import StateChange, TradingState, TradingStatus

A, H = TradingState.ACTIVE, TradingState.HALTED
REAL_BTC = perpetual_or_future("BTC/USDT:USDT", "binance", tick_size="0.1", lot_size="0.001")
REAL_ACCT = "bn"


def _real_account(desk: Desk, btc: str = "0.7") -> None:
    """A real account: 100,000 USDT and a long of ``btc`` BTC at 50,000 (0.7: 35 % of equity)."""
    book = desk.rt.app.book
    book.register_instruments([REAL_BTC])
    book.register_account(Account(REAL_ACCT, "binance"))
    book.move_cash(REAL_ACCT, "USDT", Decimal(100_000), DAY - timedelta(days=1), "dep", "bn-1")
    book.apply_fills(
        [
            Fill.create(
                venue="binance",
                fill_id="bn-f1",
                account_id=REAL_ACCT,
                symbol=REAL_BTC.symbol,
                side="buy",
                qty=btc,
                price="50000",
                ts=T0 - timedelta(hours=2),
            )
        ]
    )
    book.record_prices({REAL_BTC.key: Decimal(50_000)}, {"BTC": Decimal(50_000)}, T0, "test")


def _real_order(qty: str, side: str = "buy") -> OrderIntent:
    return replace(order(qty, side), account_id=REAL_ACCT, venue="binance")


def test_each_book_has_its_own_equity(desk: Desk) -> None:
    _real_account(desk)
    desk.rt.app.book.move_cash("acct", "USDT", Decimal(10_000), T0, "paper deposit", "p-2")
    desk.marks(perp="50000")
    values = desk.risk.valuations()
    assert values[REAL].equity == 100_000.0  # the paper deposit is not real equity
    assert values[PAPER].equity == 110_000.0
    assert {v.account_id for v in values[REAL].positions} == {REAL_ACCT}
    assert values[PAPER].positions == []
    marks = desk.risk.equity_marks()
    assert marks["*real"].equity == Decimal(100_000)
    assert marks["*paper"].equity == Decimal(110_000)
    assert marks["*"].equity == Decimal(210_000)  # the desk as a whole is still marked


def test_a_paper_order_is_not_refused_for_the_real_positions(desk: Desk) -> None:
    """The walkthrough: a README paper order refused ``[concentration] BTC would be 35.18 %``
    because of the real positions."""
    strict = desk.reopen(
        Settings(
            risk=RiskSettings(
                limits=LimitOverrides(max_concentration=0.30, max_symbol_exposure="off")
            )
        )
    )
    _real_account(strict)
    desk.marks(perp="50000")
    paper = strict.risk.check(order("0.1")).decision  # 5,000 of BTC on 100,000 of paper equity
    assert paper.approved, paper
    real = strict.risk.check(_real_order("0.1")).decision
    assert isinstance(real, Denied)
    assert RiskCode.CONCENTRATION in {d.code for d in real.all}
    assert "BTC: gross exposure 40,000.00 would be 40.00 % of equity 100,000.00" in real.reason


def test_a_check_uses_the_book_of_the_order_whatever_book_is_passed(desk: Desk) -> None:
    _real_account(desk)
    desk.marks(perp="50000")
    paper_book = desk.risk.risk_book(scope=PAPER)
    assert paper_book.scope == PAPER and not paper_book.positions
    result = desk.risk.check(_real_order("0.5"), paper_book, what_if=True)
    assert isinstance(result.decision, Denied)  # judged on the real book: 60 % in BTC
    assert result.decision.code is RiskCode.SYMBOL_EXPOSURE


def test_a_paper_drawdown_halts_the_paper_book_only(desk: Desk) -> None:
    _real_account(desk)
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=2))
    desk.marks(perp="60000", at=T0 - timedelta(hours=1))
    desk.risk.revalue(T0 - timedelta(hours=1))  # the paper peak: 110,000
    desk.marks(perp="30000")  # paper equity 80,000: −27 %
    update = desk.risk.on_mark_update()
    assert update.of(PAPER).monitor.state.state is H
    assert update.of(PAPER).monitor.change is not None
    assert update.of(REAL).monitor.state.state is A
    assert update.primary == PAPER and update.monitor is update.of(PAPER).monitor
    assert desk.risk.status(PAPER).state is H
    assert desk.risk.status(REAL).state is A
    drawdown = [a for a in update.alerts if a.kind == "drawdown"]
    assert [a.key for a in drawdown] == ["paper:drawdown"]
    assert drawdown[0].message.startswith("paper book: equity is")
    # Real trading goes on; paper entries are refused.
    assert desk.risk.check(_real_order("0.001", "sell")).decision.approved
    refused = desk.risk.check(order("0.001")).decision
    assert isinstance(refused, Denied) and refused.code is RiskCode.TRADING_STATE


def test_state_history_and_reset_are_per_book(desk: Desk) -> None:
    desk.risk.escalate(H, "manual", "paper only", scope=PAPER)
    assert (desk.risk.status(PAPER).state, desk.risk.status(REAL).state) == (H, A)
    assert [c.new for c in desk.risk.history(PAPER)] == [H]
    assert desk.risk.history(REAL) == []
    desk.risk.reset("done", "ops", scope=PAPER)
    assert desk.risk.status(PAPER).state is A


def test_a_state_stored_before_the_split_applies_to_both_books(desk: Desk) -> None:
    """A database whose kill switch was tripped when the desk was one book (scope ``*``)."""
    with desk.rt.store() as uow:
        assert isinstance(uow.risk, SqlRiskRepository)
        uow.risk.set_status(
            "*",
            TradingStatus(H, T0, "drawdown", "old halt"),
            StateChange(A, H, T0, "drawdown", "old halt", "system"),
        )
        uow.commit()
    assert desk.risk.status(REAL).state is H and desk.risk.status(PAPER).state is H
    assert [c.reason for c in desk.risk.history(REAL)] == ["old halt"]
    desk.risk.reset("paper may resume", "ops", scope=PAPER)
    assert (desk.risk.status(PAPER).state, desk.risk.status(REAL).state) == (A, H)


def test_an_unknown_account_is_an_error_naming_it(desk: Desk) -> None:
    with pytest.raises(UnknownAccount) as err:
        desk.risk.check(order("0.01", account_id="nobody"))
    assert err.value.field == "account_id" and "known: acct" in err.value.reason
