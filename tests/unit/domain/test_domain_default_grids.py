"""Default grids come from one table: Deribit's real BTC tick sizes (its instrument specs in the
shared data), generic fallbacks elsewhere; an explicit grid always wins."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.domain.instruments import DEFAULT_GRIDS, instrument_from_spec
from riskdesk.domain.symbols import parse_symbol

SPECS = Path("/work/shared/data/options/deribit/openbb_fixtures/instruments_future.json")


@pytest.mark.parametrize(
    ("symbol", "venue", "tick", "lot"),
    [
        ("BTC-PERPETUAL", "deribit", "0.5", "1"),
        ("BTC-27DEC24", "deribit", "2.5", "1"),
        ("BTC-27DEC24-100000-C", "deribit", "0.0005", "0.1"),
        ("BTC/USD:BTC", "bybit", "0.1", "1"),
        ("BTC/USDT:USDT", "binance", "0.01", "0.001"),
        ("BTC/USDT", "binance", "0.01", "0.00001"),
        ("AAPL260821P00320000", "broker", "0.01", "1"),
    ],
)
def test_defaults_by_venue_coin_and_type(symbol: str, venue: str, tick: str, lot: str) -> None:
    inst = instrument_from_spec(parse_symbol(symbol), venue)
    assert (inst.tick_size, inst.lot_size) == (Decimal(tick), Decimal(lot))


def test_an_explicit_grid_wins() -> None:
    inst = instrument_from_spec(parse_symbol("BTC-PERPETUAL"), "deribit", tick_size="1")
    assert inst.tick_size == 1 and inst.contract_size == 10


@pytest.mark.skipif(not SPECS.exists(), reason="shared Deribit instrument specs not present")
def test_deribit_rows_match_the_venue_specs() -> None:
    specs = {s["instrument_name"]: s for s in json.loads(SPECS.read_text())}
    perp = specs["BTC-PERPETUAL"]
    assert DEFAULT_GRIDS[("deribit", "BTC", "perpetual/inverse")][0] == Decimal(
        str(perp["tick_size"])
    )
    # min_trade_amount 10 USD = one 10 USD contract: the lot is one contract.
    assert perp["min_trade_amount"] == perp["contract_size"] == 10
    future_ticks = {Decimal(str(s["tick_size"])) for n, s in specs.items() if n != "BTC-PERPETUAL"}
    assert future_ticks == {DEFAULT_GRIDS[("deribit", "BTC", "future/inverse")][0]}
