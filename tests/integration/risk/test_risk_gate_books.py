"""The engine's risk gate (``ServiceRiskGate``) on a desk split into a paper and a real book:
an order is checked against the book of its account, and what the gate approves is counted as
working in that same book (the next order of the account sees it), never in the other one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from risk_service_kit import DAY, T0, Desk, order

from riskdesk.application.engine import ServiceRiskGate
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.risk.books import PAPER, REAL
from riskdesk.domain.risk.decisions import Denied, RiskCode

REAL_BTC = perpetual_or_future("BTC/USDT:USDT", "binance", tick_size="0.1", lot_size="0.001")
REAL_ACCT = "bn"


def _real_account(desk: Desk) -> None:
    """A real account on Binance: 100,000 USDT and a token 0.001 BTC long (so it is marked)."""
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
                qty="0.001",
                price="50000",
                ts=T0 - timedelta(hours=2),
            )
        ]
    )
    book.record_prices({REAL_BTC.key: Decimal(50_000)}, {"BTC": Decimal(50_000)}, T0, "test")


def _real_order(qty: str, intent_id: str) -> OrderIntent:
    return replace(order(qty, intent_id=intent_id), account_id=REAL_ACCT, venue="binance")


def test_a_real_order_approved_by_the_gate_counts_in_the_real_book(desk: Desk) -> None:
    _real_account(desk)
    desk.marks(perp="50000")
    update = desk.risk.on_mark_update()
    assert update.book.scope == PAPER
    gate = ServiceRiskGate(desk.risk)
    gate.adopt(update.book, update.of(REAL).book)
    # 0.3 BTC = 15,000 of BTC on 100,000 of real equity: within the 20 % per-symbol limit.
    assert gate.check(_real_order("0.3", "r1"), T0).approved
    real = desk.risk.live_book(scope=REAL)
    # The approval is working in the real book, and not in the paper book.
    assert len(real.pending) == 1 and update.book.pending == {}
    # A second 0.3 BTC would make 30 % with the first one working: refused.
    second = gate.check(_real_order("0.3", "r2"), T0)
    assert isinstance(second, Denied)
    assert RiskCode.SYMBOL_EXPOSURE in {d.code for d in second.all}
    # A paper order is still judged on the paper book alone (it never meets the real orders).
    assert gate.check(order("0.3", intent_id="p1"), T0).approved
    assert len(update.book.pending) == 1


def test_without_an_adopted_book_the_gate_takes_the_books_live_one(desk: Desk) -> None:
    _real_account(desk)
    desk.marks(perp="50000")
    gate = ServiceRiskGate(desk.risk)
    assert gate.check(_real_order("0.3", "r1"), T0).approved
    assert len(desk.risk.live_book(scope=REAL).pending) == 1
    assert desk.risk.live_book(scope=PAPER).pending == {}
    assert isinstance(gate.check(_real_order("0.3", "r2"), T0), Denied)
