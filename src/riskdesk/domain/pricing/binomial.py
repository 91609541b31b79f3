"""Cox-Ross-Rubinstein binomial tree: the reference for American exercise.

Textbook CRR (Hull): u = e^{σ√Δt}, d = 1/u, p = (e^{(r-q)Δt} - d)/(u - d). Loops over
options in Python and over tree nodes in NumPy; meant for checks and small batches.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.conventions import FloatArray, as_bool_array, as_float_array


def _crr_one(
    s: float, k: float, t: float, r: float, q: float, v: float, call: bool, n: int, amer: bool
) -> float:
    w = 1.0 if call else -1.0
    if t <= 0.0 or v <= 0.0:
        fwd = s * math.exp((r - q) * t)
        return math.exp(-r * t) * max(w * (fwd - k), 0.0)
    dt = t / n
    u = math.exp(v * math.sqrt(dt))
    d = 1.0 / u
    p = (math.exp((r - q) * dt) - d) / (u - d)
    disc = math.exp(-r * dt)
    j = np.arange(n + 1, dtype=np.float64)
    spots = s * u ** (2.0 * j - n)
    values = np.maximum(w * (spots - k), 0.0)
    for step in range(n - 1, -1, -1):
        values = disc * (p * values[1:] + (1.0 - p) * values[:-1])
        if amer:
            spots = s * u ** (2.0 * j[: step + 1] - step)
            values = np.maximum(values, w * (spots - k))
    return float(values[0])


def crr_price(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    *,
    steps: int = 500,
    american: bool = True,
) -> FloatArray:
    """CRR tree price per unit of underlying (quote currency), American by default.

    ``steps`` time steps; T in years, r and q continuous per year, sigma per year.
    """
    s_, k_, t_, r_, q_, v_ = np.broadcast_arrays(
        *(as_float_array(a) for a in (S, K, T, r, q, sigma))
    )
    c_ = np.broadcast_to(as_bool_array(is_call), s_.shape)
    out = np.empty(s_.shape)
    for idx in np.ndindex(s_.shape):
        out[idx] = _crr_one(
            float(s_[idx]),
            float(k_[idx]),
            float(t_[idx]),
            float(r_[idx]),
            float(q_[idx]),
            float(v_[idx]),
            bool(c_[idx]),
            steps,
            american,
        )
    return out
