"""The what-if calculator refuses what it cannot answer: anything but a perpetual or a future,
maintenance rates outside [0, 1) or that liquidate the position at its entry, a wallet with
isolated margin (an isolated position is backed by its own margin), and shows its prices on
the tick grid (liquidation toward the entry)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from riskdesk.application.calculator import CalcRequest, calculate
from riskdesk.domain.accounting.margin import liquidation_price
from riskdesk.domain.errors import InvalidValue, OffGrid
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import instrument_from_spec
from riskdesk.domain.symbols import parse_symbol
from riskdesk.domain.values import ACCOUNTING_CONTEXT, Side

D = Decimal
PERP = instrument_from_spec(parse_symbol("BTC/USDT:USDT"), "binance")


def request(**overrides: Any) -> CalcRequest:
    data: dict[str, Any] = {
        "instrument": PERP,
        "side": Side.BUY,
        "size": D(1),
        "entry": D(20000),
        "leverage": D(50),
    }
    data.update(overrides)
    return CalcRequest(**data)


@pytest.mark.parametrize(
    ("symbol", "reason"),
    [
        ("BTC/USDT", "a spot pair"),
        ("BTCUSDT", "a stock ticker"),
        ("TSLA250919P00390000", "an option"),
        ("BTC-27DEC24-100000-C", "an option"),
    ],
)
def test_only_perpetuals_and_futures(symbol: str, reason: str) -> None:
    spec = parse_symbol(symbol)
    inst = instrument_from_spec(spec, "deribit")
    with pytest.raises(InvalidValue) as info:
        calculate(request(instrument=inst))
    assert info.value.field == "symbol" and reason in info.value.reason


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"maint_margin_rate": D("-0.1")}, "mmr", "must not be negative"),
        ({"maint_margin_rate": D(2)}, "mmr", "below 1"),
        ({"maint_margin_rate": D("0.02")}, "mmr", "1/leverage = 0.02"),  # 50x: 2 % is too much
        ({"maint_margin_rate": D("0.005"), "maint_amount": D(-1)}, "maint_amount", "negative"),
        ({"wallet": D(1000)}, "wallet", "applies to cross margin"),
        ({"margin_mode": MarginMode.CROSS}, "wallet", "needs the wallet"),
        ({"margin_mode": MarginMode.CROSS, "wallet": D(50)}, "wallet", "liquidated at once"),
        (
            {"margin_mode": MarginMode.CROSS, "wallet": D(500), "extra_margin": D(1)},
            "extra_margin",
            "applies to isolated",
        ),
        ({"close_fee_rate": D("1.5")}, "close_fee_rate", "below 1"),
        ({"fee_rate": D("-0.001")}, "fee_rate", "negative"),
        ({"leverage": D(5000)}, "leverage", "at most 1000"),
        ({"entry": D("1e50")}, "entry", "largest accepted price"),
        ({"size": D("1e30")}, "size", "largest accepted quantity"),
    ],
)
def test_bad_inputs_name_their_field(overrides: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as info:
        calculate(request(**overrides))
    assert info.value.field == field
    assert reason in info.value.reason


def test_size_off_the_lot_grid() -> None:
    with pytest.raises(OffGrid) as info:
        calculate(request(size=D("0.0001")))
    assert str(info.value) == "size: 0.0001 is not a multiple of the lot size 0.001"


def test_an_underwater_position_is_refused_not_shown_without_liquidation() -> None:
    """``--mmr 2`` used to print no liquidation price for a position already under water; now
    any rate that leaves the maintenance at or above the margin at the entry is refused."""
    with pytest.raises(InvalidValue):
        calculate(request(leverage=D(10), maint_margin_rate=D("0.1")))
    # Just below 1/leverage is fine: the liquidation price sits just under the entry.
    result = calculate(request(leverage=D(10), maint_margin_rate=D("0.099")))
    assert result.liquidation_price is not None and result.liquidation_price < D(20000)


def test_liquidation_never_below_bankruptcy_for_a_long() -> None:
    for mmr in ("0", "0.001", "0.005", "0.0199"):
        result = calculate(request(maint_margin_rate=D(mmr)))
        assert result.bankruptcy_price is not None and result.liquidation_price is not None
        assert result.bankruptcy_price <= result.liquidation_price < D(20000)


def test_cross_uses_the_wallet_and_isolated_its_margin() -> None:
    isolated = calculate(request())
    assert isolated.margin_backing == D(400)
    assert isolated.liquidation_price == liquidation_price(PERP, D(1), D(20000), D(400))
    cross = calculate(request(margin_mode=MarginMode.CROSS, wallet=D(1000)))
    assert cross.margin_backing == D(1000)
    assert cross.liquidation_price == liquidation_price(PERP, D(1), D(20000), D(1000))


def test_printed_prices_are_on_the_tick() -> None:
    result = calculate(request()).on_tick()
    exact = ACCOUNTING_CONTEXT.divide(D(19600), D("0.995"))  # 19698.4924…
    assert result.liquidation_price == D("19698.50") and result.liquidation_price > exact
    assert result.bankruptcy_price == D("19600.00")
    short = calculate(request(side=Side.SELL)).on_tick()
    assert short.liquidation_price is not None
    exact_short = ACCOUNTING_CONTEXT.divide(D(20400), D("1.005"))  # 20298.507…: rounded down
    assert short.liquidation_price == D("20298.50") and short.liquidation_price < exact_short
