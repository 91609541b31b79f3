"""Probabilities against independent references (reflection principle, Monte Carlo with a
Brownian-bridge crossing correction), expected move, coin-settled Greeks against finite
differences, and the edge-case matrix for Black-76."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskdesk.domain.pricing import (
    black76_greeks,
    black76_price,
    bsm_greeks,
    expected_move,
    implied_vol_black76,
    inverse_option_greeks,
    ndtr,
    prob_touch,
)


def test_expected_move_is_one_standard_deviation_of_the_price() -> None:
    assert float(expected_move(100.0, 0.2, 0.25)) == pytest.approx(10.0)
    assert float(expected_move(100.0, 0.2, 0.25, 2.0)) == pytest.approx(20.0)
    got = expected_move([100.0, 400.0], 0.5, [1.0, 0.04])
    np.testing.assert_allclose(got, [50.0, 40.0])
    assert float(expected_move(100.0, 0.3, 0.0)) == 0.0
    # Under the lognormal model ±1 expected move in log terms holds N(1) - N(-1) of the mass.
    assert float(ndtr(1.0) - ndtr(-1.0)) == pytest.approx(0.682689492137, abs=1e-12)


def test_driftless_touch_probability_is_twice_the_finish_probability() -> None:
    # Reflection principle for ln S without drift (mu = σ²/2): P(touch) = 2·N(-a/(σ√T)).
    s, sigma, t = 100.0, 0.3, 0.5
    for h in (120.0, 80.0, 101.0, 300.0):
        a = abs(math.log(h / s))
        expect = 2.0 * 0.5 * math.erfc(a / (sigma * math.sqrt(t)) / math.sqrt(2.0))
        assert float(prob_touch(s, h, t, 0.5 * sigma * sigma, sigma)) == pytest.approx(
            expect, rel=1e-13
        )
    assert float(prob_touch(s, s, t, 0.05, sigma)) == 1.0


@pytest.mark.parametrize(("h", "mu"), [(120.0, 0.08), (85.0, 0.08), (130.0, -0.05), (90.0, 0.0)])
def test_touch_probability_matches_a_bridge_corrected_monte_carlo(h: float, mu: float) -> None:
    s, sigma, t, steps, paths = 100.0, 0.35, 0.75, 64, 40_000
    rng = np.random.default_rng(7)
    dt = t / steps
    nu = mu - 0.5 * sigma * sigma
    b = math.log(h / s)
    up = b > 0
    x = np.zeros(paths)
    survive = np.ones(paths)
    for _ in range(steps):
        nxt = x + nu * dt + sigma * math.sqrt(dt) * rng.standard_normal(paths)
        d0, d1 = (b - x, b - nxt) if up else (x - b, nxt - b)
        # Probability that a Brownian bridge between the two points crosses the barrier.
        cross = np.where((d0 > 0) & (d1 > 0), np.exp(-2.0 * d0 * d1 / (sigma * sigma * dt)), 1.0)
        survive *= 1.0 - cross
        x = nxt
    est = 1.0 - survive
    se = est.std() / math.sqrt(paths)
    got = float(prob_touch(s, h, t, mu, sigma))
    assert abs(got - est.mean()) < 4.0 * se + 1e-4


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(
    ("f", "k", "t", "v"), [(60_000.0, 65_000.0, 0.1, 0.6), (3_000.0, 2_500.0, 0.5, 0.8)]
)
def test_coin_greeks_match_finite_differences(
    f: float, k: float, t: float, v: float, call: bool
) -> None:
    inv = inverse_option_greeks(f, k, t, v, call)

    def coin(ff: float = f, tt: float = t, vv: float = v) -> float:
        return float(inverse_option_greeks(ff, k, tt, vv, call).price_coin)

    h, ht, hv = 1e-3 * f, 1e-5, 1e-5
    gamma_fd = f * (coin(f + h) - 2 * coin() + coin(f - h)) / (h * h)
    theta_fd = -(coin(tt=t + ht) - coin(tt=t - ht)) / (2 * ht)  # time passing shortens T
    vega_fd = (coin(vv=v + hv) - coin(vv=v - hv)) / (2 * hv)
    assert float(inv.gamma_coin) == pytest.approx(gamma_fd, rel=1e-5)
    assert float(inv.theta_coin) == pytest.approx(theta_fd, rel=1e-6)
    assert float(inv.vega_coin) == pytest.approx(vega_fd, rel=1e-7)


BLACK76_EDGES = [
    # (F, K, T, r, sigma, call, expected price)
    (100.0, 90.0, 0.0, 0.05, 0.2, True, 10.0),  # expiry: intrinsic
    (100.0, 110.0, 0.0, 0.05, 0.2, False, 10.0),
    (100.0, 100.0, 0.0, 0.05, 0.2, True, 0.0),
    (100.0, 90.0, 1.0, 0.05, 0.0, True, 10.0 * math.exp(-0.05)),  # σ = 0
    (100.0, 110.0, 1.0, 0.05, 0.0, True, 0.0),
    (
        100.0,
        100.0,
        1.0,
        0.0,
        0.2,
        True,
        100.0 * (2.0 * 0.5 * (1 + math.erf(0.1 / math.sqrt(2))) - 1),
    ),
    (100.0, 100.0, 1.0, -0.02, 0.2, False, None),  # r < 0
    (100.0, 1_000.0, 0.5, 0.05, 0.3, True, 0.0),  # deep OTM: tiny, never negative
    (100.0, 10.0, 0.5, 0.05, 0.3, True, 90.0 * math.exp(-0.025)),  # deep ITM
    (100.0, 10.0, 0.5, -0.01, 0.3, False, 0.0),
]


@pytest.mark.parametrize("case", BLACK76_EDGES)
def test_black76_edge_case_matrix(case: tuple[float, ...]) -> None:
    f, k, t, r, v, c, expected = case
    call = bool(c)
    g = black76_greeks(f, k, t, r, v, call)
    values = np.array([g.price, g.delta, g.gamma, g.theta, g.vega, g.rho, g.dividend_rho])
    assert np.isfinite(values).all()
    assert float(g.price) >= 0.0 and float(g.gamma) >= 0.0 and float(g.vega) >= 0.0
    assert abs(float(g.delta)) <= math.exp(-r * t) * (1 + 1e-15)
    if expected is not None:
        assert float(g.price) == pytest.approx(expected, abs=1e-9)
    # rho with F fixed is -T·V; Black-76 is GBSM on S = F with q = r.
    assert float(g.rho) == pytest.approx(-t * float(g.price), abs=1e-15)
    gb = bsm_greeks(f, k, t, r, r, v, call)
    for name in ("price", "delta", "gamma", "theta", "vega"):
        assert float(getattr(g, name)) == float(getattr(gb, name)), name
    if t == 0.0:
        assert float(g.gamma) == 0.0 and float(g.vega) == 0.0
        w = 1.0 if call else -1.0
        indicator = 0.5 if f == k else float(w * (f - k) > 0)
        assert float(g.delta) == w * indicator
    if t > 0.0 and v > 0.0 and float(g.vega) > 1e-8:
        iv = implied_vol_black76(g.price, f, k, t, r, call)
        assert float(iv.vol) == pytest.approx(v, rel=1e-9)


def test_black76_prices_are_never_negative_on_random_deep_wings() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    f = np.exp(rng.uniform(0, np.log(1e4), n))
    k = f * np.exp(rng.uniform(np.log(0.05), np.log(20.0), n))
    p = black76_price(f, k, np.exp(rng.uniform(np.log(1 / 8760), np.log(5), n)),
                      rng.uniform(-0.02, 0.15, n), np.exp(rng.uniform(np.log(0.01), np.log(3), n)),
                      rng.random(n) < 0.5)  # fmt: skip
    assert np.all(p >= 0.0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_bsm_prices_are_never_negative_on_random_deep_wings(backend: str) -> None:
    # Before the clamp, prices down to -2.5e-320 came out of the OTM difference.
    from riskdesk.domain.pricing import bsm_price, numba_available

    if backend == "numba" and not numba_available():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(2)
    n = 200_000
    s = np.exp(rng.uniform(0, np.log(1e4), n))
    p = bsm_price(s, s * np.exp(rng.uniform(np.log(0.05), np.log(20.0), n)),
                  np.exp(rng.uniform(np.log(1 / 8760), np.log(5), n)), rng.uniform(-0.02, 0.15, n),
                  rng.uniform(0, 0.1, n), np.exp(rng.uniform(np.log(0.01), np.log(3), n)),
                  rng.random(n) < 0.5, backend=backend)  # type: ignore[arg-type]  # fmt: skip
    assert np.all(p >= 0.0)
