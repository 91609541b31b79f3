"""Margin and liquidation: initial and tiered maintenance margin, bankruptcy and liquidation
prices for linear and inverse contracts, isolated and cross, and short-option margin.

All amounts are in the instrument's settlement currency; prices in its price currency.

The liquidation price solves *margin balance at P = maintenance margin at P* (plus the fee to
close at the bankruptcy price where the venue counts it). What moves with P is every position of
the same instrument backed by the same margin — one position when isolated; on a cross account
*every cross position of that instrument*, so both legs of a hedge-mode long and short — while
every other position is held at its current mark (as Binance, Bybit and Deribit quote it).

With legs ``s`` of signed quantity ``q_s``, value basis ``B_s = q_s·cs·x(E_s)`` (``x(p) = p``
linear, ``−1/p`` inverse; see :mod:`riskdesk.domain.instruments`), their maintenance rates
``mmr_s`` and tier amounts ``cum_s`` (each leg's own bracket, by its own notional), the margin
backing them ``C`` (isolated margin; or for cross: wallet − isolated allocations − the other
positions' maintenance + their unrealized P&L) and ``F`` the close fee:

* linear, maintenance on the mark notional (Binance; its hedge-mode cross formula with the
  BOTH/LONG/SHORT terms is this with one leg per side):
  ``P = (ΣB_s − C − Σcum_s + F) / (Σq_s·cs − Σ|q_s|·cs·mmr_s)``
* inverse, mark basis (Deribit): ``P = (Σq_s·cs + Σ|q_s|·cs·mmr_s) / (C − ΣB_s + Σcum_s − F)``
* linear, maintenance on the entry notional (Bybit): ``P = (ΣMM₀_s + F − C + ΣB_s) / Σq_s·cs``,
  ``MM₀_s = |q_s|·cs·E_s·mmr_s − cum_s``
* inverse, entry basis (Bybit inverse): ``P = Σq_s·cs / (C − ΣB_s − ΣMM₀_s − F)``,
  ``MM₀_s = |q_s|·cs/E_s·mmr_s − cum_s``

For one leg these are the familiar single-position formulas (``ΣB = q·cs·E`` linear). For a fully
hedged pair (``Σq = 0``) the price-dependent P&L cancels: only the maintenance (which grows with
the notional, linear, or as the price falls, inverse) can liquidate it — far away, or never (entry
basis: ``None``).

With tiers the maintenance is piecewise linear in P (continuous thanks to ``cum``): the price axis
is cut where a leg's notional crosses a bracket floor, the linear equation is solved in each
piece and kept where it is self-consistent. A group can have a liquidation price on each side of
the mark (a net long with a large hedge); the one nearest to the reference price (the mark) is
reported. A result that is not a positive price means the legs cannot be liquidated (e.g. a fully
collateralised 1× long, or a coin-margined short backed by more coin than its contract value):
``None``. ``F`` is the fee to close every leg at the group's bankruptcy price, where the margin
is used up exactly: linear ``P_b = (ΣB_s − C) / (Σq_s·cs − f·Σ|q_s|·cs)``, inverse
``P_b = (Σq_s·cs + f·Σ|q_s|·cs) / (C − ΣB_s)`` with close fee rate ``f``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.instruments import Instrument
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


@dataclass(frozen=True, slots=True)
class MarginLeg:
    """A position that moves with the price when a liquidation price is solved: signed ``qty``
    (contracts), its signed value basis ``basis`` (``Σ q·cs·x(entry)``, settlement currency;
    see :meth:`Instrument.entry_value`) and its average ``entry`` (price currency)."""

    qty: Decimal
    basis: Decimal
    entry: Decimal


def leg_of(instrument: Instrument, qty: Decimal, entry: Decimal) -> MarginLeg:
    """The leg of ``qty`` opened at ``entry`` (a hypothetical position, or one from its fills)."""
    return MarginLeg(qty, instrument.entry_value(qty, entry), entry)


def _sums(instrument: Instrument, legs: Sequence[MarginLeg]) -> tuple[Decimal, Decimal, Decimal]:
    """``(Σq·cs, Σ|q|·cs, ΣB)``."""
    signed = gross = basis = ZERO
    for leg in legs:  # a plain loop: views call this once per position
        signed += leg.qty
        gross += abs(leg.qty)
        basis += leg.basis
    cs = instrument.contract_size
    return signed * cs, gross * cs, basis


@exact
def group_bankruptcy_price(
    instrument: Instrument,
    legs: Sequence[MarginLeg],
    backing: Decimal,
    close_fee_rate: Decimal = ZERO,
) -> Decimal | None:
    """Price at which the margin ``backing`` the legs is exactly used up (incl. the fee to close
    them there when ``close_fee_rate`` > 0). ``None`` if no positive price does that."""
    return _bankruptcy(instrument, _sums(instrument, legs), backing, close_fee_rate)


def _bankruptcy(
    instrument: Instrument,
    sums: tuple[Decimal, Decimal, Decimal],
    backing: Decimal,
    close_fee_rate: Decimal,
) -> Decimal | None:
    signed, gross, basis = sums
    f = close_fee_rate
    if not instrument.inverse:
        num, den = basis - backing, signed - f * gross
    else:
        num, den = signed + f * gross, backing - basis
    if den == 0:
        return None
    price = _div(num, den)
    return price if price > 0 else None


@exact
def bankruptcy_price(
    instrument: Instrument,
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    close_fee_rate: Decimal = ZERO,
) -> Decimal | None:
    """:func:`group_bankruptcy_price` of one position of ``qty`` at ``entry``."""
    return group_bankruptcy_price(
        instrument, [leg_of(instrument, qty, entry)], margin, close_fee_rate
    )


def _close_fee(
    instrument: Instrument, legs: Sequence[MarginLeg], backing: Decimal, close_fee_rate: Decimal
) -> Decimal:
    if close_fee_rate == 0:
        return ZERO
    sums = _sums(instrument, legs)
    bp = _bankruptcy(instrument, sums, backing, close_fee_rate)
    if bp is None:
        return ZERO
    gross_qty = _div(sums[1], instrument.contract_size)
    return instrument.notional(gross_qty, bp) * close_fee_rate


def _leg_notional(instrument: Instrument, leg: MarginLeg, price: Decimal) -> Decimal:
    return instrument.notional(leg.qty, price)


def _solve(
    instrument: Instrument,
    legs: Sequence[MarginLeg],
    rates: Sequence[tuple[Decimal, Decimal]],
    backing: Decimal,
    fee: Decimal,
    entry_basis: bool,
    sums: tuple[Decimal, Decimal, Decimal] | None = None,
) -> Decimal | None:
    """The price solving the module's equation for fixed ``(mmr, cum)`` per leg; ``None`` if it
    has no positive solution."""
    cs = instrument.contract_size
    signed, _, basis = sums or _sums(instrument, legs)
    cum = weighted = mm0 = ZERO
    for leg, (mmr, c) in zip(legs, rates, strict=True):
        cum += c
        if entry_basis:
            mm0 += instrument.notional(leg.qty, leg.entry) * mmr - c
        else:
            weighted += abs(leg.qty) * mmr
    if entry_basis:
        if not instrument.inverse:
            num, den = mm0 + fee - backing + basis, signed
        else:
            num, den = signed, backing - basis - mm0 - fee
    elif not instrument.inverse:
        num, den = basis - backing - cum + fee, signed - weighted * cs
    else:
        num, den = signed + weighted * cs, backing - basis + cum - fee
    if den == 0:
        return None
    price = _div(num, den)
    return price if price > 0 else None


def _breakpoints(instrument: Instrument, legs: Sequence[MarginLeg]) -> list[Decimal]:
    """Prices where a leg's notional crosses one of the instrument's bracket floors."""
    points: set[Decimal] = set()
    cs = instrument.contract_size
    for leg in legs:
        size = abs(leg.qty) * cs
        for tier in instrument.margin_tiers:
            if tier.floor > 0 and size > 0:
                points.add(_div(size, tier.floor) if instrument.inverse else _div(tier.floor, size))
    return sorted(points)


def _rates_at(
    instrument: Instrument, legs: Sequence[MarginLeg], price: Decimal
) -> list[tuple[Decimal, Decimal]]:
    return [tier_for(instrument, _leg_notional(instrument, leg, price)) for leg in legs]


@exact
def group_liquidation_price(
    instrument: Instrument,
    legs: Sequence[MarginLeg],
    backing: Decimal,
    convention: MarginConvention = BINANCE,
    reference: Decimal | None = None,
    rates: Sequence[tuple[Decimal, Decimal]] | None = None,
) -> Decimal | None:
    """Liquidation price of ``legs`` (positions of ``instrument`` backed by the same margin
    ``backing``; see the module docstring). ``rates`` fixes ``(mmr, cum)`` per leg; otherwise
    each leg's bracket is the one holding its notional at the liquidation price (mark basis) or
    at its entry (entry basis). Of several solutions, the nearest to ``reference`` (default: the
    first leg's entry)."""
    return _liquidation(instrument, legs, backing, convention, reference, rates, None)


@exact
def group_prices(
    instrument: Instrument,
    legs: Sequence[MarginLeg],
    backing: Decimal,
    convention: MarginConvention = BINANCE,
    reference: Decimal | None = None,
) -> tuple[Decimal | None, Decimal | None]:
    """``(liquidation price, bankruptcy price)`` of a group, sharing the work of both (the views
    need both for every position)."""
    sums = _sums(instrument, legs)
    return (
        _liquidation(instrument, legs, backing, convention, reference, None, sums),
        _bankruptcy(instrument, sums, backing, convention.close_fee_rate),
    )


def _liquidation(
    instrument: Instrument,
    legs: Sequence[MarginLeg],
    backing: Decimal,
    convention: MarginConvention,
    reference: Decimal | None,
    rates: Sequence[tuple[Decimal, Decimal]] | None,
    sums: tuple[Decimal, Decimal, Decimal] | None,
) -> Decimal | None:
    if any(leg.qty == 0 for leg in legs):
        legs = [leg for leg in legs if leg.qty != 0]
        sums = None
    if not legs:
        return None
    fee = _close_fee(instrument, legs, backing, convention.close_fee_rate)
    entry_basis = convention.basis is MaintenanceBasis.ENTRY
    if rates is not None or entry_basis or not instrument.margin_tiers:
        fixed = (
            list(rates)
            if rates is not None
            else [tier_for(instrument, instrument.notional(leg.qty, leg.entry)) for leg in legs]
            if entry_basis
            else [(instrument.maint_margin_rate, ZERO)] * len(legs)
        )
        return _solve(instrument, legs, fixed, backing, fee, entry_basis, sums)
    # Tiered, on the mark: solve piece by piece between the bracket breakpoints.
    cuts = _breakpoints(instrument, legs)
    lows: list[Decimal] = [ZERO, *cuts]
    highs: list[Decimal | None] = [*cuts, None]
    roots: list[Decimal] = []
    for low, high in zip(lows, highs, strict=True):
        # A price inside the piece decides each leg's bracket there.
        probe = (low + high) / 2 if high is not None else (low * 2 if low > 0 else Decimal(1))
        price = _solve(
            instrument, legs, _rates_at(instrument, legs, probe), backing, fee, entry_basis=False
        )
        if price is not None and low <= price and (high is None or price <= high):
            roots.append(price)
    if not roots:
        return None
    target = reference if reference is not None else legs[0].entry
    return min(roots, key=lambda price: (abs(price - target), price))


@exact
def margin_excess(
    instrument: Instrument,
    legs: Sequence[MarginLeg],
    backing: Decimal,
    price: Decimal,
    convention: MarginConvention = BINANCE,
    rates: Sequence[tuple[Decimal, Decimal]] | None = None,
) -> Decimal:
    """Margin balance minus what liquidation requires (maintenance, plus the close fee where the
    venue counts it) if the legs were marked at ``price``: positive is safe, zero is the
    liquidation price, negative is past it. Settlement currency. ``rates`` fixes ``(mmr, cum)``
    per leg; otherwise each leg's bracket applies."""
    balance = backing + sum(
        (instrument.entry_value(leg.qty, price) - leg.basis for leg in legs), ZERO
    )
    entry_basis = convention.basis is MaintenanceBasis.ENTRY
    required = _close_fee(instrument, legs, backing, convention.close_fee_rate)
    for i, leg in enumerate(legs):
        at = leg.entry if entry_basis else price
        notional = instrument.notional(leg.qty, at)
        rate, cum = tier_for(instrument, notional) if rates is None else rates[i]
        required += notional * rate - cum
    return balance - required


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
    """Liquidation price of one position for given maintenance parameters."""
    if qty == 0:
        return None
    return group_liquidation_price(
        instrument,
        [leg_of(instrument, qty, entry)],
        margin,
        convention,
        rates=[(mmr, cum)],
    )


@exact
def liquidation_price(
    instrument: Instrument,
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    convention: MarginConvention = BINANCE,
    mark: Decimal | None = None,
) -> Decimal | None:
    """Liquidation price of one position with the instrument's tiers (the bracket is the one
    that holds the notional at the liquidation price, so the answer is self-consistent)."""
    if qty == 0:
        return None
    return group_liquidation_price(
        instrument, [leg_of(instrument, qty, entry)], margin, convention, mark
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
    "MarginLeg",
    "OptionMarginRates",
    "bankruptcy_price",
    "distance_to_liquidation",
    "group_bankruptcy_price",
    "group_liquidation_price",
    "group_prices",
    "initial_margin",
    "leg_of",
    "liquidation_price",
    "liquidation_price_at",
    "maint_amounts",
    "maintenance_margin",
    "margin_excess",
    "roe",
    "short_option_margin",
    "tier_for",
]
