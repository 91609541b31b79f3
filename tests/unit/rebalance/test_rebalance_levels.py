"""Expiry levels (breakeven, max profit, max loss) against hand calculations, linear and
coin-settled, and as properties of the payoff itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.rebalance import ChainIndex, EngineConfig, analyse, make_position
from riskdesk.domain.rebalance.levels import breakeven, expiry_levels
from riskdesk.domain.symbols import OptionRight

D = Decimal
CALL, PUT = OptionRight.CALL, OptionRight.PUT


@pytest.mark.parametrize(
    ("symbol", "size", "entry", "be", "profit", "loss", "profit_usd", "loss_usd"),
    [
        # Audit case: short 2 BTC 70000 puts at 0.001 BTC. Breakeven 70000 / 1.001; the coin
        # loss grows without bound as S -> 0 (payoff K/S - 1), in USD it is at most K x 2.
        ("BTC-21SEP26-70000-P", "-2", "0.001", "69930.07", "0.002", None, None, "140000"),
        # Audit case: short 1 BTC 70000 call at 0.12 BTC. Breakeven 70000 / 0.88 = 79545.45
        # (the premium is worth 0.12 x S_T USD at expiry); the coin loss is below 1 - 0.12.
        ("BTC-21SEP26-70000-C", "-1", "0.12", "79545.45", "0.12", "0.88", "8400.00", None),
        ("BTC-21SEP26-70000-C", "1", "0.12", "79545.45", "0.88", "0.12", None, "8400.00"),
        ("BTC-21SEP26-70000-P", "2", "0.001", "69930.07", None, "0.002", "140000", None),
    ],
)
def test_coin_settled_levels_by_hand(
    btc: ChainIndex,
    config: EngineConfig,
    symbol: str,
    size: str,
    entry: str,
    be: str,
    profit: str | None,
    loss: str | None,
    profit_usd: str | None,
    loss_usd: str | None,
) -> None:
    a, _ = analyse(make_position(symbol, size, entry), btc, config)
    assert a.breakeven == D(be)
    assert a.max_profit == (None if profit is None else D(profit))
    assert a.max_loss == (None if loss is None else D(loss))
    assert a.max_profit_usd == (None if profit_usd is None else D(profit_usd))
    assert a.max_loss_usd == (None if loss_usd is None else D(loss_usd))
    assert "coin-settled" in a.levels_note


@pytest.mark.parametrize(
    ("right", "short", "be", "profit", "loss"),
    [
        (PUT, True, "321.50", "8500.00", "321500.00"),
        (CALL, True, "338.50", "8500.00", None),
        (PUT, False, "321.50", "321500.00", "8500.00"),
        (CALL, False, "338.50", None, "8500.00"),
    ],
)
def test_linear_levels_by_hand(
    right: OptionRight, short: bool, be: str, profit: str | None, loss: str | None
) -> None:
    levels = expiry_levels(right, short, D(330), D("8.50"), D(1000), coin=False)
    assert levels.breakeven == D(be)
    assert levels.max_profit == (None if profit is None else D(profit))
    assert levels.max_loss == (None if loss is None else D(loss))
    # Premium and payoff share the currency: the USD levels are the same numbers.
    assert (levels.max_profit_usd, levels.max_loss_usd) == (levels.max_profit, levels.max_loss)


def test_coin_call_premium_of_a_whole_coin_has_no_breakeven() -> None:
    with pytest.raises(InvalidValue) as info:
        breakeven(CALL, D(70000), D(1), coin=True)
    assert info.value.field == "entry_price"


def _coin_pnl(right: OptionRight, short: bool, k: float, p: float, s: float) -> float:
    payoff = (max(s - k, 0.0) if right is CALL else max(k - s, 0.0)) / s
    return (p - payoff) if short else (payoff - p)


@settings(max_examples=300, deadline=None)
@given(
    right=st.sampled_from([CALL, PUT]),
    short=st.booleans(),
    strike=st.integers(1_000, 200_000),
    premium=st.decimals("0.0001", "0.95", places=4),
)
def test_coin_levels_are_properties_of_the_payoff(
    right: OptionRight, short: bool, strike: int, premium: Decimal
) -> None:
    k, p = float(strike), float(premium)
    levels = expiry_levels(right, short, D(strike), premium, D(1), coin=True)
    be = float(levels.breakeven)
    # At the breakeven the coin P&L is zero, up to the half-cent rounding of the level
    # (the coin P&L moves by K/S^2 per USD there).
    assert abs(_coin_pnl(right, short, k, p, be)) <= 0.005 * k / be**2 + 1e-12
    # No price does better than the max profit or worse than the max loss (coin and USD).
    for s in (k * 1e-6, k * 0.5, k, k * 1.5, k * 1e6):
        coin = _coin_pnl(right, short, k, p, s)
        if levels.max_profit is not None:
            assert coin <= float(levels.max_profit) + 1e-9
        if levels.max_loss is not None:
            assert -coin <= float(levels.max_loss) + 1e-9
        usd = coin * s
        if levels.max_profit_usd is not None:
            assert usd <= float(levels.max_profit_usd) * (1 + 1e-9) + 1e-9
        if levels.max_loss_usd is not None:
            assert -usd <= float(levels.max_loss_usd) * (1 + 1e-9) + 1e-9
    # The bounded levels are attained (USD at S = K or S -> 0) or approached (coin, S -> inf).
    if right is CALL and levels.max_profit_usd is not None:
        assert _coin_pnl(right, short, k, p, k) * k == pytest.approx(float(levels.max_profit_usd))
    if right is CALL and short:
        assert -_coin_pnl(right, short, k, p, k * 1e9) == pytest.approx(
            float(levels.max_loss or 0), abs=1e-6
        )
