"""Order intents: what a trader, a governance plan or a rebalancer wants to send.

Every order starts as an :class:`OrderIntent` with a stable ``intent_id``; the client order id
sent to a venue is derived from it deterministically, so a retry or a restart never creates a
second order. :func:`validate_intent` checks an intent against its instrument (grid, minimums,
the prices each order type needs) and raises a :class:`~riskdesk.domain.errors.ValidationError`
naming the field — off-grid prices from outside are denied, not silently fixed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.errors import InvalidValue, OffGrid
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.values import ZERO, PositionSide, Side, fast_init


class OrderType(StrEnum):
    """Order types (seed 004 §1)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT = "take_profit"
    TAKE_PROFIT_LIMIT = "take_profit_limit"

    @property
    def needs_price(self) -> bool:
        """Limit price required."""
        return self in NEEDS_PRICE

    @property
    def needs_trigger(self) -> bool:
        """Trigger (stop) price required."""
        return self in NEEDS_TRIGGER


#: Order types that need a limit price / a trigger price (``kind in NEEDS_PRICE`` is what
#: ``kind.needs_price`` answers, without the property call on hot paths).
NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
NEEDS_TRIGGER = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_LIMIT,
    }
)


class TimeInForce(StrEnum):
    """How long an order works."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    DAY = "day"


class TriggerPrice(StrEnum):
    """Which price triggers a conditional order."""

    LAST = "last"
    MARK = "mark"
    INDEX = "index"


@fast_init
@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order before it is sent. ``qty`` in contracts, ``price``/``stop_price`` in the price
    currency. ``protective_stop`` is the stop the entry will be protected by (used for risk per
    trade and portfolio heat). ``source`` says who asked (``manual``, ``governance:<plan>``,
    ``rebalance``…)."""

    intent_id: str
    account_id: str
    venue: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    tif: TimeInForce = TimeInForce.GTC
    position_side: PositionSide = PositionSide.NET
    trigger: TriggerPrice = TriggerPrice.MARK
    leverage: Decimal | None = None
    protective_stop: Decimal | None = None
    source: str = "manual"
    created_at: datetime | None = None

    @property
    def instrument_key(self) -> str:
        """``venue:symbol``."""
        return f"{self.venue}:{self.symbol}"

    @property
    def signed_qty(self) -> Decimal:
        """``+qty`` for a buy, ``−qty`` for a sell."""
        return self.qty if self.side is Side.BUY else -self.qty

    @property
    def client_order_id(self) -> str:
        """Deterministic client order id (≤ 32 characters, venue-safe alphabet)."""
        return client_order_id_for(self.intent_id)


def client_order_id_for(intent_id: str) -> str:
    """``rd`` + 30 hex characters of SHA-256(intent_id): the same intent always maps to the
    same id, so asking the venue "do you have this id?" answers whether it was already sent."""
    return "rd" + hashlib.sha256(intent_id.encode()).hexdigest()[:30]


def validate_intent(intent: OrderIntent, instrument: Instrument) -> OrderIntent:
    """Check an intent against its instrument; returns it unchanged or raises naming the field.

    Checks: quantity positive, on the lot grid and ≥ minimum; limit/trigger prices present for
    the order type, positive and on the tick grid; post-only only for limit orders; minimum
    notional at the limit price (market orders are checked by risk against the mark)."""
    if intent.symbol != instrument.symbol or intent.venue != instrument.venue:
        raise InvalidValue(
            f"intent is for {intent.instrument_key}, not {instrument.key}", field="symbol"
        )
    qty = intent.qty
    if not qty.is_finite() or qty <= ZERO:
        raise InvalidValue(f"must be greater than 0, got {qty}", field="qty")
    if qty % instrument.lot_size:
        raise OffGrid(f"{qty} is not a multiple of the lot size {instrument.lot_size}", field="qty")
    if qty < instrument.min_qty:
        raise InvalidValue(f"{qty} is below the minimum quantity {instrument.min_qty}", field="qty")
    kind = intent.order_type
    price = intent.price
    if kind in NEEDS_PRICE:
        if price is None:
            raise InvalidValue(f"a {kind.value} order needs a limit price", field="price")
        if not price.is_finite() or price <= ZERO or price % instrument.tick_size:
            _on_tick(price, instrument, "price")  # raises naming what is wrong
    elif price is not None:
        raise InvalidValue(f"a {kind.value} order takes no limit price", field="price")
    if kind in NEEDS_TRIGGER:
        if intent.stop_price is None:
            raise InvalidValue(f"a {kind.value} order needs a trigger price", field="stop_price")
        _on_tick(intent.stop_price, instrument, "stop_price")
    elif intent.stop_price is not None:
        raise InvalidValue(f"a {kind.value} order takes no trigger price", field="stop_price")
    if intent.post_only and kind is not OrderType.LIMIT:
        raise InvalidValue("post-only applies to limit orders", field="post_only")
    if (
        price is not None
        and instrument.min_notional
        and instrument.quote_notional(qty, price) < instrument.min_notional
    ):
        raise InvalidValue(
            f"notional {instrument.quote_notional(qty, price)} is below the minimum {instrument.min_notional}",
            field="qty",
        )
    return intent


def _on_tick(value: Decimal, instrument: Instrument, field: str) -> None:
    if not value.is_finite() or value <= ZERO:
        raise InvalidValue(f"must be greater than 0, got {value}", field=field)
    if value % instrument.tick_size:
        raise OffGrid(
            f"{value} is not a multiple of the tick size {instrument.tick_size}", field=field
        )
