"""The order state machine (seed 004 §1.1) and the order entity.

::

    CREATED ─► PENDING_SUBMIT ─► OPEN ─► PARTIALLY_FILLED ─► FILLED
       │             │            │            │
       │             │            └─► CANCEL_PENDING ─► CANCELED
       ▼             ▼
    REJECTED      REJECTED / FAILED / EXPIRED / CANCELED

CREATED → REJECTED is a pre-trade risk denial; PENDING_SUBMIT → FAILED is a venue or network
error with no order at the venue. EXPIRED is the venue ending an order by its own rules (IOC and
FOK leftovers, a post-only that would take, a DAY order at the day's end, a reduce-only order
with nothing left to reduce — Binance's semantics); CANCELED is a cancel the client asked for,
or a linked order the venue cancelled (OCO). A fill may race a cancel (CANCEL_PENDING → FILLED), and a
rejected cancel returns the order to OPEN or PARTIALLY_FILLED. Every transition returns an
event; an illegal one raises :class:`~riskdesk.domain.errors.StateError`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from riskdesk.domain.errors import InvalidValue, StateError
from riskdesk.domain.events import Event
from riskdesk.domain.orders import (
    NEEDS_PRICE,
    NEEDS_TRIGGER,
    OrderIntent,
    OrderType,
    TimeInForce,
    TriggerPrice,
    client_order_id_for,
)
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    ZERO,
    PositionSide,
    Side,
    fast_init,
    frozen_factory,
)

#: The client order id of an intent id, memoised: an order's id is read at every step of its
#: life and hashing it each time was a measurable share of the order path.
client_id = functools.lru_cache(maxsize=1 << 17)(client_order_id_for)


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
        return self in _WORKING


class OrderRole(StrEnum):
    """Why the order manager holds an order (drives what happens around its fills)."""

    ENTRY = "entry"  # opens or adds: its fill must be protected at once
    PROTECTIVE_STOP = "protective_stop"  # reduce-only stop covering a position
    TAKE_PROFIT = "take_profit"
    REDUCE = "reduce"  # partial exit at market
    CLOSE = "close"  # full exit (close-all, governance CLOSE, guard stop release)
    OTHER = "other"


S = OrderStatus
_TERMINAL = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED, S.FAILED})
_WORKING = frozenset({S.OPEN, S.PARTIALLY_FILLED, S.CANCEL_PENDING})
_FILL_STATES = frozenset({S.FILLED, S.PARTIALLY_FILLED})
_AMENDABLE = frozenset({S.OPEN, S.PARTIALLY_FILLED})
#: Statuses in which an order is finished / working: ``status in TERMINAL`` is what
#: ``status.terminal`` answers, without the property call (hot paths).
TERMINAL = _TERMINAL
WORKING = _WORKING
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


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class Order:
    """An order and its state. ``filled_qty`` in contracts; ``avg_price`` the volume-weighted
    average fill price (price currency). ``version`` counts transitions (optimistic locking).
    ``role`` says what the order is for; ``group`` links it to siblings (an OCO pair at the
    venue, or the position a protective stop covers)."""

    intent: OrderIntent
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    venue_order_id: str | None = None
    reason: str = ""
    version: int = 0
    role: OrderRole = OrderRole.OTHER
    group: str | None = None

    @property
    def client_order_id(self) -> str:
        """The id sent to the venue, derived from the intent id."""
        return client_id(self.intent.intent_id)

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.intent.qty - self.filled_qty


# The constructors of the hot path (transitions, amendments), the cheap way: the same objects
# ``Order(...)`` and ``OrderTransitioned(...)`` build (see ``values.frozen_factory``).
_order = frozen_factory(Order)
_transitioned = frozen_factory(OrderTransitioned)
_intent = frozen_factory(OrderIntent)


def new_order(
    intent: OrderIntent,
    ts: datetime,
    role: OrderRole = OrderRole.OTHER,
    group: str | None = None,
) -> Order:
    """A CREATED order for an intent."""
    return _order(intent, OrderStatus.CREATED, ts, ts, ZERO, None, None, "", 0, role, group)


def _event(order: Order, old: OrderStatus, ts: datetime, reason: str) -> OrderTransitioned:
    i = order.intent
    return _transitioned(
        ts,
        i.account_id,
        i.intent_id,
        client_id(i.intent_id),
        i.symbol,
        old._value_,
        order.status._value_,
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
    old = order.status
    if status not in ALLOWED[old]:
        raise StateError(
            f"order {order.intent.intent_id}: {old.value} -> {status.value} is not allowed",
            field="status",
        )
    if status in _FILL_STATES:
        raise StateError("fills change the status through fill()", field="status")
    # Built directly (not dataclasses.replace): this runs several times per order.
    intent = order.intent
    filled = order.filled_qty
    updated = _order(
        intent,
        status,
        order.created_at,
        ts,
        filled,
        order.avg_price,
        venue_order_id or order.venue_order_id,
        reason or order.reason,
        order.version + 1,
        order.role,
        order.group,
    )
    event = _transitioned(
        ts,
        intent.account_id,
        intent.intent_id,
        client_id(intent.intent_id),
        intent.symbol,
        old._value_,
        status._value_,
        filled,
        reason,
    )
    return updated, event


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
    updated = _order(
        order.intent,
        status,
        order.created_at,
        ts,
        total,
        avg,
        venue_order_id or order.venue_order_id,
        order.reason,
        order.version + 1,
        order.role,
        order.group,
    )
    return updated, _event(updated, order.status, ts, f"filled {qty} @ {price}")


def created_event(order: Order, reason: str = "journaled") -> OrderTransitioned:
    """The event recording that an order entered the journal (``old`` is empty)."""
    i = order.intent
    return _transitioned(
        order.created_at,
        i.account_id,
        i.intent_id,
        client_id(i.intent_id),
        i.symbol,
        "",
        order.status._value_,
        order.filled_qty,
        reason,
    )


def submitted(
    intent: OrderIntent,
    ts: datetime,
    role: OrderRole = OrderRole.OTHER,
    group: str | None = None,
) -> tuple[Order, OrderTransitioned, OrderTransitioned]:
    """An intent journaled and approved for sending in one step: the PENDING_SUBMIT order and
    its two events — exactly what :func:`new_order`, :func:`created_event` and
    :func:`transition` to PENDING_SUBMIT give (the first commit of every order sent)."""
    account_id, intent_id, symbol = intent.account_id, intent.intent_id, intent.symbol
    cid = client_id(intent_id)
    created = _transitioned(
        ts, account_id, intent_id, cid, symbol, "", "created", ZERO, "journaled"
    )
    pending = _transitioned(
        ts, account_id, intent_id, cid, symbol, "created", "pending_submit", ZERO, ""
    )
    order = _order(intent, OrderStatus.PENDING_SUBMIT, ts, ts, ZERO, None, None, "", 1, role, group)
    return order, created, pending


def late_fill(order: Order, qty: Decimal, price: Decimal, ts: datetime) -> Order:
    """Record a fill the venue reports after the order ended (it executed just before a cancel
    or an expiry took effect): the quantity and average change, the status stays."""
    if order.status not in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.CANCEL_PENDING):
        raise StateError(
            f"order {order.intent.intent_id} is {order.status.value}: no late fill possible",
            field="status",
        )
    if qty <= 0 or qty > order.remaining:
        raise StateError(
            f"late fill of {qty} does not fit the remaining {order.remaining} of {order.intent.intent_id}",
            field="qty",
        )
    total = order.filled_qty + qty
    previous = order.avg_price or ZERO
    avg = ACCOUNTING_CONTEXT.divide(previous * order.filled_qty + price * qty, total)
    return replace(order, filled_qty=total, avg_price=avg, updated_at=ts, version=order.version + 1)


@fast_init
@dataclass(frozen=True, slots=True)
class OrderAmended(Event):
    """A working order's quantity or prices changed in place (native amend)."""

    kind: ClassVar[str] = "order_amended"
    intent_id: str
    client_order_id: str
    symbol: str
    old_qty: Decimal
    new_qty: Decimal
    old_price: Decimal | None
    new_price: Decimal | None
    old_stop_price: Decimal | None
    new_stop_price: Decimal | None


_amended_event = frozen_factory(OrderAmended)


def amend(
    order: Order,
    ts: datetime,
    *,
    qty: Decimal | None = None,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> tuple[Order, OrderAmended]:
    """Change a working order's total quantity, limit or trigger price in place (a native amend:
    same client order id, same place in the life). The new quantity must stay above what has
    filled; a price the order type does not take is refused naming the field."""
    updated = amended(order, ts, qty, price, stop_price)
    intent, new_intent = order.intent, updated.intent
    event = _amended_event(
        ts,
        intent.account_id,
        intent.intent_id,
        client_id(intent.intent_id),
        intent.symbol,
        intent.qty,
        new_intent.qty,
        intent.price,
        new_intent.price,
        intent.stop_price,
        new_intent.stop_price,
    )
    return updated, event


def amended(
    order: Order,
    ts: datetime,
    qty: Decimal | None = None,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> Order:
    """The order :func:`amend` returns, without its event (a venue's own record of the order,
    which journals nothing)."""
    if order.status not in _AMENDABLE:
        raise StateError(
            f"order {order.intent.intent_id} is {order.status.value}: only open orders can be amended",
            field="status",
        )
    intent = order.intent
    if qty is not None and (not qty.is_finite() or qty <= order.filled_qty):
        raise InvalidValue(
            f"the new quantity {qty} must be greater than the filled {order.filled_qty}",
            field="qty",
        )
    if price is not None and intent.order_type not in NEEDS_PRICE:
        raise InvalidValue(f"a {intent.order_type.value} order takes no limit price", field="price")
    if stop_price is not None and intent.order_type not in NEEDS_TRIGGER:
        raise InvalidValue(
            f"a {intent.order_type.value} order takes no trigger price", field="stop_price"
        )
    i = intent
    # Built field by field (not dataclasses.replace): amendments are on the hot path.
    new_intent = _intent(
        i.intent_id,
        i.account_id,
        i.venue,
        i.symbol,
        i.side,
        i.qty if qty is None else qty,
        i.order_type,
        i.price if price is None else price,
        i.stop_price if stop_price is None else stop_price,
        i.reduce_only,
        i.post_only,
        i.tif,
        i.position_side,
        i.trigger,
        i.leverage,
        i.protective_stop,
        i.source,
        i.created_at,
    )
    return _order(
        new_intent,
        order.status,
        order.created_at,
        ts,
        order.filled_qty,
        order.avg_price,
        order.venue_order_id,
        order.reason,
        order.version + 1,
        order.role,
        order.group,
    )


def path_to(current: OrderStatus, target: OrderStatus) -> list[OrderStatus]:
    """The shortest legal sequence of non-fill statuses leading from ``current`` to ``target``
    (empty when already there). Used when the venue's state is adopted as the truth after a
    crash: an order journaled as PENDING_SUBMIT that the venue reports CANCELED goes straight
    there; one still CREATED goes through PENDING_SUBMIT first. Raises :class:`StateError` when
    no legal path exists (a terminal order cannot come back)."""
    return list(_path(current, target))


@functools.lru_cache(maxsize=256)
def _path(current: OrderStatus, target: OrderStatus) -> tuple[OrderStatus, ...]:
    if current is target:
        return ()
    fills = (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)
    frontier: list[list[OrderStatus]] = [[current]]
    seen = {current}
    while frontier:
        following: list[list[OrderStatus]] = []
        for route in frontier:
            for nxt in sorted(ALLOWED[route[-1]], key=lambda s: s.value):
                if nxt in seen or nxt in fills:
                    continue
                if nxt is target:
                    return (*route[1:], nxt)
                seen.add(nxt)
                following.append([*route, nxt])
        frontier = following
    raise StateError(f"no legal transition from {current.value} to {target.value}", field="status")


def advance(
    order: Order,
    target: OrderStatus,
    ts: datetime,
    reason: str = "",
    venue_order_id: str | None = None,
) -> tuple[Order, list[OrderTransitioned]]:
    """Move ``order`` to ``target`` along :func:`path_to`, one event per step."""
    if target in ALLOWED[order.status] and target not in _FILL_STATES:
        # One legal step (the usual case): the path is the target itself.
        order, event = transition(order, target, ts, reason, venue_order_id)
        return order, [event]
    events: list[OrderTransitioned] = []
    for status in _path(order.status, target):
        order, event = transition(order, status, ts, reason, venue_order_id)
        events.append(event)
    return order, events


# ------------------------------------------------------------------------------- codec

_INTENT_DECIMALS = ("qty", "price", "stop_price", "leverage", "protective_stop")


def intent_to_dict(intent: OrderIntent) -> dict[str, object]:
    """JSON-safe form of an intent (decimals as exact strings, times as ISO 8601)."""
    return {
        "intent_id": intent.intent_id,
        "account_id": intent.account_id,
        "venue": intent.venue,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "qty": str(intent.qty),
        "order_type": intent.order_type.value,
        "price": None if intent.price is None else str(intent.price),
        "stop_price": None if intent.stop_price is None else str(intent.stop_price),
        "reduce_only": intent.reduce_only,
        "post_only": intent.post_only,
        "tif": intent.tif.value,
        "position_side": intent.position_side.value,
        "trigger": intent.trigger.value,
        "leverage": None if intent.leverage is None else str(intent.leverage),
        "protective_stop": None if intent.protective_stop is None else str(intent.protective_stop),
        "source": intent.source,
        "created_at": None if intent.created_at is None else intent.created_at.isoformat(),
    }


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def intent_from_dict(data: Mapping[str, object]) -> OrderIntent:
    """Inverse of :func:`intent_to_dict`."""
    created = data.get("created_at")
    qty = _dec(data["qty"])
    assert qty is not None  # noqa: S101 - an intent always has a quantity
    return OrderIntent(
        intent_id=str(data["intent_id"]),
        account_id=str(data["account_id"]),
        venue=str(data["venue"]),
        symbol=str(data["symbol"]),
        side=Side(str(data["side"])),
        qty=qty,
        order_type=OrderType(str(data.get("order_type", "market"))),
        price=_dec(data.get("price")),
        stop_price=_dec(data.get("stop_price")),
        reduce_only=bool(data.get("reduce_only", False)),
        post_only=bool(data.get("post_only", False)),
        tif=TimeInForce(str(data.get("tif", "gtc"))),
        position_side=PositionSide(str(data.get("position_side", "net"))),
        trigger=TriggerPrice(str(data.get("trigger", "mark"))),
        leverage=_dec(data.get("leverage")),
        protective_stop=_dec(data.get("protective_stop")),
        source=str(data.get("source", "manual")),
        created_at=None if created is None else datetime.fromisoformat(str(created)),
    )


def order_to_dict(order: Order) -> dict[str, object]:
    """JSON-safe form of an order with its intent."""
    return {
        "intent": intent_to_dict(order.intent),
        "status": order.status.value,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "filled_qty": str(order.filled_qty),
        "avg_price": None if order.avg_price is None else str(order.avg_price),
        "venue_order_id": order.venue_order_id,
        "reason": order.reason,
        "version": order.version,
        "role": order.role.value,
        "group": order.group,
    }


def order_from_dict(data: Mapping[str, object]) -> Order:
    """Inverse of :func:`order_to_dict`."""
    intent = data["intent"]
    assert isinstance(intent, Mapping)  # noqa: S101 - the codec writes a mapping
    version = data.get("version", 0)
    return Order(
        intent=intent_from_dict(intent),
        status=OrderStatus(str(data["status"])),
        created_at=datetime.fromisoformat(str(data["created_at"])),
        updated_at=datetime.fromisoformat(str(data["updated_at"])),
        filled_qty=_dec(data.get("filled_qty")) or ZERO,
        avg_price=_dec(data.get("avg_price")),
        venue_order_id=None if data.get("venue_order_id") is None else str(data["venue_order_id"]),
        reason=str(data.get("reason") or ""),
        version=int(version) if isinstance(version, int | str) else 0,
        role=OrderRole(str(data.get("role") or "other")),
        group=None if data.get("group") is None else str(data["group"]),
    )
