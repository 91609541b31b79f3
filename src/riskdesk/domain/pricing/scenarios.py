"""Full-revaluation scenario grids: P&L over spot shocks × vol shocks × time steps.

Works on arrays of option parameters and signed position scales (see
``aggregation.position_scale``), so a book's scenario grid is one call.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.black_scholes import bsm_price
from riskdesk.domain.pricing.conventions import FloatArray, as_bool_array, as_float_array


def scenario_pnl(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    scale: npt.ArrayLike,
    spot_shocks: npt.ArrayLike,
    vol_shocks: npt.ArrayLike,
    time_steps: npt.ArrayLike,
    *,
    vol_shock_mode: Literal["relative", "absolute"] = "relative",
) -> FloatArray:
    """P&L of a set of European positions, shape (n_spot, n_vol, n_time), quote currency.

    Per position (1-D arrays of length n): spot, strike, T years, r, q, sigma, call flag and
    scale (sign × contracts × multiplier). ``spot_shocks`` are relative (-0.3 = -30 %);
    ``vol_shocks`` relative (σ·(1+dv)) or absolute vol points (σ+dv, 0.05 = +5 points);
    ``time_steps`` in years elapsed (expired options are worth intrinsic). The P&L is
    against today's model value of the same positions.
    """
    s_, k_, t_, r_, q_, v_, n_ = np.broadcast_arrays(
        *(np.atleast_1d(as_float_array(a)) for a in (S, K, T, r, q, sigma, scale))
    )
    c_ = np.broadcast_to(np.atleast_1d(as_bool_array(is_call)), s_.shape)
    ds = np.atleast_1d(as_float_array(spot_shocks))[:, None, None, None]
    dv = np.atleast_1d(as_float_array(vol_shocks))[None, :, None, None]
    dt = np.atleast_1d(as_float_array(time_steps))[None, None, :, None]
    base = float(np.sum(n_ * bsm_price(s_, k_, t_, r_, q_, v_, c_)))
    vol = v_ * (1.0 + dv) if vol_shock_mode == "relative" else v_ + dv
    values = bsm_price(
        s_ * (1.0 + ds), k_, np.maximum(t_ - dt, 0.0), r_, q_, np.maximum(vol, 0.0), c_
    )
    pnl: FloatArray = np.sum(values * n_, axis=-1) - base
    return pnl
