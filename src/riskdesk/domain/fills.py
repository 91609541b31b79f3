"""Fills (executions reported by a venue) and funding payments: the facts the ledger is built from.

A fill is identified by ``(venue, fill_id)``; applying the same fill twice changes nothing.

Numbers are checked where a fill is created, against the ledger's bounds
(:data:`~riskdesk.domain.values.MAX_PRICE` and friends): a price in
[``MIN_PRICE``, ``MAX_PRICE``], a quantity in (0, ``MAX_QTY``], a fee of at most ``MAX_AMOUNT``.
Where the instrument is known (:meth:`Book.apply_fill`) the quantity must also be a multiple of
its lot size — ledger quantities are on the lot grid — and the notional within ``MAX_NOTIONAL``.

Fill *prices* are deliberately not forced onto today's tick grid: they are facts the venue
reports, and a venue legitimately fills off the current tick (average prices of aggregated
executions, fills from before a tick-size change, price-improved fills). An off-tick price is
booked exactly as reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.symbols import canonical_symbol, parse_symbol
from riskdesk.domain.values import (
    MAX_FUNDING_RATE,
    ZERO,
    Liquidity,
    Number,
    PositionSide,
    Side,
    amount_value,
    leverage_value,
    price_value,
    qty_value,
    to_decimal,
)


class MarginMode(StrEnum):
    """Isolated (margin assigned to the position) or cross (the whole wallet backs it)."""

    ISOLATED = "isolated"
    CROSS = "cross"

    @classmethod
    def parse(cls, text: str, field: str = "margin_mode") -> MarginMode:
        """Accept isolated/cross in any case."""
        key = text.strip().lower()
        if key not in ("isolated", "cross"):
            raise InvalidValue(f"expected isolated or cross, got {text!r}", field=field)
        return cls(key)


def require_aware(ts: object, field: str = "ts") -> datetime:
    """Reject non-datetimes and naive datetimes: every timestamp in riskdesk is timezone-aware."""
    if not isinstance(ts, datetime):
        raise InvalidValue(
            f"expected a timezone-aware datetime, got {type(ts).__name__}", field=field
        )
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidValue("timestamp must be timezone-aware (UTC)", field=field)
    return ts


def normalize_symbol(symbol: object, field: str = "symbol") -> str:
    """Any supported symbol form (OCC, Deribit, CCXT) to riskdesk's canonical symbol."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise InvalidValue("must not be empty", field=field)
    return canonical_symbol(parse_symbol(symbol))


def _liquidity(value: Liquidity | str | None) -> Liquidity | None:
    if value is None or isinstance(value, Liquidity):
        return value
    key = value.strip().lower()
    if key not in ("maker", "taker"):
        raise InvalidValue(f"expected maker or taker, got {value!r}", field="liquidity")
    return Liquidity(key)


#: What a fill *is*: a fill re-imported under the same ``(venue, fill_id)`` must agree on these
#: (the others — liquidity, order id, leverage, margin mode — are annotations).
FILL_IDENTITY_FIELDS = (
    "account_id",
    "symbol",
    "side",
    "qty",
    "price",
    "ts",
    "fee",
    "fee_currency",
    "position_side",
)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution.

    ``qty`` is in contracts (coins for spot and coin-quantity perpetuals), ``price`` in the
    instrument's price currency per unit, ``fee`` is what was paid (negative for a rebate) in
    ``fee_currency`` (the settlement currency when None). ``position_side`` is NET on a one-way
    account and LONG/SHORT on a hedge-mode account. ``leverage`` and ``margin_mode`` apply when
    the fill opens a margined position.
    """

    venue: str
    fill_id: str
    account_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    ts: datetime
    fee: Decimal = ZERO
    fee_currency: str | None = None
    liquidity: Liquidity | None = None
    position_side: PositionSide = PositionSide.NET
    order_id: str | None = None
    leverage: Decimal | None = None
    margin_mode: MarginMode | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Idempotency key ``(venue, fill_id)``."""
        return (self.venue, self.fill_id)

    @property
    def instrument_key(self) -> str:
        """``venue:symbol`` of the instrument."""
        return f"{self.venue}:{self.symbol}"

    @property
    def signed_qty(self) -> Decimal:
        """``+qty`` for a buy, ``−qty`` for a sell."""
        return self.qty if self.side is Side.BUY else -self.qty

    def differences(self, other: Fill) -> dict[str, tuple[object, object]]:
        """The booking-relevant fields (:data:`FILL_IDENTITY_FIELDS`) in which ``other`` differs
        from this fill, as ``{field: (mine, other's)}``; numbers and times compare by value."""
        out: dict[str, tuple[object, object]] = {}
        for name in FILL_IDENTITY_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out[name] = (mine, theirs)
        return out

    @classmethod
    def create(
        cls,
        *,
        venue: str,
        fill_id: str,
        account_id: str,
        symbol: str,
        side: Side | str,
        qty: Number,
        price: Number,
        ts: datetime,
        fee: Number = 0,
        fee_currency: str | None = None,
        liquidity: Liquidity | str | None = None,
        position_side: PositionSide | str | None = None,
        order_id: str | None = None,
        leverage: Number | None = None,
        margin_mode: MarginMode | str | None = None,
    ) -> Fill:
        """Validate edge input and build a fill; every error names the offending field."""
        if not venue or not venue.strip():
            raise InvalidValue("must not be empty", field="venue")
        if not fill_id or not str(fill_id).strip():
            raise InvalidValue("must not be empty", field="fill_id")
        if not account_id:
            raise InvalidValue("must not be empty", field="account_id")
        if not isinstance(side, Side | str):
            raise InvalidValue(f"expected buy or sell, got {side!r}", field="side")
        lev = None if leverage is None else leverage_value(leverage, "leverage")
        return cls(
            venue=venue.strip(),
            fill_id=str(fill_id).strip(),
            account_id=account_id,
            symbol=normalize_symbol(symbol),
            side=side if isinstance(side, Side) else Side.parse(side),
            qty=qty_value(qty, "qty"),
            price=price_value(price, "price"),
            ts=require_aware(ts),
            fee=amount_value(fee, "fee"),
            fee_currency=fee_currency.strip().upper() if fee_currency else None,
            liquidity=_liquidity(liquidity),
            position_side=position_side
            if isinstance(position_side, PositionSide)
            else PositionSide.parse(position_side),
            order_id=order_id,
            leverage=lev,
            margin_mode=margin_mode
            if isinstance(margin_mode, MarginMode) or margin_mode is None
            else MarginMode.parse(margin_mode),
        )


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """A funding event for a perpetual: ``rate`` per funding interval at ``mark_price``.

    Positive rate: longs pay shorts. Identified by ``(venue, symbol, ts)``.
    """

    venue: str
    account_id: str
    symbol: str
    rate: Decimal
    mark_price: Decimal
    ts: datetime
    position_side: PositionSide = PositionSide.NET

    @property
    def key(self) -> tuple[str, str]:
        """Idempotency key ``(venue, "funding:symbol:side:iso-ts")``."""
        return (
            self.venue,
            f"funding:{self.symbol}:{self.position_side.value}:{self.ts.isoformat()}",
        )

    @property
    def instrument_key(self) -> str:
        """``venue:symbol``."""
        return f"{self.venue}:{self.symbol}"

    @classmethod
    def create(
        cls,
        *,
        venue: str,
        account_id: str,
        symbol: str,
        rate: Number,
        mark_price: Number,
        ts: datetime,
        position_side: PositionSide | str | None = None,
    ) -> FundingPayment:
        """Validate edge input; the rate may be negative (at most ``MAX_FUNDING_RATE`` either
        way), the mark price is a price within the ledger's bounds."""
        if not venue or not venue.strip():
            raise InvalidValue("must not be empty", field="venue")
        if not account_id:
            raise InvalidValue("must not be empty", field="account_id")
        funding_rate = to_decimal(rate, "rate")
        if abs(funding_rate) > MAX_FUNDING_RATE:
            raise InvalidValue(
                f"{funding_rate} is beyond the largest funding rate {MAX_FUNDING_RATE} per interval",
                field="rate",
            )
        return cls(
            venue=venue.strip(),
            account_id=account_id,
            symbol=normalize_symbol(symbol),
            rate=funding_rate,
            mark_price=price_value(mark_price, "mark_price"),
            ts=require_aware(ts),
            position_side=position_side
            if isinstance(position_side, PositionSide)
            else PositionSide.parse(position_side),
        )
