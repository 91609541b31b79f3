"""Coin-settled (inverse) options, e.g. Deribit BTC/ETH options.

Deribit prices an option in coin off the forward with Black-76: the USD value is the
Black-76 value V(F) and the coin value is V(F)/F; USD value = coin value × F.

Delta. The USD delta Δ = ∂V/∂F (coins of exposure, as for a USD-settled option). The
coin value moves as ∂(V/F)/∂F = (Δ - V/F)/F, so for a book that accounts in coin the
exposure in coins is Δ_coin = F·∂(V/F)/∂F = Δ - V/F: the USD delta minus the premium in
coin (the premium is itself held in coin). This is the delta to hedge a coin-margined
book; Δ is the one to hedge USD P&L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing.black_scholes import black76_greeks
from riskdesk.domain.pricing.conventions import FloatArray, Greeks, as_float_array


@dataclass(frozen=True, slots=True)
class InverseGreeks:
    """USD Greeks (per coin of underlying) and the coin-denominated counterparts.

    ``price_coin`` = V/F; ``delta_coin`` = Δ - V/F (coins of exposure, see module doc);
    ``gamma_coin`` = F·∂²(V/F)/∂F² per USD; ``theta_coin`` per year and ``vega_coin`` per
    1.00 of vol are the USD values ÷ F.
    """

    usd: Greeks
    price_coin: FloatArray
    delta_coin: FloatArray
    gamma_coin: FloatArray
    theta_coin: FloatArray
    vega_coin: FloatArray


def inverse_option_greeks(
    F: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    r: npt.ArrayLike = 0.0,
) -> InverseGreeks:
    """Price and Greeks of coin-settled options in USD and in coin (Black-76 on ``F``).

    ``F`` and ``K`` in USD per coin, ``T`` years, ``sigma`` per year; ``r`` discounts the
    USD value (Deribit uses 0).
    """
    usd = black76_greeks(F, K, T, r, sigma, is_call)
    f = np.broadcast_to(as_float_array(F), usd.price.shape)
    price_coin = usd.price / f
    delta_coin = usd.delta - price_coin
    # F·d²(V/F)/dF² = Γ - 2(Δ - V/F)/F.
    gamma_coin = usd.gamma - 2.0 * delta_coin / f
    return InverseGreeks(
        usd=usd,
        price_coin=price_coin,
        delta_coin=delta_coin,
        gamma_coin=gamma_coin,
        theta_coin=usd.theta / f,
        vega_coin=usd.vega / f,
    )
