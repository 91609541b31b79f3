"""Worked examples of the position ledger through ``Book``: spot WAC, fees in quote/base/other
coins, inverse harmonic entries, partial close then add, flips, isolated margin, funding, hedge
mode, events, rehydration."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from domain_testkit import (
    ACCOUNT,
    CRYPTO_OPTION,
    EQUITY_OPTION,
    INVERSE,
    LINEAR,
    SPOT,
    T0,
    exact,
    funding,
    make_fill,
    new_book,
    state,
)

from riskdesk.domain.accounting.book import Book, PositionMode
from riskdesk.domain.accounting.position import TradeAction, position_id_for
from riskdesk.domain.events import (
    CashMoved,
    FillApplied,
    FundingApplied,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.values import ACCOUNTING_CONTEXT, LEDGER_QUANTUM, PositionSide

D = Decimal
Q = LEDGER_QUANTUM


def q(value: Decimal) -> Decimal:
    return value.quantize(Q, context=ACCOUNTING_CONTEXT)


def div(a: Decimal, b: Decimal) -> Decimal:
    return ACCOUNTING_CONTEXT.divide(a, b)


def realized(change: object) -> Decimal:
    return sum((t.realized_pnl for t in change.trades), D(0))  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ spot WAC


def test_spot_weighted_average_cost_seed_003() -> None:
    """WAC' = (Q·WAC + Qb·Pb)/(Q+Qb); realized = (Ps − WAC)·Qs; WAC unchanged by sells."""
    book = new_book({"USDT": 10_000})
    steps = [
        ("buy", "2", "100", D(100), D(0)),
        ("buy", "3", "110", D(106), D(0)),  # (2*100 + 3*110) / 5
        ("sell", "1", "120", D(106), D(14)),  # (120 - 106) * 1
        ("buy", "1", "100", D("104.8"), D(0)),  # (4*106 + 1*100) / 5
    ]
    for side, qty, price, wac, pnl in steps:
        change = book.apply_fill(make_fill(SPOT, side, qty, price), SPOT)
        position = book.position(SPOT.key)
        assert position is not None
        assert position.entry_price == wac
        assert realized(change) == pnl
    change = book.apply_fill(make_fill(SPOT, "sell", "5", "100"), SPOT)
    assert realized(change) == D(-24)  # (100 - 104.8) * 5
    assert book.position(SPOT.key) is None
    assert book.cash("USDT") == D(10_000 - 200 - 330 + 120 - 100 + 500)
    (closed,) = change.closed
    assert closed.realized_pnl == D(-10)
    assert closed.entry_qty == D(6)
    assert closed.entry_price == D(105)  # (200 + 330 + 100) / 6
    assert closed.exit_price == div(D(620), D(6)).quantize(D("1e-12"))
    assert closed.net_pnl == D(-10)
    assert closed.return_pct == (D(-1000) / D(630)).quantize(D("1e-6"))
    assert closed.direction == "long"


def test_spot_trade_records_and_events() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(SPOT, "buy", "1", "100"), SPOT)
    add = book.apply_fill(make_fill(SPOT, "buy", "1", "102"), SPOT)
    cut = book.apply_fill(make_fill(SPOT, "sell", "1", "105"), SPOT)
    end = book.apply_fill(make_fill(SPOT, "sell", "1", "99", fee="0.1"), SPOT)
    assert [t.action for t in add.trades + cut.trades + end.trades] == [
        TradeAction.ADD,
        TradeAction.REDUCE,
        TradeAction.CLOSE,
    ]
    assert [type(e) for e in add.events] == [FillApplied, PositionChanged]
    assert [type(e) for e in end.events] == [FillApplied, PositionClosed]
    changed = cut.events[1]
    assert isinstance(changed, PositionChanged)
    assert (changed.old_qty, changed.new_qty, changed.realized_pnl) == (D(2), D(1), D(4))
    payload = end.events[1].to_dict()
    assert payload["kind"] == PositionClosed.kind
    assert Decimal(str(payload["realized_pnl"])) == D(2)  # the position's life: 4 - 2
    assert end.trades[0].fee == D("0.1")
    assert end.cash == {"USDT": D("98.9")}


# ------------------------------------------------------------------------------ fees


def test_spot_fee_in_quote_moves_cash_not_entry() -> None:
    book = new_book({"USDT": 100_000})
    book.apply_fill(make_fill(SPOT, "buy", "1", "50000", fee="25"), SPOT)
    position = book.position(SPOT.key)
    assert position is not None
    assert position.entry_price == D(50000)
    assert position.fees == D(25)
    assert book.cash("USDT") == D(100_000 - 50_000 - 25)


def test_spot_fee_in_base_coin_reduces_quantity_and_raises_wac() -> None:
    book = new_book({"USDT": 100_000})
    book.apply_fill(make_fill(SPOT, "buy", "1", "50000", fee="0.001", fee_currency="BTC"), SPOT)
    position = book.position(SPOT.key)
    assert position is not None
    assert position.qty == D("0.999")
    assert position.basis == D(50000)
    assert position.entry_price == div(D(50000), D("0.999")).quantize(D("1e-12"))
    assert position.fees == 0
    assert book.cash("USDT") == D(50_000)
    assert "BTC" not in book.balances or book.cash("BTC") == 0

    # Selling with a base-coin fee gives up extra coin: 0.5005 BTC leave the position.
    change = book.apply_fill(
        make_fill(SPOT, "sell", "0.5", "60000", fee="0.0005", fee_currency="BTC"), SPOT
    )
    position = book.position(SPOT.key)
    assert position is not None
    assert position.qty == D("0.4985")
    assert book.cash("USDT") == D(80_000)
    expected = D(30_000) - D(50_000) * D("0.5005") / D("0.999")
    assert abs(realized(change) - expected) <= 2 * Q
    # Conservation: proceeds + remaining coin at the mark - cost, to the last digit.
    mark = D(61_000)
    total = exact(realized(change), position.unrealized_pnl(SPOT, mark))
    assert total == D(30_000) + D("0.4985") * mark - D(50_000)


def test_fee_in_a_third_currency_is_booked_to_that_balance() -> None:
    book = new_book({"USDT": 100_000, "BNB": 1})
    book.apply_fill(make_fill(SPOT, "buy", "1", "50000", fee="0.01", fee_currency="bnb"), SPOT)
    position = book.position(SPOT.key)
    assert position is not None
    assert (position.qty, position.fees) == (D(1), D(0))
    assert book.cash("BNB") == D("0.99")
    assert book.cash("USDT") == D(50_000)


def test_rebate_is_a_negative_fee() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100", fee="-0.02"), LINEAR)
    assert book.cash("USDT") == D("1000.02")
    position = book.position(LINEAR.key)
    assert position is not None
    assert position.fees == D("-0.02")


# ------------------------------------------------------------------------------ inverse


def test_inverse_entry_is_the_harmonic_mean() -> None:
    book = new_book({"BTC": 1})
    book.apply_fill(make_fill(INVERSE, "buy", "100", "50000"), INVERSE)
    book.apply_fill(make_fill(INVERSE, "buy", "300", "60000"), INVERSE)
    position = book.position(INVERSE.key)
    assert position is not None
    # Contract-weighted harmonic mean: 400 / (100/50000 + 300/60000) = 57142.857142857142...
    harmonic = div(D(400), D(100) / D(50000) + D(300) / D(60000))
    assert position.entry_price == harmonic.quantize(D("1e-12"))
    assert position.entry_price != D(57500)  # not the arithmetic mean
    # Partial close keeps the entry; realized in coin is q·cs·(1/E − 1/P).
    change = book.apply_fill(make_fill(INVERSE, "sell", "200", "64000"), INVERSE)
    after = book.position(INVERSE.key)
    assert after is not None
    assert after.entry_price == position.entry_price
    expected = D(2000) * (1 / harmonic - D(1) / D(64000))
    assert abs(realized(change) - expected) <= 2 * Q
    assert book.cash("BTC") == exact(D(1), realized(change))


def test_inverse_short_profits_in_coin_when_price_falls() -> None:
    book = new_book({"BTC": 1})
    book.apply_fill(make_fill(INVERSE, "sell", "1000", "50000"), INVERSE)
    position = book.position(INVERSE.key)
    assert position is not None
    upnl = position.unrealized_pnl(INVERSE, D(40000))
    assert upnl == D(10000) / D(40000) - D(10000) / D(50000)  # 0.25 - 0.2 = 0.05 BTC
    assert upnl == D("0.05")


# ------------------------------------------------------------------------------ partial close then add


def test_linear_partial_close_then_add() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "2", "100", fee="0.2"), LINEAR)
    r1 = book.apply_fill(make_fill(LINEAR, "sell", "1", "110", fee="0.1"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert (p.qty, p.entry_price, realized(r1)) == (D(1), D(100), D(10))
    book.apply_fill(make_fill(LINEAR, "buy", "1", "130", fee="0.1"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert (p.qty, p.entry_price) == (D(2), D(115))
    assert p.realized_pnl == D(10)
    assert p.fees == D("0.4")
    r2 = book.apply_fill(make_fill(LINEAR, "sell", "2", "120", fee="0.2"), LINEAR)
    assert realized(r2) == D(10)
    (closed,) = r2.closed
    assert (closed.realized_pnl, closed.fees, closed.net_pnl) == (D(20), D("0.6"), D("19.4"))
    # Margined: only realized P&L and fees touch the wallet.
    assert book.cash("USDT") == D("1019.4")


def test_short_partial_close_then_add() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "sell", "2", "100"), LINEAR)
    r1 = book.apply_fill(make_fill(LINEAR, "buy", "1", "90"), LINEAR)
    assert realized(r1) == D(10)
    book.apply_fill(make_fill(LINEAR, "sell", "1", "80"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert (p.qty, p.entry_price) == (D(-2), D(90))
    r2 = book.apply_fill(make_fill(LINEAR, "buy", "2", "85"), LINEAR)
    assert realized(r2) == D(10)
    assert r2.closed[0].direction == "short"
    assert book.cash("USDT") == D(1020)


def test_non_terminating_pro_rata_stays_exact_in_total() -> None:
    """Removing 1/3 of a basis rounds once; realized + remaining basis still add up exactly."""
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "buy", "2", "100.1"), LINEAR)
    change = book.apply_fill(make_fill(LINEAR, "sell", "1", "100.3"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert realized(change) == q(D("100.3") - div(D("300.2"), D(3)))
    # realized = exit - removed and basis = 300.2 - removed: the rounding cancels out.
    assert exact(realized(change), -p.basis) == D("100.3") - D("300.2")
    last = book.apply_fill(make_fill(LINEAR, "sell", "2", "100.3"), LINEAR)
    total = exact(realized(change), realized(last))
    assert total == D("300.9") - D("300.2")
    assert book.cash("USDT") == D("1000.7")


# ------------------------------------------------------------------------------ flips


def test_flip_through_zero_splits_fee_pro_rata_and_opens_new_position() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100", fee="0.1", fill_id="open"), LINEAR)
    change = book.apply_fill(
        make_fill(LINEAR, "sell", "3", "110", fee="0.3", fill_id="flip"), LINEAR
    )
    assert [t.action for t in change.trades] == [TradeAction.CLOSE, TradeAction.OPEN]
    assert [t.qty for t in change.trades] == [D(1), D(2)]
    assert [t.fee for t in change.trades] == [D("0.1"), D("0.2")]
    assert [type(e) for e in change.events] == [FillApplied, PositionClosed, PositionOpened]
    (closed,) = change.closed
    assert (closed.realized_pnl, closed.fees) == (D(10), D("0.2"))
    p = book.position(LINEAR.key)
    assert p is not None
    assert (p.qty, p.entry_price, p.fees, p.realized_pnl) == (D(-2), D(110), D("0.2"), D(0))
    assert p.position_id == position_id_for(ACCOUNT, LINEAR.key, PositionSide.NET, "paper:flip")
    assert p.position_id != closed.position_id
    assert book.cash("USDT") == D("1009.6")


def test_options_can_be_sold_short_and_flip() -> None:
    book = new_book({"USD": 10_000})
    book.apply_fill(make_fill(EQUITY_OPTION, "sell", "2", "3.10"), EQUITY_OPTION)
    assert book.cash("USD") == D(10_620)  # premium received: 2 x 100 x 3.10
    p = book.position(EQUITY_OPTION.key)
    assert p is not None
    assert p.qty == -2
    assert p.unrealized_pnl(EQUITY_OPTION, D("1.00")) == D(420)
    change = book.apply_fill(make_fill(EQUITY_OPTION, "buy", "3", "1.00"), EQUITY_OPTION)
    assert realized(change) == D(420)
    assert book.cash("USD") == D(10_320)
    p = book.position(EQUITY_OPTION.key)
    assert p is not None
    assert p.qty == 1


def test_coin_option_premium_moves_coin() -> None:
    book = new_book({"BTC": 1})
    book.apply_fill(make_fill(CRYPTO_OPTION, "buy", "0.5", "0.0125", fee="0.00015"), CRYPTO_OPTION)
    assert book.cash("BTC") == D(1) - D("0.00625") - D("0.00015")
    change = book.apply_fill(make_fill(CRYPTO_OPTION, "sell", "0.5", "0.02"), CRYPTO_OPTION)
    assert realized(change) == D("0.00375")
    assert book.cash("BTC") == D("1.0036")


# ------------------------------------------------------------------------------ isolated margin


def test_isolated_margin_assigned_added_and_released_pro_rata() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(
        make_fill(LINEAR, "buy", "2", "100", leverage=10, margin_mode=MarginMode.ISOLATED), LINEAR
    )
    p = book.position(LINEAR.key)
    assert p is not None
    assert (p.margin_mode, p.leverage, p.isolated_margin) == (MarginMode.ISOLATED, D(10), D(20))
    book.apply_fill(make_fill(LINEAR, "sell", "0.5", "120"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert p.isolated_margin == D(15)  # a quarter released
    book.apply_fill(make_fill(LINEAR, "buy", "1", "200"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert p.isolated_margin == D(
        35
    )  # + 200 / 10 at the add's own price and the position's leverage
    assert book.cash("USDT") == D(1010)  # margin is an allocation, not a cash movement
    change = book.apply_fill(make_fill(LINEAR, "sell", "2.5", "150"), LINEAR)
    assert book.position(LINEAR.key) is None
    assert realized(change) == D("2.5") * (D(150) - D(140))
    assert change.closed[0].realized_pnl == D(10) + D(25)


def test_isolated_margin_non_terminating_release() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(
        make_fill(LINEAR, "sell", "3", "100", leverage=7, margin_mode="isolated"), LINEAR
    )
    p = book.position(LINEAR.key)
    assert p is not None
    assert p.isolated_margin == q(div(D(300), D(7)))
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100"), LINEAR)
    after = book.position(LINEAR.key)
    assert after is not None
    released = p.isolated_margin - after.isolated_margin
    assert released == q(div(p.isolated_margin, D(3)))


def test_premium_instruments_never_carry_isolated_margin() -> None:
    book = new_book({"USDT": 100_000}, margin_mode=MarginMode.ISOLATED, leverage=5)
    book.apply_fill(make_fill(SPOT, "buy", "1", "100", leverage=5, margin_mode="isolated"), SPOT)
    p = book.position(SPOT.key)
    assert p is not None
    assert (p.isolated_margin, p.leverage, p.margin_mode) == (D(0), D(1), MarginMode.CROSS)


def test_account_defaults_apply_when_fill_has_none() -> None:
    book = new_book({"USDT": 1000}, margin_mode=MarginMode.ISOLATED, leverage=20)
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert (p.margin_mode, p.leverage, p.isolated_margin) == (MarginMode.ISOLATED, D(20), D(5))


# ------------------------------------------------------------------------------ funding


@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [
        ("buy", "0.0001", D(-10)),  # positive rate: longs pay
        ("sell", "0.0001", D(10)),  # ... shorts receive
        ("buy", "-0.0002", D(20)),  # negative rate: longs receive
        ("sell", "-0.0002", D(-20)),  # ... shorts pay
    ],
)
def test_funding_sign_linear(side: str, rate: str, expected: Decimal) -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, side, "2", "49000"), LINEAR)
    change = book.apply_funding(funding(LINEAR, rate, "50000"), LINEAR)
    assert change.cash == {"USDT": expected}
    assert book.cash("USDT") == 1000 + expected
    p = book.position(LINEAR.key)
    assert p is not None
    assert p.funding == expected
    (event,) = change.events
    assert isinstance(event, FundingApplied)
    assert (event.amount, event.currency) == (expected, "USDT")


def test_funding_inverse_in_coin_and_accumulates() -> None:
    book = new_book({"BTC": 1})
    book.apply_fill(make_fill(INVERSE, "buy", "100", "50000"), INVERSE)
    book.apply_funding(funding(INVERSE, "0.0001", "50000"), INVERSE)
    book.apply_funding(funding(INVERSE, "0.0001", "40000", ts=T0 + timedelta(hours=16)), INVERSE)
    p = book.position(INVERSE.key)
    assert p is not None
    # 1000 USD / mark * rate, paid by the long
    assert p.funding == -(D("0.000002") + D("0.0000025"))
    assert book.cash("BTC") == D(1) + p.funding
    # Closing carries funding into the closed record and the net P&L.
    change = book.apply_fill(make_fill(INVERSE, "sell", "100", "50000"), INVERSE)
    (closed,) = change.closed
    assert closed.funding == p.funding
    assert closed.net_pnl == closed.realized_pnl - closed.fees + closed.funding


def test_funding_replay_and_no_position_and_dated_future() -> None:
    book = new_book({"USDT": 1000})
    payment = funding(LINEAR, "0.0001", "100")
    empty = book.apply_funding(payment, LINEAR)
    assert (empty.cash, empty.events, empty.duplicate) == ({}, [], False)
    assert book.cash("USDT") == 1000
    assert payment.key in book.applied
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100"), LINEAR)
    later = funding(LINEAR, "0.0001", "100", ts=T0 + timedelta(hours=16))
    book.apply_funding(later, LINEAR)
    before = state(book)
    assert book.apply_funding(later, LINEAR).duplicate
    assert state(book) == before
    fut = perpetual_or_future("BTC/USDT:USDT-251226", "paper", tick_size="0.1", lot_size="0.001")
    book.apply_fill(make_fill(fut, "buy", "1", "100"), fut)
    change = book.apply_funding(funding(fut, "0.01", "100"), fut)
    assert change.cash == {}


def test_hedge_mode_funding_hits_only_its_slot() -> None:
    book = new_book({"USDT": 1000}, mode=PositionMode.HEDGE)
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100", position_side="long"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "sell", "3", "100", position_side="short"), LINEAR)
    book.apply_funding(funding(LINEAR, "0.01", "100", position_side="short"), LINEAR)
    long = book.position(LINEAR.key, PositionSide.LONG)
    short = book.position(LINEAR.key, PositionSide.SHORT)
    assert long is not None
    assert short is not None
    assert (long.funding, short.funding) == (D(0), D(3))
    assert book.cash("USDT") == D(1003)


# ------------------------------------------------------------------------------ hedge mode


def test_hedge_mode_keeps_long_and_short_apart() -> None:
    book = new_book({"USDT": 1000}, mode=PositionMode.HEDGE)
    book.apply_fill(make_fill(LINEAR, "buy", "2", "100", position_side="long"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "sell", "1", "105", position_side="short"), LINEAR)
    long = book.position(LINEAR.key, PositionSide.LONG)
    short = book.position(LINEAR.key, PositionSide.SHORT)
    assert long is not None
    assert short is not None
    assert (long.qty, short.qty) == (D(2), D(-1))
    assert book.position(LINEAR.key) is None  # no NET slot
    # Selling on the LONG side reduces the long; buying on the SHORT side reduces the short.
    r = book.apply_fill(make_fill(LINEAR, "sell", "1", "110", position_side="long"), LINEAR)
    assert realized(r) == D(10)
    r = book.apply_fill(make_fill(LINEAR, "buy", "1", "100", position_side="short"), LINEAR)
    assert realized(r) == D(5)
    assert book.position(LINEAR.key, PositionSide.SHORT) is None
    left = book.position(LINEAR.key, PositionSide.LONG)
    assert left is not None
    assert left.qty == 1
    assert book.cash("USDT") == D(1015)


def test_hedge_account_trades_spot_as_net() -> None:
    book = new_book({"USDT": 1000}, mode=PositionMode.HEDGE)
    book.apply_fill(make_fill(SPOT, "buy", "1", "100"), SPOT)
    assert book.position(SPOT.key, PositionSide.NET) is not None


# ------------------------------------------------------------------------------ idempotency, cash, rehydration


def test_same_fill_id_is_a_duplicate_even_with_other_content() -> None:
    book = new_book({"USDT": 1000})
    first = book.apply_fill(make_fill(LINEAR, "buy", "1", "100", fill_id="x1"), LINEAR)
    assert not first.duplicate
    before = state(book)
    again = book.apply_fill(make_fill(LINEAR, "sell", "5", "1", fill_id="x1"), LINEAR)
    assert again.duplicate
    assert (again.events, again.cash, again.trades) == ([], {}, [])
    assert state(book) == before


def test_move_cash_deposit_withdraw_and_replay() -> None:
    book = new_book()
    change = book.move_cash("USDT", D(500), T0, "deposit", ("bank", "d1"))
    assert isinstance(change.events[0], CashMoved)
    book.move_cash("USDT", D(-200), T0, "withdrawal", ("bank", "w1"))
    assert book.cash("USDT") == D(300)
    assert book.move_cash("USDT", D(-200), T0, "withdrawal", ("bank", "w1")).duplicate
    assert book.cash("USDT") == D(300)
    book.move_cash("USDT", D(-300), T0, "withdrawal", ("bank", "w2"))
    assert book.cash("USDT") == 0


def test_rehydrated_book_continues_identically() -> None:
    fills = [
        make_fill(LINEAR, "buy", "2", "100", fee="0.1"),
        make_fill(LINEAR, "sell", "1", "107", fee="0.1"),
        make_fill(INVERSE, "sell", "30", "61000"),
        make_fill(SPOT, "buy", "0.5", "60000", fee="3"),
        make_fill(LINEAR, "sell", "4", "103", fee="0.4"),
        make_fill(INVERSE, "buy", "50", "59000"),
    ]
    insts = {
        f.fill_id: {LINEAR.symbol: LINEAR, INVERSE.symbol: INVERSE, SPOT.symbol: SPOT}[f.symbol]
        for f in fills
    }
    direct = new_book({"USDT": 100_000, "BTC": 1})
    for f in fills:
        direct.apply_fill(f, insts[f.fill_id])
    half = new_book({"USDT": 100_000, "BTC": 1})
    for f in fills[:3]:
        half.apply_fill(f, insts[f.fill_id])
    restored = Book(half.account, half.balances, half.open_positions(), half.applied)
    for f in fills:  # the first three are recognised as already applied
        restored.apply_fill(f, insts[f.fill_id])
    assert state(restored) == state(direct)


def test_set_stop_records_level_and_rejects_unknown_slot() -> None:
    book = new_book({"USDT": 1000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100"), LINEAR)
    updated = book.set_stop(LINEAR.key, PositionSide.NET, D(95))
    assert updated.stop_price == D(95)
    p = book.position(LINEAR.key)
    assert p is not None
    assert p.stop_price == D(95)
    # A later fill keeps the stop on the position.
    book.apply_fill(make_fill(LINEAR, "buy", "1", "102"), LINEAR)
    p = book.position(LINEAR.key)
    assert p is not None
    assert p.stop_price == D(95)


# ------------------------------------------------------------------------------ precision limits


def test_large_wallet_stays_exact() -> None:
    initial = D(10) ** 10
    book = new_book({"USDT": initial})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "100"), LINEAR)
    book.apply_fill(make_fill(LINEAR, "buy", "2", "100.1"), LINEAR)
    change = book.apply_fill(make_fill(LINEAR, "sell", "1", "100.3"), LINEAR)
    removed = (D("300.2") / 3).quantize(LEDGER_QUANTUM)
    assert realized(change) == D("100.3") - removed
    assert book.cash("USDT") == initial + D("100.3") - removed


def test_single_inverse_fill_entry_is_the_fill_price() -> None:
    book = new_book({"BTC": 1})
    book.apply_fill(make_fill(INVERSE, "sell", "1", "40018.5"), INVERSE)
    p = book.position(INVERSE.key)
    assert p is not None
    assert p.entry_price == D("40018.5")
