"""Compiled (numba) loops for the large-batch path; results match the NumPy path.

Every loop body repeats, operation for operation, the NumPy code it replaces (see the
function it names), using ``simd_math`` so that LLVM turns the loop into AVX code.
Compiled on first use and cached on disk (``cache=True``); ``backend`` only imports
this module for batches large enough to repay that.
"""

# mypy: ignore-errors
# (numba decorators and intrinsics are untyped; the public API in backend.py is typed)

from __future__ import annotations

import math
import types
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing import simd_math as sm
from riskdesk.domain.pricing.conventions import BoolArray, FloatArray

_LOOP = {"fastmath": sm.FASTMATH, "error_model": "numpy", "cache": True, "nogil": True}
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gbsm_loop(s, k, t, r, q, v, c, price, delta, gamma, theta, vega, rho):
    # Mirrors black_scholes._gbsm_numpy.
    for i in nb.prange(s.shape[0]):
        si = s[i]
        ki = k[i]
        ti = t[i]
        ri = r[i]
        qi = q[i]
        vi = v[i]
        w = 1.0 if c[i] else -1.0
        sqrt_t = math.sqrt(ti)
        sd = vi * sqrt_t
        dr = sm.exp(-ri * ti)
        dq = sm.exp(-qi * ti)
        x = sm.log(si / ki) + (ri - qi) * ti
        live = sd > 0.0
        inv_sd = 1.0 / sd
        d1 = x * inv_sd + 0.5 * sd if live else (math.inf if x > 0.0 else -math.inf)
        d1 = d1 if (live | (x != 0.0)) else 0.0
        d2 = d1 - sd
        g1 = sm.gauss(d1)
        # OTM-side CDFs; ITM price = OTM counterpart + dr·(F - K) (see _gbsm_block).
        otm = w * x <= 0.0
        wo = w if otm else -w
        n1o = sm.ndtr_gauss(wo * d1, g1)
        n2o = sm.ndtr_gauss(wo * d2, sm.gauss(d2))
        nd1 = n1o if otm else 1.0 - n1o
        nd2 = n2o if otm else 1.0 - n2o
        pdf = g1 * _INV_SQRT_2PI
        sdq = si * dq
        kdr = ki * dr
        p_otm = wo * (sdq * n1o - kdr * n2o)
        bt = (ri - qi) * ti
        # e^{(r-q)T} - 1: Taylor near 0, else the ratio of the discount factors (no exp).
        em1 = sm.expm1_small(bt) if abs(bt) < sm.EXPM1_SMALL else dq / dr - 1.0
        fmk = (si - ki) + si * em1
        p_ = p_otm if otm else p_otm + w * (dr * fmk)
        p_ = p_ if p_ > 0.0 else 0.0  # never negative (see _gbsm_block)
        de = w * dq * nd1
        ga = dq * pdf * inv_sd / si if live else 0.0
        ve = sdq * pdf * sqrt_t
        th_vol = -0.5 * sdq * pdf * (vi * vi * inv_sd) if live else 0.0
        th = th_vol - w * ri * kdr * nd2 + w * qi * sdq * nd1
        rh = w * ki * ti * dr * nd2
        # "&" on booleans, not "and": short-circuit branches stop the vectoriser.
        ok = (si > 0.0) & (ki > 0.0) & (ti >= 0.0) & (vi >= 0.0) & ((ri + qi) == (ri + qi))
        price[i] = p_ if ok else math.nan
        delta[i] = de if ok else math.nan
        gamma[i] = ga if ok else math.nan
        theta[i] = th if ok else math.nan
        vega[i] = ve if ok else math.nan
        rho[i] = rh if ok else math.nan


def _variant(fn: Any, suffix: str) -> Any:
    """A copy of ``fn`` under another name, for a second compiled variant of it.

    numba's on-disk cache is one index file per function (qualified name and line), and
    its key (signature, CPU) does not include ``parallel=``: a serial and a parallel
    dispatcher of the same function overwrite each other's entry, and a later process then
    loads the other variant's machine code (measured: the parallel implied-vol kernel ran
    the serial code, 62 → 210 ns/option). Distinct names give distinct cache files.
    """
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix,
                              fn.__defaults__, fn.__closure__)  # fmt: skip
    copy.__qualname__ = fn.__qualname__ + suffix
    return copy


_gbsm_serial = nb.njit(**_LOOP)(_variant(_gbsm_loop, "_serial"))
_gbsm_parallel = nb.njit(parallel=True, **_LOOP)(_variant(_gbsm_loop, "_parallel"))

# Waking the second thread costs milliseconds on small VMs (OMP_WAIT_POLICY=passive
# helps); below this size one thread is faster.
PARALLEL_MIN_BATCH = 200_000


def gbsm(
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    v: FloatArray,
    c: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Price, delta, gamma, theta, vega, rho on 1-D contiguous arrays of equal length."""
    n = s.shape[0]
    outs = tuple(np.empty(n) for _ in range(6))
    loop = _gbsm_parallel if n >= PARALLEL_MIN_BATCH else _gbsm_serial
    loop(s, k, t, r, q, v, c, *outs)
    return outs


@nb.njit(inline="always", **_LOOP)
def _normalised_black(x, s, eh):
    # eh = e^{x/2}; φ(d2) = φ(d1)·e^{x} because d2² = d1² - 2x (saves one exp).
    d1 = x / s + 0.5 * s
    d2 = d1 - s
    g1 = sm.gauss(d1)
    b = eh * sm.ndtr_gauss(d1, g1) - sm.ndtr_gauss(d2, g1 * (eh * eh)) / eh
    return b, eh * g1 * _INV_SQRT_2PI


@nb.njit(inline="always", **_LOOP)
def _iv_step(x, eh, beta, ln_beta, lower, s, lo, hi):
    # One safeguarded Householder(3) step; mirrors implied_vol._householder_step.
    b, bp = _normalised_black(x, s, eh)
    bh = x * x / (s * s * s) - 0.25 * s
    hs = x / (s * s)
    b3 = bh * bh - 3.0 * (hs * hs) - 0.25
    below = b < beta
    lo = s if below else lo
    hi = hi if below else s
    f = bp / b
    nu_l = -(sm.log(b) - ln_beta) / f
    eta_l = bh - f
    tau_l = b3 - 3.0 * bh * f + 2.0 * (f * f)
    nu_u = -(b - beta) / bp
    nu = nu_l if lower else nu_u
    eta = eta_l if lower else bh
    tau = tau_l if lower else b3
    cand = s + nu * (1.0 + 0.5 * eta * nu) / (1.0 + nu * (eta + tau * nu * (1.0 / 6.0)))
    inside = (cand >= lo) & (cand <= hi)
    fallback = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
    return (cand if inside else fallback), lo, hi


_BLOCK = 512
# implied_vol.INTRINSIC_ULPS x machine epsilon (kept as a literal product: no import cycle).
_INTRINSIC_BAND = 4.0 * 2.220446049250313e-16


def _iv_loop(price, spot, k, t, r, q, c, n_steps, tol, vol, status):
    # Mirrors implied_vol._implied_vol_bsm_numpy (status codes are IVStatus values).
    # Discount factor, forward and F - K are computed here (SIMD exp, both threads) rather
    # than as NumPy passes before the call, which cost ~25 ns/option single-threaded.
    # Blocks of _BLOCK options with the step loop outside the element loop, so that the
    # innermost loops have no data-dependent branches and vectorise. After every step the
    # elements that have converged (last step below tol·s: quartic convergence
    # puts the error far below an ulp then) are dropped by compacting the block's work
    # arrays, so the few slow elements do not make the whole block iterate.
    n = price.shape[0]
    for blk in nb.prange((n + _BLOCK - 1) // _BLOCK):
        start = blk * _BLOCK
        m = min(start + _BLOCK, n) - start
        xs = np.empty(_BLOCK)
        ehs = np.empty(_BLOCK)
        betas = np.empty(_BLOCK)
        ln_betas = np.empty(_BLOCK)
        ss = np.empty(_BLOCK)
        los = np.empty(_BLOCK)
        his = np.empty(_BLOCK)
        lowers = np.empty(_BLOCK, dtype=np.bool_)
        idx = np.empty(_BLOCK, dtype=np.int64)  # position in the block of each work slot
        news = np.empty(_BLOCK)
        sfinal = np.empty(_BLOCK)
        m0 = m
        for j in range(m):
            i = start + j
            si = spot[i]
            ki = k[i]
            ti = t[i]
            ri = r[i]
            bt = (ri - q[i]) * ti
            dfi = sm.exp(-ri * ti)
            growth = sm.exp(bt)
            fi = si * growth
            # F - K to the accuracy of F - K (see implied_vol._implied_vol_forward).
            em1 = sm.expm1_small(bt) if abs(bt) < sm.EXPM1_SMALL else growth - 1.0
            fmk = (si - ki) + si * em1
            call = c[i]
            w = 1.0 if call else -1.0
            p = price[i] / dfi
            intrinsic = max(w * fmk, 0.0)
            upper = fi if call else ki
            # "&" on booleans, not "and": short-circuit branches stop the vectoriser.
            finite = (
                (abs(p) < math.inf)
                & (abs(fi) < math.inf)
                & (abs(ki) < math.inf)
                & (abs(ti) < math.inf)
            )
            valid = finite & (fi > 0.0) & (ki > 0.0) & (ti > 0.0) & (dfi > 0.0)
            tv = p - intrinsic
            st = 0
            band = _INTRINSIC_BAND * max(p, intrinsic)
            st = 1 if abs(tv) <= band else st
            st = 2 if tv < -band else st
            st = 3 if p >= upper else st
            st = st if valid else 4
            status[i] = st
            solve = st == 0
            beta = tv / math.sqrt(fi * ki) if solve else 0.5 * math.exp(-1.0)
            x = -abs(sm.log(fi / ki)) if solve else -1.0
            eh = sm.exp(0.5 * x)
            s_c = math.sqrt(-2.0 * x)
            # At s_c, d1 = 0 and φ(d2) = e^{x}: one CDF gives b(x, s_c).
            b_c = 0.5 * eh - sm.ndtr_gauss(-s_c, eh * eh) / eh
            b_c = b_c if s_c > 0.0 else 0.0
            lower = beta < b_c
            ln_beta = sm.log(beta)
            xs[j] = x
            ehs[j] = eh
            betas[j] = beta
            ln_betas[j] = ln_beta
            lowers[j] = lower
            p_up = min(max((eh - beta) / (2.0 * eh), 1e-300), 0.5)
            s_up = max(s_c, -2.0 * sm.ndtri_lower_approx(p_up))
            ss[j] = -x / math.sqrt(-2.0 * ln_beta) if lower else s_up
            los[j] = 0.0 if lower else s_c
            his[j] = s_c if lower else math.inf
            idx[j] = j
        for _ in range(n_steps):
            if m == 0:
                break
            for j in range(m):
                news[j], los[j], his[j] = _iv_step(
                    xs[j], ehs[j], betas[j], ln_betas[j], lowers[j], ss[j], los[j], his[j]
                )
            live = 0
            for j in range(m):
                s_new = news[j]
                i = idx[j]
                sfinal[i] = s_new
                if abs(s_new - ss[j]) > tol * s_new:
                    xs[live] = xs[j]
                    ehs[live] = ehs[j]
                    betas[live] = betas[j]
                    ln_betas[live] = ln_betas[j]
                    lowers[live] = lowers[j]
                    ss[live] = s_new
                    los[live] = los[j]
                    his[live] = his[j]
                    idx[live] = i
                    live += 1
            m = live
        for j in range(m0):
            i = start + j
            st = status[i]
            v = sfinal[j] / math.sqrt(t[i]) if st == 0 else math.nan
            vol[i] = 0.0 if st == 1 else v


# One thread at every size: compiled with parallel=True this loop (per-block work arrays
# inside prange) measured 2.0-2.4x slower than the serial kernel even on two threads
# (122-145 vs 60 ns/option on 1M options). An earlier "two threads ≈ one thread ≈ 60 ns"
# reading was the serial code loaded by both dispatchers through the cache collision that
# ``_variant`` now prevents.
_iv_serial = nb.njit(**_LOOP)(_variant(_iv_loop, "_serial"))


def implied_vol(
    price: FloatArray,
    spot: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    c: BoolArray,
    n_steps: int,
    tol: float,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Implied vol and IVStatus codes on 1-D contiguous arrays (see implied_vol.py)."""
    n = price.shape[0]
    vol = np.empty(n)
    status = np.empty(n, dtype=np.int8)
    _iv_serial(price, spot, k, t, r, q, c, n_steps, tol, vol, status)
    return vol, status
