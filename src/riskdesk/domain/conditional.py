"""Emulated conditional and linked orders (seed 004 §1.2–1.3) for venues that lack them.

A :class:`ConditionalOrder` watches a price (of its own instrument, or another one: "if BTC >
100k, buy ETH") and, when its condition holds, releases an :class:`OrderIntent` (which then goes
through pre-trade risk like any order). Kinds: stop-loss, take-profit, price above/below, and
trailing stops (activation price + callback %). Links: OCO (one triggers → the others are
cancelled), OTO (children arm when the parent fills), bracket (entry + OCO stop/take-profit),
OUO (a fill on one reduces its siblings by the same quantity).

:class:`TriggerBook` evaluates thousands of resting conditions per price update with NumPy
(one vector comparison per watched instrument), so the cost per update is a few array passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.orders import OrderIntent, TriggerPrice


class ConditionKind(StrEnum):
    """What a conditional order waits for."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    PRICE_ABOVE = "price_above"
    PRICE_BELOW = "price_below"
    TRAILING_STOP = "trailing_stop"


class LinkType(StrEnum):
    """How conditional orders of one group affect each other."""

    NONE = "none"
    OCO = "oco"
    OTO = "oto"
    OUO = "ouo"
    BRACKET = "bracket"


class ConditionStatus(StrEnum):
    """Life of a conditional order."""

    WAITING = "waiting"  # OTO child: armed when its parent fills
    ARMED = "armed"
    TRIGGERED = "triggered"
    CANCELED = "canceled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class ConditionalOrder:
    """A condition and the order it releases.

    ``watch``: instrument key whose ``source`` price is watched; ``level``: trigger level (price
    currency of the watched instrument); trailing stops use ``activation`` (None: active at once)
    and ``callback`` (fraction, 0.01 = 1 %), and remember their best price in ``extreme``. A
    trailing stop that protects a long sells, so it trails below the highest price; one that
    protects a short trails above the lowest. ``role`` is what the order manager uses it for
    (``guard_stop``, ``oco``…); ``reason`` why it was triggered or cancelled."""

    cond_id: str
    intent: OrderIntent
    watch: str
    kind: ConditionKind
    level: Decimal | None = None
    source: TriggerPrice = TriggerPrice.MARK
    activation: Decimal | None = None
    callback: Decimal | None = None
    group: str | None = None
    link: LinkType = LinkType.NONE
    parent: str | None = None
    status: ConditionStatus = ConditionStatus.ARMED
    extreme: Decimal | None = None
    expires_at: datetime | None = None
    role: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind is ConditionKind.TRAILING_STOP:
            if self.callback is None or not Decimal(0) < self.callback < Decimal(1):
                raise InvalidValue(
                    "a trailing stop needs a callback between 0 and 1", field="callback"
                )
        elif self.level is None or not self.level.is_finite() or self.level <= 0:
            raise InvalidValue(
                f"a {self.kind.value} condition needs a positive level", field="level"
            )

    @property
    def rising(self) -> bool:
        """True when the condition fires on a rise (price ≥ level)."""
        if self.kind is ConditionKind.PRICE_ABOVE:
            return True
        if self.kind is ConditionKind.PRICE_BELOW:
            return False
        selling = self.intent.side.value == "sell"
        if self.kind is ConditionKind.TAKE_PROFIT:
            return selling  # a long's take-profit sells on the way up
        return not selling  # stops (fixed or trailing): a sell stop fires on the way down


FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Slots:
    """The vectorised state of the conditions watching one (instrument, price source)."""

    ids: list[str] = field(default_factory=list)
    level: FloatArray = field(default_factory=lambda: np.empty(0))
    rising: BoolArray = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    trailing: BoolArray = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    callback: FloatArray = field(default_factory=lambda: np.empty(0))
    activation: FloatArray = field(default_factory=lambda: np.empty(0))
    extreme: FloatArray = field(default_factory=lambda: np.empty(0))
    live: BoolArray = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    index: dict[str, int] = field(default_factory=dict)


class TriggerBook:
    """Armed conditions, evaluated per price update with vector operations.

    Removing a condition only clears its ``live`` flag; the arrays are compacted when more than
    half of a slot is dead, so adds and removes stay amortised O(1)."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, TriggerPrice], _Slots] = {}
        self._where: dict[str, tuple[str, TriggerPrice]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def add(self, cond: ConditionalOrder) -> None:
        """Arm a condition (replacing one with the same id)."""
        if cond.cond_id in self._where:
            self.remove(cond.cond_id)
        key = (cond.watch, cond.source)
        s = self._slots.setdefault(key, _Slots())
        trailing = cond.kind is ConditionKind.TRAILING_STOP
        s.index[cond.cond_id] = len(s.ids)
        s.ids.append(cond.cond_id)
        s.level = np.append(s.level, float(cond.level) if cond.level is not None else np.nan)
        s.rising = np.append(s.rising, cond.rising)
        s.trailing = np.append(s.trailing, trailing)
        s.callback = np.append(
            s.callback, float(cond.callback) if cond.callback is not None else 0.0
        )
        s.activation = np.append(
            s.activation, float(cond.activation) if cond.activation is not None else np.nan
        )
        s.extreme = np.append(
            s.extreme, float(cond.extreme) if cond.extreme is not None else np.nan
        )
        s.live = np.append(s.live, True)
        self._where[cond.cond_id] = key

    def add_many(self, conds: Iterable[ConditionalOrder]) -> None:
        """Arm several conditions with one array rebuild per watched price (10,000 in a few
        milliseconds, where one :meth:`add` at a time would copy the arrays each time)."""
        grouped: dict[tuple[str, TriggerPrice], list[ConditionalOrder]] = {}
        for cond in conds:
            if cond.cond_id in self._where:
                self.remove(cond.cond_id)
            grouped.setdefault((cond.watch, cond.source), []).append(cond)
        for key, items in grouped.items():
            unique = list({c.cond_id: c for c in items}.values())
            s = self._slots.setdefault(key, _Slots())
            base = len(s.ids)
            for i, cond in enumerate(unique):
                s.index[cond.cond_id] = base + i
                s.ids.append(cond.cond_id)
                self._where[cond.cond_id] = key
            nan = float("nan")
            s.level = np.concatenate(
                [s.level, [float(c.level) if c.level is not None else nan for c in unique]]
            )
            s.rising = np.concatenate([s.rising, np.array([c.rising for c in unique], dtype=bool)])
            s.trailing = np.concatenate(
                [
                    s.trailing,
                    np.array([c.kind is ConditionKind.TRAILING_STOP for c in unique], dtype=bool),
                ]
            )
            s.callback = np.concatenate(
                [s.callback, [float(c.callback) if c.callback is not None else 0.0 for c in unique]]
            )
            s.activation = np.concatenate(
                [
                    s.activation,
                    [float(c.activation) if c.activation is not None else nan for c in unique],
                ]
            )
            s.extreme = np.concatenate(
                [s.extreme, [float(c.extreme) if c.extreme is not None else nan for c in unique]]
            )
            s.live = np.concatenate([s.live, np.ones(len(unique), dtype=bool)])

    def ids(self) -> list[str]:
        """Ids of every armed condition."""
        return list(self._where)

    def remove(self, cond_id: str) -> bool:
        """Disarm a condition; False if it was not armed."""
        key = self._where.pop(cond_id, None)
        if key is None:
            return False
        s = self._slots[key]
        i = s.index.pop(cond_id)
        s.live[i] = False
        if len(s.index) * 2 < len(s.ids):
            self._compact(key)
        return True

    def extreme(self, cond_id: str) -> float | None:
        """A trailing stop's best price so far (None before activation)."""
        key = self._where.get(cond_id)
        if key is None:
            return None
        s = self._slots[key]
        value = float(s.extreme[s.index[cond_id]])
        return None if np.isnan(value) else value

    def _compact(self, key: tuple[str, TriggerPrice]) -> None:
        s = self._slots[key]
        keep = np.flatnonzero(s.live)
        s.ids = [s.ids[i] for i in keep.tolist()]
        for name in ("level", "rising", "trailing", "callback", "activation", "extreme", "live"):
            setattr(s, name, getattr(s, name)[keep])
        s.index = {cid: i for i, cid in enumerate(s.ids)}

    def on_path(self, watch: str, source: TriggerPrice, prices: Iterable[float]) -> list[str]:
        """Feed prices in the order the market visited them (a bar's open → nearer extreme →
        farther extreme → close); returns the ids that fired, in firing order. A condition
        fires at most once, so the first of two linked exits the path reaches is the one that
        fires (the caller cancels its sibling)."""
        fired: list[str] = []
        for price in prices:
            fired.extend(self.on_price(watch, source, price))
        return fired

    def on_price(self, watch: str, source: TriggerPrice, price: float) -> list[str]:
        """Feed one price; returns the ids of conditions that fire (they are disarmed)."""
        s = self._slots.get((watch, source))
        if s is None or not s.index:
            return []
        live = s.live
        trailing = s.trailing & live
        if trailing.any():
            # Activation: a trailing stop starts trailing once the price reaches its activation.
            waiting = trailing & np.isnan(s.extreme)
            no_activation = np.isnan(s.activation)
            reached = np.where(s.rising, price <= s.activation, price >= s.activation)
            start = waiting & (no_activation | reached)
            s.extreme[start] = price
            active = trailing & ~np.isnan(s.extreme)
            # A sell stop (not rising) trails the highest price, a buy stop the lowest.
            s.extreme[active & ~s.rising] = np.maximum(s.extreme[active & ~s.rising], price)
            s.extreme[active & s.rising] = np.minimum(s.extreme[active & s.rising], price)
            fired_trail = active & np.where(
                s.rising,
                price >= s.extreme * (1.0 + s.callback),
                price <= s.extreme * (1.0 - s.callback),
            )
        else:
            fired_trail = trailing
        fixed = live & ~s.trailing
        fired = fixed & np.where(s.rising, price >= s.level, price <= s.level)
        fired |= fired_trail
        hits = np.flatnonzero(fired)
        if hits.size == 0:
            return []
        ids = [s.ids[i] for i in hits.tolist()]
        for cid in ids:
            self.remove(cid)
        return ids


def trigger_condition(cond: ConditionalOrder, ts: datetime) -> ConditionalOrder:
    """Mark a condition triggered (its intent is to be sent)."""
    if cond.status is not ConditionStatus.ARMED:
        raise InvalidValue(
            f"condition {cond.cond_id} is {cond.status.value}, not armed", field="status"
        )
    return replace(cond, status=ConditionStatus.TRIGGERED)


def linked_cancels(cond: ConditionalOrder, group: Iterable[ConditionalOrder]) -> list[str]:
    """Ids of group members to cancel when ``cond`` triggers or fills (OCO and bracket exits)."""
    if cond.link not in (LinkType.OCO, LinkType.BRACKET) or cond.group is None:
        return []
    return [
        c.cond_id
        for c in group
        if c.group == cond.group
        and c.cond_id != cond.cond_id
        and c.parent == cond.parent
        and c.status in (ConditionStatus.ARMED, ConditionStatus.WAITING)
    ]


def children_to_arm(parent_id: str, group: Iterable[ConditionalOrder]) -> list[str]:
    """Ids of OTO/bracket children waiting for ``parent_id`` to fill."""
    return [
        c.cond_id for c in group if c.parent == parent_id and c.status is ConditionStatus.WAITING
    ]


def ouo_reductions(
    cond: ConditionalOrder, filled: Decimal, group: Iterable[ConditionalOrder]
) -> dict[str, Decimal]:
    """For OUO groups: the new quantity of each sibling after ``cond`` filled ``filled``
    (a sibling reduced to zero should be cancelled)."""
    if cond.link is not LinkType.OUO or cond.group is None:
        return {}
    return {
        c.cond_id: max(Decimal(0), c.intent.qty - filled)
        for c in group
        if c.group == cond.group and c.cond_id != cond.cond_id and c.status is ConditionStatus.ARMED
    }
