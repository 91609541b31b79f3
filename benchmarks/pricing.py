"""Pricing benchmark: price + 5 Greeks and implied vol for 1,000,000 options.

Run: .venv/bin/python benchmarks/pricing.py  (prints ns/option and ratios measured in the
same run against a plain NumPy reference and a per-option QuantLib loop on a sample).
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before numba starts its threads

import time

import numpy as np
from scipy.special import ndtr

from riskdesk.domain.pricing import bsm_greeks, implied_vol_bsm

N = 1_000_000
QL_SAMPLE = 20_000


def _inputs(n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    s = rng.uniform(1, 10_000, n)
    return (
        s,
        s * rng.uniform(0.2, 5, n),
        rng.uniform(1 / 8760, 5, n),
        rng.uniform(-0.02, 0.15, n),
        rng.uniform(0, 0.1, n),
        rng.uniform(0.01, 3, n),
        rng.random(n) < 0.5,
    )


def _numpy_reference(s, k, t, r, q, v, c):  # type: ignore[no-untyped-def]
    st = np.sqrt(t)
    vs = v * st
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vs
    d2 = d1 - vs
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    w = np.where(c, 1.0, -1.0)
    n1, n2 = ndtr(w * d1), ndtr(w * d2)
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi)
    price = w * (s * dq * n1 - k * dr * n2)
    theta = -s * dq * pdf * v / (2 * st) - w * r * k * dr * n2 + w * q * s * dq * n1
    return price, w * dq * n1, dq * pdf / (s * vs), theta, s * dq * pdf * st, w * k * t * dr * n2


def _numpy_iv_reference(price, s, k, t, r, q, c, steps: int = 12):  # type: ignore[no-untyped-def]
    # A plain vectorised Newton solver on the price (what one writes without care):
    # fixed steps, vega as the derivative, clipped to [1e-4, 10].
    w = np.where(c, 1.0, -1.0)
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    st = np.sqrt(t)
    v = np.sqrt(2.0 * np.abs(np.log(s * dq / (k * dr))) / t) + 0.2
    for _ in range(steps):
        vs = v * st
        d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vs
        d2 = d1 - vs
        model = w * (s * dq * ndtr(w * d1) - k * dr * ndtr(w * d2))
        vega = s * dq * np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi) * st
        v = np.clip(v - (model - price) / np.maximum(vega, 1e-300), 1e-4, 10.0)
    return v


def _best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _quantlib_ns(args: tuple[np.ndarray, ...], implied: bool) -> float | None:
    try:
        import QuantLib as ql  # noqa: N813
    except ImportError:
        return None
    s, k, t, r, q, v, c = (a[:QL_SAMPLE] for a in args)
    today = ql.Date(1, 6, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    quotes = [ql.SimpleQuote(1.0) for _ in range(4)]
    spot, rate, div, vol = quotes
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(div), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rate), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol), dc)
        ),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    t0 = time.perf_counter()
    for i in range(QL_SAMPLE):
        spot.setValue(float(s[i]))
        rate.setValue(float(r[i]))
        div.setValue(float(q[i]))
        vol.setValue(float(v[i]))
        opt = ql.EuropeanOption(
            ql.PlainVanillaPayoff(ql.Option.Call if c[i] else ql.Option.Put, float(k[i])),
            ql.EuropeanExercise(today + max(1, int(t[i] * 365))),
        )
        opt.setPricingEngine(engine)
        if implied:
            with contextlib.suppress(RuntimeError):
                opt.impliedVolatility(opt.NPV(), process, 1e-10, 200, 1e-4, 10.0)
        else:
            opt.NPV(), opt.delta(), opt.gamma(), opt.theta(), opt.vega(), opt.rho()
    return (time.perf_counter() - t0) / QL_SAMPLE * 1e9


def _one_thread(args: tuple[np.ndarray, ...], price: np.ndarray) -> tuple[float, float] | None:
    try:
        import numba
    except ImportError:
        return None
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        greeks = _best(lambda: bsm_greeks(*args, backend="numba"), 7) / N * 1e9
        iv = _best(lambda: implied_vol_bsm(price, *args[:5], args[6], backend="numba"), 5)
    finally:
        numba.set_num_threads(threads)
    return greeks, iv / N * 1e9


def main() -> None:
    args = _inputs(N)
    bsm_greeks(*(a[:10] for a in args), backend="numba")  # compile / load cache
    g = bsm_greeks(*args, backend="numba")
    implied_vol_bsm(g.price[:10], *(a[:10] for a in args[:5]), args[6][:10], backend="numba")
    ours = _best(lambda: bsm_greeks(*args, backend="numba"), 7) / N * 1e9
    ours_np = _best(lambda: bsm_greeks(*args, backend="numpy"), 2) / N * 1e9
    ref = _best(lambda: _numpy_reference(*args), 3) / N * 1e9
    iv = _best(lambda: implied_vol_bsm(g.price, *args[:5], args[6], backend="numba"), 5) / N * 1e9
    m = 200_000
    sub = tuple(a[:m] for a in args)
    iv_np = _best(lambda: implied_vol_bsm(g.price[:m], *sub[:5], sub[6], backend="numpy"), 2)
    iv_np = iv_np / m * 1e9
    iv_ref = _best(lambda: _numpy_iv_reference(g.price, *args[:5], args[6]), 2) / N * 1e9
    one_thread = _one_thread(args, g.price)
    ql_g = _quantlib_ns(args, implied=False)
    ql_iv = _quantlib_ns(args, implied=True)
    print(
        f"price+5 Greeks, 1M options: riskdesk numba {ours:.1f} ns/option; riskdesk NumPy "
        f"path {ours_np:.1f}; plain NumPy reference {ref:.1f} (reference/numba "
        f"{ref / ours:.2f}x, NumPy path/reference {ours_np / ref:.2f}x)"
    )
    if ql_g:
        print(
            f"  QuantLib per-option loop ({QL_SAMPLE} sample): {ql_g:.0f} ns/option "
            f"(ratio {ql_g / ours:.0f}x)"
        )
    print(
        f"implied vol, 1M options: riskdesk numba {iv:.1f} ns/option; riskdesk NumPy path "
        f"{iv_np:.1f} ({m:,} sample); plain NumPy Newton reference {iv_ref:.1f} "
        f"(reference/numba {iv_ref / iv:.2f}x)"
    )
    if ql_iv:
        print(
            f"  QuantLib impliedVolatility loop ({QL_SAMPLE} sample): {ql_iv:.0f} ns/option "
            f"(ratio {ql_iv / iv:.0f}x)"
        )
    if one_thread:
        print(
            f"numba on one thread: price+5 Greeks {one_thread[0]:.1f} ns/option, implied vol "
            f"{one_thread[1]:.1f} (a busy second core slows the two-thread run down)"
        )


if __name__ == "__main__":
    main()
