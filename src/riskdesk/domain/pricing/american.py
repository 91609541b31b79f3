"""American options: Barone-Adesi-Whaley (1987) and Bjerksund-Stensland (1993 and 2002).

Vectorised over NumPy arrays; inputs as in ``black_scholes.bsm_greeks`` (``q`` is the
continuous dividend yield, the carry is b = r - q). A call with q <= 0 <= r and a put with
r <= 0 <= q are never exercised early (European value). Every method is at least the
European and the intrinsic value; σ = 0 gets the best deterministic exercise date. Prices
per unit of underlying, in the quote currency. ``binomial.crr_price`` is the tree reference.

Bjerksund-Stensland 2002 (``bjerksund_stensland_2002_price``, the default of
``american_price``) splits the life of the option at t1 = (√5 - 1)/2 · T and uses a flat
exercise boundary on each part, which needs the bivariate normal distribution. Products
such as α·S^β and (I/S)^κ·N(·) are formed in log space (at low vol the factors overflow or
underflow on their own while the products are bounded); where the paper's heuristic
trigger collapses onto B0 (bT + 2σ√T < 0) the best flat trigger is used; and the flat-
boundary values take the best horizon T' ≤ T, so they never fall with T. QuantLib's
``BjerksundStenslandApproximationEngine`` (1.44) implements the 1993 version, which is
kept as ``bjerksund_stensland_price`` (equal to it where its trigger is meaningful).
docs/pricing.md ("American options") has the measured accuracy and cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.black_scholes import bsm_greeks, bsm_price
from riskdesk.domain.pricing.conventions import FloatArray, as_bool_array, as_float_array
from riskdesk.domain.pricing.normal import gauss, ndtr, ndtr_gauss, norm_pdf

# Gauss-Legendre nodes and weights on [-1, 1] for the bivariate normal (20 points is
# Genz's choice for 0.75 <= |rho| < 0.925; BS-2002 only needs |rho| = √(t1/T) ≈ 0.786).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
# t1/T of the 2002 paper: the golden-section split of the option's life.
_BS02_SPLIT = 0.5 * (np.sqrt(5.0) - 1.0)

_BAW_NEWTON_STEPS = 40


def _log_ndtr(x: FloatArray) -> FloatArray:
    """log N(x) with full relative accuracy in both tails (dimensionless).

    Left tail: N(x) = ½·e^{-x²/2}·R(x) with R from Cody's tail forms (``ndtr_gauss`` with
    g = 1 returns ½R), so log N(x) stays exact where N(x) itself underflows. Right of -1:
    log1p(-N(-x)), exact where N(x) rounds to 1.
    """
    xa = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        left = xa < -1.0
        # One rational CDF evaluation for both sides: ½R(x) on the left (g = 1), N(-x) on
        # the right (g = e^{-x²/2}).
        y = np.where(left, xa, -xa)
        tail = ndtr_gauss(y, np.where(left, 1.0, gauss(y)))
        out: FloatArray = np.where(left, -0.5 * (xa * xa) + np.log(tail), np.log1p(-tail))
        return out


def _beta_root(r: FloatArray, b: FloatArray, v2: FloatArray) -> FloatArray:
    """Larger root of ½σ²β(β-1) + bβ - r = 0 (the perpetual exponent), without cancellation.

    β = -c + √(c² + 2r/σ²) with c = b/σ² - ½; for c > 0 (low vol, positive carry) the
    difference of two nearly equal large numbers is rewritten as 2r/σ² / (c + √(c² + 2r/σ²)).
    """
    c = b / v2 - 0.5
    two_r = 2.0 * r / v2
    root = np.sqrt(c * c + two_r)
    out: FloatArray = np.where(c > 0.0, two_r / (c + root), root - c)
    return out


def _baw_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, v: FloatArray
) -> FloatArray:
    b = r - q
    v2 = v * v
    sd = v * np.sqrt(T)
    m_ = 2.0 * r / v2
    nm1 = 2.0 * b / v2 - 1.0
    k_ = -np.expm1(-r * T)
    # M/K has the finite limit 2/(σ²T) as r → 0.
    m_over_k = np.where(np.abs(r * T) > 1e-12, m_ / np.where(k_ == 0.0, 1.0, k_), 2.0 / (v2 * T))

    def _q2(four_m: FloatArray) -> FloatArray:
        # ½(-(N-1) + √((N-1)² + 4M/K)); rationalised when N - 1 > 0 (low vol, positive
        # carry), where the two large terms would cancel.
        root = np.sqrt(nm1 * nm1 + four_m)
        out: FloatArray = np.where(nm1 > 0.0, 0.5 * four_m / (nm1 + root), 0.5 * (root - nm1))
        return out

    q2 = _q2(4.0 * m_over_k)
    q2_inf = _q2(4.0 * m_)
    s_inf = K / (1.0 - 1.0 / q2_inf)
    h2 = -(b * T + 2.0 * sd) * K / (s_inf - K)
    si = K - (s_inf - K) * np.expm1(h2)
    # The seed falls at or below K when bT + 2σ√T < 0 (negative carry at low vol): start
    # from the perpetual critical price instead.
    si = np.where((si > K) & np.isfinite(si), si, np.where(np.isfinite(s_inf), s_inf, 2.0 * K))
    carry = np.exp((b - r) * T)
    drift = (b + 0.5 * v2) * T
    ln_k = np.log(K)
    # Newton on g(s) = s - K - c(s) - (1 - e^{(b-r)T}N(d1(s)))·s/q2 (negative at K, positive
    # beyond the critical price), kept inside the bracket its signs give: at low vol an
    # unguarded step leaves (K, ∞) and the iteration never comes back.
    lo = K
    hi = np.full_like(K, np.inf)
    for _ in range(_BAW_NEWTON_STEPS):
        d1 = (np.log(si) - ln_k + drift) / sd
        nd1 = ndtr(d1)
        rhs = bsm_price(si, K, T, r, q, v, True, backend="numpy") + (1.0 - carry * nd1) * si / q2
        bi = carry * nd1 * (1.0 - 1.0 / q2) + (1.0 - carry * norm_pdf(d1) / sd) / q2
        step = (K + rhs - bi * si) / (1.0 - bi)
        g = si - K - rhs
        lo = np.where(g < 0.0, si, lo)
        hi = np.where(g > 0.0, si, hi)
        inside = (step > lo) & (step < hi) & np.isfinite(step)
        si = np.where(inside, step, np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * si))
    d1 = (np.log(si) - ln_k + drift) / sd
    a2 = (si / q2) * (1.0 - carry * ndtr(d1))
    euro = bsm_price(S, K, T, r, q, v, True, backend="numpy")
    # a2·(S/si)^q2 as one exp: at low vol q2 is in the hundreds.
    premium = a2 * np.exp(q2 * (np.log(S) - np.log(si)))
    return np.where(si > S, euro + premium, S - K)


def _baw_put(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, v: FloatArray
) -> FloatArray:
    """Barone-Adesi-Whaley's own put formula (as in the paper and QuantLib).

    The quadratic approximation is not symmetric: pricing a put as the transformed call
    gives a different (not better) number, so the put has its own critical price S** < K.
    """
    b = r - q
    v2 = v * v
    sd = v * np.sqrt(T)
    m_ = 2.0 * r / v2
    nm1 = 2.0 * b / v2 - 1.0
    k_ = -np.expm1(-r * T)
    m_over_k = np.where(np.abs(r * T) > 1e-12, m_ / np.where(k_ == 0.0, 1.0, k_), 2.0 / (v2 * T))

    def _q1(four_m: FloatArray) -> FloatArray:
        # ½(-(N-1) - √((N-1)² + 4M/K)); rationalised when N - 1 < 0 (negative carry at
        # low vol), where the two large terms would cancel.
        root = np.sqrt(nm1 * nm1 + four_m)
        out: FloatArray = np.where(nm1 < 0.0, -0.5 * four_m / (root - nm1), -0.5 * (nm1 + root))
        return out

    q1 = _q1(4.0 * m_over_k)
    q1_inf = _q1(4.0 * m_)
    s_inf = K / (1.0 - 1.0 / q1_inf)
    h1 = (b * T - 2.0 * sd) * K / (K - s_inf)
    si = s_inf + (K - s_inf) * np.exp(h1)
    si = np.where((si > 0.0) & (si < K), si, np.where(s_inf > 0.0, s_inf, 0.5 * K))
    carry = np.exp((b - r) * T)
    drift = (b + 0.5 * v2) * T
    ln_k = np.log(K)
    # Newton on g(s) = K - s - p(s) + (1 - e^{(b-r)T}N(-d1(s)))·s/q1, positive below the
    # critical price and negative above it, kept inside the bracket its signs give.
    lo = np.zeros_like(K)
    hi = K
    for _ in range(_BAW_NEWTON_STEPS):
        d1 = (np.log(si) - ln_k + drift) / sd
        nmd1 = ndtr(-d1)
        rhs = bsm_price(si, K, T, r, q, v, False, backend="numpy") - (1.0 - carry * nmd1) * si / q1
        bi = -carry * nmd1 * (1.0 - 1.0 / q1) - (1.0 + carry * norm_pdf(d1) / sd) / q1
        step = (K - rhs + bi * si) / (1.0 + bi)
        g = K - si - rhs
        lo = np.where(g > 0.0, si, lo)
        hi = np.where(g < 0.0, si, hi)
        inside = (step > lo) & (step < hi) & np.isfinite(step)
        si = np.where(inside, step, 0.5 * (lo + hi))
    d1 = (np.log(si) - ln_k + drift) / sd
    a1 = -(si / q1) * (1.0 - carry * ndtr(-d1))
    euro = bsm_price(S, K, T, r, q, v, False, backend="numpy")
    premium = a1 * np.exp(q1 * (np.log(S) - np.log(si)))
    return np.where(si < S, euro + premium, K - S)


def _phi(
    ln_s: FloatArray,
    T: FloatArray,
    gamma: float | FloatArray,
    lam: float | FloatArray,
    ln_h: FloatArray,
    ln_i: FloatArray,
    b: FloatArray,
    v: FloatArray,
    ln_scale: float | FloatArray = 0.0,
) -> FloatArray:
    """Bjerksund-Stensland φ(S, T, γ, H, I) divided by scale^γ, in log space.

    φ = e^{λ}S^γ[N(d) - (I/S)^κ N(d - 2 ln(I/S)/(σ√T))]. At low vol S^γ, (I/S)^κ and the
    α = (I - K)·I^{-β} that multiplies the γ = β terms overflow or underflow on their own
    (0·inf), while their products with the CDFs are bounded; each product is therefore
    formed as one exp of a sum of logs (``lam`` is λ·T, passed in: it is 0 for γ = β).
    """
    v2 = v * v
    sd = v * np.sqrt(T)
    d = -((ln_s - ln_h) + (b + (gamma - 0.5) * v2) * T) / sd
    kappa = 2.0 * b / v2 + (2.0 * gamma - 1.0)
    base = lam + gamma * (ln_s - ln_scale)
    ln_is = ln_i - ln_s
    first = np.exp(base + _log_ndtr(d))
    second = np.exp(base + kappa * ln_is + _log_ndtr(d - 2.0 * ln_is / sd))
    out: FloatArray = first - second
    return out


def _trigger_inputs(
    K: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """β, B∞ = β/(β - 1)·K and B0 = max(K, r/(r - b)·K) of the flat-boundary methods."""
    beta = _beta_root(r, b, v * v)
    b_inf = beta / (beta - 1.0) * K
    b_0 = np.maximum(K, r / (r - b) * K)
    return beta, b_inf, b_0


def _bs93_at_trigger(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    b: FloatArray,
    v: FloatArray,
    beta: FloatArray,
    ln_i: FloatArray,
) -> FloatArray:
    """Value of the flat-boundary strategy "exercise when S first reaches I" (1993 formula).

    Any trigger gives a feasible exercise strategy, hence a lower bound of the American
    value. α·S^β = (I - K)(S/I)^β and α·φ(β) = (I - K)·φ(β)/I^β are formed in log space;
    λ(β) = 0 because β solves ½σ²β(β - 1) + bβ - r = 0.
    """
    ln_s, ln_k = np.log(S), np.log(K)
    ik = np.exp(ln_i) - K
    lam1 = (b - r) * T
    lam0 = -r * T
    value = (
        ik * np.exp(beta * (ln_s - ln_i))
        - ik * _phi(ln_s, T, beta, 0.0, ln_i, ln_i, b, v, ln_i)
        + _phi(ln_s, T, 1.0, lam1, ln_i, ln_i, b, v)
        - _phi(ln_s, T, 1.0, lam1, ln_k, ln_i, b, v)
        - K * _phi(ln_s, T, 0.0, lam0, ln_i, ln_i, b, v)
        + K * _phi(ln_s, T, 0.0, lam0, ln_k, ln_i, b, v)
    )
    # At or beyond the trigger the option is exercised at once: intrinsic value.
    out: FloatArray = np.where(ln_i <= ln_s, S - K, value)
    return out


def _bs93_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    """The 1993 paper's (and QuantLib's) value, with its heuristic trigger I(T)."""
    beta, b_inf, b_0 = _trigger_inputs(K, r, b, v)
    h_t = -(b * T + 2.0 * v * np.sqrt(T)) * b_0 / (b_inf - b_0)
    trig = b_0 - (b_inf - b_0) * np.expm1(h_t)
    return _bs93_at_trigger(S, K, T, r, b, v, beta, np.log(trig))


# Golden-section steps for the best flat trigger: the bracket shrinks to 0.618^24 ≈ 1e-5 of
# its log width; the value is flat at the optimum (error ~1e-10 relative), and any trigger
# gives a valid lower bound.
_TRIGGER_SEARCH_STEPS = 14
_GOLDEN = 0.5 * (np.sqrt(5.0) - 1.0)


def _bs93_best_trigger_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    """The 1993 flat-boundary value at the best trigger I in [max(B0, K), B∞].

    The paper's heuristic I(T) = B0 + (B∞ - B0)(1 - e^{h(T)}), h = -(bT + 2σ√T)·B0/(B∞ - B0),
    fails when bT + 2σ√T < 0 (negative carry at low vol, e.g. a put with r = 5 %,
    σ = 2 %, T = 1): h > 0 puts the trigger below the strike and the value collapses to
    the European one (QuantLib's engine returns that too). Maximising over the trigger
    (golden section on ln I, the value is unimodal in I) gives the best lower bound the
    flat boundary can give, in every regime.
    """
    beta, b_inf, b_0 = _trigger_inputs(K, r, b, v)
    sd = v * np.sqrt(T)
    lo = np.log(np.maximum(b_0, K))
    # B∞ is infinite as β → 1 (call with q → 0+); a trigger more than 8 sd plus the drift
    # above the spot is never reached in practice.
    far = np.log(np.maximum(b_0, S)) + 8.0 * sd + np.abs(b) * T
    hi = np.minimum(np.log(b_inf), far)
    hi = np.where(hi > lo, hi, lo)
    x1 = hi - _GOLDEN * (hi - lo)
    x2 = lo + _GOLDEN * (hi - lo)
    f1 = _bs93_at_trigger(S, K, T, r, b, v, beta, x1)
    f2 = _bs93_at_trigger(S, K, T, r, b, v, beta, x2)
    for _ in range(_TRIGGER_SEARCH_STEPS):
        left = f1 >= f2  # the maximum lies in [lo, x2]
        lo = np.where(left, lo, x1)
        hi = np.where(left, x2, hi)
        new_x = np.where(left, hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo))
        f_new = _bs93_at_trigger(S, K, T, r, b, v, beta, new_x)
        x1, x2, f1, f2 = (
            np.where(left, new_x, x2),
            np.where(left, x1, new_x),
            np.where(left, f_new, f2),
            np.where(left, f1, f_new),
        )
    out: FloatArray = np.maximum(f1, f2)
    return out


def _bvn_cdf(a: FloatArray, b: FloatArray, rho: float) -> FloatArray:
    """P(X < a, Y < b) for a standard bivariate normal with correlation |rho| < 0.925.

    Drezner-Wesolowsky's integral over the angle asin(rho) with Genz's double-precision
    20-point Gauss-Legendre rule (absolute error ~1e-15 for |rho| < 0.925).
    """
    out: FloatArray = np.exp(
        _log_bvn_cdf(np.asarray(a, np.float64), np.asarray(b, np.float64), rho)
    )
    return out


def _logsumexp(x: FloatArray) -> FloatArray:
    m = np.max(x, axis=-1)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out: FloatArray = safe + np.log(np.sum(np.exp(x - safe[..., None]), axis=-1))
    return np.where(np.isneginf(m), -np.inf, out)


# Composite Gauss-Legendre on the angle: panels that halve towards both ends resolve an
# integrand peaked at an end (width ~1/(ab) for large |a|, |b|) as well as a smooth one.
_PANEL_NODES, _PANEL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_HALVINGS = 9
_EDGES = np.concatenate(
    [
        [0.0],
        0.5 ** np.arange(_HALVINGS, 1, -1),
        [0.5],
        1.0 - 0.5 ** np.arange(2, _HALVINGS + 1),
        [1.0],
    ]
)
_FRAC = (
    _EDGES[:-1, None] + (_EDGES[1:] - _EDGES[:-1])[:, None] * 0.5 * (1.0 + _PANEL_NODES)
).ravel()
_FRAC_W = ((_EDGES[1:] - _EDGES[:-1])[:, None] * 0.5 * _PANEL_WEIGHTS).ravel()


def _angle_terms(a: FloatArray, b: FloatArray, lo: float, hi: float) -> FloatArray:
    """log of (1/2π)∫_lo^hi exp(-(a² + b² - 2ab sin θ)/(2cos²θ)) dθ (log-sum-exp of nodes)."""
    theta = lo + (hi - lo) * _FRAC
    sn = np.sin(theta)
    av, bv = a[..., None], b[..., None]
    expo = (sn * (av * bv) - 0.5 * (av * av + bv * bv)) / (1.0 - sn * sn)
    out: FloatArray = np.log(abs(hi - lo) / (2.0 * np.pi)) + _logsumexp(np.log(_FRAC_W) + expo)
    return out


# Below this probability the 20-point signed Drezner-Wesolowsky sum (absolute error ~1e-15)
# loses relative accuracy, and the log-space composite form takes over.
_BVN_DIRECT_MIN = 1e-6


def _bvn_direct(a: FloatArray, b: FloatArray, rho: float) -> FloatArray:
    """Genz's 20-point form: N(a)N(b) + (1/2π)∫_0^{asin ρ}…, absolute error ~1e-15."""
    asr = float(np.arcsin(rho))
    sn = np.sin(asr * (1.0 + _GL_X) * 0.5)
    av, bv = a[..., None], b[..., None]
    terms = _GL_W * np.exp((sn * (av * bv) - 0.5 * (av * av + bv * bv)) / (1.0 - sn * sn))
    out: FloatArray = np.sum(terms, axis=-1) * asr / (4.0 * np.pi) + ndtr(a) * ndtr(b)
    return out


def _log_bvn_tail(a: FloatArray, b: FloatArray, rho: float) -> FloatArray:
    asr = float(np.arcsin(rho))
    if rho >= 0.0:
        start = _log_ndtr(a) + _log_ndtr(b)
        angle = _angle_terms(a, b, 0.0, asr)
    else:
        # N(a) - N(-b) = N(b) - N(-a): take the form whose terms are small tails.
        diff = np.where(
            a <= 0.0,
            ndtr(a) - ndtr(-b),
            np.where(b <= 0.0, ndtr(b) - ndtr(-a), 1.0 - ndtr(-a) - ndtr(-b)),
        )
        start = np.log(np.maximum(diff, 0.0))
        angle = _angle_terms(a, b, -0.5 * np.pi, asr)
    return _logsumexp(np.stack([start, angle], axis=-1))


def _log_bvn_cdf(a: FloatArray, b: FloatArray, rho: float) -> FloatArray:
    """log P(X < a, Y < b), |rho| < 0.925, with relative accuracy in the tails.

    Where the probability is at least 1e-6, Genz's 20-point form (absolute error ~1e-15).
    Below, Drezner-Wesolowsky as M(a, b, ρ) = M(a, b, ρ0) + (1/2π)∫ from asin ρ0 to asin ρ
    of a positive integrand over the angle: ρ0 = 0 with M = N(a)N(b) for ρ > 0, ρ0 = -1 with
    M = max(0, N(a) - N(-b)) for ρ < 0. Every part is positive and they are summed in log
    space, so tiny probabilities (which BS-2002 multiplies by large powers at low vol) keep
    their relative accuracy; the angle integral uses composite Gauss-Legendre panels that
    halve towards both ends (integrands peaked at an end in the tails).
    """
    if not abs(rho) < 0.925:
        msg = "bivariate normal implemented for |rho| < 0.925 only"
        raise ValueError(msg)
    aa, bb = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        direct = _bvn_direct(aa, bb, rho)
        out = np.log(np.maximum(direct, 0.0)).reshape(-1)
        tail = np.flatnonzero(~(direct >= _BVN_DIRECT_MIN).reshape(-1))
        if tail.size:
            out[tail] = _log_bvn_tail(aa.reshape(-1)[tail], bb.reshape(-1)[tail], rho)
        result: FloatArray = out.reshape(direct.shape)
        return result


def _psi(
    ln_s: FloatArray,
    T: FloatArray,
    gamma: float | FloatArray,
    lam: float | FloatArray,
    ln_h: FloatArray,
    ln_i2: FloatArray,
    ln_i1: FloatArray,
    t1: FloatArray,
    b: FloatArray,
    v: FloatArray,
    ln_scale: float | FloatArray = 0.0,
) -> FloatArray:
    """Bjerksund-Stensland 2002 ψ divided by scale^γ, each product formed in log space.

    ``lam`` is λ·T (0 for γ = β); see :func:`_phi` for why the logs.
    """
    v2 = v * v
    drift = b + (gamma - 0.5) * v2
    sd1 = v * np.sqrt(t1)
    sd = v * np.sqrt(T)
    ln_si1 = ln_s - ln_i1
    ln_refl = 2.0 * ln_i2 - ln_s - ln_i1  # ln(I2²/(S·I1))
    e1 = (ln_si1 + drift * t1) / sd1
    e2 = (ln_refl + drift * t1) / sd1
    e3 = (ln_si1 - drift * t1) / sd1
    e4 = (ln_refl - drift * t1) / sd1
    f1 = (ln_s - ln_h + drift * T) / sd
    f2 = (2.0 * ln_i2 - ln_s - ln_h + drift * T) / sd
    f3 = (2.0 * ln_i1 - ln_s - ln_h + drift * T) / sd
    f4 = (ln_s + 2.0 * ln_i1 - ln_h - 2.0 * ln_i2 + drift * T) / sd
    rho = float(np.sqrt(_BS02_SPLIT))
    kappa = 2.0 * b / v2 + (2.0 * gamma - 1.0)
    base = lam + gamma * (ln_s - ln_scale)
    t_1 = np.exp(base + _log_bvn_cdf(-e1, -f1, rho))
    t_2 = np.exp(base + kappa * (ln_i2 - ln_s) + _log_bvn_cdf(-e2, -f2, rho))
    t_3 = np.exp(base + kappa * (ln_i1 - ln_s) + _log_bvn_cdf(-e3, -f3, -rho))
    t_4 = np.exp(base + kappa * (ln_i1 - ln_i2) + _log_bvn_cdf(-e4, -f4, -rho))
    out: FloatArray = (t_1 - t_2) - (t_3 - t_4)
    return out


def _bs02_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    t1 = _BS02_SPLIT * T
    beta, b_inf, b_0 = _trigger_inputs(K, r, b, v)
    scale = K * K / ((b_inf - b_0) * b_0)
    h1 = -(b * t1 + 2.0 * v * np.sqrt(t1)) * scale
    h2 = -(b * T + 2.0 * v * np.sqrt(T)) * scale
    i1 = b_0 - (b_inf - b_0) * np.expm1(h1)
    i2 = b_0 - (b_inf - b_0) * np.expm1(h2)
    ln_s, ln_k, ln_i1, ln_i2 = np.log(S), np.log(K), np.log(i1), np.log(i2)
    a1, a2 = i1 - K, i2 - K
    l1_t1, l0_t1 = (b - r) * t1, -r * t1
    l1_t, l0_t = (b - r) * T, -r * T
    # α_j·S^β = (I_j - K)(S/I_j)^β and α_j times a γ = β term = (I_j - K)·term/I_j^β;
    # λ(β) = 0 (β solves ½σ²β(β - 1) + bβ - r = 0).
    value = (
        a2 * np.exp(beta * (ln_s - ln_i2))
        - a2 * _phi(ln_s, t1, beta, 0.0, ln_i2, ln_i2, b, v, ln_i2)
        + _phi(ln_s, t1, 1.0, l1_t1, ln_i2, ln_i2, b, v)
        - _phi(ln_s, t1, 1.0, l1_t1, ln_i1, ln_i2, b, v)
        - K * _phi(ln_s, t1, 0.0, l0_t1, ln_i2, ln_i2, b, v)
        + K * _phi(ln_s, t1, 0.0, l0_t1, ln_i1, ln_i2, b, v)
        + a1 * _phi(ln_s, t1, beta, 0.0, ln_i1, ln_i2, b, v, ln_i1)
        - a1 * _psi(ln_s, T, beta, 0.0, ln_i1, ln_i2, ln_i1, t1, b, v, ln_i1)
        + _psi(ln_s, T, 1.0, l1_t, ln_i1, ln_i2, ln_i1, t1, b, v)
        - _psi(ln_s, T, 1.0, l1_t, ln_k, ln_i2, ln_i1, t1, b, v)
        - K * _psi(ln_s, T, 0.0, l0_t, ln_i1, ln_i2, ln_i1, t1, b, v)
        + K * _psi(ln_s, T, 0.0, l0_t, ln_k, ln_i2, ln_i1, t1, b, v)
    )
    # At or beyond the second-period trigger the option is exercised at once: intrinsic.
    out: FloatArray = np.where(i2 <= S, S - K, value)
    return out


def _zero_vol_american(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, w: FloatArray
) -> FloatArray:
    """American value at σ = 0: the best deterministic exercise time in [0, T].

    The path is S·e^{(r-q)t}; exercising at t is worth g(t) = w(S·e^{-qt} - K·e^{-rt}),
    whose only stationary point is t* = ln(rK/(qS))/(r - q). Also the σ → 0 limit.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t_star = np.log((r * K) / (q * S)) / (r - q)
        t_star = np.where(np.isfinite(t_star), np.clip(t_star, 0.0, T), 0.0)
        best = np.maximum(w * (S - K), w * (S * np.exp(-q * T) - K * np.exp(-r * T)))
        best = np.maximum(best, w * (S * np.exp(-q * t_star) - K * np.exp(-r * t_star)))
    out: FloatArray = np.maximum(best, 0.0)
    return out


_CallFormula = Callable[
    [FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray], FloatArray
]


def _american(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    call_formula: _CallFormula,
    carry_form: bool,
    put_formula: _CallFormula | None = None,
) -> FloatArray:
    """Shared driver: put-call transformation, limits, never-early cases, floors.

    ``call_formula(S, K, T, r, b_or_q, v)`` prices an American call (``carry_form``: its
    fifth argument is the carry b, else the yield q); ``put_formula(S, K, T, r, q, v)``,
    when given, prices puts directly. Otherwise puts use the put-call symmetry
    P(S, K, T, r, q) = C(K, S, T, q, r) (in carry terms C(K, S, T, r - b, -b)). Early
    exercise is never optimal for a call with q ≤ 0 ≤ r nor for a put with r ≤ 0 ≤ q:
    those get the European value. σ = 0 gets the deterministic optimum, T = 0 intrinsic.
    Every result is at least the intrinsic and the European value.
    """
    s_, k_, t_, r_, q_, v_ = np.broadcast_arrays(
        *(as_float_array(a) for a in (S, K, T, r, q, sigma))
    )
    c_ = np.broadcast_to(as_bool_array(is_call), s_.shape)
    w = np.where(c_, 1.0, -1.0)
    cs = np.where(c_, s_, k_)
    ck = np.where(c_, k_, s_)
    cr = np.where(c_, r_, q_)
    cq = np.where(c_, q_, r_)
    never_early = (cq <= 0.0) & (cr >= 0.0)
    live = ~never_early & (t_ > 0.0) & (v_ > 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # Elements that are not solved by the formula get harmless inputs.
        one = np.ones_like(s_)
        amer = call_formula(
            np.where(live, cs, one),
            np.where(live, ck, one),
            np.where(live, t_, one),
            np.where(live, cr, 0.05),
            np.where(live, cr - cq if carry_form else cq, 0.0 if carry_form else 0.05),
            np.where(live, v_, 0.2),
        )
        if put_formula is not None:
            puts = live & ~c_
            amer_put = put_formula(
                np.where(puts, s_, one),
                np.where(puts, k_, one),
                np.where(puts, t_, one),
                np.where(puts, r_, 0.05),
                np.where(puts, q_, 0.0),
                np.where(puts, v_, 0.2),
            )
            amer = np.where(c_, amer, amer_put)
    euro = bsm_price(s_, k_, t_, r_, q_, v_, c_, backend="numpy")
    intrinsic = np.maximum(w * (s_ - k_), 0.0)
    floor = np.maximum(euro, intrinsic)
    # Not finite only where the trigger runs to infinity (a call with q → 0+, β → 1): early
    # exercise is then worth nothing and the floor is the value.
    value = np.where(live & np.isfinite(amer), np.maximum(amer, floor), floor)
    value = np.where(v_ == 0.0, _zero_vol_american(s_, k_, t_, r_, q_, w), value)
    ok = (s_ > 0.0) & (k_ > 0.0) & (t_ >= 0.0) & (v_ >= 0.0) & ~np.isnan(r_ + q_)
    out: FloatArray = np.where(ok, value, np.nan)
    return out


# Best horizon: a grid of fractions of T (below), then 24 golden-section steps in the two
# cells around its best point (0.618^24 ≈ 1e-5 of the cell in ln T' at a flat maximum: a
# relative error ~1e-10 in the value).
_HORIZON_SEARCH_STEPS = 24
# Fractions of T on the grid: dense near T, where a maximum just before T is missed by a
# coarse grid (the 1993 trigger degrades quickly as bT + 2σ√T approaches 0).
_HORIZON_FRACTIONS = np.array([1e-3, 1e-2, 0.05, 0.15, 0.3, 0.45, 0.6, 0.72, 0.82, 0.9, 0.96, 1.0])
# Relative shortening that tells whether a lower bound still grows with T.
_HORIZON_PROBE = 1e-4


def _best_horizon(
    formula: _CallFormula,
    search_formula: _CallFormula,
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    b: FloatArray,
    v: FloatArray,
    *,
    grid_everywhere: bool = False,
) -> FloatArray:
    """sup over T' ≤ T of a lower-bound formula: monotone in T, still a lower bound.

    The flat-boundary values are values of feasible strategies; exercising at an earlier
    horizon T' (if in the money) is feasible too. They rise with T to a maximum and then
    fall for long-dated options with a large carry (one flat boundary fits a long life
    worse: e.g. a 2.2-year put, r = 13 %, σ = 14 %, loses 0.3 % by 2.5 years), while the
    American value never falls with T. Where the value falls at T, the best horizon is
    found on a grid and refined by golden section on ln T' (the values are unimodal in
    T'). ``search_formula`` (cheaper: the heuristic triggers) values the shorter horizons.
    ``grid_everywhere`` also checks the grid where the value still rises at T (a second,
    earlier maximum: seen with the 1993 formula at σ > 200 %; 8 more evaluations each).
    """
    base = formula(S, K, T, r, b, v)
    shorter = formula(S, K, T * (1.0 - _HORIZON_PROBE), r, b, v)
    # At the trigger the value is the intrinsic one at every horizon from there on, even
    # where a shorter horizon has a trigger above the spot and more value: search there too.
    at_trigger = base == S - K
    candidates = (shorter > base) | at_trigger
    if grid_everywhere:
        candidates = np.ones_like(candidates)
    falling = np.flatnonzero(candidates.reshape(-1))
    if falling.size == 0:
        return base
    s_, k_, t_, r_, b_, v_ = (
        np.broadcast_to(a, base.shape).reshape(-1)[falling] for a in (S, K, T, r, b, v)
    )
    ln_t = np.log(t_)

    def at(x: FloatArray) -> FloatArray:
        return search_formula(s_, k_, np.exp(x), r_, b_, v_)

    # A coarse grid first (the values can sit on an intrinsic plateau at short horizons,
    # which would mislead a bracket search), then golden section around its best point.
    grid = ln_t[:, None] + np.log(_HORIZON_FRACTIONS)
    # The whole grid in one vectorised call (row i, column j: element i at horizon j).
    s_g, k_g, r_g, b_g, v_g = (
        np.broadcast_to(a[:, None], grid.shape) for a in (s_, k_, r_, b_, v_)
    )
    values = search_formula(s_g, k_g, np.exp(grid), r_g, b_g, v_g)
    j = np.argmax(np.where(np.isnan(values), -np.inf, values), axis=-1)
    rows = np.arange(j.size)
    base_flat = base.reshape(-1)
    # Refine only where a shorter horizon beats the value at T (deep in the money the
    # grid is usually all intrinsic: nothing to refine).
    probe_falls = (shorter > base).reshape(-1)[falling]
    better = np.flatnonzero((values[rows, j] > base_flat[falling]) | probe_falls)
    out = base_flat.copy()
    if better.size == 0:
        return out.reshape(base.shape)
    falling, grid, values, j = falling[better], grid[better], values[better], j[better]
    s_, k_, r_, b_, v_ = (a[better] for a in (s_, k_, r_, b_, v_))
    rows = np.arange(j.size)
    lo = grid[rows, np.maximum(j - 1, 0)]
    hi = grid[rows, np.minimum(j + 1, _HORIZON_FRACTIONS.size - 1)]
    x1 = hi - _GOLDEN * (hi - lo)
    x2 = lo + _GOLDEN * (hi - lo)
    f1, f2 = at(x1), at(x2)
    for _ in range(_HORIZON_SEARCH_STEPS):
        left = f1 >= f2
        lo = np.where(left, lo, x1)
        hi = np.where(left, x2, hi)
        new_x = np.where(left, hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo))
        f_new = at(new_x)
        x1, x2, f1, f2 = (
            np.where(left, new_x, x2),
            np.where(left, x1, new_x),
            np.where(left, f_new, f2),
            np.where(left, f1, f_new),
        )
    best = np.fmax(np.fmax(f1, f2), values[rows, j])
    out[falling] = np.fmax(best, out[falling])
    return out.reshape(base.shape)


def _euro_call(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    """European call in carry terms: never exercising early is a feasible strategy too (and
    the European value can fall with T when q > r, so the horizon search needs it)."""
    return bsm_price(S, K, T, r, r - b, v, True, backend="numpy")


def _bs93_one(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    # The paper's trigger where it is meaningful (bT + 2σ√T > 0 puts it above B0, and the
    # value is QuantLib's); the best trigger where the heuristic collapses onto B0.
    degenerate = b * T + 2.0 * v * np.sqrt(T) <= 0.0
    paper = np.fmax(_bs93_call(S, K, T, r, b, v), _euro_call(S, K, T, r, b, v))
    if not np.any(degenerate):
        return paper
    return np.where(degenerate, np.fmax(_bs93_best_trigger_call(S, K, T, r, b, v), paper), paper)


def _bs02_one(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    return np.fmax(
        np.fmax(_bs02_call(S, K, T, r, b, v), _bs93_best_trigger_call(S, K, T, r, b, v)),
        _euro_call(S, K, T, r, b, v),
    )


def _bs02_heuristic(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    return np.fmax(
        np.fmax(_bs02_call(S, K, T, r, b, v), _bs93_call(S, K, T, r, b, v)),
        _euro_call(S, K, T, r, b, v),
    )


def _bs93_heuristic(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    return np.fmax(_bs93_call(S, K, T, r, b, v), _euro_call(S, K, T, r, b, v))


def _bs93_formula(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    return _best_horizon(_bs93_one, _bs93_heuristic, S, K, T, r, b, v, grid_everywhere=True)


def _bs02_formula(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, b: FloatArray, v: FloatArray
) -> FloatArray:
    return _best_horizon(_bs02_one, _bs02_heuristic, S, K, T, r, b, v)


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

    Inputs as :func:`bjerksund_stensland_price`. Calls and puts by the paper's own
    formulas (as QuantLib), with the critical price found by a bracketed Newton iteration.
    Not a bound: at low vol and long expiries it can overstate the value (QuantLib's too).
    Per unit, quote currency.
    """
    return _american(
        S, K, T, r, q, sigma, is_call, _baw_call, carry_form=False, put_formula=_baw_put
    )


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

    S, K quote currency per unit; T years; r, q continuous per year; sigma per year.
    Puts by the transformation P(S, K, T, r, b) = C(K, S, T, r - b, -b). The paper's
    heuristic trigger (QuantLib's engine) wherever bT + 2σ√T > 0; where it is not (low
    vol, negative carry) the heuristic trigger falls onto B0 and the value collapses to the
    European one, so the best flat trigger is used there. Never below the value at a
    shorter horizon (see ``_best_horizon``), the European nor the intrinsic value.
    """
    return _american(S, K, T, r, q, sigma, is_call, _bs93_formula, carry_form=True)


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
    value, the intrinsic value nor the best single flat trigger (which takes over where the
    paper's heuristic triggers fall below the strike: low vol with negative carry).
    """
    return _american(S, K, T, r, q, sigma, is_call, _bs02_formula, carry_form=True)


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
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    vol: npt.ArrayLike,
    is_call: npt.ArrayLike,
    method: Literal["bs2002", "bs1993", "baw"] = "bs2002",
) -> dict[str, FloatArray]:
    """Bump-and-revalue Greeks of the American approximation, per unit of underlying.

    Inputs broadcast (S, K quote currency per unit; T years; r, q continuous per year; vol
    per year). Central differences in S (±0.1 %), sigma (±0.001), r and q (±1 bp); theta is
    the one-calendar-day decay scaled to a year (dV/dt per year, as the analytic Greeks).
    At T = 0 the option is worth its intrinsic value and a difference across the kink
    would report a gamma of 1/(2·0.1 % of S); the limiting Greeks of the European path are
    returned there instead (delta the exercise indicator, ½ at the strike; gamma and vega
    0). Keys: price, delta, gamma, theta, vega, rho, dividend_rho (units of ``Greeks``).
    """
    s_, k_, t_, r_, q_, v_ = np.broadcast_arrays(*(as_float_array(a) for a in (S, K, T, r, q, vol)))
    c_ = np.broadcast_to(as_bool_array(is_call), s_.shape)
    hs = 1e-3 * s_
    hv, hr, day = 1e-3, 1e-4, 1.0 / 365.0
    vol_dn = np.maximum(v_ - hv, 0.0)
    t_next = np.maximum(t_ - day, 0.0)
    # One vectorised call for every revaluation: row i of the stack is bump i.
    bumps = [
        (s_, v_, t_, r_, q_),
        (s_ + hs, v_, t_, r_, q_),
        (s_ - hs, v_, t_, r_, q_),
        (s_, v_ + hv, t_, r_, q_),
        (s_, vol_dn, t_, r_, q_),
        (s_, v_, t_next, r_, q_),
        (s_, v_, t_, r_ + hr, q_),
        (s_, v_, t_, r_ - hr, q_),
        (s_, v_, t_, r_, q_ + hr),
        (s_, v_, t_, r_, q_ - hr),
    ]
    s_b, v_b, t_b, r_b, q_b = (np.stack([b[i] for b in bumps]) for i in range(5))
    v = american_price(s_b, k_, t_b, r_b, q_b, v_b, c_, method=method)
    dt = t_ - t_next
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(dt > 0.0, (v[5] - v[0]) / np.where(dt > 0.0, dt, 1.0), 0.0)
    fd = {
        "price": v[0],
        "delta": (v[1] - v[2]) / (2.0 * hs),
        "gamma": (v[1] - 2.0 * v[0] + v[2]) / (hs * hs),
        "vega": (v[3] - v[4]) / (v_ + hv - vol_dn),
        "theta": theta,
        "rho": (v[6] - v[7]) / (2.0 * hr),
        "dividend_rho": (v[8] - v[9]) / (2.0 * hr),
    }
    expired = t_ == 0.0
    if np.any(expired):
        limit = bsm_greeks(s_, k_, t_, r_, q_, v_, c_, backend="numpy")
        fd = {name: np.where(expired, getattr(limit, name), value) for name, value in fd.items()}
    return {name: np.asarray(value, dtype=np.float64) for name, value in fd.items()}
