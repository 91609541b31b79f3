"""Probabilities and levels a trader reads off an option: ITM, touch, move, breakeven,
and early-assignment flags for short American options.

Probabilities are under a lognormal model with drift ``mu`` (the risk-neutral r - q by
default, pass a real-world drift if you have one) and volatility ``sigma`` per year.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.black_scholes import gbsm_d1_d2
from riskdesk.domain.pricing.conventions import (
    BoolArray,
    FloatArray,
    as_bool_array,
    as_float_array,
)
from riskdesk.domain.pricing.normal import ndtr


def prob_itm(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Risk-neutral probability of finishing in the money: N(d2) for calls, N(-d2) for puts.

    For a real-world probability pass ``r - q`` replaced by the drift (``q=0``, ``r=mu``).
    """
    _, d2 = gbsm_d1_d2(S, K, T, r, q, sigma)
    w = np.where(as_bool_array(is_call), 1.0, -1.0)
    return ndtr(w * d2)


def prob_touch(
    S: npt.ArrayLike,
    H: npt.ArrayLike,
    T: npt.ArrayLike,
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
) -> FloatArray:
    """Probability that the price path reaches level ``H`` at any time before ``T`` years.

    Reflection principle for a Brownian motion with drift ν = mu - σ²/2 on ln S (``mu``
    per year, continuous). 1 when H is already reached (H = S).
    """
    s_, h_, t_, m_, v_ = (as_float_array(a) for a in (S, H, T, mu, sigma))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        up = h_ >= s_
        a = np.abs(np.log(h_ / s_))
        nu = np.where(up, 1.0, -1.0) * (m_ - 0.5 * v_ * v_)
        sd = v_ * np.sqrt(t_)
        p = ndtr((-a + nu * t_) / sd) + np.exp(2.0 * nu * a / (v_ * v_)) * ndtr((-a - nu * t_) / sd)
        deterministic = np.where(nu * t_ >= a, 1.0, 0.0)
        p = np.where(sd > 0.0, p, deterministic)
        return np.where(a == 0.0, 1.0, np.minimum(p, 1.0))


def expected_move(
    S: npt.ArrayLike, sigma: npt.ArrayLike, T: npt.ArrayLike, n_sd: npt.ArrayLike = 1.0
) -> FloatArray:
    """One-(or ``n_sd``-)standard-deviation move S·σ·√T, in price units."""
    s_, v_, t_, z_ = (as_float_array(a) for a in (S, sigma, T, n_sd))
    return s_ * v_ * np.sqrt(t_) * z_


def breakeven(K: npt.ArrayLike, premium: npt.ArrayLike, is_call: npt.ArrayLike) -> FloatArray:
    """Underlying price at expiry where a long option breaks even: K ± premium per unit."""
    w = np.where(as_bool_array(is_call), 1.0, -1.0)
    return as_float_array(K) + w * as_float_array(premium)


def short_call_early_assignment(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    call_price: npt.ArrayLike,
    dividend: npt.ArrayLike,
    days_to_ex_dividend: npt.ArrayLike,
    days_to_expiry: npt.ArrayLike,
) -> BoolArray:
    """Flag short American calls at risk of assignment before the next ex-dividend date.

    The holder exercises on the day before ex-date when the cash dividend (per share)
    exceeds the call's extrinsic value (``call_price - (S - K)``), the call is in the
    money and the ex-date falls before expiry.
    """
    s_, k_, c_, d_, ex_, exp_ = (
        as_float_array(a) for a in (S, K, call_price, dividend, days_to_ex_dividend, days_to_expiry)
    )
    extrinsic = c_ - (s_ - k_)
    return (s_ > k_) & (ex_ >= 0.0) & (ex_ < exp_) & (d_ > extrinsic)


def short_put_early_assignment(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    put_price: npt.ArrayLike,
) -> BoolArray:
    """Flag deep-ITM short American puts whose extrinsic value is below the carry benefit.

    Exercising early gives the holder K now instead of at expiry, worth K·(1 - e^{-rT}); when
    the put's extrinsic value (``put_price - (K - S)``) is smaller, exercise is rational.
    """
    s_, k_, t_, r_, p_ = (as_float_array(a) for a in (S, K, T, r, put_price))
    extrinsic = p_ - (k_ - s_)
    carry = -k_ * np.expm1(-r_ * t_)
    return (k_ > s_) & (extrinsic < carry)
