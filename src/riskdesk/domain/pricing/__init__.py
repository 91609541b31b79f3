"""Pure, vectorised option pricing: European (GBSM, Black-76, Garman-Kohlhagen) prices
and Greeks (first order; vanna, charm, volga), implied volatility, American approximations
(Bjerksund-Stensland 2002 and 1993, Barone-Adesi-Whaley) with their implied vol and
finite-difference Greeks, a CRR tree, probabilities, scenario grids, position aggregation
and coin-settled (inverse) options.

Units (docs/pricing.md has the full table): per unit of underlying; T in years; r, q
continuous per year; sigma decimal per year; theta per calendar year (``theta_per_day``
÷ 365); vega, rho, dividend rho per 1.00 (``*_per_pct`` ÷ 100).
"""

from riskdesk.domain.pricing.aggregation import (
    beta_weighted_delta,
    dollar_delta,
    dollar_gamma,
    greeks_by_group,
    position_scale,
    scale_greeks,
    sum_by_group,
)
from riskdesk.domain.pricing.american import (
    american_greeks_fd,
    american_price,
    baw_price,
    bjerksund_stensland_2002_price,
    bjerksund_stensland_price,
    implied_vol_american,
)
from riskdesk.domain.pricing.backend import Backend, numba_available
from riskdesk.domain.pricing.binomial import crr_price
from riskdesk.domain.pricing.black_scholes import (
    black76_greeks,
    black76_price,
    black76_second_order,
    bsm_greeks,
    bsm_price,
    bsm_second_order,
    gbsm_d1_d2,
)
from riskdesk.domain.pricing.conventions import Greeks, SecondOrderGreeks, per_day, per_pct
from riskdesk.domain.pricing.implied_vol import (
    ImpliedVol,
    IVStatus,
    implied_vol_black76,
    implied_vol_bsm,
)
from riskdesk.domain.pricing.inverse import InverseGreeks, inverse_option_greeks
from riskdesk.domain.pricing.normal import ndtr, norm_pdf
from riskdesk.domain.pricing.probabilities import (
    breakeven,
    expected_move,
    prob_itm,
    prob_touch,
    short_call_early_assignment,
    short_put_early_assignment,
)
from riskdesk.domain.pricing.scenarios import scenario_pnl

__all__ = [
    "Backend",
    "Greeks",
    "IVStatus",
    "ImpliedVol",
    "InverseGreeks",
    "SecondOrderGreeks",
    "american_greeks_fd",
    "american_price",
    "baw_price",
    "beta_weighted_delta",
    "bjerksund_stensland_2002_price",
    "bjerksund_stensland_price",
    "black76_greeks",
    "black76_price",
    "black76_second_order",
    "breakeven",
    "bsm_greeks",
    "bsm_price",
    "bsm_second_order",
    "crr_price",
    "dollar_delta",
    "dollar_gamma",
    "expected_move",
    "gbsm_d1_d2",
    "greeks_by_group",
    "implied_vol_american",
    "implied_vol_black76",
    "implied_vol_bsm",
    "inverse_option_greeks",
    "ndtr",
    "norm_pdf",
    "numba_available",
    "per_day",
    "per_pct",
    "position_scale",
    "prob_itm",
    "prob_touch",
    "scale_greeks",
    "scenario_pnl",
    "short_call_early_assignment",
    "short_put_early_assignment",
    "sum_by_group",
]
