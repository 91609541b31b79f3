"""The order state machine (seed 004 §1.1) and the order entity.

::

    CREATED ─► PENDING_SUBMIT ─► OPEN ─► PARTIALLY_FILLED ─► FILLED
       │             │            │            │
       │             │            └─► CANCEL_PENDING ─► CANCELED
       ▼             ▼
    REJECTED      REJECTED / FAILED / EXPIRED / CANCELED (IOC, FOK)

CREATED → REJECTED is a pre-trade risk denial; PENDING_SUBMIT → FAILED is a venue or network
error with no order at the venue. A fill may race a cancel (CANCEL_PENDING → FILLED), and a
rejected cancel returns the order to OPEN or PARTIALLY_FILLED. Every transition returns an
event; an illegal one raises :class:`~riskdesk.domain.errors.StateError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.events import Event
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.values import ACCOUNTING_CONTEXT, ZERO


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    CREATED = "created"
    PENDING_SUBMIT = "pending_submit"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """No further transition is possible."""
        return self in _TERMINAL

    @property
    def working(self) -> bool:
        """At the venue and able to fill."""
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCEL_PENDING)


S = OrderStatus
_TERMINAL = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED, S.FAILED})
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.PENDING_SUBMIT, S.REJECTED, S.FAILED}),
    S.PENDING_SUBMIT: frozenset(
        {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.FAILED, S.CANCELED, S.EXPIRED}
    ),
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}
    ),
    S.CANCEL_PENDING: frozenset({S.CANCELED, S.FILLED, S.PARTIALLY_FILLED, S.OPEN, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.FAILED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderTransitioned(Event):
    """An order changed status (one event per transition)."""

    kind: ClassVar[str] = "order_transitioned"
    intent_id: str
    client_order_id: str
    symbol: str
    old: str
    new: str
    filled_qty: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Order:
    """An order and its state. ``filled_qty`` in contracts; ``avg_price`` the volume-weighted
    average fill price (price currency). ``version`` counts transitions (optimistic locking)."""

    intent: OrderIntent
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    venue_order_id: str | None = None
    reason: str = ""
    version: int = 0

    @property
    def client_order_id(self) -> str:
        """The id sent to the venue, derived from the intent id."""
        return self.intent.client_order_id

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.intent.qty - self.filled_qty


def new_order(intent: OrderIntent, ts: datetime) -> Order:
    """A CREATED order for an intent."""
    return Order(intent=intent, status=OrderStatus.CREATED, created_at=ts, updated_at=ts)


def _event(order: Order, old: OrderStatus, ts: datetime, reason: str) -> OrderTransitioned:
    i = order.intent
    return OrderTransitioned(
        ts,
        i.account_id,
        i.intent_id,
        order.client_order_id,
        i.symbol,
        old.value,
        order.status.value,
        order.filled_qty,
        reason,
    )


def transition(
    order: Order,
    status: OrderStatus,
    ts: datetime,
    reason: str = "",
    venue_order_id: str | None = None,
) -> tuple[Order, OrderTransitioned]:
    """Move an order to ``status`` (not for fills: use :func:`fill`)."""
    if status not in ALLOWED[order.status]:
        raise StateError(
            f"order {order.intent.intent_id}: {order.status.value} -> {status.value} is not allowed",
            field="status",
        )
    if status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        raise StateError("fills change the status through fill()", field="status")
    updated = replace(
        order,
        status=status,
        updated_at=ts,
        reason=reason or order.reason,
        venue_order_id=venue_order_id or order.venue_order_id,
        version=order.version + 1,
    )
    return updated, _event(updated, order.status, ts, reason)


def fill(
    order: Order, qty: Decimal, price: Decimal, ts: datetime, venue_order_id: str | None = None
) -> tuple[Order, OrderTransitioned]:
    """Record an execution of ``qty`` at ``price``; the status becomes PARTIALLY_FILLED or FILLED."""
    if qty <= 0 or not qty.is_finite():
        raise InvalidValue(f"fill quantity must be positive, got {qty}", field="qty")
    if qty > order.remaining:
        raise StateError(
            f"fill of {qty} exceeds the remaining {order.remaining} of {order.intent.intent_id}",
            field="qty",
        )
    total = order.filled_qty + qty
    status = OrderStatus.FILLED if total == order.intent.qty else OrderStatus.PARTIALLY_FILLED
    if status not in ALLOWED[order.status]:
        raise StateError(
            f"order {order.intent.intent_id} cannot fill in status {order.status.value}",
            field="status",
        )
    previous = order.avg_price or ZERO
    avg = ACCOUNTING_CONTEXT.divide(previous * order.filled_qty + price * qty, total)
    updated = replace(
        order,
        status=status,
        filled_qty=total,
        avg_price=avg,
        updated_at=ts,
        venue_order_id=venue_order_id or order.venue_order_id,
        version=order.version + 1,
    )
    return updated, _event(updated, order.status, ts, f"filled {qty} @ {price}")
