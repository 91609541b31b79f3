"""Position sizing (seed 002): quantity from entry, stop and risk fraction, capped by the
per-symbol limit and available capital, rounded down to the lot size; leverage by confidence;
optional fractional Kelly.

:func:`book_caps` turns the book's aggregates into caps (contracts at most) that take the
position already held and the working orders (the ``RiskBook`` counts them) into account, one
per pre-trade limit a new entry must pass, so a suggested size is one ``risk check`` approves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.risk.aggregates import InstrumentRisk, RiskBook
from riskdesk.domain.risk.limits import LeverageTier, RiskLimits
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import ZERO, exact, positive


@dataclass(frozen=True, slots=True)
class SizeCap:
    """An upper bound on the size from one limit: ``qty`` contracts at most (``math.inf``: no
    bound), and why."""

    name: str
    qty: float
    detail: str


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
    caps: Sequence[SizeCap] = (),
    kelly: Decimal | None = None,
) -> SizingResult:
    """Size an entry so that hitting ``stop`` loses ``risk_fraction`` of ``equity``.

    ``qty = equity·risk / loss_per_contract`` where the loss per contract is the instrument's P&L
    from entry to stop (linear or inverse) and ``risk`` is ``risk_fraction`` or the fractional
    ``kelly`` bet when smaller; then capped so that the notional is at most
    ``max_symbol_fraction·equity``, the margin (notional/leverage) at most ``available`` and
    the size at most every one of ``caps`` (see :func:`book_caps`); finally rounded down to
    the lot size. ``equity`` and ``available`` are in the settlement currency."""
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
    fraction = risk_fraction
    capped_by = "risk per trade"
    notes = [f"risk {risk_fraction * 100:.2f} %"]
    if kelly is not None:
        notes.append(f"fractional Kelly {kelly * 100:.2f} %")
        if kelly < fraction:
            fraction, capped_by = max(kelly, ZERO), "fractional Kelly"
    risk_budget = equity * fraction
    qty = risk_budget / loss_per
    notional_per = instrument.notional(Decimal(1), entry)
    if max_symbol_fraction is not None and qty * notional_per > equity * max_symbol_fraction:
        qty = equity * max_symbol_fraction / notional_per
        capped_by = "per-symbol limit"
    margin_per = notional_per / leverage
    if qty * margin_per > available:
        qty = available / margin_per if margin_per else ZERO
        capped_by = "available capital"
    for cap in caps:
        if math.isinf(cap.qty):
            continue
        bound = Decimal(repr(max(cap.qty, 0.0)))
        if bound < qty:
            qty, capped_by = bound, cap.name
    qty = instrument.make_qty(max(qty, ZERO), ROUND_DOWN)
    notional = qty * notional_per
    risk_amount = qty * loss_per
    limits = "; ".join(f"{c.name}: {c.detail}" for c in caps if c.detail)
    return SizingResult(
        qty=qty,
        notional=notional,
        risk_amount=risk_amount,
        risk_fraction=risk_amount / equity if equity else ZERO,
        capital_usage=(notional / leverage) / available if available else ZERO,
        leverage=leverage,
        capped_by=capped_by,
        explanation=(
            f"{' vs '.join(notes)} of {equity:.2f} = {risk_budget:.2f} at "
            f"{loss_per:.8g} per contract to the stop; capped by {capped_by}; rounded down to lot "
            f"{instrument.lot_size}" + (f" (limits: {limits})" if limits else "")
        ),
    )


def _room(cap: float, used: float, old: float, per: float, direction: float) -> float:
    """Contracts that keep ``|used − |old| + |old + direction·per·q||`` within ``cap`` (the
    aggregate ``used`` holds this symbol's ``old`` signed amount; ``per`` > 0 per contract)."""
    if per <= 0:
        return math.inf
    if old * direction >= 0:
        return max(0.0, (cap - used) / per)
    # Against the current side: the first |old| / per contracts shrink the aggregate.
    return max(0.0, (cap - used + 2.0 * abs(old)) / per)


def _exposure_caps(
    book: RiskBook, inst: InstrumentRisk, lim: RiskLimits, d: float
) -> list[SizeCap]:
    """Per-symbol, total exposure, effective leverage and concentration room."""
    caps: list[SizeCap] = []
    equity = book.equity
    e = abs(inst.exposure_per_unit)
    old_sym = book.symbol_exposure.get(inst.key, 0.0)
    if lim.max_symbol_exposure is not None and e > 0:
        cap = lim.max_symbol_exposure * equity
        caps.append(
            SizeCap(
                "per-symbol limit",
                _room(cap, abs(old_sym), old_sym, e, d),
                f"{inst.key} holds {abs(old_sym):,.2f} of {cap:,.2f}",
            )
        )
    for name, limit in (
        ("total exposure", lim.max_total_exposure),
        ("effective leverage", lim.max_leverage),
    ):
        if limit is not None and e > 0:
            cap = limit * equity
            caps.append(
                SizeCap(
                    name,
                    _room(cap, book.gross, old_sym, e, d),
                    f"gross {book.gross:,.2f} of {cap:,.2f}",
                )
            )
    if lim.max_concentration is not None and e > 0:
        cap = lim.max_concentration * equity
        used = book.asset_gross.get(inst.asset, 0.0)
        caps.append(
            SizeCap(
                "concentration",
                _room(cap, used, old_sym, e, d),
                f"{inst.asset} {used:,.2f} of {cap:,.2f}",
            )
        )
    return caps


def _delta_caps(book: RiskBook, inst: InstrumentRisk, lim: RiskLimits, d: float) -> list[SizeCap]:
    """Net delta room per underlying and in total (a hedge may always shrink |delta|)."""
    caps: list[SizeCap] = []
    delta = abs(inst.delta_per_unit)
    if delta == 0:
        return caps
    for name, limit, used in (
        (
            f"{inst.asset} net delta",
            lim.max_net_delta_per_underlying,
            book.asset_delta.get(inst.asset, 0.0),
        ),
        ("book net delta", lim.max_net_delta_total, book.delta_sum),
    ):
        if limit is None:
            continue
        cap = limit * book.equity
        signed = d * (1.0 if inst.delta_per_unit > 0 else -1.0)
        growing = used * signed >= 0
        room = (cap - abs(used)) / delta if growing else (cap + abs(used)) / delta
        caps.append(SizeCap(name, max(0.0, room), f"{used:,.2f} of {cap:,.2f}"))
    return caps


def book_caps(
    book: RiskBook,
    inst: InstrumentRisk,
    limits: RiskLimits,
    *,
    account_id: str,
    slot: str,
    long: bool,
    entry: float,
    stop: float,
    leverage: float | None,
) -> list[SizeCap]:
    """Caps (contracts at most) a new entry must respect given the book — the position held in
    the symbol and the working orders included — one per pre-trade limit: trading state, daily
    loss, per-symbol and total exposure, effective leverage, positions, order notional,
    concentration, portfolio heat, net delta per underlying and in total, and the margin
    available. ``entry``/``stop`` in the price currency; the book's numbers in the reporting
    currency (margin in the settlement currency)."""
    lim = limits
    equity = book.equity
    d = 1.0 if long else -1.0
    caps: list[SizeCap] = []
    if book.state is not TradingState.ACTIVE:
        caps.append(SizeCap("trading state", 0.0, f"trading is {book.state.label}: no entries"))
    if equity <= 0:
        caps.append(SizeCap("equity", 0.0, f"equity is {equity:,.2f}"))
        return caps
    if lim.daily_loss_limit is not None and book.day_start_equity:
        loss = (book.day_start_equity - equity) / book.day_start_equity
        if loss >= lim.daily_loss_limit - 1e-12:
            caps.append(
                SizeCap("daily loss limit", 0.0, f"today's loss {loss * 100:.2f} % reached it")
            )
    caps += _exposure_caps(book, inst, lim, d)
    held = book.positions.get((account_id, inst.key, slot), 0.0)
    if lim.max_positions is not None and held == 0.0 and book.count + 1 > lim.max_positions:
        caps.append(SizeCap("positions", 0.0, f"{book.count} open, limit {lim.max_positions}"))
    per_notional = inst.notional_at(entry)
    if lim.max_order_notional is not None and per_notional > 0:
        caps.append(
            SizeCap(
                "order notional",
                lim.max_order_notional / per_notional,
                f"at most {lim.max_order_notional:,.2f} an order",
            )
        )
    per_risk = (
        abs(1.0 / entry - 1.0 / stop) * inst.contract_size
        if inst.inverse
        else abs(entry - stop) * inst.contract_size
    ) * inst.settle_rate
    if lim.max_portfolio_heat is not None and per_risk > 0:
        cap = lim.max_portfolio_heat * equity
        caps.append(
            SizeCap(
                "portfolio heat",
                max(0.0, (cap - book.heat) / per_risk),
                f"risk to stops {book.heat:,.2f} of {cap:,.2f}",
            )
        )
    caps += _delta_caps(book, inst, lim, d)
    wallet = (account_id, inst.settle)
    available = book.available.get(wallet, 0.0)
    lev = leverage or book.account_leverage.get(account_id, 1.0)
    per_margin = inst.margin_per_unit * (
        entry / inst.mark if inst.mark > 0 and not inst.inverse else 1.0
    )
    if inst.margined:
        per_margin /= lev
    per_margin += per_notional * inst.fee_rate / (inst.settle_rate or 1.0) + inst.fee_per_contract
    if per_margin > 0:
        caps.append(
            SizeCap(
                "available capital",
                max(0.0, available / per_margin),
                f"{available:,.2f} {inst.settle} free after working orders",
            )
        )
    return caps


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
