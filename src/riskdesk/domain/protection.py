"""Protective stops (seed 003): what covers each open position and what must be done about it.

A :class:`Protection` records the stop that protects one position slot: its level, the quantity
it covers, whether it rests at the venue (NATIVE: a reduce-only stop-market on the mark price)
or is watched locally (GUARD: an emulated stop that sends a reduce-only market order when the
price crosses the level — used when the venue refuses the stop), and the generation counter
that names the next order deterministically (so a restart finds the order it may have sent).

:func:`review` is the supervisor's pure decision for one position on every pass: nothing, place
a first stop, resize it to the position, re-arm a stop that disappeared, or release it when the
position is flat. "Never unprotected" is enforced by the order of operations in the
application (new stop first, then cancel the old one), not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.conditional import ConditionalOrder, ConditionKind
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.order_lifecycle import OrderStatus, intent_from_dict, intent_to_dict
from riskdesk.domain.orders import OrderIntent, OrderType, TriggerPrice
from riskdesk.domain.values import ZERO, PositionSide, Side


class ProtectionMode(StrEnum):
    """Where the stop lives."""

    NATIVE = "native"  # a reduce-only stop order resting at the venue
    GUARD = "guard"  # an emulated stop watched by riskdesk (the venue refused the native one)


class Need(StrEnum):
    """What :func:`review` asks for."""

    NONE = "none"
    PLACE = "place"  # no protection yet
    RESIZE = "resize"  # the stop covers a different quantity than the position
    REARM = "rearm"  # the stop is gone (cancelled, expired, rejected, missing at the venue)
    FLIP = "flip"  # the position changed direction: the stop is on the wrong side
    RENEW = "renew"  # the stop did its job (filled) or the position went flat and was opened
    #: again: the old protection is finished and the position is protected afresh
    RELEASE = "release"  # the position is flat: the stop is no longer needed


def protection_key(account_id: str, instrument_key: str, slot: PositionSide) -> str:
    """``account|venue:symbol|slot``."""
    return f"{account_id}|{instrument_key}|{slot.value}"


@dataclass(frozen=True, slots=True)
class PendingStop:
    """A stop change decided but not confirmed by the venue yet. It is journaled with the
    protection *before* the venue is asked, so a crash in between leaves recovery both halves:
    where the stop must go (``level``, price currency; ``qty``, contracts) and which stop it
    replaces (the protection's ``order_id``).

    ``intent`` is the order that carries the change — a replacement stop or a first stop — and
    None for an in-place amendment of the protection's order. ``deferred`` marks a change the
    stop-edit budget postponed (nothing was sent; the next pass retries it). ``since`` is when it
    was decided."""

    level: Decimal
    qty: Decimal
    since: datetime
    intent: OrderIntent | None = None
    reason: str = ""
    deferred: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (decimals as exact strings, the time as ISO 8601)."""
        return {
            "level": str(self.level),
            "qty": str(self.qty),
            "since": self.since.isoformat(),
            "intent": None if self.intent is None else intent_to_dict(self.intent),
            "reason": self.reason,
            "deferred": self.deferred,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PendingStop:
        """Inverse of :meth:`to_dict`."""
        intent = data.get("intent")
        return cls(
            level=Decimal(str(data["level"])),
            qty=Decimal(str(data["qty"])),
            since=datetime.fromisoformat(str(data["since"])),
            intent=intent_from_dict(intent) if isinstance(intent, Mapping) else None,
            reason=str(data.get("reason") or ""),
            deferred=bool(data.get("deferred", False)),
        )


@dataclass(frozen=True, slots=True)
class Protection:
    """The stop covering one position slot. ``direction`` is +1 for a long, −1 for a short;
    ``level`` is the stop price (price currency) watched on ``trigger``; ``qty`` what it covers
    (contracts). ``order_id`` is the working stop's client order id (NATIVE), ``cond_id`` the
    guard condition's id (GUARD). ``generation`` counts the stop orders placed so far.
    ``pending`` is a change under way (see :class:`PendingStop`): None when the stop is where
    it should be."""

    account_id: str
    venue: str
    symbol: str
    slot: PositionSide
    direction: int
    level: Decimal
    qty: Decimal
    trigger: TriggerPrice
    mode: ProtectionMode
    updated_at: datetime
    order_id: str | None = None
    cond_id: str | None = None
    generation: int = 0
    reason: str = ""
    pending: PendingStop | None = None

    def __post_init__(self) -> None:
        if self.direction not in (1, -1):
            raise InvalidValue(f"must be +1 or -1, got {self.direction}", field="direction")
        if not self.level.is_finite() or self.level <= 0:
            raise InvalidValue(f"must be a positive price, got {self.level}", field="level")
        if not self.qty.is_finite() or self.qty < 0:
            raise InvalidValue(f"must not be negative, got {self.qty}", field="qty")

    @property
    def instrument_key(self) -> str:
        """``venue:symbol``."""
        return f"{self.venue}:{self.symbol}"

    @property
    def key(self) -> str:
        """See :func:`protection_key`."""
        return protection_key(self.account_id, self.instrument_key, self.slot)

    @property
    def close_side(self) -> Side:
        """The side of the order that closes the position."""
        return Side.SELL if self.direction > 0 else Side.BUY

    def evolve(self, **changes: object) -> Protection:
        """A copy with ``changes``."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class StopState:
    """What is known about the working stop: its status and the quantity it still covers."""

    status: OrderStatus | None
    remaining: Decimal


def review(
    protection: Protection | None,
    position_qty: Decimal,
    stop: StopState | None,
    guard_armed: bool = False,
    *,
    executed: bool = False,
    opened_at: datetime | None = None,
) -> Need:
    """Decide what one position needs. ``position_qty`` is signed (contracts); ``stop`` the
    state of the native stop order (None when there is none); ``guard_armed`` whether the guard
    condition is armed; ``executed`` whether the protection's own close executed (its stop
    filled, its guard's order or its stop-out filled); ``opened_at`` when the position opened.

    A protection whose close executed, or that was last set before the position opened (the
    position went flat and was opened again between two passes), is finished: RENEW — the
    position is a new one and gets a stop of its own, never the old level (which the price
    has already reached)."""
    if position_qty == 0:
        return Need.NONE if protection is None else Need.RELEASE
    if protection is None:
        return Need.PLACE
    direction = 1 if position_qty > 0 else -1
    if direction != protection.direction:
        return Need.FLIP
    if executed or (opened_at is not None and opened_at > protection.updated_at):
        return Need.RENEW
    size = abs(position_qty)
    if protection.mode is ProtectionMode.GUARD:
        if not guard_armed:
            return Need.REARM
        return Need.NONE if protection.qty == size else Need.RESIZE
    if stop is None or stop.status is None or stop.status.terminal:
        return Need.REARM
    return Need.NONE if stop.remaining == size else Need.RESIZE


def crossed(direction: int, level: Decimal, price: Decimal) -> bool:
    """True when ``price`` is already at or through the stop ``level`` (a long's stop at or
    above the price): placing it would trigger at once, so the position is closed instead."""
    return price <= level if direction > 0 else price >= level


def through_error(direction: int, level: Decimal, mark: Decimal) -> str | None:
    """Why a protective stop at ``level`` cannot be set by hand with the mark at ``mark`` (None
    when it can): a long's stop must lie below the mark, a short's above it — a stop at or
    through the mark would close the position at market at once."""
    if not crossed(direction, level, mark):
        return None
    side, where = ("long", "at or above") if direction > 0 else ("short", "at or below")
    return (
        f"stop {level} is {where} the mark {mark} of a {side} position: it would close the "
        f"position at market at once (a {side}'s stop must be "
        f"{'below' if direction > 0 else 'above'} the mark; --close-if-through closes it at "
        "market anyway)"
    )


def stop_intent_id(protection: Protection, generation: int) -> str:
    """Deterministic intent id of the ``generation``-th stop order of a protection."""
    digest = hashlib.sha256(f"{protection.key}|{generation}".encode()).hexdigest()[:20]
    return f"protect-{digest}-g{generation}"


def stop_intent(protection: Protection, generation: int, ts: datetime) -> OrderIntent:
    """The reduce-only stop-market order for a protection (``generation`` names it)."""
    if protection.qty <= ZERO:
        raise InvalidValue("a protective stop needs a positive quantity", field="qty")
    return OrderIntent(
        intent_id=stop_intent_id(protection, generation),
        account_id=protection.account_id,
        venue=protection.venue,
        symbol=protection.symbol,
        side=protection.close_side,
        qty=protection.qty,
        order_type=OrderType.STOP_MARKET,
        stop_price=protection.level,
        reduce_only=True,
        position_side=protection.slot,
        trigger=protection.trigger,
        source="protection",
        created_at=ts,
    )


def stopout_intent_id(protection: Protection, generation: int) -> str:
    """Intent id of the market close sent when the stop level is already through the price."""
    return f"stopout:{protection.key}:{generation}"


def guard_condition(protection: Protection, generation: int, ts: datetime) -> ConditionalOrder:
    """The emulated (guard) stop: when the watched price crosses the level, a reduce-only market
    order closes what the protection covers (seed 003's guard stop)."""
    base = stop_intent(protection, generation, ts)
    intent = replace(
        base,
        intent_id=base.intent_id.replace("protect-", "guard-", 1),
        order_type=OrderType.MARKET,
        stop_price=None,
        source="guard_stop",
    )
    return ConditionalOrder(
        cond_id=intent.intent_id,
        intent=intent,
        watch=protection.instrument_key,
        kind=ConditionKind.STOP_LOSS,
        level=protection.level,
        source=protection.trigger,
        group=protection.key,
        role="guard_stop",
        created_at=ts,
        updated_at=ts,
    )


__all__ = [
    "Need",
    "PendingStop",
    "Protection",
    "ProtectionMode",
    "StopState",
    "crossed",
    "guard_condition",
    "protection_key",
    "review",
    "stop_intent",
    "stop_intent_id",
    "stopout_intent_id",
    "through_error",
]
