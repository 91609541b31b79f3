"""Position analysis: exact money, levels, probabilities, errors, valuation time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.domain.errors import InvalidSymbol, InvalidValue, NotFound, ValidationError
from riskdesk.domain.pricing import bsm_price
from riskdesk.domain.rebalance import (
    ChainIndex,
    EngineConfig,
    ExpiredOption,
    PositionType,
    analyse,
    make_params,
    make_position,
)
from riskdesk.domain.rebalance.chain import expected_excess, prob_beyond
from riskdesk.domain.rebalance.model import RebalanceParams

# The CBOE response time (2026-07-25 03:44:38 New York), not the last trade of the day before.
SNAPSHOT_TIME = datetime(2026, 7, 25, 7, 44, 38, tzinfo=UTC)


def test_short_put_money_is_exact(aapl: ChainIndex, config: EngineConfig) -> None:
    a, _ = analyse(make_position("AAPL260821P00330000", -10, "8.50"), aapl, config)
    # bid 8.95, ask 9.25 in the chain.
    assert a.mark == Decimal("9.10")
    assert a.close_price == Decimal("9.25")
    assert a.unrealized_pnl == Decimal("-600.00")
    assert a.pnl_at_close == Decimal("-750.00")
    assert a.entry_value == Decimal("8500.00")
    assert a.max_profit == Decimal("8500.00")
    assert a.max_loss == (Decimal(330) - Decimal("8.50")) * 1000
    assert a.breakeven == Decimal("321.50")
    assert a.capital_required == Decimal(330_000)
    assert a.dte_days == 27
    assert a.as_of == SNAPSHOT_TIME
    assert "2026-07-25 07:44:38 UTC" in a.valuation_note
    # Saturday 03:44 in New York: closed until Monday's open.
    assert a.market.session.value == "closed"
    assert a.market.next_open == datetime(2026, 7, 27, 13, 30, tzinfo=UTC)
    assert a.mark_source == "mid of the two-sided quote"


@pytest.mark.parametrize(
    ("symbol", "size", "kind", "unlimited_loss", "unlimited_profit"),
    [
        ("AAPL260821C00350000", -2, PositionType.SHORT_CALL, True, False),
        ("AAPL260821C00350000", 2, PositionType.LONG_CALL, False, True),
        ("AAPL260821P00330000", 2, PositionType.LONG_PUT, False, False),
    ],
)
def test_position_types_and_levels(
    aapl: ChainIndex,
    config: EngineConfig,
    symbol: str,
    size: int,
    kind: PositionType,
    unlimited_loss: bool,
    unlimited_profit: bool,
) -> None:
    a, _ = analyse(make_position(symbol, size, "4.00"), aapl, config)
    assert a.position_type is kind
    assert (a.max_loss is None) is unlimited_loss
    assert (a.max_profit is None) is unlimited_profit
    sign = 1 if a.right.value == "C" else -1
    assert a.breakeven == a.strike + sign * Decimal("4.00")
    # Short options earn theta, long ones pay it.
    assert (a.theta_per_day > 0) is kind.is_short


def test_probabilities_match_the_model(aapl: ChainIndex, config: EngineConfig) -> None:
    a, i = analyse(make_position("AAPL260821P00330000", -10, "8.50"), aapl, config)
    assert a.iv is not None and 0.2 < a.iv < 0.4
    # The analytics vol reprices the OTM side (here the put itself: K < F) to its mid.
    price = bsm_price(aapl.spot[i], aapl.strike[i], aapl.years[i], 0.04, 0.0, a.greeks.vol, False)
    assert float(price) == pytest.approx(float(a.mark), abs=1e-6)
    assert a.assignment_probability == pytest.approx(float(aapl.prob_itm[i]))
    assert (
        0 < a.assignment_probability < a.prob_touch < 1
    )  # touching is likelier than finishing ITM
    # Own and venue (CBOE) delta agree to a few hundredths.
    assert a.venue_greeks is not None and a.venue_greeks.delta is not None
    assert a.greeks.delta == pytest.approx(a.venue_greeks.delta, abs=0.03)
    assert a.greeks.position_delta == pytest.approx(a.greeks.delta * -1000)


def test_expected_excess_matches_numerical_integration() -> None:
    z = np.linspace(-10, 10, 200_001)
    s, t, mu, vol = 100.0, 0.25, 0.03, 0.4
    st = s * np.exp((mu - 0.5 * vol * vol) * t + vol * np.sqrt(t) * z)
    density = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    for level in (80.0, 100.0, 125.0):
        put = np.trapezoid(np.maximum(level - st, 0) * density, z)
        call = np.trapezoid(np.maximum(st - level, 0) * density, z)
        assert float(expected_excess(s, level, t, mu, vol, False)) == pytest.approx(put, rel=1e-7)
        assert float(expected_excess(s, level, t, mu, vol, True)) == pytest.approx(call, rel=1e-7)
        below = np.trapezoid((st < level) * density, z)
        assert float(prob_beyond(s, level, t, mu, vol, False)) == pytest.approx(below, abs=1e-4)
    assert float(expected_excess(s, -5.0, t, mu, vol, False)) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        (
            {"symbol": "AAPL260821P00330000", "size": 0, "entry_price": "1"},
            InvalidValue,
            "position_size",
        ),
        (
            {"symbol": "AAPL260821P00330000", "size": "1.5", "entry_price": "1"},
            InvalidValue,
            "position_size",
        ),
        (
            {"symbol": "AAPL260821P00330000", "size": -1, "entry_price": "0"},
            InvalidValue,
            "entry_price",
        ),
        (
            {"symbol": "AAPL260821P00330000", "size": -1, "entry_price": "nan"},
            InvalidValue,
            "entry_price",
        ),
        ({"symbol": "AAPL", "size": -1, "entry_price": "1"}, InvalidValue, "option_symbol"),
        (
            {"symbol": "AAPL26082XP00330000", "size": -1, "entry_price": "1"},
            InvalidSymbol,
            "format",
        ),
        (
            {"symbol": "AAPL261321P00330000", "size": -1, "entry_price": "1"},
            InvalidSymbol,
            "expiry",
        ),
        (
            {
                "symbol": "AAPL260821P00330000",
                "size": -1,
                "entry_price": "1",
                "position_type": "long_put",
            },
            ValidationError,
            "position_type",
        ),
    ],
)
def test_bad_positions_name_the_field(
    kwargs: dict[str, object], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as info:
        make_position(**kwargs)  # type: ignore[arg-type]
    assert getattr(info.value, "field", None) == field


def test_expired_and_unlisted_options(aapl: ChainIndex, config: EngineConfig) -> None:
    with pytest.raises(ExpiredOption) as expired:
        analyse(make_position("AAPL240119P00150000", -1, "1"), aapl, config)
    assert expired.value.code == "expired_option"
    assert "2024-01-19" in expired.value.reason and "2026-07-25" in expired.value.reason
    # The same-day expiry of the recording expired at 16:00 New York, before the response.
    with pytest.raises(ExpiredOption) as same_day:
        analyse(make_position("AAPL260724P00335000", -1, "1"), aapl, config)
    assert "2026-07-24 20:00 UTC" in same_day.value.reason
    with pytest.raises(NotFound) as missing:
        analyse(make_position("AAPL260821P00331000", -1, "1"), aapl, config)
    assert "listed expiries" in missing.value.reason


def test_params_validation() -> None:
    defaults = RebalanceParams()
    assert make_params(defaults, risk_tolerance="AGGRESSIVE").risk_tolerance.value == "aggressive"
    roll_types = make_params(defaults, preferred_roll_types="calendar, triple_strike_resize")
    assert {t.value for t in roll_types.preferred_roll_types} == {"calendar", "resize"}
    for kwargs, field in (
        ({"risk_tolerance": "reckless"}, "risk_tolerance"),
        ({"max_additional_capital": -1}, "max_additional_capital"),
        ({"profit_target": 0}, "profit_target"),
        ({"defensive_roll_trigger": "x"}, "defensive_roll_trigger"),
        ({"target_days_to_roll": -3}, "target_days_to_roll"),
        ({"preferred_roll_types": ["butterfly"]}, "preferred_roll_types"),
    ):
        with pytest.raises(InvalidValue) as info:
            make_params(defaults, **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field


def test_coin_settled_option(btc: ChainIndex, config: EngineConfig) -> None:
    a, i = analyse(make_position("BTC-21SEP26-69000-C", "-0.5", "0.14"), btc, config)
    assert a.premium_currency == "BTC" and a.multiplier == 1
    assert a.greeks.model == "black76"
    assert a.market.market == "crypto" and a.market.is_open
    assert a.unrealized_pnl == (a.mark - Decimal("0.14")) * Decimal("-0.5")
    # Deribit's forward of the expiry values the option.
    assert a.forward == pytest.approx(float(btc.snapshot.contracts[i].forward or 0))
    # Levels by hand: a coin call pays (S - K)/S coin, so the 0.14 coin premium breaks even
    # at S = K / (1 - 0.14) = 69000 / 0.86 = 80232.56; the coin loss is bounded by
    # (1 - 0.14) x 0.5 = 0.43 BTC; in USD the best case is at S = K: 0.14 x 69000 x 0.5.
    assert a.breakeven == Decimal("80232.56")
    assert a.max_profit == Decimal("0.070") and a.max_loss == Decimal("0.430")
    assert a.max_profit_usd == Decimal("4830.000") and a.max_loss_usd is None
