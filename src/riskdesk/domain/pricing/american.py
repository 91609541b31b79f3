"""American options: Barone-Adesi-Whaley (1987) and Bjerksund-Stensland (1993).

Vectorised over NumPy arrays; inputs as in ``black_scholes.bsm_greeks`` (``q`` is the
continuous dividend yield, the carry is b = r - q). A call with q <= 0 and a put with
r <= 0 are never exercised early and are priced as European. Prices per unit of
underlying, in the quote currency. Use ``binomial.crr_price`` as the exercise reference.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.black_scholes import bsm_price
from riskdesk.domain.pricing.conventions import FloatArray, as_bool_array, as_float_array
from riskdesk.domain.pricing.normal import ndtr, norm_pdf

_BAW_NEWTON_STEPS = 40


def _baw_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, v: FloatArray
) -> FloatArray:
    b = r - q
    v2 = v * v
    sd = v * np.sqrt(T)
    m_ = 2.0 * r / v2
    n_ = 2.0 * b / v2
    k_ = -np.expm1(-r * T)
    # M/K has the finite limit 2/(σ²T) as r → 0.
    m_over_k = np.where(np.abs(r * T) > 1e-12, m_ / np.where(k_ == 0.0, 1.0, k_), 2.0 / (v2 * T))
    q2 = 0.5 * (-(n_ - 1.0) + np.sqrt((n_ - 1.0) ** 2 + 4.0 * m_over_k))
    q2_inf = 0.5 * (-(n_ - 1.0) + np.sqrt((n_ - 1.0) ** 2 + 4.0 * m_))
    s_inf = K / (1.0 - 1.0 / q2_inf)
    h2 = -(b * T + 2.0 * sd) * K / (s_inf - K)
    si = K + (s_inf - K) * (1.0 - np.exp(h2))
    carry = np.exp((b - r) * T)
    for _ in range(_BAW_NEWTON_STEPS):
        d1 = (np.log(si / K) + (b + 0.5 * v2) * T) / sd
        rhs = (
            bsm_price(si, K, T, r, q, v, True, backend="numpy") + (1.0 - carry * ndtr(d1)) * si / q2
        )
        bi = carry * ndtr(d1) * (1.0 - 1.0 / q2) + (1.0 - carry * norm_pdf(d1) / sd) / q2
        si = (K + rhs - bi * si) / (1.0 - bi)
    d1 = (np.log(si / K) + (b + 0.5 * v2) * T) / sd
    a2 = (si / q2) * (1.0 - carry * ndtr(d1))
    euro = bsm_price(S, K, T, r, q, v, True, backend="numpy")
    return np.where(si > S, euro + a2 * (S / si) ** q2, S - K)


def baw_price(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Barone-Adesi-Whaley quadratic approximation to the American option price.

    Puts use the put-call symmetry P(S, K, r, q) = C(K, S, q, r). Per unit, quote currency.
    """
    s_, k_, t_, r_, q_, v_ = np.broadcast_arrays(
        *(as_float_array(a) for a in (S, K, T, r, q, sigma))
    )
    c_ = np.broadcast_to(as_bool_array(is_call), s_.shape)
    # Symmetry: an American put is an American call on K with strike S, r and q swapped.
    cs = np.where(c_, s_, k_)
    ck = np.where(c_, k_, s_)
    cr = np.where(c_, r_, q_)
    cq = np.where(c_, q_, r_)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        amer = _baw_call(cs, ck, t_, cr, cq, v_)
    euro = bsm_price(s_, k_, t_, r_, q_, v_, c_, backend="numpy")
    never_early = (cq <= 0.0) | (t_ <= 0.0) | (v_ <= 0.0)
    return np.where(never_early, euro, np.maximum(amer, euro))


def _phi(
    S: FloatArray,
    T: FloatArray,
    gamma: float | FloatArray,
    H: FloatArray,
    I: FloatArray,  # noqa: E741 - the paper's name for the trigger price
    r: FloatArray,
    b: FloatArray,
    v: FloatArray,
) -> FloatArray:
    v2 = v * v
    sd = v * np.sqrt(T)
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v2) * T
    d = -(np.log(S / H) + (b + (gamma - 0.5) * v2) * T) / sd
    kappa = 2.0 * b / v2 + 2.0 * gamma - 1.0
    return (
        np.exp(lam) * S**gamma * (ndtr(d) - (I / S) ** kappa * ndtr(d - 2.0 * np.log(I / S) / sd))
    )


def _bs93_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    v2 = v * v
    beta = (0.5 - b / v2) + np.sqrt((b / v2 - 0.5) ** 2 + 2.0 * r / v2)
    b_inf = beta / (beta - 1.0) * K
    b_0 = np.maximum(K, r / (r - b) * K)
    h_t = -(b * T + 2.0 * v * np.sqrt(T)) * b_0 / (b_inf - b_0)
    trig = b_0 + (b_inf - b_0) * (1.0 - np.exp(h_t))
    alpha = (trig - K) * trig ** (-beta)
    value = (
        alpha * S**beta
        - alpha * _phi(S, T, beta, trig, trig, r, b, v)
        + _phi(S, T, 1.0, trig, trig, r, b, v)
        - _phi(S, T, 1.0, K, trig, r, b, v)
        - K * _phi(S, T, 0.0, trig, trig, r, b, v)
        + K * _phi(S, T, 0.0, K, trig, r, b, v)
    )
    return np.where(trig <= S, S - K, value)


def bjerksund_stensland_price(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Bjerksund-Stensland (1993) flat-boundary lower bound to the American price.

    Puts by the transformation P(S, K, T, r, b) = C(K, S, T, r - b, -b). Per unit.
    """
    s_, k_, t_, r_, q_, v_ = np.broadcast_arrays(
        *(as_float_array(a) for a in (S, K, T, r, q, sigma))
    )
    c_ = np.broadcast_to(as_bool_array(is_call), s_.shape)
    b_ = r_ - q_
    cs = np.where(c_, s_, k_)
    ck = np.where(c_, k_, s_)
    cr = np.where(c_, r_, r_ - b_)
    cb = np.where(c_, b_, -b_)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        amer = _bs93_call(cs, ck, t_, cr, cb, v_)
    euro = bsm_price(s_, k_, t_, r_, q_, v_, c_, backend="numpy")
    never_early = (cb >= cr) | (t_ <= 0.0) | (v_ <= 0.0)
    return np.where(never_early, euro, np.maximum(amer, euro))
