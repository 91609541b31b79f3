"""Test helper: the generalised BSM price of float inputs to ~45 significant digits.

Python's ``decimal`` (stdlib) evaluates the formula; N(x) by its Taylor series for
|x| <= 3 and by the Laplace continued fraction of Mills' ratio in the tails. ``float()`` of
the result is the correctly rounded price: the best any double-precision pricer can give.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

PREC = 50
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def _ndtr(x: Decimal) -> Decimal:
    phi = (-(x * x) / 2).exp() / (2 * _PI).sqrt()
    if x < -3:
        y, t = -x, -x
        for k in range(400, 0, -1):
            t = y + Decimal(k) / t
        return phi / t
    if x > 3:
        return 1 - _ndtr(-x)
    term, total, x2, n = x, x, x * x, 0
    tiny = Decimal(10) ** (-PREC - 5)
    while abs(term) > tiny:
        n += 1
        term = term * x2 / Decimal(2 * n + 1)
        total += term
    return Decimal("0.5") + phi * total


def exact_price(
    spot: float, strike: float, years: float, r: float, q: float, sigma: float, call: bool
) -> float:
    """Correctly rounded GBSM price (quote currency per unit) of the given float inputs."""
    with localcontext() as ctx:
        ctx.prec = PREC
        s, k, t, rr, qq, v = (Decimal(float(a)) for a in (spot, strike, years, r, q, sigma))
        sd = v * t.sqrt()
        d1 = ((s / k).ln() + (rr - qq) * t) / sd + sd / 2
        d2 = d1 - sd
        dq, dr = (-qq * t).exp(), (-rr * t).exp()
        if call:
            value = s * dq * _ndtr(d1) - k * dr * _ndtr(d2)
        else:
            value = k * dr * _ndtr(-d2) - s * dq * _ndtr(-d1)
        return float(value)


def exact_greeks(
    spot: float, strike: float, years: float, r: float, q: float, sigma: float, call: bool
) -> dict[str, float]:
    """Correctly rounded GBSM price and first-order Greeks (riskdesk's units: theta per
    year, vega/rho/dividend rho per 1.00) of the given float inputs, from the closed forms
    evaluated in 50-digit decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = PREC
        s, k, t, rr, qq, v = (Decimal(float(a)) for a in (spot, strike, years, r, q, sigma))
        w = Decimal(1) if call else Decimal(-1)
        st = t.sqrt()
        sd = v * st
        d1 = ((s / k).ln() + (rr - qq) * t) / sd + sd / 2
        d2 = d1 - sd
        dq, dr = (-qq * t).exp(), (-rr * t).exp()
        pdf = (-(d1 * d1) / 2).exp() / (2 * _PI).sqrt()
        n1, n2 = _ndtr(w * d1), _ndtr(w * d2)
        values = {
            "price": w * (s * dq * n1 - k * dr * n2),
            "delta": w * dq * n1,
            "gamma": dq * pdf / (s * sd),
            "theta": -s * dq * pdf * v / (2 * st) - w * rr * k * dr * n2 + w * qq * s * dq * n1,
            "vega": s * dq * pdf * st,
            "rho": w * k * t * dr * n2,
            "dividend_rho": -w * t * s * dq * n1,
        }
        return {name: float(value) for name, value in values.items()}
