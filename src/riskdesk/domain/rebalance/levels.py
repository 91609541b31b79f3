"""Expiry levels of an option position: breakeven, max profit and max loss, exact.

``premium`` is per unit of underlying in the premium currency; ``units`` = contracts ×
multiplier; strikes and breakevens are underlying prices (USD). ``None`` means unbounded.

**Linear options** (US equity options in USD, Deribit USDC-linear options): the payoff is
(S − K)+ or (K − S)+ in the premium currency, so at expiry

============  =============  ===================  ===================
position      breakeven      max profit           max loss
============  =============  ===================  ===================
short put     K − p          p·u                  (K − p)·u
short call    K + p          p·u                  unbounded
long put      K − p          (K − p)·u            p·u
long call     K + p          unbounded            p·u
============  =============  ===================  ===================

**Coin-settled (inverse) options** (Deribit BTC/ETH): premium and payoff are in coin; a call
pays (S − K)+/S coin per coin, a put (K − S)+/S. The premium p (coin) is worth p·S_T USD at
expiry, so the coin P&L per unit is ±(p − payoff) and

* breakeven: calls p = (S − K)/S ⇒ S = K/(1 − p); puts p = (K − S)/S ⇒ S = K/(1 + p);
* in coin: a call's payoff stays below 1 coin, so a short call loses at most (1 − p)·u coin
  (approached as S → ∞, never reached) and a long call gains at most (1 − p)·u; a put's payoff
  K/S − 1 grows without bound as S → 0 (short put: unbounded coin loss; long put: unbounded
  coin gain);
* in USD (the coin P&L valued at S_T, i.e. S_T·coin P&L): short call pS − (S − K)+, best at
  S = K (p·K·u), unbounded loss; long call (S − K)+ − pS, worst at S = K (−p·K·u), unbounded
  gain; short put pS − (K − S)+, worst as S → 0 (−K·u), unbounded gain as S → ∞ (the coin
  premium appreciates); long put (K − S)+ − pS, best as S → 0 (K·u), unbounded loss as S → ∞
  (the coin paid appreciates).

Coin breakevens are rounded to the cent (they are repeating decimals); every other level is
exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.symbols import OptionRight

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ExpiryLevels:
    """Breakeven (underlying price), max profit / max loss in the premium currency and in USD
    (None = unbounded; module doc); ``note`` states the convention in one sentence."""

    breakeven: Decimal
    max_profit: Decimal | None
    max_loss: Decimal | None
    max_profit_usd: Decimal | None
    max_loss_usd: Decimal | None
    note: str


def breakeven(right: OptionRight, strike: Decimal, premium: Decimal, coin: bool) -> Decimal:
    """Underlying price (USD) at which a position opened at ``premium`` (per unit, premium
    currency) neither gains nor loses at expiry: K ± p (linear), K/(1 ∓ p) (coin-settled).
    Raises :class:`InvalidValue` when a coin call premium is at least 1 coin (no breakeven)."""
    call = right is OptionRight.CALL
    if not coin:
        return strike + premium if call else strike - premium
    denominator = ONE - premium if call else ONE + premium
    if denominator <= 0:
        raise InvalidValue(
            f"a coin-settled call pays less than 1 coin per coin; premium {premium} has no "
            "breakeven",
            field="entry_price",
        )
    return (strike / denominator).quantize(CENT, rounding=ROUND_HALF_EVEN)


def expiry_levels(
    right: OptionRight,
    short: bool,
    strike: Decimal,
    premium: Decimal,
    units: Decimal,
    coin: bool,
) -> ExpiryLevels:
    """Levels at expiry of ``units`` (contracts × multiplier) opened at ``premium`` (module
    doc). Money in the premium currency (coin for inverse options) and in USD."""
    call = right is OptionRight.CALL
    be = breakeven(right, strike, premium, coin)
    p, k, u = premium, strike, units
    if not coin:
        if short:
            profit: Decimal | None = p * u
            loss: Decimal | None = None if call else (k - p) * u
        else:
            profit = None if call else (k - p) * u
            loss = p * u
        return ExpiryLevels(
            be, profit, loss, profit, loss, "linear: premium and payoff in the same currency"
        )
    coin_profit: Decimal | None
    coin_loss: Decimal | None
    usd_profit: Decimal | None
    usd_loss: Decimal | None
    if call:
        coin_profit, coin_loss = (p * u, (ONE - p) * u) if short else ((ONE - p) * u, p * u)
        usd_profit, usd_loss = (p * k * u, None) if short else (None, p * k * u)
    else:
        coin_profit, coin_loss = (p * u, None) if short else (None, p * u)
        usd_profit, usd_loss = (None, k * u) if short else (k * u, None)
    return ExpiryLevels(
        be,
        coin_profit,
        coin_loss,
        usd_profit,
        usd_loss,
        "coin-settled: breakeven K/(1 - p) for calls, K/(1 + p) for puts; coin levels are "
        "bounds approached at S -> infinity or S -> 0; USD levels value the coin P&L at the "
        "underlying price at expiry",
    )


__all__ = ["ExpiryLevels", "breakeven", "expiry_levels"]
