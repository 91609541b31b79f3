"""Margin and liquidation: initial and tiered maintenance margin, bankruptcy and liquidation
prices for linear and inverse contracts, isolated and cross, and short-option margin.

All amounts are in the instrument's settlement currency; prices in its price currency.
The liquidation price solves *margin balance at P = maintenance margin at P* for one position,
holding every other position at its current mark (which is how Binance, Bybit and Deribit quote
it). With ``q`` the signed quantity, ``cs`` the contract size, ``M`` the margin backing the
position (isolated margin, or for cross: wallet − other positions' maintenance + their unrealized
P&L), ``mmr`` the maintenance rate and ``cum`` the tier's maintenance amount:

* linear, maintenance on the mark notional (Binance):
  ``P = (q·cs·E − M − cum + F) / (q·cs − |q|·cs·mmr)``
* linear, maintenance on the entry notional (Bybit's documented isolated example):
  ``P = E + (MM₀ + F − M) / (q·cs)``, ``MM₀ = |q|·cs·E·mmr − cum``
* inverse, entry basis (Bybit inverse): ``P = q·cs / (M + q·cs/E − F − MM₀)``, ``MM₀ = |q|·cs/E·mmr − cum``
* inverse, mark basis (Deribit): ``P = (q·cs + |q|·cs·mmr) / (M + q·cs/E − F + cum)``

``F`` is the fee to close at the bankruptcy price when the venue counts it (Bybit). A result that
is not a positive price means the position cannot be liquidated (e.g. a fully collateralised
1× long, or a coin-margined short backed by more coin than its contract value): ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.instruments import Instrument, MarginTier
from riskdesk.domain.symbols import OptionRight
from riskdesk.domain.values import ACCOUNTING_CONTEXT, ZERO, exact

_div = ACCOUNTING_CONTEXT.divide


class MaintenanceBasis(StrEnum):
    """Which notional the maintenance margin is computed on."""

    MARK = "mark"
    ENTRY = "entry"


@dataclass(frozen=True, slots=True)
class MarginConvention:
    """A venue's liquidation convention.

    ``basis``: maintenance on the mark (Binance, Deribit) or entry notional (Bybit's examples);
    ``close_fee_rate``: taker fee to close at the bankruptcy price, counted in maintenance
    (Bybit) or 0 (Binance)."""

    basis: MaintenanceBasis = MaintenanceBasis.MARK
    close_fee_rate: Decimal = ZERO


BINANCE = MarginConvention(MaintenanceBasis.MARK, ZERO)


@exact
def initial_margin(
    instrument: Instrument, qty: Decimal, price: Decimal, leverage: Decimal
) -> Decimal:
    """Initial margin ``notional / leverage`` (settlement currency; coin for inverse).

    Deribit's example: 1,000 USD of BTC futures at 600 with a 4 % initial rate (25×) needs
    ``1000/600 · 0.04 = 0.0667 BTC``."""
    return _div(instrument.notional(qty, price), leverage)


@exact
def maint_amounts(tiers: list[tuple[Decimal, Decimal]]) -> list[Decimal]:
    """Cumulative maintenance amounts of a bracket table given ``(floor, rate)`` per bracket:
    ``cum_n = floor_n · (mmr_n − mmr_{n−1}) + cum_{n−1}`` (Binance)."""
    result: list[Decimal] = []
    previous_rate = ZERO
    cum = ZERO
    for floor, rate in tiers:
        cum = floor * (rate - previous_rate) + cum
        result.append(cum)
        previous_rate = rate
    return result


def tier_for(instrument: Instrument, notional: Decimal) -> tuple[Decimal, Decimal]:
    """``(maint_margin_rate, maint_amount)`` for a settlement-currency notional."""
    tier = instrument.maintenance_tier(notional)
    if tier is None:
        return instrument.maint_margin_rate, ZERO
    return tier.maint_margin_rate, tier.maint_amount


@exact
def maintenance_margin(instrument: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    """Maintenance margin ``notional · mmr − cum`` at ``price`` (tiered when the instrument has
    tiers), settlement currency."""
    notional = instrument.notional(qty, price)
    rate, cum = tier_for(instrument, notional)
    return max(ZERO, notional * rate - cum)


@exact
def bankruptcy_price(
    instrument: Instrument,
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    close_fee_rate: Decimal = ZERO,
) -> Decimal | None:
    """Price at which the margin backing the position is exactly used up (incl. the fee to close
    there when ``close_fee_rate`` > 0). ``None`` if no positive price does that."""
    cs = instrument.contract_size
    f = close_fee_rate
    if not instrument.inverse:
        den = qty * cs - f * abs(qty) * cs
        if den == 0:
            return None
        price = _div(qty * cs * entry - margin, den)
    else:
        den = margin + _div(qty * cs, entry)
        if den == 0:
            return None
        price = _div(qty * cs + f * abs(qty) * cs, den)
    return price if price > 0 else None


def _close_fee(
    instrument: Instrument, qty: Decimal, entry: Decimal, margin: Decimal, close_fee_rate: Decimal
) -> Decimal:
    if close_fee_rate == 0:
        return ZERO
    bp = bankruptcy_price(instrument, qty, entry, margin, close_fee_rate)
    return ZERO if bp is None else instrument.notional(qty, bp) * close_fee_rate


@exact
def liquidation_price_at(
    instrument: Instrument,
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    *,
    mmr: Decimal,
    cum: Decimal = ZERO,
    convention: MarginConvention = BINANCE,
) -> Decimal | None:
    """Liquidation price for given maintenance parameters (see the module docstring)."""
    if qty == 0:
        return None
    cs = instrument.contract_size
    fee = _close_fee(instrument, qty, entry, margin, convention.close_fee_rate)
    entry_basis = convention.basis is MaintenanceBasis.ENTRY
    if not instrument.inverse:
        if entry_basis:
            mm0 = abs(qty) * cs * entry * mmr - cum
            price = entry + _div(mm0 + fee - margin, qty * cs)
        else:
            den = qty * cs - abs(qty) * cs * mmr
            if den == 0:
                return None
            price = _div(qty * cs * entry - margin - cum + fee, den)
    elif entry_basis:
        mm0 = _div(abs(qty) * cs, entry) * mmr - cum
        den = margin + _div(qty * cs, entry) - fee - mm0
        if den == 0:
            return None
        price = _div(qty * cs, den)
    else:
        den = margin + _div(qty * cs, entry) - fee + cum
        if den == 0:
            return None
        price = _div(qty * cs + abs(qty) * cs * mmr, den)
    return price if price > 0 else None


@exact
def liquidation_price(
    instrument: Instrument,
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    convention: MarginConvention = BINANCE,
    mark: Decimal | None = None,
) -> Decimal | None:
    """Liquidation price with the instrument's tiers: the bracket used is the one that holds the
    notional *at the liquidation price* (so the answer is self-consistent); without a
    consistent bracket, the bracket at ``mark`` (or ``entry``)."""
    tiers: tuple[MarginTier, ...] = instrument.margin_tiers
    if not tiers or convention.basis is MaintenanceBasis.ENTRY:
        reference = entry if convention.basis is MaintenanceBasis.ENTRY else (mark or entry)
        rate, cum = tier_for(instrument, instrument.notional(qty, reference))
        return liquidation_price_at(
            instrument, qty, entry, margin, mmr=rate, cum=cum, convention=convention
        )
    for tier in tiers:
        price = liquidation_price_at(
            instrument,
            qty,
            entry,
            margin,
            mmr=tier.maint_margin_rate,
            cum=tier.maint_amount,
            convention=convention,
        )
        if price is None:
            continue
        notional = instrument.notional(qty, price)
        if tier.floor <= notional < tier.cap:
            return price
    rate, cum = tier_for(instrument, instrument.notional(qty, mark or entry))
    return liquidation_price_at(
        instrument, qty, entry, margin, mmr=rate, cum=cum, convention=convention
    )


@exact
def roe(unrealized: Decimal, margin: Decimal, close_fee: Decimal = ZERO) -> Decimal:
    """Return on equity as a fraction: ``unrealized / (margin + close_fee)`` (seed 003 ROE;
    Bybit's ROI adds the fee to close at the bankruptcy price to the denominator)."""
    denominator = margin + close_fee
    return ZERO if denominator == 0 else _div(unrealized, denominator)


@exact
def distance_to_liquidation(
    mark: Decimal, liquidation: Decimal | None, long: bool
) -> tuple[Decimal, Decimal] | None:
    """``(price distance, fraction of mark)`` before liquidation; negative when already past it."""
    if liquidation is None or mark == 0:
        return None
    distance = mark - liquidation if long else liquidation - mark
    return distance, _div(distance, mark)


# ------------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class OptionMarginRates:
    """Short-option margin parameters (fractions).

    US equity (Reg-T / Cboe naked short): ``max(base·S − OTM, floor·X) + premium`` per share,
    ``X`` = S for calls and K for puts. Deribit standard margin for a short option, per unit of
    underlying: initial ``max(im_base − OTM/S, im_floor) + mark``, maintenance ``mm_base + mark``
    (coin for inverse options; times S for USDC-linear ones)."""

    equity_base: Decimal = Decimal("0.20")
    equity_floor: Decimal = Decimal("0.10")
    crypto_im_base: Decimal = Decimal("0.15")
    crypto_im_floor: Decimal = Decimal("0.10")
    crypto_mm_base: Decimal = Decimal("0.075")


@exact
def short_option_margin(
    instrument: Instrument,
    qty: Decimal,
    premium: Decimal,
    underlying: Decimal,
    rates: OptionMarginRates,
    maintenance: bool = False,
) -> Decimal:
    """Margin required by a short option position (``qty`` < 0); zero for long options.

    Settlement currency. ``premium`` is the option's mark in its price currency per unit,
    ``underlying`` the underlying's price in USD (or the quote)."""
    if qty >= 0 or instrument.strike is None or instrument.right is None:
        return ZERO
    strike = instrument.strike
    call = instrument.right is OptionRight.CALL
    otm = max(ZERO, strike - underlying) if call else max(ZERO, underlying - strike)
    units = abs(qty) * instrument.contract_size
    if instrument.equity:
        reference = underlying if call else strike
        per_share = (
            max(rates.equity_base * underlying - otm, rates.equity_floor * reference) + premium
        )
        return units * per_share
    if maintenance:
        per_unit = rates.crypto_mm_base + (
            premium if instrument.coin_settled else _div(premium, underlying)
        )
    else:
        otm_fraction = _div(otm, underlying) if underlying else ZERO
        per_unit = max(rates.crypto_im_base - otm_fraction, rates.crypto_im_floor) + (
            premium if instrument.coin_settled else _div(premium, underlying)
        )
    if instrument.coin_settled:
        return units * per_unit
    return units * per_unit * underlying


__all__ = [
    "BINANCE",
    "MaintenanceBasis",
    "MarginConvention",
    "OptionMarginRates",
    "bankruptcy_price",
    "distance_to_liquidation",
    "initial_margin",
    "liquidation_price",
    "liquidation_price_at",
    "maint_amounts",
    "maintenance_margin",
    "roe",
    "short_option_margin",
    "tier_for",
]
