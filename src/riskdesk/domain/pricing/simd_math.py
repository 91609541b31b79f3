"""Elementary functions written as plain arithmetic so that compiled loops vectorise.

numba calls the C library for ``math.exp``/``math.log``/``math.erfc`` one element at a
time, which stops LLVM from vectorising a pricing loop. These inline versions use only
multiply/add/divide, ``floor`` and bit casts, so a loop over them becomes AVX code.
Accuracy (checked in tests/unit/pricing/test_simd_math.py against NumPy/SciPy):
``exp`` and ``log`` within 1 ulp, ``ndtr`` within ~1e-15 relative where N(x) > 1e-300
(W. J. Cody's 1969 rational approximations, the ones behind SciPy's ``ndtr``).

Imported only by ``numba_kernels``; nothing else in the package needs numba.
"""

# mypy: ignore-errors
# (numba decorators and intrinsics are untyped; the public API in backend.py is typed)

from __future__ import annotations

import math

import numba as nb
from llvmlite import ir as llvmir
from numba import types
from numba.extending import intrinsic

from riskdesk.domain.pricing import erf_coefficients as c

# Only contraction into FMA is allowed: reassociation or "no NaN" would change results
# and break the edge-case semantics shared with the NumPy path.
FASTMATH = {"contract"}
# error_model="numpy" removes the ZeroDivisionError check that blocks vectorisation.
JIT = {"inline": "always", "fastmath": FASTMATH, "error_model": "numpy", "cache": True}

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_MIN_NORMAL = 2.2250738585072014e-308
_EXP_CLAMP = 1100.0

# fdlibm's log(1+f) minimax coefficients.
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@intrinsic
def _f2i(typingctx, x):
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def _i2f(typingctx, x):
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@nb.njit(**JIT)
def exp(x: float) -> float:
    """e**x within 1 ulp; 0 below -745, inf above 709.8, NaN passes through."""
    xc = min(max(x, -_EXP_CLAMP), _EXP_CLAMP)
    k = math.floor(xc * _LOG2E + 0.5)
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    # Taylor series to r**13 is exact to < 0.5 ulp on |r| <= ln2/2.
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    ki = nb.int64(k)
    # Two half-size scalings reach the subnormal range and overflow to inf correctly.
    k1 = ki >> 1
    res = p * _i2f((k1 + 1023) << 52) * _i2f((ki - k1 + 1023) << 52)
    return res if x == x else x  # noqa: PLR0124 - NaN test that vectorises


@nb.njit(**JIT)
def expm1_small(x: float) -> float:
    """e**x - 1 within 1 ulp for |x| < ln2/2 (Taylor series, no cancellation).

    Outside that range use exp(x) - 1, which is accurate there (callers that already hold
    e**x as a ratio of discount factors save an exp this way)."""
    p = 1.0 / 6227020800.0
    p = p * x + 1.0 / 479001600.0
    p = p * x + 1.0 / 39916800.0
    p = p * x + 1.0 / 3628800.0
    p = p * x + 1.0 / 362880.0
    p = p * x + 1.0 / 40320.0
    p = p * x + 1.0 / 5040.0
    p = p * x + 1.0 / 720.0
    p = p * x + 1.0 / 120.0
    p = p * x + 1.0 / 24.0
    p = p * x + 1.0 / 6.0
    p = p * x + 0.5
    p = p * x + 1.0
    return x * p


EXPM1_SMALL = 0.34657359027997264  # ln2/2


@nb.njit(**JIT)
def log(x: float) -> float:
    """Natural log within 1 ulp for normal x > 0; -inf at 0, NaN below, inf at inf."""
    bits = _f2i(x)
    e = (bits >> 52) - 1023
    m = _i2f((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    hfsq = 0.5 * f * f
    dk = float(e)
    res = dk * _LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + dk * _LN2_LO)) - f)
    res = res if x >= _MIN_NORMAL else math.nan
    res = -math.inf if x == 0.0 else res
    return x if x == math.inf else res


@intrinsic
def fma(typingctx, a, b, c):
    """a*b + c with a single rounding (LLVM ``llvm.fma.f64``)."""
    if not all(isinstance(t, types.Float) for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        f64 = context.get_value_type(types.float64)
        fnty = llvmir.FunctionType(f64, [f64, f64, f64])
        fn = builder.module.declare_intrinsic("llvm.fma", [f64], fnty)
        return builder.call(fn, list(args))

    return types.float64(types.float64, types.float64, types.float64), codegen


@nb.njit(**JIT)
def gauss(x: float) -> float:
    """exp(-x²/2) with full relative accuracy (x² carried as an exact double-double)."""
    xc = min(abs(x), 40.0)
    p = xc * xc
    err = fma(xc, xc, -p)
    return exp(-0.5 * p) * (1.0 - 0.5 * err)


@nb.njit(**JIT)
def ndtr_gauss(x: float, g: float) -> float:
    """N(x) given g = gauss(x); Cody's CALERF with the three branches as selects."""
    z = x * (1.0 / _SQRT2)
    y = abs(z)
    u = y * y
    # |z| <= 0.46875: N = (1 + erf z)/2, erf z = z·A(u)/B(u).
    an = (((c.A4 * u + c.A0) * u + c.A1) * u + c.A2) * u + c.A3
    ad = (((u + c.B0) * u + c.B1) * u + c.B2) * u + c.B3
    # 0.46875 < |z| <= 4: erfc = exp(-z²)·C(y)/D(y).
    cn = (
        ((((((c.C8 * y + c.C0) * y + c.C1) * y + c.C2) * y + c.C3) * y + c.C4) * y + c.C5) * y
        + c.C6
    ) * y + c.C7
    cd = (
        ((((((y + c.D0) * y + c.D1) * y + c.D2) * y + c.D3) * y + c.D4) * y + c.D5) * y + c.D6
    ) * y + c.D7
    # |z| > 4: erfc = exp(-z²)·(1/√π - P(1/u)/(u·Q(1/u)))/y, multiplied through by u⁵
    # so that the only division left is the final one.
    uc = min(u, 1600.0)
    pn = ((((c.P4 * uc + c.P3) * uc + c.P2) * uc + c.P1) * uc + c.P0) * uc + c.P5
    pd = ((((c.Q4 * uc + c.Q3) * uc + c.Q2) * uc + c.Q1) * uc + c.Q0) * uc + 1.0
    small = y <= c.CODY_SPLIT
    mid = y <= 4.0
    yc = min(y, 40.0)
    num = z * an if small else (cn if mid else c.INV_SQRT_PI * uc * pd - pn)
    den = ad if small else (cd if mid else yc * uc * pd)
    ratio = num / den
    tail = 0.5 * (g * ratio)
    res = 0.5 + 0.5 * ratio if small else (tail if x < 0.0 else 1.0 - tail)
    return res if y == y else x  # noqa: PLR0124 - NaN test that vectorises


@nb.njit(**JIT)
def ndtr(x: float) -> float:
    """Standard normal CDF N(x), within a few ulps of the NumPy path ``normal.ndtr``."""
    return ndtr_gauss(x, gauss(x))


@nb.njit(**JIT)
def ndtri_lower_approx(p: float) -> float:
    """Φ⁻¹(p) for 0 < p ≤ 1/2 (Acklam, ~1e-9); same expressions as ``normal``'s."""
    q = p - 0.5
    r = q * q
    a = c.ACKLAM_A
    b = c.ACKLAM_B
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
    t = math.sqrt(-2.0 * log(p))
    cc = c.ACKLAM_C
    d = c.ACKLAM_D
    tail_num = ((((cc[0] * t + cc[1]) * t + cc[2]) * t + cc[3]) * t + cc[4]) * t + cc[5]
    tail_den = (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0
    return tail_num / tail_den if p < c.ACKLAM_SPLIT else num / den
