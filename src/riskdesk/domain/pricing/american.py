"""American options: Barone-Adesi-Whaley (1987) and Bjerksund-Stensland (1993 and 2002).

Vectorised over NumPy arrays; inputs as in ``black_scholes.bsm_greeks`` (``q`` is the
continuous dividend yield, the carry is b = r - q). A call with q <= 0 and a put with
r <= 0 are priced as European, floored at the intrinsic value (with r < 0 a deep
in-the-money call is exercised at once; every method here is floored at intrinsic). Prices per unit of
underlying, in the quote currency. Use ``binomial.crr_price`` as the exercise reference.

Bjerksund-Stensland 2002 (``bjerksund_stensland_2002_price``, the default of
``american_price``) splits the life of the option at t1 = (√5 - 1)/2 · T and uses a flat
exercise boundary on each part, which needs the bivariate normal distribution; it is a
tighter lower bound than the single flat boundary of 1993. QuantLib's
``BjerksundStenslandApproximationEngine`` (1.44) implements the 1993 version, which is
kept as ``bjerksund_stensland_price`` and cross-checked against it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.black_scholes import bsm_price
from riskdesk.domain.pricing.conventions import FloatArray, as_bool_array, as_float_array
from riskdesk.domain.pricing.normal import ndtr, norm_pdf

# Gauss-Legendre nodes and weights on [-1, 1] for the bivariate normal (20 points is
# Genz's choice for 0.75 <= |rho| < 0.925; BS-2002 only needs |rho| = √(t1/T) ≈ 0.786).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
# t1/T of the 2002 paper: the golden-section split of the option's life.
_BS02_SPLIT = 0.5 * (np.sqrt(5.0) - 1.0)

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


def _at_least_intrinsic(
    value: FloatArray, S: FloatArray, K: FloatArray, is_call: npt.NDArray[np.bool_]
) -> FloatArray:
    # Immediate exercise is always possible. The "never early" rule (call with q <= 0, put
    # with r <= 0) assumes r >= 0 for calls: with r < 0 a deep in-the-money call is worth
    # exercising at once, and its European value falls below intrinsic.
    intrinsic = np.maximum(np.where(is_call, S - K, K - S), 0.0)
    return np.where(np.isnan(value), value, np.maximum(value, intrinsic))


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
    return _at_least_intrinsic(np.where(never_early, euro, np.maximum(amer, euro)), s_, k_, c_)


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
    # As r - b → 0+ (e.g. q = 1e-12 for a call) the trigger price runs to infinity and the
    # formula gives inf/inf; early exercise is then worthless: the European value.
    never_early = never_early | ~np.isfinite(amer)
    return _at_least_intrinsic(np.where(never_early, euro, np.maximum(amer, euro)), s_, k_, c_)


def _bvn_cdf(a: FloatArray, b: FloatArray, rho: float) -> FloatArray:
    """P(X < a, Y < b) for a standard bivariate normal with correlation |rho| < 0.925.

    Drezner-Wesolowsky's integral over the angle asin(rho) with Genz's double-precision
    20-point Gauss-Legendre rule (absolute error ~1e-15 for |rho| < 0.925).
    """
    if not abs(rho) < 0.925:
        msg = "bivariate normal implemented for |rho| < 0.925 only"
        raise ValueError(msg)
    h = -np.asarray(a, dtype=np.float64)[..., None]
    k = -np.asarray(b, dtype=np.float64)[..., None]
    asr = np.arcsin(rho)
    sn = np.sin(asr * (1.0 + _GL_X) * 0.5)
    hk = h * k
    hs = 0.5 * (h * h + k * k)
    terms = _GL_W * np.exp((sn * hk - hs) / (1.0 - sn * sn))
    upper: FloatArray = np.sum(terms, axis=-1) * asr / (4.0 * np.pi)
    # P(X > h, Y > k) with (h, k) = (-a, -b) equals P(X < a, Y < b) by symmetry.
    result: FloatArray = upper + ndtr(-h[..., 0]) * ndtr(-k[..., 0])
    return result


def _psi(
    S: FloatArray,
    T: FloatArray,
    gamma: float | FloatArray,
    H: FloatArray,
    I2: FloatArray,
    I1: FloatArray,
    t1: FloatArray,
    r: FloatArray,
    b: FloatArray,
    v: FloatArray,
) -> FloatArray:
    v2 = v * v
    drift = b + (gamma - 0.5) * v2
    sd1 = v * np.sqrt(t1)
    sd = v * np.sqrt(T)
    e1 = (np.log(S / I1) + drift * t1) / sd1
    e2 = (np.log(I2 * I2 / (S * I1)) + drift * t1) / sd1
    e3 = (np.log(S / I1) - drift * t1) / sd1
    e4 = (np.log(I2 * I2 / (S * I1)) - drift * t1) / sd1
    f1 = (np.log(S / H) + drift * T) / sd
    f2 = (np.log(I2 * I2 / (S * H)) + drift * T) / sd
    f3 = (np.log(I1 * I1 / (S * H)) + drift * T) / sd
    f4 = (np.log(S * I1 * I1 / (H * I2 * I2)) + drift * T) / sd
    rho = float(np.sqrt(_BS02_SPLIT))
    lam = -r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v2
    kappa = 2.0 * b / v2 + (2.0 * gamma - 1.0)
    return (
        np.exp(lam * T)
        * S**gamma
        * (
            _bvn_cdf(-e1, -f1, rho)
            - (I2 / S) ** kappa * _bvn_cdf(-e2, -f2, rho)
            - (I1 / S) ** kappa * _bvn_cdf(-e3, -f3, -rho)
            + (I1 / I2) ** kappa * _bvn_cdf(-e4, -f4, -rho)
        )
    )


def _bs02_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    v2 = v * v
    t1 = _BS02_SPLIT * T
    beta = (0.5 - b / v2) + np.sqrt((b / v2 - 0.5) ** 2 + 2.0 * r / v2)
    b_inf = beta / (beta - 1.0) * K
    b_0 = np.maximum(K, r / (r - b) * K)
    scale = K * K / ((b_inf - b_0) * b_0)
    h1 = -(b * t1 + 2.0 * v * np.sqrt(t1)) * scale
    h2 = -(b * T + 2.0 * v * np.sqrt(T)) * scale
    i1 = b_0 + (b_inf - b_0) * (1.0 - np.exp(h1))
    i2 = b_0 + (b_inf - b_0) * (1.0 - np.exp(h2))
    alpha1 = (i1 - K) * i1 ** (-beta)
    alpha2 = (i2 - K) * i2 ** (-beta)
    value = (
        alpha2 * S**beta
        - alpha2 * _phi(S, t1, beta, i2, i2, r, b, v)
        + _phi(S, t1, 1.0, i2, i2, r, b, v)
        - _phi(S, t1, 1.0, i1, i2, r, b, v)
        - K * _phi(S, t1, 0.0, i2, i2, r, b, v)
        + K * _phi(S, t1, 0.0, i1, i2, r, b, v)
        + alpha1 * _phi(S, t1, beta, i1, i2, r, b, v)
        - alpha1 * _psi(S, T, beta, i1, i2, i1, t1, r, b, v)
        + _psi(S, T, 1.0, i1, i2, i1, t1, r, b, v)
        - _psi(S, T, 1.0, K, i2, i1, t1, r, b, v)
        - K * _psi(S, T, 0.0, i1, i2, i1, t1, r, b, v)
        + K * _psi(S, T, 0.0, K, i2, i1, t1, r, b, v)
    )
    return np.where(i2 <= S, S - K, value)


def bjerksund_stensland_2002_price(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Bjerksund-Stensland (2002) two-step flat-boundary lower bound to the American price.

    Same inputs and units as :func:`bjerksund_stensland_price` (S, K quote currency per
    unit; T years; r, q continuous per year; sigma per year). Puts by the put-call
    transformation P(S, K, T, r, b) = C(K, S, T, r - b, -b). Never below the European
    value nor the 1993 value; within ~0.1 % of a fine CRR tree on ordinary inputs.
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
    never_early = (cb >= cr) | (t_ <= 0.0) | (v_ <= 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # Elements that are priced as European get harmless inputs in the 2002 formula.
        safe_r = np.where(never_early, 0.05, cr)
        safe_b = np.where(never_early, 0.0, cb)
        safe_t = np.where(never_early, 1.0, t_)
        safe_v = np.where(never_early, 0.2, v_)
        amer = _bs02_call(cs, ck, safe_t, safe_r, safe_b, safe_v)
    euro = bsm_price(s_, k_, t_, r_, q_, v_, c_, backend="numpy")
    # r - b → 0+: trigger prices at infinity, inf/inf in the formula; European value.
    never_early = never_early | ~np.isfinite(amer)
    return _at_least_intrinsic(np.where(never_early, euro, np.maximum(amer, euro)), s_, k_, c_)


def american_price(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    *,
    method: Literal["bs2002", "bs1993", "baw"] = "bs2002",
) -> FloatArray:
    """American option price per unit of underlying (quote currency) by ``method``.

    ``"bs2002"`` (default) Bjerksund-Stensland 2002, ``"bs1993"`` its 1993 version,
    ``"baw"`` Barone-Adesi-Whaley. Units as :func:`bjerksund_stensland_2002_price`.
    """
    if method == "bs2002":
        return bjerksund_stensland_2002_price(S, K, T, r, q, sigma, is_call)
    if method == "bs1993":
        return bjerksund_stensland_price(S, K, T, r, q, sigma, is_call)
    if method == "baw":
        return baw_price(S, K, T, r, q, sigma, is_call)
    msg = f"unknown American method {method!r}"
    raise ValueError(msg)


_AMERICAN_IV_STEPS = 40
_AMERICAN_IV_MAX_VOL = 5.0


def implied_vol_american(
    price: npt.ArrayLike,
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    is_call: npt.ArrayLike,
    *,
    method: Literal["bs2002", "bs1993", "baw"] = "bs2002",
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Volatility (per year) at which ``american_price(method)`` equals ``price``.

    Vectorised Illinois (modified regula falsi) on the bracket [0, 5.0] per element, a
    fixed 40 steps (the approximations are monotone in sigma). Returns the vols and
    ``IVStatus`` codes as int8 (``implied_vol.IVStatus``: 0 OK, 1 at intrinsic → 0,
    2 below intrinsic → NaN, 3 above the price at 500 % vol → NaN, 4 invalid → NaN).
    Units as :func:`american_price`; prices per unit of underlying.
    """
    p_, s_, k_, t_, r_, q_ = np.broadcast_arrays(
        *(as_float_array(a) for a in (price, S, K, T, r, q))
    )
    c_ = np.broadcast_to(as_bool_array(is_call), p_.shape)
    w = np.where(c_, 1.0, -1.0)
    valid = np.isfinite(p_ + s_ + k_ + t_ + r_ + q_) & (s_ > 0.0) & (k_ > 0.0) & (t_ > 0.0)
    # Harmless stand-ins for invalid elements keep the batch free of warnings.
    s_v = np.where(valid, s_, 1.0)
    k_v = np.where(valid, k_, 1.0)
    t_v = np.where(valid, t_, 1.0)
    r_v = np.where(valid, r_, 0.0)
    q_v = np.where(valid, q_, 0.0)

    def value(vol: FloatArray) -> FloatArray:
        return american_price(s_v, k_v, t_v, r_v, q_v, vol, c_, method=method)

    lo = np.full(p_.shape, 1e-6)
    hi = np.full(p_.shape, _AMERICAN_IV_MAX_VOL)
    f_lo = value(lo) - p_
    f_hi = value(hi) - p_
    intrinsic = np.maximum(w * (s_v - k_v), 0.0)
    status = np.zeros(p_.shape, dtype=np.int8)
    status = np.where(f_lo >= 0.0, np.int8(1), status)
    status = np.where(p_ < intrinsic, np.int8(2), status)
    status = np.where(f_hi < 0.0, np.int8(3), status)
    status = np.where(valid, status, np.int8(4)).astype(np.int8)
    solve = status == 0
    side = np.zeros(p_.shape)
    for _ in range(_AMERICAN_IV_STEPS):
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = np.where(solve, hi - f_hi * (hi - lo) / (f_hi - f_lo), 0.2)
        mid = np.where((mid > lo) & (mid < hi), mid, 0.5 * (lo + hi))
        f_mid = np.where(solve, value(mid) - p_, 0.0)
        up = f_mid > 0.0
        # Illinois: halve the stale end's residual when the same end is kept twice.
        f_lo = np.where(up & (side == 1.0), 0.5 * f_lo, f_lo)
        f_hi = np.where(~up & (side == -1.0), 0.5 * f_hi, f_hi)
        hi, f_hi = np.where(up, mid, hi), np.where(up, f_mid, f_hi)
        lo, f_lo = np.where(up, lo, mid), np.where(up, f_lo, f_mid)
        side = np.where(up, 1.0, -1.0)
    vol = np.where(solve, 0.5 * (lo + hi), np.nan)
    vol = np.where(status == 1, 0.0, vol)
    return vol, status


def american_greeks_fd(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    vol: FloatArray,
    is_call: npt.NDArray[np.bool_],
    method: Literal["bs2002", "bs1993", "baw"] = "bs2002",
) -> dict[str, FloatArray]:
    """Bump-and-revalue Greeks of the American approximation, per unit of underlying.

    Central differences in S (±0.1 %), sigma (±0.001), r and q (±1 bp); theta is the
    one-calendar-day decay scaled to a year (dV/dt per year, as the analytic Greeks).
    Keys: price, delta, gamma, theta, vega, rho, dividend_rho (units of ``Greeks``).
    """
    hs = 1e-3 * S
    hv, hr, day = 1e-3, 1e-4, 1.0 / 365.0
    ones = np.ones_like(S)
    vol_dn = np.maximum(vol - hv, 0.0)
    t_next = np.maximum(T - day, 0.0)
    # One vectorised call for every revaluation: row i of the stack is bump i.
    bumps = [
        (S, vol, T, r, q),
        (S + hs, vol, T, r, q),
        (S - hs, vol, T, r, q),
        (S, vol + hv, T, r, q),
        (S, vol_dn, T, r, q),
        (S, vol, t_next, r, q),
        (S, vol, T, r + hr, q),
        (S, vol, T, r - hr, q),
        (S, vol, T, r, q + hr),
        (S, vol, T, r, q - hr),
    ]
    s_, v_, t_, r_, q_ = (np.stack([b[i] * ones for b in bumps]) for i in range(5))
    v = american_price(s_, K, t_, r_, q_, v_, is_call, method=method)
    dt = T - t_next
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(dt > 0.0, (v[5] - v[0]) / np.where(dt > 0.0, dt, 1.0), 0.0)
    return {
        "price": v[0],
        "delta": (v[1] - v[2]) / (2.0 * hs),
        "gamma": (v[1] - 2.0 * v[0] + v[2]) / (hs * hs),
        "vega": (v[3] - v[4]) / (vol + hv - vol_dn),
        "theta": theta,
        "rho": (v[6] - v[7]) / (2.0 * hr),
        "dividend_rho": (v[8] - v[9]) / (2.0 * hr),
    }
