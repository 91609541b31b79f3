"""Emulated conditional and linked orders (seed 004 §1.2–1.3) for venues that lack them.

Conditions are journaled before they are armed, evaluated on every market update by the
vectorised :class:`~riskdesk.domain.conditional.TriggerBook`, and re-armed from the journal
after a restart (trailing stops keep their best price). When one fires:

1. it is journaled TRIGGERED and its linked siblings CANCELED (OCO, bracket exits) in one unit —
   so of two exits the bar path reaches in turn, only the first is ever released;
2. its order goes to the order manager, which runs pre-trade risk like for any order.

OTO / bracket children wait (WAITING) until their parent order fills and are armed — an exit on
the parent's instrument with the quantity that filled, a child on another instrument with its
own; in an OUO group a fill on one leg's order reduces its siblings by the same
quantity (a sibling reduced to nothing is cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from riskdesk.application.oms import OrderManager, SyncResult
from riskdesk.domain.conditional import (
    ConditionalOrder,
    ConditionKind,
    ConditionStatus,
    LinkType,
    TriggerBook,
    children_to_arm,
    linked_cancels,
    ouo_reductions,
)
from riskdesk.domain.errors import InvalidValue, NotFound
from riskdesk.domain.matching import Candle, Quote
from riskdesk.domain.order_lifecycle import Order, OrderRole
from riskdesk.domain.orders import OrderIntent, TriggerPrice, validate_intent
from riskdesk.domain.values import PositionSide
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import OmsUnitOfWorkFactory

_LIVE = (ConditionStatus.ARMED, ConditionStatus.WAITING)
#: How a condition ends without firing (an OCO sibling, a guard released, an orphaned child…).
_DISARMED = (ConditionStatus.CANCELED, ConditionStatus.EXPIRED)

#: Told the conditions that just ended without firing (journaled already), with their reason.
DisarmListener = Callable[[Sequence[ConditionalOrder]], None]


class ConditionalEngine:
    """Journaled, vectorised emulation of conditional and linked orders."""

    def __init__(self, journal: OmsUnitOfWorkFactory, oms: OrderManager, clock: Clock) -> None:
        self._journal = journal
        self._oms = oms
        self._clock = clock
        self.book = TriggerBook()
        self._conds: dict[str, ConditionalOrder] = {}
        self._released: dict[str, ConditionalOrder] = {}
        #: Who wants to know when conditions are disarmed (``riskdesk run`` prints them).
        self.disarm_listeners: list[DisarmListener] = []
        self.load()
        oms.listeners.append(self.on_sync)

    # ------------------------------------------------------------------ journal

    def load(self) -> int:
        """Re-arm every ARMED condition from the journal (and remember the WAITING ones)."""
        with self._journal() as uow:
            live = uow.oms.conditionals(_LIVE)
            fired = uow.oms.conditionals([ConditionStatus.TRIGGERED])
        self.book = TriggerBook()
        self._conds = {c.cond_id: c for c in live}
        self._released = {c.intent.intent_id: c for c in fired if c.link is LinkType.OUO}
        self.book.add_many(c for c in live if c.status is ConditionStatus.ARMED)
        return len(live)

    def _save(self, conds: Sequence[ConditionalOrder]) -> None:
        if not conds:
            return
        with self._journal() as uow:
            uow.oms.put_conditionals(conds)
            uow.commit()
        for c in conds:
            if c.status in _LIVE:
                self._conds[c.cond_id] = c
            else:
                self._conds.pop(c.cond_id, None)
        if self.disarm_listeners:
            ended = [c for c in conds if c.status in _DISARMED]
            if ended:
                for listener in self.disarm_listeners:
                    listener(ended)

    def live(self) -> list[ConditionalOrder]:
        """Armed and waiting conditions, oldest first."""
        return sorted(
            self._conds.values(), key=lambda c: (c.created_at or self._clock.now(), c.cond_id)
        )

    def all(self) -> list[ConditionalOrder]:
        """Every journaled condition."""
        with self._journal() as uow:
            return uow.oms.conditionals()

    def get(self, cond_id: str) -> ConditionalOrder | None:
        """A live condition."""
        return self._conds.get(cond_id)

    # ------------------------------------------------------------------ placing

    def _check(self, cond: ConditionalOrder) -> None:
        if cond.cond_id in self._conds:
            raise InvalidValue(f"condition {cond.cond_id!r} already exists", field="cond_id")
        self._oms.check_venue(cond.intent)
        validate_intent(cond.intent, self._oms.instrument(cond.intent.instrument_key))
        self._oms.instrument(cond.watch)

    def arm(self, conds: Iterable[ConditionalOrder]) -> list[ConditionalOrder]:
        """Journal then arm conditions (all checked first: one bad condition arms nothing)."""
        now = self._clock.now()
        items = [replace(c, created_at=c.created_at or now, updated_at=now) for c in conds]
        ids = [c.cond_id for c in items]
        if len(set(ids)) != len(ids):
            raise InvalidValue("condition ids must be unique", field="cond_id")
        for c in items:
            self._check(c)
        self._save(items)
        self.book.add_many(c for c in items if c.status is ConditionStatus.ARMED)
        return items

    def oco(
        self,
        group: str,
        legs: Sequence[ConditionalOrder],
    ) -> list[ConditionalOrder]:
        """Arm an OCO group: the first leg to trigger cancels the others."""
        if len(legs) < 2:
            raise InvalidValue("an OCO group needs at least two legs", field="legs")
        return self.arm(replace(c, group=group, link=LinkType.OCO) for c in legs)

    def bracket(
        self,
        entry: OrderIntent,
        stop: Decimal,
        take_profit: Decimal,
        trigger: TriggerPrice = TriggerPrice.MARK,
    ) -> tuple[Order, list[ConditionalOrder]]:
        """Send an entry and attach an OCO pair of exits (stop-loss and take-profit, reduce-only
        market orders) that arm when the entry fills, sized to what filled."""
        close_side = entry.side.opposite
        inst = self._oms.instrument(entry.instrument_key)

        def leg(kind: ConditionKind, level: Decimal, suffix: str) -> ConditionalOrder:
            intent = OrderIntent(
                intent_id=f"{entry.intent_id}:{suffix}",
                account_id=entry.account_id,
                venue=entry.venue,
                symbol=entry.symbol,
                side=close_side,
                qty=entry.qty,
                reduce_only=inst.is_derivative,
                position_side=entry.position_side,
                source=f"bracket:{entry.intent_id}",
            )
            return ConditionalOrder(
                cond_id=intent.intent_id,
                intent=intent,
                watch=entry.instrument_key,
                kind=kind,
                level=level,
                source=trigger,
                group=f"bracket:{entry.intent_id}",
                link=LinkType.BRACKET,
                parent=entry.intent_id,
                status=ConditionStatus.WAITING,
                role="bracket",
            )

        legs = [
            leg(ConditionKind.STOP_LOSS, stop, "sl"),
            leg(ConditionKind.TAKE_PROFIT, take_profit, "tp"),
        ]
        validate_intent(entry, inst)
        armed = self.arm(legs)
        order = self._oms.submit(entry, role=OrderRole.ENTRY)
        if order.status.terminal and order.filled_qty == 0:
            armed = self._end(
                armed, ConditionStatus.CANCELED, f"entry {order.status.value}: {order.reason}"
            )
        return order, armed

    def oto(self, parent: OrderIntent, child: ConditionalOrder) -> tuple[Order, ConditionalOrder]:
        """One-triggers-the-other (seed 004 §1.3): send ``parent`` (through pre-trade risk like
        any order); ``child`` waits (WAITING) until the parent fills and is then armed. A child
        on the parent's instrument (an exit) is sized to what filled, and follows later partial
        fills; a child on another instrument keeps its own quantity. A parent that ends without
        a fill cancels the child. Both are journaled before the parent is sent."""
        inst = self._oms.instrument(parent.instrument_key)
        validate_intent(parent, inst)
        if child.cond_id == parent.intent_id:
            raise InvalidValue("the child needs an id of its own", field="cond_id")
        waiting = replace(
            child,
            parent=parent.intent_id,
            link=LinkType.OTO,
            status=ConditionStatus.WAITING,
            group=child.group or f"oto:{parent.intent_id}",
            role=child.role or "oto",
        )
        [armed] = self.arm([waiting])
        role = OrderRole.REDUCE if parent.reduce_only else OrderRole.ENTRY
        order = self._oms.submit(parent, role=role)
        if order.status.terminal and order.filled_qty == 0:
            [armed] = self._end(
                [armed], ConditionStatus.CANCELED, f"parent {order.status.value}: {order.reason}"
            )
        return order, self._conds.get(armed.cond_id) or armed

    def cancel(self, cond_id: str, reason: str = "canceled") -> ConditionalOrder:
        """Cancel a live condition."""
        cond = self._conds.get(cond_id)
        if cond is None:
            raise NotFound(f"no live condition {cond_id!r}", field="cond_id")
        done = self._end([cond], ConditionStatus.CANCELED, reason)
        return done[0]

    def expire_reduce_only(
        self, account_id: str, instrument_key: str, slot: PositionSide, keep: str | None = None
    ) -> list[ConditionalOrder]:
        """End the armed reduce-only conditions of a position slot that just went flat, as the
        venue expires its reduce-only orders: left armed, one would fire into the next position
        opened in that slot (a take-profit sell cutting a new long). ``keep`` names a condition
        its owner releases itself (the supervisor's guard stop)."""
        stale = [
            c
            for c in self._conds.values()
            if c.status is ConditionStatus.ARMED
            and c.cond_id != keep
            and c.intent.reduce_only
            and c.intent.account_id == account_id
            and c.intent.instrument_key == instrument_key
            and c.intent.position_side == slot
        ]
        if not stale:
            return []
        return self._end(stale, ConditionStatus.EXPIRED, "reduce-only: the position is closed")

    def _end(
        self, conds: Sequence[ConditionalOrder], status: ConditionStatus, reason: str
    ) -> list[ConditionalOrder]:
        now = self._clock.now()
        ended = [replace(c, status=status, reason=reason, updated_at=now) for c in conds]
        for c in ended:
            self.book.remove(c.cond_id)
        self._save(ended)
        return ended

    def modify(
        self, cond_id: str, level: Decimal | None = None, qty: Decimal | None = None
    ) -> ConditionalOrder:
        """Move a live condition's level or resize its order (re-armed at once)."""
        cond = self._conds.get(cond_id)
        if cond is None:
            raise NotFound(f"no live condition {cond_id!r}", field="cond_id")
        if level is not None and (not level.is_finite() or level <= 0):
            raise InvalidValue(f"must be a positive price, got {level}", field="level")
        intent = cond.intent if qty is None else replace(cond.intent, qty=qty)
        validate_intent(intent, self._oms.instrument(intent.instrument_key))
        updated = replace(
            cond,
            intent=intent,
            level=cond.level if level is None else level,
            updated_at=self._clock.now(),
        )
        self._save([updated])
        if updated.status is ConditionStatus.ARMED:
            self.book.add(updated)
        return updated

    # ------------------------------------------------------------------ market updates

    def on_price(self, watch: str, source: TriggerPrice, price: Decimal) -> list[Order]:
        """Evaluate one price update; fired conditions release their orders."""
        fired = self.book.on_price(watch, source, float(price))
        return self._fire(fired, f"{source.value} price {price}") if fired else []

    def on_quote(self, watch: str, quote: Quote) -> list[Order]:
        """Evaluate a quote for every trigger source: each condition sees the price it names
        (mark, last or index; a quote without it falls back to the mark, then the mid)."""
        released: list[Order] = []
        mark = quote.mark if quote.mark is not None else quote.mid
        for source, price in (
            (TriggerPrice.MARK, mark),
            (TriggerPrice.LAST, quote.last if quote.last is not None else mark),
            (TriggerPrice.INDEX, quote.index if quote.index is not None else mark),
        ):
            released.extend(self.on_price(watch, source, price))
        return released

    def on_prices(self, watch: str, prices: Sequence[Decimal]) -> list[Order]:
        """Evaluate a sequence of prices in the order the market visited them (every source)."""
        released: list[Order] = []
        for source in TriggerPrice:
            fired = self.book.on_path(watch, source, [float(p) for p in prices])
            if fired:
                released.extend(self._fire(fired, f"{source.value} path {prices[0]}→{prices[-1]}"))
        return released

    def on_candle(self, watch: str, candle: Candle) -> list[Order]:
        """Evaluate a bar along its path (open → nearer extreme → farther extreme → close): of
        two linked exits inside one bar, the one the path reaches first fires."""
        return self.on_prices(watch, list(candle.path()))

    def _fire(self, ids: Sequence[str], why: str) -> list[Order]:
        released: list[Order] = []
        for cond_id in ids:
            cond = self._conds.get(cond_id)
            if cond is None or cond.status is not ConditionStatus.ARMED:
                continue  # cancelled by a sibling that fired earlier on the same path
            now = self._clock.now()
            extreme = self.book.extreme(cond_id)
            fired = replace(
                cond,
                status=ConditionStatus.TRIGGERED,
                reason=f"triggered: {why}",
                updated_at=now,
                extreme=cond.extreme if extreme is None else Decimal(repr(extreme)),
            )
            siblings = [
                replace(
                    self._conds[i],
                    status=ConditionStatus.CANCELED,
                    reason=f"linked to {cond_id}",
                    updated_at=now,
                )
                for i in linked_cancels(cond, self._conds.values())
            ]
            for s in siblings:
                self.book.remove(s.cond_id)
            self._save([fired, *siblings])
            if cond.link is LinkType.OUO:
                self._released[cond.intent.intent_id] = fired
            role = _role_of(cond)
            released.append(self._oms.submit(cond.intent, role=role, group=cond.group, now=now))
        return released

    def persist_extremes(self) -> int:
        """Write trailing stops' best prices to the journal (so a restart resumes trailing)."""
        changed = []
        for cond in self._conds.values():
            if (
                cond.kind is not ConditionKind.TRAILING_STOP
                or cond.status is not ConditionStatus.ARMED
            ):
                continue
            extreme = self.book.extreme(cond.cond_id)
            if extreme is None:
                continue
            value = Decimal(repr(extreme))
            if value != cond.extreme:
                changed.append(replace(cond, extreme=value, updated_at=self._clock.now()))
        self._save(changed)
        return len(changed)

    # ------------------------------------------------------------------ order events

    def on_sync(self, result: SyncResult) -> None:
        """Arm OTO/bracket children of filled parents; apply OUO reductions."""
        if not self._conds:
            return  # nothing armed or waiting: no child to arm, no sibling to reduce
        for order, fill in result.fills:
            self._arm_children(order)
            self._ouo(order, fill.qty)
        for order in result.changed:
            if order.status.terminal and order.filled_qty == 0:
                orphans = [
                    c
                    for c in self._conds.values()
                    if c.parent == order.intent.intent_id and c.status is ConditionStatus.WAITING
                ]
                if orphans:
                    self._end(orphans, ConditionStatus.CANCELED, f"parent {order.status.value}")

    def _arm_children(self, parent: Order) -> None:
        ids = children_to_arm(parent.intent.intent_id, self._conds.values())
        waiting = [
            c
            for c in self._conds.values()
            if c.parent == parent.intent.intent_id and c.status is ConditionStatus.ARMED
        ]
        now = self._clock.now()
        key = parent.intent.instrument_key

        def sized(c: ConditionalOrder) -> OrderIntent:
            # An exit on the parent's instrument covers what filled; other children keep theirs.
            if c.intent.instrument_key != key:
                return c.intent
            return replace(c.intent, qty=parent.filled_qty)

        armed = [
            replace(
                self._conds[i],
                status=ConditionStatus.ARMED,
                intent=sized(self._conds[i]),
                updated_at=now,
            )
            for i in ids
        ]
        resized = [
            replace(c, intent=sized(c), updated_at=now)
            for c in waiting
            if sized(c).qty != c.intent.qty
        ]
        if armed or resized:
            self._save([*armed, *resized])
            self.book.add_many([*armed, *resized])

    def _ouo(self, order: Order, filled: Decimal) -> None:
        source = self._released.get(order.intent.intent_id)
        if source is None:
            return
        reductions = ouo_reductions(source, filled, self._conds.values())
        now = self._clock.now()
        updated: list[ConditionalOrder] = []
        for cond_id, qty in reductions.items():
            cond = self._conds[cond_id]
            if qty <= 0:
                updated.append(
                    replace(
                        cond,
                        status=ConditionStatus.CANCELED,
                        reason=f"OUO: {order.intent.intent_id} filled",
                        updated_at=now,
                    )
                )
                self.book.remove(cond_id)
            else:
                updated.append(replace(cond, intent=replace(cond.intent, qty=qty), updated_at=now))
        self._save(updated)
        self.book.add_many(c for c in updated if c.status is ConditionStatus.ARMED)


def _role_of(cond: ConditionalOrder) -> OrderRole | None:
    """What a released order is for: a guard stop closes, an emulated take-profit takes profit;
    anything else is an entry or a reduction (decided by the order manager)."""
    if cond.role == "guard_stop":
        return OrderRole.CLOSE
    if cond.kind is ConditionKind.TAKE_PROFIT and cond.intent.reduce_only:
        return OrderRole.TAKE_PROFIT
    return None


__all__ = ["ConditionalEngine", "DisarmListener"]
