"""Instruments: factories, grid rounding in the safe direction, value arithmetic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from domain_testkit import CRYPTO_OPTION, EQUITY_OPTION, INVERSE, LINEAR, SPOT, VENUE
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.errors import InvalidSymbol, InvalidValue, OffGrid
from riskdesk.domain.instruments import (
    ExerciseStyle,
    Instrument,
    MarginTier,
    Settlement,
    crypto_option,
    equity_option,
    equity_option_expiry,
    instrument_from_spec,
    perpetual_or_future,
    spot,
    us_eastern_utc_offset_hours,
)
from riskdesk.domain.symbols import OptionRight, SymbolKind, parse_symbol
from riskdesk.domain.values import ACCOUNTING_CONTEXT, Side

D = Decimal

# ------------------------------------------------------------------------------ factories


def test_spot_pair_and_stock() -> None:
    assert SPOT.symbol == "BTC/USDT"
    assert (SPOT.base, SPOT.quote, SPOT.settle, SPOT.price_currency) == (
        "BTC",
        "USDT",
        "USDT",
        "USDT",
    )
    assert SPOT.settlement is Settlement.PREMIUM
    assert not SPOT.is_derivative
    stock = spot("aapl", "nasdaq", tick_size="0.01", lot_size="1")
    assert (stock.symbol, stock.quote, stock.equity, stock.key) == (
        "AAPL",
        "USD",
        True,
        "nasdaq:AAPL",
    )


def test_linear_and_inverse_perpetuals() -> None:
    assert LINEAR.settlement is Settlement.MARGIN
    assert not LINEAR.inverse
    assert LINEAR.settle == "USDT"
    assert INVERSE.inverse
    assert INVERSE.coin_settled
    assert INVERSE.settle == "BTC"
    assert INVERSE.contract_size == 10
    assert INVERSE.asset == LINEAR.asset == "BTC"
    deribit = perpetual_or_future(
        "BTC-PERPETUAL", "deribit", tick_size="0.5", lot_size="1", contract_size=10
    )
    assert deribit.symbol == "BTC/USD:BTC"
    assert deribit.venue_symbol == "BTC-PERPETUAL"


def test_dated_future_expires_at_0800_utc() -> None:
    fut = perpetual_or_future(
        "ETH-28MAR25", "deribit", tick_size="0.05", lot_size="1", contract_size=1
    )
    assert fut.kind is SymbolKind.FUTURE
    assert fut.expiry == datetime(2025, 3, 28, 8, tzinfo=UTC)
    assert not fut.expired(datetime(2025, 3, 28, 7, 59, tzinfo=UTC))
    assert fut.expired(datetime(2025, 3, 28, 8, tzinfo=UTC))
    assert not LINEAR.expired(datetime(2099, 1, 1, tzinfo=UTC))


def test_equity_option() -> None:
    opt = EQUITY_OPTION
    assert opt.contract_size == 100
    assert (opt.strike, opt.right) == (D(390), OptionRight.PUT)
    assert opt.exercise is ExerciseStyle.AMERICAN
    assert opt.settlement is Settlement.PREMIUM
    # 2025-09-19 is in US daylight time: 16:00 EDT = 20:00 UTC.
    assert opt.expiry == datetime(2025, 9, 19, 20, tzinfo=UTC)
    assert opt.min_qty == 1
    spxw = equity_option("SPXW  251219C05000000")
    assert spxw.exercise is ExerciseStyle.EUROPEAN
    assert (spxw.base, spxw.symbol) == ("SPX", "SPXW251219C05000000")
    # December: standard time, 16:00 EST = 21:00 UTC.
    assert spxw.expiry == datetime(2025, 12, 19, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "offset"),
    [
        (date(2025, 3, 8), -5),
        (date(2025, 3, 9), -4),
        (date(2025, 11, 1), -4),
        (date(2025, 11, 2), -5),
        (date(2024, 7, 4), -4),
        (date(2024, 1, 19), -5),
    ],
)
def test_us_eastern_offset(day: date, offset: int) -> None:
    assert us_eastern_utc_offset_hours(day) == offset
    assert equity_option_expiry(day).hour == 16 - offset


def test_crypto_options() -> None:
    opt = CRYPTO_OPTION
    assert opt.symbol == "BTC/USD:BTC-241227-100000-C"
    assert (opt.settle, opt.price_currency, opt.coin_settled) == ("BTC", "BTC", True)
    assert not opt.inverse  # premium in coin is linear in the premium
    assert opt.exercise is ExerciseStyle.EUROPEAN
    assert opt.expiry == datetime(2024, 12, 27, 8, tzinfo=UTC)
    usdc = crypto_option("XRP_USDC-21SEP26-1d25-C", "deribit")
    assert (usdc.settle, usdc.price_currency, usdc.strike) == ("USDC", "USDC", D("1.25"))
    assert usdc.venue_symbol == "XRP_USDC-21SEP26-1d25-C"


@pytest.mark.parametrize(
    ("factory", "symbol"),
    [
        (lambda s: spot(s, VENUE, tick_size=1, lot_size=1), "BTC/USDT:USDT"),
        (lambda s: perpetual_or_future(s, VENUE, tick_size=1, lot_size=1), "BTC/USDT"),
        (equity_option, "BTC-27DEC24-100000-C"),
        (crypto_option, "TSLA250919P00390000"),
    ],
)
def test_factory_rejects_wrong_kind_of_symbol(factory: object, symbol: str) -> None:
    with pytest.raises(InvalidValue) as info:
        factory(symbol)  # type: ignore[operator]
    assert info.value.field == "symbol"


def test_factory_rejects_bad_symbol_and_grid() -> None:
    with pytest.raises(InvalidSymbol):
        spot("BTC/US$", VENUE, tick_size=1, lot_size=1)
    for field, kwargs in [
        ("tick_size", {"tick_size": 0, "lot_size": 1}),
        ("lot_size", {"tick_size": 1, "lot_size": "-1"}),
        ("tick_size", {"tick_size": "nan", "lot_size": 1}),
    ]:
        with pytest.raises(InvalidValue) as info:
            spot("BTC/USDT", VENUE, **kwargs)
        assert info.value.field == field


NAIVE = datetime(2025, 1, 1)  # noqa: DTZ001 - the point of the test


def test_instrument_requires_aware_expiry_and_option_fields() -> None:
    with pytest.raises(InvalidValue) as info:
        Instrument(
            "X",
            VENUE,
            SymbolKind.FUTURE,
            "BTC",
            "USD",
            "BTC",
            D(1),
            D(1),
            expiry=NAIVE,
        )
    assert info.value.field == "expiry"
    with pytest.raises(InvalidValue) as info:
        Instrument("X", VENUE, SymbolKind.OPTION, "BTC", "USD", "BTC", D(1), D(1))
    assert info.value.field == "strike"


@pytest.mark.parametrize(
    "symbol",
    [
        "BTC/USDT",
        "AAPL",
        "BTC/USDT:USDT",
        "BTC-PERPETUAL",
        "ETH-28MAR25",
        "TSLA250919P00390000",
        "BTC-27DEC24-100000-C",
    ],
)
def test_instrument_from_spec_keeps_canonical_symbol(symbol: str) -> None:
    spec = parse_symbol(symbol)
    inst = instrument_from_spec(spec, VENUE, **({"contract_size": "10"} if spec.is_inverse else {}))
    assert parse_symbol(inst.symbol) == spec


# ------------------------------------------------------------------------------ grid


def test_rounding_examples() -> None:
    assert LINEAR.make_price("100.04") == D("100.0")
    assert LINEAR.make_price("100.06") == D("100.1")
    assert LINEAR.make_limit_price("100.06", Side.BUY) == D("100.0")
    assert LINEAR.make_limit_price("100.04", Side.SELL) == D("100.1")
    assert LINEAR.make_stop_price("99.91", protects_long=True) == D("100.0")
    assert LINEAR.make_stop_price("100.09", protects_long=False) == D("100.0")
    assert LINEAR.make_qty("0.0019") == D("0.001")
    assert LINEAR.make_qty("0.0009") == 0
    assert INVERSE.make_price("65000.26") == D("65000.5")
    assert str(SPOT.make_price(100)) == "100.00"


def test_check_price_and_qty() -> None:
    assert LINEAR.check_price("100.1") == D("100.1")
    with pytest.raises(OffGrid) as info:
        LINEAR.check_price("100.15")
    assert info.value.field == "price"
    assert "0.1" in info.value.reason
    for bad in ("-1", "0", "nan"):
        with pytest.raises(InvalidValue) as vinfo:
            LINEAR.check_price(bad)
        assert vinfo.value.field == "price"
    assert LINEAR.check_qty("0.002") == D("0.002")
    with pytest.raises(OffGrid) as info:
        LINEAR.check_qty("0.0015")
    assert info.value.field == "quantity"
    assert EQUITY_OPTION.check_qty(1) == 1
    with pytest.raises(InvalidValue, match="minimum") as vinfo:
        replace(LINEAR, min_qty=D("0.01")).check_qty("0.005")
    assert vinfo.value.field == "quantity"


def test_rounding_rejects_bad_input() -> None:
    for call, field in [
        (lambda: LINEAR.make_price("-0.1"), "price"),
        (lambda: LINEAR.make_price(float("nan")), "price"),
        (lambda: LINEAR.make_stop_price("inf", protects_long=True), "price"),
        (lambda: LINEAR.make_qty("-1"), "quantity"),
        (lambda: LINEAR.make_qty("abc"), "quantity"),
    ]:
        with pytest.raises(InvalidValue) as info:
            call()
        assert info.value.field == field


TICKS = [D("0.01"), D("0.1"), D("0.5"), D("0.0005"), D("0.25"), D(5), D("0.00001")]
values = st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False)


def _inst(tick: Decimal) -> Instrument:
    return perpetual_or_future("BTC/USDT:USDT", VENUE, tick_size=tick, lot_size=tick)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(TICKS), values)
def test_make_price_is_idempotent_nearest_and_on_grid(tick: Decimal, x: Decimal) -> None:
    inst = _inst(tick)
    p = inst.make_price(x)
    assert inst.make_price(p) == p
    assert p % tick == 0
    assert abs(p - x) * 2 <= tick


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(TICKS), values, st.booleans())
def test_make_stop_price_is_never_looser(tick: Decimal, x: Decimal, protects_long: bool) -> None:
    inst = _inst(tick)
    stop = inst.make_stop_price(x, protects_long=protects_long)
    if protects_long:  # a long's stop sits below the market: lower would be looser
        assert x <= stop < x + tick
    else:  # a short's stop sits above the market: higher would be looser
        assert x - tick < stop <= x
    assert stop % tick == 0
    assert inst.make_stop_price(stop, protects_long=protects_long) == stop


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(TICKS), values, st.sampled_from(list(Side)))
def test_make_limit_price_never_worse_for_the_trader(tick: Decimal, x: Decimal, side: Side) -> None:
    inst = _inst(tick)
    limit = inst.make_limit_price(x, side)
    if side is Side.BUY:
        assert x - tick < limit <= x
    else:
        assert x <= limit < x + tick
    assert inst.make_limit_price(limit, side) == limit


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(TICKS), values)
def test_make_qty_never_exceeds_input(lot: Decimal, x: Decimal) -> None:
    inst = _inst(lot)
    q = inst.make_qty(x)
    assert x - lot < q <= x
    assert q % lot == 0
    assert inst.make_qty(q) == q


def test_make_qty_never_exceeds_a_long_input() -> None:
    x = D("0.99999999999999999999999999999")  # 29 significant digits
    assert LINEAR.make_qty(x) <= x


def test_make_stop_price_never_looser_for_a_long_input() -> None:
    x = D("100.000000000000000000000000001")
    assert LINEAR.make_stop_price(x, protects_long=True) >= x


# ------------------------------------------------------------------------------ values


def test_linear_values() -> None:
    assert LINEAR.pnl(D(2), D(100), D("110.5")) == D(21)
    assert LINEAR.pnl(D(-2), D(100), D("110.5")) == D(-21)
    assert LINEAR.notional(D(-2), D(100)) == D(200)
    assert LINEAR.quote_notional(D(-2), D(100)) == D(200)
    assert LINEAR.entry_value(D(3), D(100)) == D(300)
    assert LINEAR.price_from_basis(D(3), D(301)) == ACCOUNTING_CONTEXT.divide(D(301), D(3))


def test_inverse_values() -> None:
    # 100 contracts x 10 USD from 600 to 700: 1000 * (1/600 - 1/700) BTC.
    pnl = INVERSE.pnl(D(100), D(600), D(700))
    assert abs(pnl - D("0.238095238095238095")) <= D("1e-18")
    assert INVERSE.pnl(D(-100), D(600), D(700)) == -pnl
    assert INVERSE.notional(D(-100), D(500)) == D(2)
    assert INVERSE.quote_notional(D(-100), D(500)) == D(1000)
    assert INVERSE.value_coordinate(D(500)) == D("-0.002")
    assert INVERSE.price_from_basis(D(100), INVERSE.entry_value(D(100), D(500))) == D(500)
    assert INVERSE.price_from_basis(D(0), D(0)) == 0


def test_option_values_use_multiplier() -> None:
    assert EQUITY_OPTION.pnl(D(2), D("3.10"), D("4.35")) == D(250)
    assert EQUITY_OPTION.notional(D(-2), D("3.10")) == D(620)


def test_fee_at_default_rates() -> None:
    inst = perpetual_or_future(
        "BTC/USDT:USDT",
        VENUE,
        tick_size="0.1",
        lot_size="0.001",
        maker_fee_rate="0.0002",
        taker_fee_rate="0.0005",
    )
    assert inst.fee(D(2), D(50000), maker=True) == D(20)
    assert inst.fee(D(-2), D(50000), maker=False) == D(50)


def test_maintenance_tier_lookup() -> None:
    tiers = (
        MarginTier(D(0), D(50000), D("0.004"), D(125), D(0)),
        MarginTier(D(50000), D(250000), D("0.005"), D(100), D(50)),
    )
    inst = perpetual_or_future(
        "BTC/USDT:USDT", VENUE, tick_size="0.1", lot_size="0.001", margin_tiers=tiers
    )
    assert inst.maintenance_tier(D(0)) is tiers[0]
    assert inst.maintenance_tier(D("49999.99")) is tiers[0]
    assert inst.maintenance_tier(D(50000)) is tiers[1]
    assert inst.maintenance_tier(D(10**9)) is tiers[1]  # beyond the table: the last bracket
    assert LINEAR.maintenance_tier(D(1)) is None


def test_tick_is_constant_and_expiry_delta() -> None:
    assert LINEAR.tick_at(D(1)) == LINEAR.tick_at(D(10**6)) == D("0.1")
    assert CRYPTO_OPTION.expiry is not None
    assert CRYPTO_OPTION.expired(CRYPTO_OPTION.expiry + timedelta(seconds=1))


def test_equity_option_fee_is_per_contract() -> None:
    opt = equity_option("TSLA250919P00390000", taker_fee_per_contract="0.65")
    assert opt.fee(D(2), D(10), maker=False) == D("1.30")
