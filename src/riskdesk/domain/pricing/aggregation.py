"""Per-position and per-underlying aggregation of per-unit Greeks, over arrays.

A position's scale is sign × contracts × multiplier (e.g. -3 × 100 for three short US
equity option contracts); per-unit Greeks times the scale are the position's Greeks in
the quote currency. Group sums use an integer underlying id (0..n-1) per position.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.conventions import FloatArray, Greeks, as_float_array


def position_scale(
    side: npt.ArrayLike, contracts: npt.ArrayLike, multiplier: npt.ArrayLike
) -> FloatArray:
    """sign(side) × |contracts| × multiplier; ``side`` is +1 long / -1 short (any sign)."""
    return (
        np.sign(as_float_array(side))
        * np.abs(as_float_array(contracts))
        * as_float_array(multiplier)
    )


def scale_greeks(greeks: Greeks, scale: npt.ArrayLike) -> Greeks:
    """Position Greeks: every per-unit field multiplied by the position scale."""
    s = as_float_array(scale)
    return Greeks(*(getattr(greeks, f.name) * s for f in fields(Greeks)))


def sum_by_group(
    values: npt.ArrayLike, group: npt.ArrayLike, n_groups: int | None = None
) -> FloatArray:
    """Sum ``values`` per integer group id (e.g. underlying id); length max(id)+1 or n."""
    g = np.asarray(group, dtype=np.int64)
    length = 0 if n_groups is None else n_groups
    return np.bincount(g, weights=as_float_array(values), minlength=length).astype(np.float64)


def greeks_by_group(greeks: Greeks, group: npt.ArrayLike, n_groups: int | None = None) -> Greeks:
    """Sum position Greeks per underlying id (gamma sums are only meaningful per underlying)."""
    return Greeks(*(sum_by_group(getattr(greeks, f.name), group, n_groups) for f in fields(Greeks)))


def dollar_delta(position_delta: npt.ArrayLike, S: npt.ArrayLike) -> FloatArray:
    """Delta in quote currency: position delta (units of underlying) × spot."""
    return as_float_array(position_delta) * as_float_array(S)


def dollar_gamma(position_gamma: npt.ArrayLike, S: npt.ArrayLike) -> FloatArray:
    """Change of dollar delta for a 1 % move: Γ·S²/100, in quote currency."""
    s = as_float_array(S)
    return as_float_array(position_gamma) * s * s / 100.0


def beta_weighted_delta(
    position_delta: npt.ArrayLike,
    S: npt.ArrayLike,
    beta: npt.ArrayLike,
    benchmark_price: npt.ArrayLike,
) -> FloatArray:
    """Delta in units of a benchmark (e.g. SPY shares): Δ·S·β / benchmark price."""
    return dollar_delta(position_delta, S) * as_float_array(beta) / as_float_array(benchmark_price)
