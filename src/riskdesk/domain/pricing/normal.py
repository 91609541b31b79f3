"""Standard normal density and distribution function on NumPy arrays.

``ndtr`` follows W. J. Cody's CALERF rational approximations (as SciPy does) but computes
exp(-x²/2) from ``x`` itself with an exact split of x², which keeps ~1e-15 relative
accuracy deep in the left tail (SciPy's ``ndtr`` rounds x/√2 first and loses up to ~4e-13
there). The compiled path (``simd_math``) evaluates the same expressions, so both paths
agree to a few ulps.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing import erf_coefficients as c
from riskdesk.domain.pricing.conventions import FloatArray, as_float_array

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gauss(x: npt.ArrayLike) -> FloatArray:
    """exp(-x²/2) to full relative accuracy (dimensionless)."""
    xa = np.minimum(np.abs(as_float_array(x)), 40.0)
    # x = xh + xl with xh a multiple of 1/16, so xh² is exact and x² is carried exactly.
    xh = np.floor(xa * 16.0) * 0.0625
    return np.exp(-0.5 * (xh * xh)) * np.exp(-0.5 * ((xa - xh) * (xa + xh)))


def norm_pdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal density φ(x) = exp(-x²/2)/√(2π)."""
    return gauss(x) * INV_SQRT_2PI


def ndtr_gauss(x: FloatArray, g: FloatArray) -> FloatArray:
    """N(x) given ``g = gauss(x)``: lets callers reuse exp(-d1²/2) for the density.

    Each of Cody's three rational forms is evaluated only on the elements of its own
    range (the compiled path evaluates all three and selects, which vectorises there;
    here it would triple the array passes). Same arithmetic per element either way.
    """
    xa = np.asarray(x, dtype=np.float64)
    shape = xa.shape
    xf = xa.reshape(-1)
    gf = np.broadcast_to(np.asarray(g, dtype=np.float64), shape).reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z = xf * (1.0 / c.SQRT2)
        y = np.abs(z)
        out = np.empty_like(xf)
        small = y <= c.CODY_SPLIT
        mid = (y <= 4.0) & ~small
        # NaN fails both tests and goes to the tail form, whose arithmetic propagates it.
        rest = ~(small | mid)
        i = np.flatnonzero(small)
        if i.size:
            zs = z[i]
            u = zs * zs
            an = (((c.A4 * u + c.A0) * u + c.A1) * u + c.A2) * u + c.A3
            ad = (((u + c.B0) * u + c.B1) * u + c.B2) * u + c.B3
            out[i] = 0.5 + 0.5 * ((zs * an) / ad)
        i = np.flatnonzero(mid)
        if i.size:
            ym = y[i]
            cn = c.C8 * ym + c.C0
            for coef in (c.C1, c.C2, c.C3, c.C4, c.C5, c.C6, c.C7):
                cn = cn * ym + coef
            cd = ym + c.D0
            for coef in (c.D1, c.D2, c.D3, c.D4, c.D5, c.D6, c.D7):
                cd = cd * ym + coef
            tail = 0.5 * (gf[i] * (cn / cd))
            out[i] = np.where(xf[i] < 0.0, tail, 1.0 - tail)
        i = np.flatnonzero(rest)
        if i.size:
            yt = y[i]
            uc = np.minimum(yt * yt, 1600.0)
            pn = ((((c.P4 * uc + c.P3) * uc + c.P2) * uc + c.P1) * uc + c.P0) * uc + c.P5
            pd = ((((c.Q4 * uc + c.Q3) * uc + c.Q2) * uc + c.Q1) * uc + c.Q0) * uc + 1.0
            yc = np.minimum(yt, 40.0)
            ratio = (c.INV_SQRT_PI * uc * pd - pn) / (yc * uc * pd)
            tail = 0.5 * (gf[i] * ratio)
            out[i] = np.where(xf[i] < 0.0, tail, 1.0 - tail)
        return out.reshape(shape)


def ndtr(x: npt.ArrayLike) -> FloatArray:
    """Standard normal cumulative distribution N(x) (dimensionless, NaN passes through)."""
    xa = as_float_array(x)
    return ndtr_gauss(xa, gauss(xa))


def ndtri_lower_approx(p: FloatArray) -> FloatArray:
    """Φ⁻¹(p) for 0 < p ≤ 1/2 to ~1e-9 relative (Acklam); a starting point, not a result."""
    pa = as_float_array(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = pa - 0.5
        r = q * q
        a, b = c.ACKLAM_A, c.ACKLAM_B
        num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
        t = np.sqrt(-2.0 * np.log(pa))
        cc, d = c.ACKLAM_C, c.ACKLAM_D
        tail_num = ((((cc[0] * t + cc[1]) * t + cc[2]) * t + cc[3]) * t + cc[4]) * t + cc[5]
        tail_den = (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0
        return np.where(pa < c.ACKLAM_SPLIT, tail_num / tail_den, num / den)
