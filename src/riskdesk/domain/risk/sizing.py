"""Position sizing (seed 002): quantity from entry, stop and risk fraction, capped by the
per-symbol limit and available capital, rounded down to the lot size; leverage by confidence;
optional fractional Kelly."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.risk.limits import LeverageTier
from riskdesk.domain.values import ZERO, exact, positive


@dataclass(frozen=True, slots=True)
class SizingResult:
    """Contracts to trade and why. Money in the settlement currency; ratios are fractions."""

    qty: Decimal
    notional: Decimal
    risk_amount: Decimal
    risk_fraction: Decimal
    capital_usage: Decimal
    leverage: Decimal
    capped_by: str
    explanation: str


@exact
def size_position(
    instrument: Instrument,
    *,
    equity: Decimal,
    available: Decimal,
    entry: Decimal,
    stop: Decimal,
    risk_fraction: Decimal,
    max_symbol_fraction: Decimal | None,
    leverage: Decimal = Decimal(1),
) -> SizingResult:
    """Size an entry so that hitting ``stop`` loses ``risk_fraction`` of ``equity``.

    ``qty = equity·risk / loss_per_contract`` where the loss per contract is the instrument's P&L
    from entry to stop (linear or inverse); then capped so that the notional is at most
    ``max_symbol_fraction·equity`` and the margin (notional/leverage) at most ``available``;
    finally rounded down to the lot size."""
    entry = positive(entry, "entry")
    stop = positive(stop, "stop")
    if entry == stop:
        raise InvalidValue("the stop must differ from the entry", field="stop")
    if not ZERO < risk_fraction < 1:
        raise InvalidValue(f"must be between 0 and 1, got {risk_fraction}", field="risk_fraction")
    leverage = positive(leverage, "leverage")
    long = stop < entry
    unit = Decimal(1) if long else Decimal(-1)
    loss_per = -instrument.pnl(unit, entry, stop)
    risk_budget = equity * risk_fraction
    qty = risk_budget / loss_per
    capped_by = "risk per trade"
    notional_per = instrument.notional(Decimal(1), entry)
    if max_symbol_fraction is not None and qty * notional_per > equity * max_symbol_fraction:
        qty = equity * max_symbol_fraction / notional_per
        capped_by = "per-symbol limit"
    margin_per = notional_per / leverage
    if qty * margin_per > available:
        qty = available / margin_per if margin_per else ZERO
        capped_by = "available capital"
    qty = instrument.make_qty(max(qty, ZERO), ROUND_DOWN)
    notional = qty * notional_per
    risk_amount = qty * loss_per
    return SizingResult(
        qty=qty,
        notional=notional,
        risk_amount=risk_amount,
        risk_fraction=risk_amount / equity if equity else ZERO,
        capital_usage=(notional / leverage) / available if available else ZERO,
        leverage=leverage,
        capped_by=capped_by,
        explanation=(
            f"risk {risk_fraction * 100:.2f} % of {equity:.2f} = {risk_budget:.2f} at "
            f"{loss_per:.8g} per contract to the stop; capped by {capped_by}; rounded down to lot "
            f"{instrument.lot_size}"
        ),
    )


def leverage_for_confidence(confidence: float, tiers: tuple[LeverageTier, ...]) -> float:
    """Leverage for a signal's confidence (0..1): the first tier whose ``min_confidence`` it
    reaches, interpolated inside the tier's range by how far the confidence is into the band."""
    if not 0.0 <= confidence <= 1.0:
        raise InvalidValue(f"must be between 0 and 1, got {confidence}", field="confidence")
    ordered = sorted(tiers, key=lambda t: t.min_confidence, reverse=True)
    upper = 1.0
    for tier in ordered:
        if confidence >= tier.min_confidence:
            span = upper - tier.min_confidence
            position = (confidence - tier.min_confidence) / span if span > 0 else 1.0
            return tier.low + (tier.high - tier.low) * position
        upper = tier.min_confidence
    return ordered[-1].low


def kelly_fraction(win_rate: float, payoff_ratio: float, fraction: float = 0.5) -> float:
    """Fractional Kelly bet size: ``fraction · (p − (1 − p)/b)``, floored at 0.

    ``win_rate`` p in [0, 1]; ``payoff_ratio`` b = average win / average loss (> 0)."""
    if not 0.0 <= win_rate <= 1.0:
        raise InvalidValue(f"must be between 0 and 1, got {win_rate}", field="win_rate")
    if payoff_ratio <= 0:
        raise InvalidValue(f"must be positive, got {payoff_ratio}", field="payoff_ratio")
    return max(0.0, fraction * (win_rate - (1.0 - win_rate) / payoff_ratio))
