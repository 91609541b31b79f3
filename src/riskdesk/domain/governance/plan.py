"""Governance output: actions with old/new values and a reason, the :class:`ManagePlan` in the
shape of seed 003's ``POST /positions/manage`` response, and governance events.

Order intents in a plan get deterministic ids derived from the position, the tick time and the
action's place in the plan, so replaying the same tick from the same state yields the same ids
(and therefore the same client order ids at the venue: a replay never duplicates an order).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from riskdesk.domain.events import json_safe
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.values import fast_init


class ActionKind(StrEnum):
    """What a plan does."""

    PLACE_STOP = "PLACE_STOP"
    MOVE_STOP = "MOVE_STOP"
    REDUCE = "REDUCE"
    ADD = "ADD"
    CLOSE = "CLOSE"
    ALERT = "ALERT"


@fast_init
@dataclass(frozen=True, slots=True)
class Action:
    """One decision. ``old_value`` / ``new_value`` are the stop levels for stop actions and the
    position size for REDUCE / ADD / CLOSE; ``qty`` is the order size; ``rule`` names the rule
    (``lock_profit``, ``take_profit:r``, ``time_stop``…); ``event`` tags notable alerts
    (``STAGNATED``); ``intent_id`` links to the order that carries the action out."""

    kind: ActionKind
    rule: str
    reason: str
    old_value: Decimal | None = None
    new_value: Decimal | None = None
    qty: Decimal | None = None
    intent_id: str | None = None
    event: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Seed 003 shape: ``action``, ``old_value``, ``new_value``, ``reason`` (+ extras)."""
        data = {
            "action": self.kind.value,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "reason": self.reason,
            "rule": self.rule,
            "qty": self.qty,
            "intent_id": self.intent_id,
            "event": self.event,
        }
        out = json_safe(data)
        assert isinstance(out, dict)  # noqa: S101 - json_safe keeps dicts
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class ReduceLeg:
    """A partial take-profit (or the final one): ``qty`` contracts at market, reduce-only."""

    rule: str
    tier: int
    qty: Decimal
    remaining: Decimal
    trigger: Decimal | None
    reason: str
    intent_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class AddLeg:
    """An add-on: ``j``-th add of ``qty`` contracts; projected average entry and margin after it
    fills at the current price (settlement currency)."""

    j: int
    qty: Decimal
    new_qty: Decimal
    new_entry: Decimal
    new_margin: Decimal
    reason: str
    intent_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class GovernanceEvent:
    """Something governance wants on record: ``STAGNATED``, ``LIFECYCLE`` changes,
    ``STOP_CROSSED``, ``ORDER_DENIED``."""

    ts: datetime
    kind: str
    intent_id: str
    position_id: str | None
    message: str
    data: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        out = json_safe(
            {
                "ts": self.ts,
                "kind": self.kind,
                "intent_id": self.intent_id,
                "position_id": self.position_id,
                "message": self.message,
                "data": self.data,
            }
        )
        assert isinstance(out, dict)  # noqa: S101
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class ManagePlan:
    """Everything one tick decided for one position.

    ``actions`` in execution order (exits, stop, take-profits, add-ons, alerts); ``orders`` the
    intents that carry them out (stop orders replace ``cancels``); ``reduce`` and ``adds`` the
    ladder and pyramiding legs."""

    plan_id: str
    position_id: str
    intent_id: str
    account_id: str
    instrument_key: str
    profile: str
    created_at: datetime
    actions: tuple[Action, ...]
    reduce: tuple[ReduceLeg, ...] = ()
    adds: tuple[AddLeg, ...] = ()
    orders: tuple[OrderIntent, ...] = ()
    cancels: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        """The reasons of every action, one per line."""
        return "\n".join(f"{a.kind.value}: {a.reason}" for a in self.actions)

    def to_dict(self) -> dict[str, object]:
        """The seed 003 ``ManagePositionsResponse``: ``{"plan": {...}, "orders": [...]}``."""
        plan = {
            "plan_id": self.plan_id,
            "position_id": self.position_id,
            "intent_id": self.intent_id,
            "account_id": self.account_id,
            "instrument_key": self.instrument_key,
            "profile": self.profile,
            "created_at": self.created_at,
            "actions": [a.to_dict() for a in self.actions],
            "reduce": [_leg(leg) for leg in self.reduce],
            "adds": [_leg(leg) for leg in self.adds],
            "cancels": list(self.cancels),
        }
        out = json_safe({"plan": plan, "orders": [order_dict(o) for o in self.orders]})
        assert isinstance(out, dict)  # noqa: S101
        return out


def _leg(leg: ReduceLeg | AddLeg) -> dict[str, object]:
    out = json_safe({name: getattr(leg, name) for name in leg.__dataclass_fields__})
    assert isinstance(out, dict)  # noqa: S101
    return out


def order_dict(intent: OrderIntent) -> dict[str, object]:
    """JSON-safe form of an order intent (with its client order id)."""
    out = json_safe(
        {
            **{name: getattr(intent, name) for name in intent.__dataclass_fields__},
            "client_order_id": intent.client_order_id,
        }
    )
    assert isinstance(out, dict)  # noqa: S101
    return out


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A plan as stored: when, for which position, why (the actions' reasons), its seed 003
    document (``ManagePlan.to_dict()``) and the pre-trade decision on each order
    (``{"intent_id", "approved", "code", "reason"}``). ``status`` is ``approved`` (every order
    passed), ``partly_denied``, ``denied`` or ``no_orders`` (alerts only)."""

    plan_id: str
    ts: datetime
    position_id: str
    intent_id: str
    account_id: str
    instrument_key: str
    profile: str
    status: str
    why: str
    document: dict[str, object]
    decisions: tuple[dict[str, object], ...] = ()


def governance_id(prefix: str, *parts: object) -> str:
    """``prefix-`` + 24 hex characters of SHA-256 over the parts: deterministic ids."""
    text = "|".join(_stamp(p) if isinstance(p, datetime) else str(p) for p in parts)
    return hashed_id(prefix, text)


def hashed_id(prefix: str, text: str) -> str:
    """``prefix-`` + 24 hex characters of SHA-256 over ``text`` (the parts of
    :func:`governance_id` already joined with ``|``)."""
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def stamp(ts: datetime) -> str:
    """How :func:`governance_id` writes a time (ISO 8601, cached: a tick formats one ``now``)."""
    return _stamp(ts)


@lru_cache(maxsize=16)
def _stamp(ts: datetime) -> str:
    # A tick formats the same ``now`` for every plan and order: format it once.
    return ts.isoformat()


__all__ = [
    "Action",
    "ActionKind",
    "AddLeg",
    "GovernanceEvent",
    "ManagePlan",
    "ReduceLeg",
    "StoredPlan",
    "governance_id",
    "hashed_id",
    "order_dict",
    "stamp",
]
