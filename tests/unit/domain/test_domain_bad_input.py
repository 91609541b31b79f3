"""Bad input: every rejection is a RiskdeskError naming the field and the reason, and a rejected
fill, funding payment or cash movement leaves the book exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from domain_testkit import (
    ACCOUNT,
    INVERSE,
    LINEAR,
    SPOT,
    T0,
    VENUE,
    funding,
    make_fill,
    new_book,
    state,
)

from riskdesk.domain import errors
from riskdesk.domain.accounting.book import Book, PositionMode
from riskdesk.domain.accounting.portfolio import MarketSnapshot, position_views
from riskdesk.domain.fills import Fill, FundingPayment
from riskdesk.domain.instruments import spot
from riskdesk.domain.values import Money

D = Decimal
NAIVE = datetime(2025, 1, 1, 12)  # noqa: DTZ001 - naive on purpose


def fill_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "venue": VENUE,
        "fill_id": "bad-1",
        "account_id": ACCOUNT,
        "symbol": LINEAR.symbol,
        "side": "buy",
        "qty": D(1),
        "price": D(100),
        "ts": T0,
    }
    args.update(overrides)
    return args


# ------------------------------------------------------------------------------ fill construction


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"price": D(-1)}, "price", "greater than 0"),
        ({"price": "-0.01"}, "price", "greater than 0"),
        ({"price": 0}, "price", "greater than 0"),
        ({"price": float("inf")}, "price", "finite"),
        ({"qty": float("nan")}, "qty", "finite"),
        ({"qty": "NaN"}, "qty", "finite"),
        ({"qty": D("Infinity")}, "qty", "finite"),
        ({"qty": "-Infinity"}, "qty", "finite"),
        ({"qty": "ten"}, "qty", "not a number"),
        ({"qty": object()}, "qty", "expected a number"),
        ({"qty": True}, "qty", "boolean"),
        ({"qty": 0}, "qty", "greater than 0"),
        ({"qty": "-1"}, "qty", "greater than 0"),
        ({"ts": NAIVE}, "ts", "timezone-aware"),
        ({"fee": "nan"}, "fee", "finite"),
        ({"side": "hold"}, "side", "buy or sell"),
        ({"position_side": "up"}, "position_side", "net, long or short"),
        ({"margin_mode": "portfolio"}, "margin_mode", "isolated or cross"),
        ({"leverage": 0}, "leverage", "greater than 0"),
        ({"leverage": 1001}, "leverage", "at most 1000"),
        ({"venue": " "}, "venue", "empty"),
        ({"fill_id": ""}, "fill_id", "empty"),
        ({"account_id": ""}, "account_id", "empty"),
    ],
)
def test_fill_create_names_field_and_reason(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(errors.ValidationError) as info:
        Fill.create(**fill_args(**overrides))
    assert info.value.field == field
    assert reason in info.value.reason
    assert info.value.to_dict()["field"] == field


def test_fill_create_rejects_unknown_liquidity_with_field() -> None:
    with pytest.raises(errors.ValidationError) as info:
        Fill.create(**fill_args(liquidity="bogus"))
    assert info.value.field == "liquidity"


def test_fill_create_rejects_empty_symbol() -> None:
    with pytest.raises(errors.ValidationError) as info:
        Fill.create(**fill_args(symbol="  "))
    assert info.value.field == "symbol"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"mark_price": 0}, "mark_price"),
        ({"mark_price": "-5"}, "mark_price"),
        ({"rate": "nan"}, "rate"),
        ({"rate": "x"}, "rate"),
        ({"ts": NAIVE}, "ts"),
        ({"position_side": "sideways"}, "position_side"),
    ],
)
def test_funding_create_names_field(overrides: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "venue": VENUE,
        "account_id": ACCOUNT,
        "symbol": LINEAR.symbol,
        "rate": "0.0001",
        "mark_price": "100",
        "ts": T0,
    }
    args.update(overrides)
    with pytest.raises(errors.InvalidValue) as info:
        FundingPayment.create(**args)
    assert info.value.field == field


def test_funding_rate_may_be_negative() -> None:
    assert funding(LINEAR, "-0.0003", "100").rate == D("-0.0003")


# ------------------------------------------------------------------------------ book rejections


def loaded_book(mode: PositionMode = PositionMode.NETTING) -> Book:
    book = new_book({"USDT": 10_000, "BTC": 1}, mode=mode)
    side = {"position_side": "long"} if mode is PositionMode.HEDGE else {}
    book.apply_fill(make_fill(SPOT, "buy", "0.5", "60000", fee="3"), SPOT)
    book.apply_fill(make_fill(LINEAR, "buy", "2", "100", **side), LINEAR)
    book.apply_fill(
        make_fill(INVERSE, "sell", "20", "60000", **({"position_side": "short"} if side else {})),
        INVERSE,
    )
    return book


def assert_rejected(
    book: Book,
    action: Callable[[], object],
    error: type[errors.RiskdeskError],
    field: str,
    reason: str,
) -> errors.RiskdeskError:
    before = state(book)
    with pytest.raises(error) as info:
        action()
    assert info.value.field == field
    assert reason in info.value.reason, info.value.reason
    assert state(book) == before, "a rejected input changed the book"
    return info.value


def test_fill_for_unknown_instrument() -> None:
    book = loaded_book()
    other = spot("ETH/USDT", VENUE, tick_size="0.01", lot_size="0.001")
    err = assert_rejected(
        book,
        lambda: book.apply_fill(make_fill(other, "buy", "1", "3000"), SPOT),
        errors.UnknownInstrument,
        "symbol",
        "paper:ETH/USDT",
    )
    assert err.code == "unknown_instrument"


@pytest.mark.parametrize(
    ("symbol", "part"),
    [("BTC/US$", "quote"), ("", "symbol"), ("BTC-32DEC24", "expiry"), ("BTC/BTC", "quote")],
)
def test_fill_with_malformed_symbol_is_rejected_at_creation(symbol: str, part: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        Fill.create(**fill_args(symbol=symbol, fill_id="m1"))
    assert info.value.field == part


def test_fill_symbol_is_normalised_to_the_canonical_form() -> None:
    assert Fill.create(**fill_args(symbol="btc/usdt:usdt", fill_id="m1")).symbol == "BTC/USDT:USDT"
    assert Fill.create(**fill_args(symbol="BTC-PERPETUAL", fill_id="m2")).symbol == "BTC/USD:BTC"


def test_fill_for_another_account() -> None:
    book = loaded_book()
    fill = make_fill(LINEAR, "buy", "1", "100", account_id="someone-else")
    assert_rejected(
        book,
        lambda: book.apply_fill(fill, LINEAR),
        errors.InvalidValue,
        "account_id",
        "someone-else",
    )


def test_hedge_side_on_netting_account() -> None:
    book = loaded_book()
    fill = make_fill(LINEAR, "sell", "1", "100", position_side="long")
    err = assert_rejected(
        book,
        lambda: book.apply_fill(fill, LINEAR),
        errors.PositionModeMismatch,
        "position_side",
        "hedge mode",
    )
    assert err.code == "position_mode"


def test_net_side_on_hedge_account() -> None:
    book = loaded_book(PositionMode.HEDGE)
    fill = make_fill(LINEAR, "sell", "1", "100")
    assert_rejected(
        book,
        lambda: book.apply_fill(fill, LINEAR),
        errors.PositionModeMismatch,
        "position_side",
        "long or short",
    )


def test_hedge_side_on_spot_even_in_hedge_mode() -> None:
    book = loaded_book(PositionMode.HEDGE)
    fill = make_fill(SPOT, "buy", "0.1", "60000", position_side="long")
    assert_rejected(
        book,
        lambda: book.apply_fill(fill, SPOT),
        errors.PositionModeMismatch,
        "position_side",
        "long",
    )


@pytest.mark.parametrize("qty", ["0.5001", "2"])
def test_selling_more_spot_than_held(qty: str) -> None:
    book = loaded_book()
    err = assert_rejected(
        book,
        lambda: book.apply_fill(make_fill(SPOT, "sell", qty, "60000"), SPOT),
        errors.InsufficientPosition,
        "qty",
        "only 0.5",
    )
    assert err.code == "insufficient_position"


def test_selling_spot_never_held() -> None:
    book = new_book({"USDT": 100})
    assert_rejected(
        book,
        lambda: book.apply_fill(make_fill(SPOT, "sell", "0.1", "60000"), SPOT),
        errors.InsufficientPosition,
        "qty",
        "cannot go short",
    )


def test_reducing_a_hedge_slot_below_zero() -> None:
    book = loaded_book(PositionMode.HEDGE)
    assert_rejected(
        book,
        lambda: book.apply_fill(
            make_fill(LINEAR, "sell", "3", "100", position_side="long"), LINEAR
        ),
        errors.InsufficientPosition,
        "qty",
        "long side",
    )
    assert_rejected(
        book,
        lambda: book.apply_fill(
            make_fill(INVERSE, "buy", "21", "60000", position_side="short"), INVERSE
        ),
        errors.InsufficientPosition,
        "qty",
        "short side",
    )
    # A buy on the SHORT side with no short open at all.
    assert_rejected(
        book,
        lambda: book.apply_fill(
            make_fill(LINEAR, "buy", "1", "100", position_side="short"), LINEAR
        ),
        errors.InsufficientPosition,
        "qty",
        "only 0",
    )


def test_base_coin_fee_that_cannot_be_paid() -> None:
    book = loaded_book()
    assert_rejected(
        book,
        lambda: book.apply_fill(
            make_fill(SPOT, "buy", "0.001", "60000", fee="0.6", fee_currency="BTC"), SPOT
        ),
        errors.InvalidValue,
        "fee",
        "not less than",
    )
    assert_rejected(
        book,
        lambda: book.apply_fill(
            make_fill(SPOT, "sell", "0.5", "60000", fee="0.001", fee_currency="BTC"), SPOT
        ),
        errors.InvalidValue,
        "fee",
        "coin left",
    )


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (D("-10000.01"), "exceeds the balance"),
        (D(0), "non-zero"),
        (D("NaN"), "finite"),
        (D("-Infinity"), "finite"),
    ],
)
def test_withdrawing_more_than_held_or_nonsense(amount: Decimal, reason: str) -> None:
    book = loaded_book()
    cash_before = book.cash("USDT")
    assert_rejected(
        book,
        lambda: book.move_cash("USDT", amount, T0, "withdrawal", ("bank", "w")),
        errors.InvalidValue,
        "amount",
        reason,
    )
    assert book.cash("USDT") == cash_before
    assert ("bank", "w") not in book.applied


def test_withdrawing_a_currency_never_held() -> None:
    book = loaded_book()
    assert_rejected(
        book,
        lambda: book.move_cash("ETH", D(-1), T0, "withdrawal", ("bank", "w")),
        errors.InvalidValue,
        "amount",
        "exceeds",
    )


def test_funding_for_another_instrument() -> None:
    book = loaded_book()
    assert_rejected(
        book,
        lambda: book.apply_funding(funding(INVERSE, "0.0001", "60000"), LINEAR),
        errors.UnknownInstrument,
        "symbol",
        "funding is for",
    )


def test_funding_for_another_account_is_rejected() -> None:
    book = loaded_book()
    payment = FundingPayment.create(
        venue=VENUE,
        account_id="someone-else",
        symbol=LINEAR.symbol,
        rate="0.01",
        mark_price="100",
        ts=T0,
    )
    assert_rejected(
        book,
        lambda: book.apply_funding(payment, LINEAR),
        errors.InvalidValue,
        "account_id",
        "someone-else",
    )


@pytest.mark.parametrize(
    ("mode", "side"), [(PositionMode.NETTING, "long"), (PositionMode.HEDGE, None)]
)
def test_funding_position_side_mismatch_is_rejected(mode: PositionMode, side: str | None) -> None:
    book = loaded_book(mode)
    payment = funding(LINEAR, "0.0001", "100", position_side=side)
    assert_rejected(
        book,
        lambda: book.apply_funding(payment, LINEAR),
        errors.PositionModeMismatch,
        "position_side",
        "mode",
    )


def test_money_of_different_currencies() -> None:
    with pytest.raises(errors.CurrencyMismatch) as info:
        _ = Money(D(1), "USDT") + Money(D(1), "USDC")
    assert (info.value.field, info.value.code) == ("currency", "currency_mismatch")
    assert "cannot combine USDT with USDC" in info.value.reason


def test_views_for_a_position_whose_instrument_is_missing() -> None:
    book = loaded_book()
    market = MarketSnapshot({}, {"USDT": D(1)}, T0)
    with pytest.raises(errors.UnknownInstrument) as info:
        position_views([book], {SPOT.key: SPOT}, market)
    assert info.value.field == "symbol"


def test_views_without_a_mark_or_rate_name_what_is_missing() -> None:
    book = loaded_book()
    instruments = {i.key: i for i in (SPOT, LINEAR, INVERSE)}
    with pytest.raises(errors.InvalidValue) as info:
        position_views([book], instruments, MarketSnapshot({}, {"USDT": D(1)}, T0))
    assert info.value.field == "mark"
    # A currency without a rate does not stop the views: the inverse position (BTC-settled)
    # is listed, its BTC figures exact, its reporting-currency figures marked incomplete.
    marks = {SPOT.key: D(60000), LINEAR.key: D(100), INVERSE.key: D(60000)}
    rates = {"USD": D(1), "USDT": D(1)}
    views = position_views([book], instruments, MarketSnapshot(marks, rates, T0))
    by_key = {f"{v.venue}:{v.symbol}": v for v in views}
    assert by_key[INVERSE.key].unpriced == ("BTC",)
    assert by_key[SPOT.key].unpriced == () and by_key[LINEAR.key].unpriced == ()


def test_a_failed_fill_in_a_sequence_does_not_poison_later_ones() -> None:
    book = loaded_book()
    bad = make_fill(SPOT, "sell", "5", "60000", fill_id="oversell")
    with pytest.raises(errors.InsufficientPosition):
        book.apply_fill(bad, SPOT)
    assert ("paper", "oversell") not in book.applied
    # The same id, corrected, is accepted afterwards (it was never recorded as applied).
    fixed = make_fill(SPOT, "sell", "0.5", "60000", fill_id="oversell")
    assert not book.apply_fill(fixed, SPOT).duplicate
    assert book.position(SPOT.key) is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"ts": "2025-01-01T00:00:00Z"}, "ts"), ({"side": None}, "side")],
)
def test_fill_create_wrong_types_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        Fill.create(**fill_args(**overrides))
    assert info.value.field == field
