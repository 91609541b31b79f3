"""Immutable, past-tense domain events. Each serialises to a JSON-safe dict for the journal.

Every event names its ``kind`` (a stable string), when it happened (``ts``, from the input that
caused it — never a clock) and the account. Later issues add their own events here
(orders, risk decisions, governance actions).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import ClassVar


def json_safe(value: object) -> object:
    """Decimal -> str (exact), datetime -> ISO 8601, Enum -> value, containers recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every domain event."""

    kind: ClassVar[str] = "event"
    ts: datetime
    account_id: str

    def to_dict(self) -> dict[str, object]:
        """JSON-safe dict including ``kind``."""
        data: dict[str, object] = {"kind": self.kind}
        for f in fields(self):
            data[f.name] = json_safe(getattr(self, f.name))
        return data


@dataclass(frozen=True, slots=True)
class FillApplied(Event):
    """A fill was booked."""

    kind: ClassVar[str] = "fill_applied"
    venue: str
    fill_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str


@dataclass(frozen=True, slots=True)
class PositionOpened(Event):
    """A position went from flat to open."""

    kind: ClassVar[str] = "position_opened"
    position_id: str
    symbol: str
    qty: Decimal
    entry_price: Decimal


@dataclass(frozen=True, slots=True)
class PositionChanged(Event):
    """A position was added to (``ADD``) or partly reduced (``REDUCE``)."""

    kind: ClassVar[str] = "position_changed"
    position_id: str
    symbol: str
    action: str
    old_qty: Decimal
    new_qty: Decimal
    old_entry_price: Decimal
    new_entry_price: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class PositionClosed(Event):
    """A position went back to flat."""

    kind: ClassVar[str] = "position_closed"
    position_id: str
    symbol: str
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal


@dataclass(frozen=True, slots=True)
class FundingApplied(Event):
    """A funding payment was booked: ``amount`` > 0 received, < 0 paid (settlement currency)."""

    kind: ClassVar[str] = "funding_applied"
    position_id: str
    symbol: str
    rate: Decimal
    mark_price: Decimal
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class CashMoved(Event):
    """A deposit (> 0) or withdrawal (< 0) of ``amount`` in ``currency``."""

    kind: ClassVar[str] = "cash_moved"
    currency: str
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class MarginAdjusted(Event):
    """Margin was added to (> 0) or removed from (< 0) an isolated position."""

    kind: ClassVar[str] = "margin_adjusted"
    position_id: str
    symbol: str
    amount: Decimal
    isolated_margin: Decimal
    currency: str
