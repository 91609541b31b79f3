"""Accuracy of the vectorisable elementary functions of the compiled path (simd_math)
and of the NumPy helpers they mirror, against NumPy/SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr as scipy_ndtr
from scipy.special import ndtri

from riskdesk.domain.pricing import normal, numba_available

pytestmark = pytest.mark.skipif(not numba_available(), reason="numba not installed")


@pytest.fixture(scope="module")
def kernels():  # type: ignore[no-untyped-def]
    import numba as nb

    from riskdesk.domain.pricing import simd_math as sm

    def make(fn):  # type: ignore[no-untyped-def]
        @nb.njit
        def run(a):  # type: ignore[no-untyped-def]
            out = np.empty_like(a)
            for i in range(a.size):
                out[i] = fn(a[i])
            return out

        return run

    return {
        "exp": make(sm.exp),
        "log": make(sm.log),
        "ndtr": make(sm.ndtr),
        "expm1_small": make(sm.expm1_small),
        "ndtri": make(sm.ndtri_lower_approx),
    }


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def test_exp_and_log_within_one_ulp(kernels) -> None:  # type: ignore[no-untyped-def]
    x = np.linspace(-700, 700, 200_001)
    assert _ulps(kernels["exp"](x), np.exp(x)).max() <= 1.0
    y = np.exp(np.linspace(-700, 700, 200_001))
    assert _ulps(kernels["log"](y), np.log(y))[np.abs(np.log(y)) > 1e-3].max() <= 1.0


def test_ndtr_matches_numpy_path_and_scipy(kernels) -> None:  # type: ignore[no-untyped-def]
    x = np.linspace(-37, 8, 200_001)
    fast = kernels["ndtr"](x)
    ref = normal.ndtr(x)
    assert _ulps(fast, ref).max() <= 8.0  # same expressions, FMA contraction differs
    # SciPy rounds x/√2 first and loses up to ~4e-13 relative in the far left tail.
    np.testing.assert_allclose(fast, scipy_ndtr(x), rtol=1e-12, atol=0.0)


def test_expm1_small_and_inverse_normal(kernels) -> None:  # type: ignore[no-untyped-def]
    x = np.concatenate([np.linspace(-0.3465, 0.3465, 100_001), np.logspace(-300, -1, 500)])
    ref = np.expm1(x)
    assert _ulps(kernels["expm1_small"](x), ref)[ref != 0].max() <= 2.0
    p = np.concatenate([np.logspace(-300, np.log10(0.4999), 50_000)])
    for got in (kernels["ndtri"](p), normal.ndtri_lower_approx(p)):
        np.testing.assert_allclose(got, ndtri(p), rtol=2e-9)
