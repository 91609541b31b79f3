"""Edge numbers are bounded and on the grid: absurd prices, quantities and amounts are refused
where they enter (naming the field), quantities must be whole lots, prices may be off the tick
(venue facts) but never unrepresentable, and ``1_000`` is not a number."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from domain_testkit import INVERSE, LINEAR, SPOT, T0, make_fill, new_book, state

from riskdesk.domain.errors import InvalidValue, OffGrid, ValidationError
from riskdesk.domain.fills import Fill, FundingPayment
from riskdesk.domain.values import (
    MAX_AMOUNT,
    MAX_NOTIONAL,
    MAX_PRICE,
    MAX_QTY,
    MIN_PRICE,
    PRICE_QUANTUM,
    amount_value,
    price_value,
    qty_value,
    significant_digits,
    to_decimal,
)

D = Decimal


def fill(**overrides: Any) -> Fill:
    data: dict[str, Any] = {
        "venue": "paper",
        "fill_id": "1",
        "account_id": "acct-1",
        "symbol": "BTC/USDT:USDT",
        "side": "buy",
        "qty": "1",
        "price": "100",
        "ts": T0,
    }
    data.update(overrides)
    return Fill.create(**data)


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"qty": "1e30"}, "qty", "above the largest accepted quantity 10000000000000"),
        ({"price": "1e50"}, "price", "above the largest accepted price 1000000000000"),
        ({"price": "1e999999"}, "price", "above the largest accepted price"),
        ({"price": "0.0000000000001"}, "price", "below the smallest accepted price 0.000000001"),
        ({"fee": "1e16"}, "fee", "beyond the largest accepted amount"),
        ({"fee": "-1e16"}, "fee", "beyond the largest accepted amount"),
        ({"fee": "0.1" + "0" * 30 + "1"}, "fee", "more decimals than the ledger keeps"),
        ({"qty": "1." + "1" * 30}, "qty", "more than 24 significant digits"),
        ({"qty": "1_000"}, "qty", "no '_' separators"),
        ({"price": "5_000.5"}, "price", "no '_' separators"),
        ({"leverage": "1001"}, "leverage", "at most 1000"),
    ],
)
def test_fill_create_refuses_out_of_bounds_numbers(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidValue) as info:
        fill(**overrides)
    assert info.value.field == field
    assert reason in info.value.reason


def test_bounds_themselves_are_accepted() -> None:
    assert fill(qty=MAX_QTY, price="1").qty == MAX_QTY
    assert fill(price=MAX_PRICE).price == MAX_PRICE
    assert fill(price=MIN_PRICE).price == MIN_PRICE
    assert fill(fee=MAX_AMOUNT).fee == MAX_AMOUNT
    assert fill(fee="0.0000000000000000000000000001").fee == D("1e-28")


def test_smallest_price_keeps_four_digits_of_an_average_entry() -> None:
    assert MIN_PRICE / PRICE_QUANTUM == 1000


def test_funding_rate_and_mark_are_bounded() -> None:
    base = {"venue": "paper", "account_id": "a", "symbol": "BTC/USDT:USDT", "ts": T0}
    with pytest.raises(InvalidValue) as info:
        FundingPayment.create(rate="2", mark_price="100", **base)
    assert info.value.field == "rate"
    with pytest.raises(InvalidValue) as info:
        FundingPayment.create(rate="0.0001", mark_price="1e40", **base)
    assert info.value.field == "mark_price"


def test_edge_helpers() -> None:
    assert to_decimal(" 1000 ", "x") == 1000
    with pytest.raises(InvalidValue, match="separators"):
        to_decimal("1_000", "x")
    assert significant_digits(D("1.500")) == 2
    assert significant_digits(D("0.000120")) == 2
    assert significant_digits(D("0")) == 1
    assert price_value("64250.5") == D("64250.5")
    assert qty_value(3) == 3
    assert amount_value("-12.5") == D("-12.5")
    with pytest.raises(InvalidValue):
        qty_value("0")


# ------------------------------------------------------------------------------ the lot grid


def test_off_lot_quantity_is_refused_and_changes_nothing() -> None:
    book = new_book({"USDT": 10_000})
    book.apply_fill(make_fill(LINEAR, "buy", "0.5", "40000"), LINEAR)
    before = state(book)
    with pytest.raises(OffGrid) as info:
        book.apply_fill(make_fill(LINEAR, "buy", "0.0001", "40000"), LINEAR)
    assert str(info.value) == "qty: 0.0001 is not a multiple of the lot size 0.001"
    assert state(book) == before


def test_whole_lots_of_every_kind_are_accepted() -> None:
    book = new_book({"USDT": 10_000, "BTC": 1})
    book.apply_fill(make_fill(SPOT, "buy", "0.0003", "40000"), SPOT)
    book.apply_fill(make_fill(INVERSE, "sell", "7", "40000"), INVERSE)
    with pytest.raises(OffGrid):
        book.apply_fill(make_fill(INVERSE, "sell", "1.5", "40000"), INVERSE)


def test_off_tick_price_is_a_venue_fact_and_is_booked_exactly() -> None:
    """Average-price fills and fills from before a tick change are off today's tick: booked as
    reported (see riskdesk.domain.fills)."""
    book = new_book({"USDT": 10_000})
    book.apply_fill(make_fill(LINEAR, "buy", "1", "40000.03"), LINEAR)  # tick 0.1
    position = book.position(LINEAR.key)
    assert position is not None and position.entry_price == D("40000.03")


def test_notional_beyond_the_ledger_is_refused_where_the_instrument_is_known() -> None:
    book = new_book({"USDT": 10_000})
    before = state(book)
    big = make_fill(LINEAR, "buy", "1e12", "1e7")  # 10^19 USDT
    with pytest.raises(ValidationError) as info:
        book.apply_fill(big, LINEAR)
    assert info.value.field == "qty" and "notional" in info.value.reason
    assert f"{MAX_NOTIONAL:.0E}" == "1E+18" and "1E+18" in info.value.reason
    assert state(book) == before


def test_withdrawal_or_deposit_beyond_bounds() -> None:
    book = new_book({"USDT": 10})
    with pytest.raises(InvalidValue) as info:
        book.move_cash("USDT", D("1e16"), T0, "deposit", ("paper", "cash:x"))
    assert info.value.field == "amount" and "largest accepted amount" in info.value.reason
