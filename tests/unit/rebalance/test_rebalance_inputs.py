"""Input checks that need the contract: no-arbitrage premium bounds, the entry date, and the
side-dependent ranges of the profit target and the defensive trigger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.rebalance import (
    ChainIndex,
    EngineConfig,
    RebalanceParams,
    analyse,
    make_position,
    search_rolls,
)


@pytest.mark.parametrize(
    ("symbol", "size", "entry", "words"),
    [
        # The audit case: a 330 put can never be worth 1000 (max loss -67,000, breakeven -670).
        ("AAPL260821P00330000", -10, "1000", "strike 330"),
        ("AAPL260821P00330000", 1, "330", "strike 330"),
        # A call is worth less than the underlying; bound max(333.80, 350) = 350.
        ("AAPL260821C00350000", -2, "350", "max(underlying 333.8, strike 350)"),
        # Coin-settled: a call pays (S - K)/S < 1 coin; a put at most K/S (bound max(K/F, 1)).
        ("BTC-21SEP26-70000-C", "-1", "1", "< 1 coin"),
        ("BTC-21SEP26-70000-P", "-1", "1.2", "max(K/F, 1)"),
    ],
)
def test_premiums_outside_the_no_arbitrage_bounds_are_refused(
    aapl: ChainIndex,
    btc: ChainIndex,
    config: EngineConfig,
    symbol: str,
    size: object,
    entry: str,
    words: str,
) -> None:
    index = btc if symbol.startswith("BTC") else aapl
    with pytest.raises(InvalidValue) as info:
        analyse(make_position(symbol, size, entry), index, config)  # type: ignore[arg-type]
    assert info.value.field == "entry_price"
    assert "no-arbitrage bound" in info.value.reason and words in info.value.reason


@pytest.mark.parametrize(
    ("symbol", "size", "entry"),
    [
        ("AAPL260821P00330000", -10, "329.99"),  # deep but possible
        ("AAPL260821C00350000", -2, "349"),  # the underlying may have been higher at entry
        ("BTC-21SEP26-70000-C", "-1", "0.99"),
        ("BTC-21SEP26-70000-P", "-1", "0.99"),
    ],
)
def test_premiums_inside_the_bounds_are_accepted(
    aapl: ChainIndex, btc: ChainIndex, config: EngineConfig, symbol: str, size: object, entry: str
) -> None:
    index = btc if symbol.startswith("BTC") else aapl
    a, _ = analyse(make_position(symbol, size, entry), index, config)  # type: ignore[arg-type]
    assert a.breakeven > 0


def test_entry_date_after_the_valuation_time_is_refused(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    late = make_position(
        "AAPL260821P00330000", -10, "8.50", entry_date=datetime(2027, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(InvalidValue) as info:
        analyse(late, aapl, config)
    assert info.value.field == "entry_date"
    assert "after the valuation time 2026-07-25 07:44 UTC" in info.value.reason
    on_time = make_position(
        "AAPL260821P00330000", -10, "8.50", entry_date=datetime(2026, 7, 20, tzinfo=UTC)
    )
    assert analyse(on_time, aapl, config)[0].entry_date == datetime(2026, 7, 20, tzinfo=UTC)


def test_profit_target_and_trigger_ranges_depend_on_the_side(
    aapl: ChainIndex, config: EngineConfig
) -> None:
    short = make_position("AAPL260821P00330000", -10, "8.50")
    long = make_position("AAPL260821C00350000", 2, "4.00")
    # A short earns at most its premium: a 500 % target can never fire.
    with pytest.raises(InvalidValue) as info:
        search_rolls(short, aapl, RebalanceParams(profit_target=5.0), config)
    assert info.value.field == "profit_target" and "(0, 1]" in info.value.reason
    # A long can make several times its premium: 200 % is a valid target.
    search_rolls(long, aapl, RebalanceParams(profit_target=2.0), config)
    # A long loses at most its premium: a 150 % loss trigger can never fire.
    with pytest.raises(InvalidValue) as trigger:
        search_rolls(long, aapl, RebalanceParams(defensive_roll_trigger=1.5), config)
    assert trigger.value.field == "defensive_roll_trigger"
    search_rolls(short, aapl, RebalanceParams(defensive_roll_trigger=1.5), config)
