"""Inverse contracts take their default size (USD per contract) from one documented table per
venue and coin; an explicit size always wins, and a venue without a default asks for one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.instruments import (
    INVERSE_CONTRACT_SIZES,
    instrument_from_spec,
    inverse_contract_size,
)
from riskdesk.domain.symbols import parse_symbol


@pytest.mark.parametrize(
    ("venue", "symbol", "size"),
    [
        ("deribit", "BTC-PERPETUAL", 10),  # Deribit contract specification: 10 USD
        ("deribit", "BTC-27DEC24", 10),
        ("deribit", "ETH-PERPETUAL", 1),
        ("bybit", "BTC/USD:BTC", 1),  # Bybit: each inverse contract is 1 USD
        ("bybit", "ETH/USD:ETH", 1),
        ("bybit", "XRP/USD:XRP", 1),
        ("binance", "BTC/USD:BTC", 100),  # Binance COIN-M: BTC 100 USD, altcoins 10 USD
        ("binance", "BTC/USD:BTC-241227", 100),
        ("binance", "ETH/USD:ETH", 10),
        ("Binance", "SOL/USD:SOL", 10),
        ("binancecoinm", "BTC/USD:BTC", 100),
    ],
)
def test_default_sizes_per_venue_and_coin(venue: str, symbol: str, size: int) -> None:
    inst = instrument_from_spec(parse_symbol(symbol), venue)
    assert inst.inverse and inst.contract_size == size


def test_explicit_size_overrides_the_table() -> None:
    inst = instrument_from_spec(parse_symbol("BTC/USD:BTC"), "binance", contract_size="5")
    assert inst.contract_size == 5


def test_unknown_venue_asks_for_the_size() -> None:
    with pytest.raises(InvalidValue) as info:
        instrument_from_spec(parse_symbol("BTC/USD:BTC"), "okx")
    assert info.value.field == "contract_size"
    assert "deribit: BTC 10 USD, ETH 1 USD" in info.value.reason
    with pytest.raises(InvalidValue):
        inverse_contract_size("deribit", "SOL")  # Deribit lists no SOL inverse contract


def test_linear_contracts_are_unaffected() -> None:
    inst = instrument_from_spec(parse_symbol("BTC/USDT:USDT"), "okx")
    assert inst.contract_size == 1 and not inst.inverse


def test_table_holds_usd_sizes() -> None:
    for sizes in INVERSE_CONTRACT_SIZES.values():
        assert all(isinstance(v, Decimal) and v > 0 for v in sizes.values())
