"""Units, array aliases and the Greeks container shared by every pricing module.

Conventions used throughout ``riskdesk.domain.pricing`` (all per one unit of underlying,
i.e. per share / per coin, never per contract; multiply by the contract multiplier in
``aggregation``):

* ``T`` is in years (ACT/365 calendar time is the caller's choice), rates ``r`` and
  dividend / foreign / carry yields ``q`` are continuously compounded per year.
* ``sigma`` is a decimal per year (0.20 = 20 %).
* ``theta`` is dV/dt per calendar year as time passes (a long option usually has
  theta < 0); ``theta_per_day`` divides by 365.
* ``vega``, ``rho`` and ``dividend_rho`` are per 1.00 change (100 vol / rate points);
  the ``*_per_pct`` properties divide by 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.int64]

DAYS_PER_YEAR = 365.0
PCT = 100.0


def as_float_array(x: npt.ArrayLike) -> FloatArray:
    """Return ``x`` as a float64 array (no copy when it already is one)."""
    return np.asarray(x, dtype=np.float64)


def as_bool_array(x: npt.ArrayLike) -> BoolArray:
    """Return ``x`` as a bool array (``True`` = call)."""
    return np.asarray(x, dtype=np.bool_)


def per_day(theta_per_year: npt.ArrayLike) -> FloatArray:
    """Convert a theta per calendar year into a theta per calendar day (÷ 365)."""
    return as_float_array(theta_per_year) / DAYS_PER_YEAR


def per_pct(sensitivity_per_unit: npt.ArrayLike) -> FloatArray:
    """Convert a vega or rho per 1.00 (100 points) into one per 1 % point (÷ 100)."""
    return as_float_array(sensitivity_per_unit) / PCT


@dataclass(frozen=True, slots=True)
class Greeks:
    """Price and first-order Greeks of European options, one element per option.

    Units (per unit of underlying): ``price`` in the quote currency; ``delta`` dV/dS
    (dV/dF for Black-76); ``gamma`` d²V/dS² per unit of underlying; ``theta`` dV/dt per
    calendar year; ``vega`` per 1.00 of sigma; ``rho`` per 1.00 of ``r``;
    ``dividend_rho`` per 1.00 of ``q`` (Black-76: 0, since ``rho`` there already holds
    the whole rate sensitivity with the forward fixed).
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray
    dividend_rho: FloatArray

    @property
    def theta_per_day(self) -> FloatArray:
        """Theta per calendar day (theta per year ÷ 365)."""
        return self.theta / DAYS_PER_YEAR

    @property
    def vega_per_pct(self) -> FloatArray:
        """Vega per 1 % vol point (vega per 1.00 ÷ 100)."""
        return self.vega / PCT

    @property
    def rho_per_pct(self) -> FloatArray:
        """Rho per 1 % rate point (rho per 1.00 ÷ 100)."""
        return self.rho / PCT

    @property
    def dividend_rho_per_pct(self) -> FloatArray:
        """Dividend rho per 1 % yield point (÷ 100)."""
        return self.dividend_rho / PCT


@dataclass(frozen=True, slots=True)
class SecondOrderGreeks:
    """Cross and second-order Greeks, one element per option (per unit of underlying).

    Units: ``vanna`` = d²V/dS dσ = d(delta)/dσ = d(vega)/dS, per unit of underlying per
    1.00 of sigma (``vanna_per_pct`` ÷ 100 is the delta change for +1 vol point);
    ``charm`` = d(delta)/dt as calendar time passes, per year (``charm_per_day`` ÷ 365);
    ``volga`` = d²V/dσ² = d(vega)/dσ, quote currency per 1.00² of sigma
    (``volga_per_pct`` ÷ 100 is the vega-per-1.00 change for +1 vol point; ÷ 10,000 gives
    vega-per-1 % per vol point). Black-76: S is the forward F.
    """

    vanna: FloatArray
    charm: FloatArray
    volga: FloatArray

    @property
    def vanna_per_pct(self) -> FloatArray:
        """Delta change for +1 vol point (vanna ÷ 100)."""
        return self.vanna / PCT

    @property
    def charm_per_day(self) -> FloatArray:
        """Delta change per calendar day as time passes (charm ÷ 365)."""
        return self.charm / DAYS_PER_YEAR

    @property
    def volga_per_pct(self) -> FloatArray:
        """Change of vega (per 1.00) for +1 vol point (volga ÷ 100)."""
        return self.volga / PCT
