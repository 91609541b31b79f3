"""Price levels of the governance rules, exact where they set an order price.

With ``s = q·cs`` (signed, contracts × contract size), ``a = |s|``, entry ``E``, a target profit
``t`` (settlement currency) and a round-trip taker fee rate ``r`` charged on the entry and the
exit notional, the price at which closing the position earns exactly ``t`` net of fees is

* linear:  ``P = (t + E·(s + r·a)) / (s − r·a)``
* inverse: ``P = (s + r·a) / ((s − r·a)/E − t)``      (P&L ``s·(1/E − 1/P)`` in coin)

For ``t = 0`` both give ``E·(1+r)/(1−r)`` for a long and ``E·(1−r)/(1+r)`` for a short: the
breakeven including fees. With ``r = 0`` and linear contracts this is seed 003's
``P_entry + θ·isolated_margin/Q`` (``t = θ·margin``). ``None`` means no price reaches ``t``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from riskdesk.domain.instruments import Instrument
from riskdesk.domain.values import ACCOUNTING_CONTEXT, ZERO, to_decimal

_C = ACCOUNTING_CONTEXT


def price_for_net_pnl(
    instrument: Instrument, qty: Decimal, entry: Decimal, target: Decimal, fee_rate: Decimal
) -> Decimal | None:
    """Exit price at which closing signed ``qty`` from ``entry`` earns ``target`` net of the
    round-trip fee at ``fee_rate`` (see the module docstring). Price currency; unrounded."""
    s = _C.multiply(qty, instrument.contract_size)
    a = abs(s)
    ra = _C.multiply(fee_rate, a)
    if not instrument.inverse:
        den = _C.subtract(s, ra)
        if den == 0:
            return None
        price = _C.divide(_C.add(target, _C.multiply(entry, _C.add(s, ra))), den)
    else:
        den = _C.subtract(_C.divide(_C.subtract(s, ra), entry), target)
        if den == 0:
            return None
        price = _C.divide(_C.add(s, ra), den)
    return price if price > 0 else None


def unrealized(instrument: Instrument, qty: Decimal, entry: Decimal, price: Decimal) -> Decimal:
    """Unrealized P&L of signed ``qty`` from ``entry`` at ``price`` (settlement currency)."""
    return instrument.pnl(qty, entry, price)


def roe(
    instrument: Instrument, qty: Decimal, entry: Decimal, price: Decimal, margin: Decimal
) -> float:
    """ROE as a float fraction: unrealized P&L at ``price`` over ``margin`` (0 without margin)."""
    if margin <= 0:
        return 0.0
    return float(_C.divide(unrealized(instrument, qty, entry, price), margin))


def offset_price(entry: Decimal, direction: int, distance: float) -> Decimal:
    """``entry − direction·distance`` (a stop ``distance`` price units on the losing side)."""
    return _C.subtract(entry, _C.multiply(Decimal(direction), to_decimal(distance, "distance")))


def r_level(entry: Decimal, direction: int, multiple: float, risk: Decimal) -> Decimal:
    """Take-profit level ``entry + direction·multiple·R`` (R in price units)."""
    step = _C.multiply(_exact_float(multiple), risk)
    return _C.add(entry, step) if direction > 0 else _C.subtract(entry, step)


@lru_cache(maxsize=1024)
def _exact_float(value: float) -> Decimal:
    # A profile's float (an R multiple…) as the exact decimal of its shortest repr, once.
    return to_decimal(value, "multiple")


def scaled_price(price: Decimal, factor: float) -> Decimal:
    """``price · factor`` exactly (the float factor through its shortest repr)."""
    return _C.multiply(price, to_decimal(factor, "factor"))


def average_entry_after_add(
    instrument: Instrument, qty: Decimal, entry: Decimal, add_qty: Decimal, price: Decimal
) -> Decimal:
    """Average entry after adding ``add_qty`` (same sign as ``qty``) at ``price``: weighted
    mean for linear contracts, contract-weighted harmonic mean for inverse ones."""
    total = _C.add(qty, add_qty)
    if total == 0:
        return ZERO
    basis = _C.add(instrument.entry_value(qty, entry), instrument.entry_value(add_qty, price))
    return instrument.price_from_basis(total, basis)


def margin_for(instrument: Instrument, qty: Decimal, price: Decimal, leverage: Decimal) -> Decimal:
    """Initial margin of ``qty`` at ``price`` with ``leverage`` (settlement currency)."""
    return _C.divide(instrument.notional(qty, price), leverage)


def money(value: Decimal) -> str:
    """A price for a reason text: thousands separators, trailing zeros dropped."""
    text = f"{value.normalize():,f}"
    return text


def qty(value: Decimal) -> str:
    """A quantity for a reason text, without trailing zeros."""
    return f"{value.normalize():f}"


def pct(value: float) -> str:
    """A fraction as ``12.34 %``."""
    return f"{value * 100:.2f} %"


__all__ = [
    "average_entry_after_add",
    "margin_for",
    "money",
    "offset_price",
    "pct",
    "price_for_net_pnl",
    "qty",
    "r_level",
    "roe",
    "scaled_price",
    "unrealized",
]
