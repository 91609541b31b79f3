"""Bjerksund-Stensland 2002 (vs 1993, CRR and QuantLib's 1993 engine) and vanna/charm/volga
(vs central finite differences of the first-order Greeks, BSM and Black-76)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.pricing import (
    american_price,
    bjerksund_stensland_2002_price,
    bjerksund_stensland_price,
    black76_greeks,
    black76_second_order,
    bsm_greeks,
    bsm_price,
    bsm_second_order,
    crr_price,
)
from riskdesk.domain.pricing.american import _bvn_cdf


def _early_exercise_cases(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    K = 100.0 * rng.uniform(0.8, 1.25, n)
    return (
        np.full(n, 100.0),
        K,
        rng.uniform(0.1, 2.0, n),
        rng.uniform(0.02, 0.10, n),
        rng.uniform(0.0, 0.12, n),
        rng.uniform(0.15, 0.5, n),
        rng.random(n) < 0.5,
    )


def test_bivariate_normal_matches_independent_and_limit_values() -> None:
    # rho = 0 is not in the supported band; use known values for rho = ±0.786 instead:
    # P(X<0, Y<0) = 1/4 + asin(rho)/(2π) (Sheppard).
    for rho in (0.786, -0.786):
        got = float(_bvn_cdf(np.array(0.0), np.array(0.0), rho))
        assert got == pytest.approx(0.25 + np.arcsin(rho) / (2 * np.pi), abs=1e-15)
    # Far tails reduce to the univariate distribution.
    assert float(_bvn_cdf(np.array(9.0), np.array(0.3), 0.786)) == pytest.approx(
        0.6179114221889527, abs=1e-14
    )
    with pytest.raises(ValueError, match="rho"):
        _bvn_cdf(np.array(0.0), np.array(0.0), 0.95)


def test_bs2002_golden_case_lies_between_1993_and_the_tree() -> None:
    # Haug's worked example (1993 value 5.2704, QuantLib 5.270403878797561).
    args = (42.0, 40.0, 0.75, 0.04, 0.08, 0.35, True)
    v93 = float(bjerksund_stensland_price(*args))
    v02 = float(bjerksund_stensland_2002_price(*args))
    tree = float(crr_price(*args, steps=2000))
    assert v93 == pytest.approx(5.270403878797561, abs=1e-12)
    assert v93 < v02 < tree
    assert v02 == pytest.approx(5.286858855569346, abs=1e-10)  # regression value


def test_bs2002_is_a_tight_lower_bound_on_random_cases() -> None:
    args = _early_exercise_cases(60, seed=11)
    tree = crr_price(*args, steps=1200)
    v02 = bjerksund_stensland_2002_price(*args)
    v93 = bjerksund_stensland_price(*args)
    euro = bsm_price(*args)
    # Lower bound (up to the tree's own discretisation error) and never below European.
    assert np.all(v02 <= tree * (1 + 2e-3) + 1e-3)
    assert np.all(v02 >= euro - 1e-12)
    # Closer to the tree than the 1993 flat boundary on average.
    assert np.mean(np.abs(v02 - tree)) < np.mean(np.abs(v93 - tree))
    # The flat-boundary approximations are known to be ~1-2 % low at worst.
    assert np.max(np.abs(v02 - tree) / tree) < 0.02


def test_american_price_dispatch_and_no_early_exercise() -> None:
    args = (100.0, 100.0, 1.0, 0.05, 0.0, 0.3, True)  # call without dividends: European
    euro = float(bsm_price(*args))
    for method in ("bs2002", "bs1993", "baw"):
        assert float(american_price(*args, method=method)) == pytest.approx(euro, rel=1e-14)
    with pytest.raises(ValueError, match="unknown"):
        american_price(*args, method="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(
    ("spot", "strike", "tenor", "r", "q", "sigma"),
    [
        (100.0, 110.0, 0.7, 0.03, 0.02, 0.25),
        (100.0, 80.0, 0.05, -0.01, 0.0, 0.6),
        (5000.0, 5200.0, 2.0, 0.12, 0.08, 0.15),
    ],
)
def test_second_order_greeks_match_finite_differences(
    spot: float, strike: float, tenor: float, r: float, q: float, sigma: float, call: bool
) -> None:
    S, K, T = spot, strike, tenor
    so = bsm_second_order(S, K, T, r, q, sigma, call)
    hv, ht, hs = 1e-5, 1e-6, S * 1e-5

    def g(**kw: float) -> object:
        base = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma}
        base.update(kw)
        return bsm_greeks(is_call=call, backend="numpy", **base)  # type: ignore[arg-type]

    up_v, dn_v = g(sigma=sigma + hv), g(sigma=sigma - hv)
    vanna_fd = (up_v.delta - dn_v.delta) / (2 * hv)  # type: ignore[attr-defined]
    vanna_fd_s = (g(S=S + hs).vega - g(S=S - hs).vega) / (2 * hs)  # type: ignore[attr-defined]
    volga_fd = (up_v.vega - dn_v.vega) / (2 * hv)  # type: ignore[attr-defined]
    # Time passing shortens T: charm = -d(delta)/dT.
    charm_fd = -(g(T=T + ht).delta - g(T=T - ht).delta) / (2 * ht)  # type: ignore[attr-defined]
    assert float(so.vanna) == pytest.approx(float(vanna_fd), rel=1e-6, abs=1e-9)
    assert float(so.vanna) == pytest.approx(float(vanna_fd_s), rel=1e-6, abs=1e-9)
    assert float(so.volga) == pytest.approx(float(volga_fd), rel=1e-6, abs=1e-7 * S)
    assert float(so.charm) == pytest.approx(float(charm_fd), rel=1e-5, abs=1e-8)
    assert float(so.vanna_per_pct) == pytest.approx(float(so.vanna) / 100)
    assert float(so.charm_per_day) == pytest.approx(float(so.charm) / 365)
    assert float(so.volga_per_pct) == pytest.approx(float(so.volga) / 100)


@pytest.mark.parametrize("call", [True, False])
def test_black76_second_order_match_finite_differences(call: bool) -> None:
    F, K, T, r, v = 60_000.0, 65_000.0, 0.3, 0.02, 0.7
    so = black76_second_order(F, K, T, r, v, call)
    h, ht = 1e-5, 1e-6
    up, dn = black76_greeks(F, K, T, r, v + h, call), black76_greeks(F, K, T, r, v - h, call)
    charm_fd = -(
        black76_greeks(F, K, T + ht, r, v, call).delta
        - black76_greeks(F, K, T - ht, r, v, call).delta
    ) / (2 * ht)
    assert float(so.vanna) == pytest.approx(float((up.delta - dn.delta) / (2 * h)), rel=1e-6)
    assert float(so.volga) == pytest.approx(float((up.vega - dn.vega) / (2 * h)), rel=1e-6)
    assert float(so.charm) == pytest.approx(float(charm_fd), rel=1e-5)


def test_second_order_limits_and_invalid_inputs() -> None:
    so = bsm_second_order(
        [100.0, 100.0, -1.0],
        [100.0, 90.0, 100.0],
        [0.0, 1.0, 1.0],
        0.05,
        0.0,
        [0.2, 0.0, 0.2],
        True,
    )
    assert so.vanna[0] == 0.0 and so.volga[0] == 0.0 and np.isfinite(so.charm[:2]).all()
    assert so.vanna[1] == 0.0 and so.volga[1] == 0.0
    assert np.isnan([so.vanna[2], so.charm[2], so.volga[2]]).all()


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.5, 2.0),
    st.floats(0.02, 3.0),
    st.floats(-0.01, 0.12),
    st.floats(0.0, 0.12),
    st.floats(0.05, 1.5),
    st.booleans(),
)
def test_bs2002_bounds_and_monotonicity(
    k: float, t: float, r: float, q: float, v: float, call: bool
) -> None:
    spots = np.array([90.0, 100.0, 110.0])
    strike = 100.0 * k
    amer = bjerksund_stensland_2002_price(spots, strike, t, r, q, v, call)
    euro = bsm_price(spots, strike, t, r, q, v, call)
    intrinsic = np.maximum((spots - strike) if call else (strike - spots), 0.0)
    assert np.all(np.isfinite(amer))
    assert np.all(amer >= euro - 1e-12 * strike)
    assert np.all(amer >= intrinsic - 1e-12 * strike)
    steps = np.diff(amer)
    assert np.all(steps >= -1e-9) if call else np.all(steps <= 1e-9)
