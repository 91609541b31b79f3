"""Invariants (hypothesis), the edge-case matrix, the fast/NumPy agreement and helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.pricing import (
    IVStatus,
    baw_price,
    beta_weighted_delta,
    breakeven,
    bsm_greeks,
    bsm_price,
    implied_vol_black76,
    inverse_option_greeks,
    position_scale,
    prob_itm,
    prob_touch,
    scale_greeks,
    scenario_pnl,
    short_call_early_assignment,
    short_put_early_assignment,
    sum_by_group,
)

spot = st.floats(1.0, 10_000.0)
ratio = st.floats(0.2, 5.0)
tenor = st.floats(1.0 / 8760.0, 5.0)
vol = st.floats(0.01, 3.0)
rate = st.floats(-0.02, 0.15)
div = st.floats(0.0, 0.10)


@settings(max_examples=300, deadline=None)
@given(spot, ratio, tenor, rate, div, vol)
def test_put_call_parity(s: float, k: float, t: float, r: float, q: float, v: float) -> None:
    c = float(bsm_price(s, s * k, t, r, q, v, True))
    p = float(bsm_price(s, s * k, t, r, q, v, False))
    fwd_value = s * math.exp(-q * t) - s * k * math.exp(-r * t)
    assert c - p == pytest.approx(fwd_value, abs=1e-9 * max(s, s * k))


@settings(max_examples=300, deadline=None)
@given(spot, ratio, tenor, rate, div, vol, st.booleans())
def test_greek_bounds(s: float, k: float, t: float, r: float, q: float, v: float, c: bool) -> None:
    g = bsm_greeks(s, s * k, t, r, q, v, c)
    assert abs(float(g.delta)) <= math.exp(-q * t) * (1 + 1e-15)
    assert float(g.gamma) >= 0.0
    assert float(g.vega) >= 0.0
    assert np.isfinite([g.price, g.delta, g.gamma, g.theta, g.vega, g.rho]).all()


@settings(max_examples=200, deadline=None)
@given(spot, ratio, tenor, rate, div, vol, st.booleans(), st.floats(1.001, 1.5))
def test_monotonicity(
    s: float, k: float, t: float, r: float, q: float, v: float, c: bool, bump: float
) -> None:
    base = float(bsm_price(s, s * k, t, r, q, v, c))
    tol = 1e-12 * s
    up_s = float(bsm_price(s * bump, s * k, t, r, q, v, c))
    up_k = float(bsm_price(s, s * k * bump, t, r, q, v, c))
    up_v = float(bsm_price(s, s * k, t, r, q, v * bump, c))
    assert (up_s >= base - tol) if c else (up_s <= base + tol)
    assert (up_k <= base + tol) if c else (up_k >= base - tol)
    assert up_v >= base - tol


@settings(max_examples=200, deadline=None)
@given(spot, ratio, tenor, st.floats(0.0, 0.15), vol, st.floats(1.001, 1.5))
def test_call_value_increases_with_time_without_dividends(
    s: float, k: float, t: float, r: float, v: float, bump: float
) -> None:
    base = float(bsm_price(s, s * k, t, r, 0.0, v, True))
    assert float(bsm_price(s, s * k, t * bump, r, 0.0, v, True)) >= base - 1e-12 * s


@settings(max_examples=60, deadline=None)
@given(
    spot, st.floats(0.7, 1.4), st.floats(0.05, 2.0), st.floats(0.0, 0.1), div, st.floats(0.1, 0.8)
)
def test_american_at_least_european(
    s: float, k: float, t: float, r: float, q: float, v: float
) -> None:
    for call in (True, False):
        euro = float(bsm_price(s, s * k, t, r, q, v, call))
        assert float(baw_price(s, s * k, t, r, q, v, call)) >= euro - 1e-12 * s


EDGE_CASES = [
    # (S, K, T, r, q, sigma, call, expected price)
    (100.0, 90.0, 0.0, 0.05, 0.0, 0.2, True, 10.0),  # expiry: intrinsic
    (100.0, 110.0, 0.0, 0.05, 0.0, 0.2, True, 0.0),
    (100.0, 110.0, 0.0, 0.05, 0.0, 0.2, False, 10.0),
    (100.0, 100.0, 0.0, 0.05, 0.0, 0.2, True, 0.0),  # at the strike at expiry
    (100.0, 90.0, 1.0, 0.05, 0.02, 0.0, True, 100 * math.exp(-0.02) - 90 * math.exp(-0.05)),
    (100.0, 120.0, 1.0, 0.05, 0.02, 0.0, True, 0.0),  # zero vol, OTM forward
    (100.0, 90.0, 1.0, -0.01, 0.0, 0.0, False, 0.0),
    (100.0, 100.0, 1.0, 0.0, 0.0, 0.2, True, 7.965567455405804),  # zero rates
    (100.0, 500.0, 1.0, 0.05, 0.0, 0.2, True, 0.0),  # deep OTM: tiny, not negative
    (100.0, 20.0, 1.0, 0.05, 0.0, 0.2, True, 100 - 20 * math.exp(-0.05)),  # deep ITM
]


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_case_matrix(case: tuple[float, ...]) -> None:
    s, k, t, r, q, v, c, expected = case
    g = bsm_greeks(s, k, t, r, q, v, bool(c))
    values = np.array([g.price, g.delta, g.gamma, g.theta, g.vega, g.rho, g.dividend_rho])
    assert np.isfinite(values).all()
    assert float(g.price) == pytest.approx(expected, abs=1e-9)
    assert float(g.gamma) >= 0.0


def test_limits_near_expiry_are_continuous() -> None:
    # One second before expiry the Greeks approach the documented limits at T = 0.
    near = bsm_greeks(100.0, 90.0, 1.0 / (365 * 86400), 0.05, 0.0, 0.2, True)
    at = bsm_greeks(100.0, 90.0, 0.0, 0.05, 0.0, 0.2, True)
    assert float(near.price) == pytest.approx(float(at.price), abs=1e-6)
    assert float(near.delta) == pytest.approx(float(at.delta)) == 1.0
    assert float(at.delta) == 1.0
    atm = bsm_greeks(100.0, 100.0, 0.0, 0.05, 0.0, 0.2, [True, False])
    np.testing.assert_array_equal(atm.delta, [0.5, -0.5])
    np.testing.assert_array_equal(atm.gamma, [0.0, 0.0])


def test_invalid_inputs_give_nan_per_element() -> None:
    g = bsm_greeks(
        [100.0, -1.0, 100.0, 100.0], [100.0, 100.0, 0.0, 100.0], [1, 1, 1, -1], 0.0, 0.0, 0.2, True
    )
    assert np.isfinite(g.price[0])
    assert np.isnan(g.price[1:]).all()


def test_implied_vol_reason_codes_never_raise() -> None:
    f, k, t, r = 100.0, 100.0, 1.0, 0.0
    prices = [8.0, -1.0, 0.0, 100.0, float("nan"), 29.0]
    calls = [True, True, True, True, True, False]
    ks = [k, k, k, k, k, 130.0]
    res = implied_vol_black76(prices, f, ks, t, r, calls)
    assert res.status.tolist() == [
        IVStatus.OK,
        IVStatus.BELOW_INTRINSIC,
        IVStatus.AT_INTRINSIC,
        IVStatus.ABOVE_MAXIMUM,
        IVStatus.INVALID_INPUT,
        IVStatus.BELOW_INTRINSIC,
    ]
    assert np.isfinite(res.vol[0]) and res.vol[2] == 0.0
    assert np.isnan(res.vol[[1, 3, 4, 5]]).all()


@pytest.mark.parametrize(
    ("k", "t", "v"),
    [(300.0, 1 / 8760, 3.0), (40.0, 0.001, 0.05), (2000.0, 5.0, 0.3), (100.0, 1 / 8760, 0.01)],
)
def test_implied_vol_deep_wings_and_short_expiries(k: float, t: float, v: float) -> None:
    for call in (True, False):
        price = bsm_price(100.0, k, t, 0.03, 0.01, v, call)
        g = bsm_greeks(100.0, k, t, 0.03, 0.01, v, call)
        if float(g.vega) < 1e-8 or float(price) <= 0.0:
            continue
        got = implied_vol_black76(price, 100.0 * math.exp(0.02 * t), k, t, 0.03, call).vol
        assert float(got) == pytest.approx(v, rel=1e-8)


def test_probabilities_and_flags() -> None:
    assert float(prob_itm(100, 100, 1, 0, 0, 0.2, True)) == pytest.approx(0.4601721627)
    assert float(prob_itm(100, 100, 1, 0, 0, 0.2, False)) == pytest.approx(1 - 0.4601721627)
    # Driftless touch probability is about twice the finishing probability.
    p_touch = float(prob_touch(100, 120, 1, 0.02, 0.2))
    assert float(prob_itm(100, 120, 1, 0.02, 0, 0.2, True)) < p_touch < 1
    assert float(breakeven(100, 5, True)) == 105 and float(breakeven(100, 5, False)) == 95
    assert bool(short_call_early_assignment(120, 100, 20.1, 0.5, 3, 30))
    assert not bool(short_call_early_assignment(120, 100, 21.0, 0.5, 3, 30))
    assert bool(short_put_early_assignment(50, 100, 1.0, 0.05, 50.01))


def test_aggregation_and_scenarios() -> None:
    scale = position_scale([1, -1], [2, 3], 100)
    np.testing.assert_array_equal(scale, [200, -300])
    g = scale_greeks(bsm_greeks([100, 100], [100, 110], 0.5, 0.03, 0, 0.25, True), scale)
    totals = sum_by_group(g.delta, [0, 0], n_groups=2)
    assert totals[0] == pytest.approx(g.delta.sum()) and totals[1] == 0.0
    assert float(beta_weighted_delta(10.0, 200.0, 1.5, 400.0)) == pytest.approx(7.5)
    pnl = scenario_pnl(
        [100, 100],
        [100, 110],
        0.5,
        0.03,
        0,
        0.25,
        True,
        scale,
        [-0.3, 0.0, 0.3],
        [-0.5, 0.0, 0.5],
        [0.0, 1 / 365, 7 / 365],
    )
    assert pnl.shape == (3, 3, 3)
    assert pnl[1, 1, 0] == pytest.approx(0.0, abs=1e-9)


def test_inverse_coin_delta_is_usd_delta_minus_coin_premium() -> None:
    f, k, t, v = 60_000.0, 65_000.0, 0.1, 0.6
    inv = inverse_option_greeks(f, k, t, v, True)
    h = 1.0
    up = inverse_option_greeks(f + h, k, t, v, True).price_coin
    dn = inverse_option_greeks(f - h, k, t, v, True).price_coin
    # Coin delta = F·d(V/F)/dF: the USD delta minus the premium in coin.
    assert float(inv.delta_coin) == pytest.approx(float(f * (up - dn) / (2 * h)), rel=1e-6)
    assert float(inv.delta_coin) == pytest.approx(float(inv.usd.delta - inv.price_coin))
    assert float(inv.price_coin * f) == pytest.approx(float(inv.usd.price))
