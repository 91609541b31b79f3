"""What HALTED and FLATTEN take off the book besides working entry orders: the emulated
conditions (``domain.conditional``) whose order would open or add to a position.

A condition is kept when its order cannot add risk: it is reduce-only, or it shrinks the
position held in its slot without crossing zero (a stop-loss, take-profit or trailing stop
protecting that position). A waiting child of an OTO or bracket is judged against the position
after its parent fills, when the parent trades the same slot: the exits of a bracket are kept
(and end with their parent if the kill switch cancels it). Everything else — a price-above buy,
a breakout stop entry, an OTO child opening another instrument — is an entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from riskdesk.domain.conditional import ConditionalOrder, ConditionStatus
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.values import Side

#: (account, instrument key, slot) → signed contracts held (``RiskBook.positions``).
Positions = Mapping[tuple[str, str, str], float]


def signed(intent: OrderIntent) -> float:
    """The order's quantity in contracts, + for a buy, − for a sell."""
    return float(intent.qty) if intent.side is Side.BUY else -float(intent.qty)


def reduces(held: float, change: float) -> bool:
    """Whether ``change`` contracts shrink the position ``held`` without crossing zero (the
    pre-trade pipeline's definition of an order that reduces a position)."""
    after = held + change
    return (
        held != 0.0 and abs(after) < abs(held) and (after == 0.0 or (after > 0.0) == (held > 0.0))
    )


def _slot(intent: OrderIntent) -> tuple[str, str, str]:
    return (intent.account_id, intent.instrument_key, intent.position_side.value)


def adds_exposure(
    cond: ConditionalOrder, positions: Positions, parent: OrderIntent | None = None
) -> bool:
    """Whether the order ``cond`` releases would open or add to a position (see the module
    docstring); ``parent``: the order a waiting child waits for, when known."""
    intent = cond.intent
    if intent.reduce_only:
        return False
    slot = _slot(intent)
    held = positions.get(slot, 0.0)
    if cond.status is ConditionStatus.WAITING and parent is not None and _slot(parent) == slot:
        held += signed(parent)
    return not reduces(held, signed(intent))


def entry_conditions(
    conds: Iterable[ConditionalOrder],
    positions: Positions,
    parents: Mapping[str, OrderIntent],
) -> list[ConditionalOrder]:
    """The live conditions (armed or waiting) whose order would open or add to a position;
    ``parents`` maps a waiting child's ``parent`` intent id to that order's intent."""
    return [
        c
        for c in conds
        if c.status in (ConditionStatus.ARMED, ConditionStatus.WAITING)
        and adds_exposure(c, positions, parents.get(c.parent) if c.parent else None)
    ]


__all__ = ["Positions", "adds_exposure", "entry_conditions", "reduces", "signed"]
