"""Choice between the NumPy path and the compiled (numba) path.

numba is optional. Importing it and loading cached machine code costs a fraction of a
second, so ``"auto"`` uses it only for batches of at least ``NUMBA_MIN_BATCH`` options;
a CLI pricing one option never pays for it.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.conventions import BoolArray, FloatArray

Backend = Literal["auto", "numpy", "numba"]

NUMBA_MIN_BATCH = 20_000


@functools.cache
def _kernels() -> ModuleType | None:
    try:
        return importlib.import_module("riskdesk.domain.pricing.numba_kernels")
    except ImportError:
        return None


def numba_available() -> bool:
    """True when numba is installed and the compiled kernels can be imported."""
    return _kernels() is not None


def use_numba(backend: Backend, n: int) -> bool:
    """Decide the path for a batch of ``n`` options; ``"numba"`` without numba raises."""
    if backend == "numpy":
        return False
    if backend == "numba":
        if not numba_available():
            msg = "backend='numba' requested but numba is not installed"
            raise ValueError(msg)
        return True
    if backend != "auto":
        msg = f"unknown backend {backend!r}"
        raise ValueError(msg)
    return n >= NUMBA_MIN_BATCH and numba_available()


def _flat(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.ascontiguousarray(a).reshape(-1)


def gbsm_numba(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    is_call: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Run the compiled GBSM kernel on broadcast arrays; returns arrays of their shape."""
    kernels = _kernels()
    assert kernels is not None  # noqa: S101 - guarded by use_numba
    shape = S.shape
    outs = kernels.gbsm(*(_flat(a) for a in (S, K, T, r, q, sigma, is_call)))
    return tuple(o.reshape(shape) for o in outs)


def iv_numba(
    price: FloatArray,
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    is_call: BoolArray,
    n_steps: int,
    tol: float,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Run the compiled implied-vol kernel (GBSM inputs; Black-76: S = F, q = r)."""
    kernels = _kernels()
    assert kernels is not None  # noqa: S101 - guarded by use_numba
    shape = price.shape
    flat = (_flat(a) for a in (price, S, K, T, r, q, is_call))
    vol, status = kernels.implied_vol(*flat, n_steps, tol)
    return vol.reshape(shape), status.reshape(shape)
