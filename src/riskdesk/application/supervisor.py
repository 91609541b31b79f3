"""The protective-order supervisor: every open derivative position has a working stop.

On every pass (:meth:`ProtectionSupervisor.review`, run right after fills are synced and plans
executed, so "at once" when an entry fills) it compares each open position with its protection
(:func:`riskdesk.domain.protection.review`) and acts:

* **place** a reduce-only stop-market on the mark price for a position without one — at the
  entry's ``protective_stop`` when the entry named one, else ``default_stop_fraction`` from the
  entry (or from the mark when the position is already through that level);
* **read it back** from the venue: a stop the venue does not list as working is not protection;
* **re-arm** a stop that disappeared (cancelled, expired, rejected or missing at the venue);
* **resize** it to the position after partial fills, take-profits and add-ons;
* **fall back to a guard stop** (an emulated stop watched on the mark price, releasing a
  reduce-only market order) when the venue refuses the stop or has no stop orders, and raise
  an alert;
* **release** it when the position is flat, and cancel orphaned stops (the superseded stop of a
  replacement a crash interrupted), with an alert.

Moving or resizing a stop never leaves the position unprotected: a native amend where the venue
has one (atomic); otherwise the new stop is placed first and the old one cancelled only once the
new one works — if the new one fails the old one stays, unless the position grew beyond what the
old one covers: then a guard stop for the whole position is armed first and the old stop
cancelled (as when the venue refuses the first stop). A stop already through the price is not
placed (the venue would refuse it or fill it at once): the position is closed at market instead.

Every change is journaled with the protection (``pending``) *before* the venue is asked, so a
crash at any moment leaves its intent: the next pass (recovery's first) finishes it — keeps the
replacement the venue holds and cancels the stop it supersedes, places again one that never
worked, confirms or makes an amendment — instead of mistaking the new stop for an orphan.

Stop edits are budgeted against the venue's rate limit (a token bucket of
``stop_edits_per_second`` / ``stop_edit_burst``): tightening a stop or shrinking it waits for the
next pass when the budget is spent — recorded as a deferred pending change, with an alert, and
retried; placing, re-arming and growing a stop never wait (a deferred move goes with them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.oms import STOP_REPLACE, OrderManager, PositionLine
from riskdesk.domain.conditional import ConditionStatus
from riskdesk.domain.errors import BrokerError, InvalidValue, NotFound, RiskdeskError
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus, client_id
from riskdesk.domain.orders import OrderIntent, OrderType, TriggerPrice
from riskdesk.domain.protection import (
    Need,
    PendingStop,
    Protection,
    ProtectionMode,
    StopState,
    crossed,
    guard_condition,
    protection_key,
    review,
    stop_intent,
    stop_intent_id,
    stopout_intent_id,
    through_error,
)
from riskdesk.domain.reconcile import DriftKind
from riskdesk.domain.risk.decisions import Decision
from riskdesk.domain.risk.monitors import Alert, AlertLevel
from riskdesk.domain.risk.rate_limit import TokenBucket
from riskdesk.domain.values import ZERO, PositionSide, Side
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import OmsUnitOfWorkFactory

AlertSink = Callable[[Alert], None]
MarkSource = Callable[[str], Decimal | None]


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """``default_stop_fraction``: distance of a stop the entry did not name (0.02 = 2 % from the
    entry); ``trigger``: the price stops watch; ``protect_kinds``: instrument kinds that get a
    stop (reduce-only stops exist for perpetuals and futures)."""

    default_stop_fraction: Decimal = Decimal("0.02")
    trigger: TriggerPrice = TriggerPrice.MARK
    protect_kinds: frozenset[str] = frozenset({"perpetual", "future"})


@dataclass(frozen=True, slots=True)
class ProtectionReport:
    """What one pass did for one position."""

    key: str
    need: Need
    action: str
    detail: str = ""
    #: Set when the pass repaired something a crash or an outside change left (recovery reports
    #: it as drift): what riskdesk held and what the venue held before the repair.
    drift: DriftKind | None = None
    ours: str = ""
    venue: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form."""
        out = {
            "key": self.key,
            "need": self.need.value,
            "action": self.action,
            "detail": self.detail,
        }
        if self.drift is not None:
            out["drift"] = self.drift.value
        return out


class ProtectionSupervisor:
    """Keeps every open position protected (see the module docstring)."""

    def __init__(
        self,
        journal: OmsUnitOfWorkFactory,
        oms: OrderManager,
        conditionals: ConditionalEngine,
        clock: Clock,
        marks: MarkSource,
        alerts: AlertSink,
        config: SupervisorConfig | None = None,
    ) -> None:
        self._journal = journal
        self._oms = oms
        self._cond = conditionals
        self._clock = clock
        self._marks = marks
        self._alert_sink = alerts
        self.config = config or SupervisorConfig()
        caps = oms.broker.capabilities()
        self._budget = TokenBucket(caps.stop_edits_per_second, caps.stop_edit_burst)
        self.deferred = 0
        self._protections: dict[str, Protection] = {}
        self.load()

    # ------------------------------------------------------------------ journal

    def load(self) -> None:
        """Reload the protections from the journal."""
        with self._journal() as uow:
            self._protections = {p.key: p for p in uow.oms.protections()}

    def _put(self, p: Protection) -> Protection:
        with self._journal() as uow:
            uow.oms.put_protections([p])
            uow.commit()
        self._protections[p.key] = p
        return p

    def _drop(self, p: Protection, now: datetime) -> None:
        # The generation reached is kept (a named cursor), so the next protection of the same
        # slot names new orders: a re-entry never reuses the intent id of a filled stop.
        with self._journal() as uow:
            uow.oms.delete_protections([p.key])
            uow.oms.set_cursor(_generation_cursor(p.key), str(p.generation), now)
            uow.commit()
        self._protections.pop(p.key, None)

    def _generation_floor(self, key: str) -> int:
        with self._journal() as uow:
            value = uow.oms.cursor(_generation_cursor(key))
        return int(value) if value is not None and value.isdigit() else 0

    def _next_generation(self, p: Protection) -> int:
        """The next generation whose orders the journal does not hold yet (a slot's
        generations never repeat, so a stop, a guard or a stop-out is never taken for an order
        of an earlier position)."""
        gen = p.generation + 1
        while any(
            self._oms.get(ref) is not None
            for ref in (
                stop_intent_id(p, gen),
                stop_intent_id(p, gen).replace("protect-", "guard-", 1),
                stopout_intent_id(p, gen),
            )
        ):
            gen += 1
        return gen

    def protections(self) -> list[Protection]:
        """Every protection, by key."""
        return [self._protections[k] for k in sorted(self._protections)]

    def get(self, key: str) -> Protection | None:
        """The protection of one position key (``account|venue:symbol|slot``)."""
        return self._protections.get(key)

    def _alert(
        self, key: str, kind: str, message: str, level: AlertLevel = AlertLevel.CRITICAL
    ) -> None:
        self._alert_sink(
            Alert(f"protection:{key}", kind, level, message, 0.0, 0.0, self._clock.now())
        )

    # ------------------------------------------------------------------ review

    def _protected(self, line: PositionLine) -> bool:
        inst = self._oms.instrument(line.instrument_key)
        return inst.kind.value in self.config.protect_kinds

    def positions(self) -> dict[str, PositionLine]:
        """Open positions that must be protected, by protection key: those on the connected
        venue (a position of another venue is never protected by this venue's orders)."""
        venue = self._oms.broker.venue
        return {
            protection_key(line.account_id, line.instrument_key, line.slot): line
            for line in self._oms.ledger.open_positions()
            if line.qty != 0 and line.venue == venue and self._protected(line)
        }

    def closed(self) -> list[Protection]:
        """Protections whose position is no longer open (or not on the connected venue): the
        next pass releases them (``riskdesk orders protect``)."""
        open_keys = self.positions()
        return [p for p in self.protections() if p.key not in open_keys]

    def _stop_state(self, p: Protection | None) -> StopState | None:
        if p is None or p.order_id is None:
            return None
        order = self._oms.get(p.order_id)
        if order is None:
            return StopState(None, ZERO)
        return StopState(order.status, order.intent.qty - order.filled_qty)

    def _guard_armed(self, p: Protection | None) -> bool:
        if p is None or p.cond_id is None:
            return False
        cond = self._cond.get(p.cond_id)
        return cond is not None and cond.status is ConditionStatus.ARMED

    def _executed(self, p: Protection | None, guard_armed: bool) -> str | None:
        """What closed the position for this protection, if its own close executed: the stop
        filled, the guard's order filled, or the stop-out (a level already through) filled."""
        if p is None:
            return None
        if p.order_id is not None:
            order = self._oms.get(p.order_id)
            if order is not None and order.status.terminal and order.filled_qty > 0:
                return f"its stop {order.intent.intent_id} filled {order.filled_qty}"
            return None
        if p.mode is ProtectionMode.GUARD:
            if guard_armed or p.cond_id is None:
                return None
            order = self._oms.get(p.cond_id)  # the guard's order carries the condition's id
        else:
            order = self._oms.get(stopout_intent_id(p, p.generation))
        if order is not None and order.filled_qty > 0:
            return f"{order.intent.intent_id} closed {order.filled_qty}"
        return None

    def review(self, now: datetime | None = None) -> list[ProtectionReport]:
        """One pass over every position and protection (see the module docstring)."""
        now = now or self._clock.now()
        reports: list[ProtectionReport] = []
        positions = self.positions()
        for key, line in positions.items():
            p = self._protections.get(key)
            if p is not None and p.pending is not None:
                # A change under way (deferred, or cut by a crash): finish it first.
                resumed = self._resume(p, line, now)
                if resumed is not None:
                    reports.append(resumed)
                p = self._protections.get(key)
                if p is not None and p.pending is not None:
                    continue  # still waiting (budget, or a venue that cannot answer yet)
            if p is not None:
                p = self._follow(p, now)
            armed = self._guard_armed(p)
            executed = self._executed(p, armed)
            need = review(
                p,
                line.qty,
                self._stop_state(p),
                armed,
                executed=executed is not None,
                opened_at=line.opened_at,
            )
            if need is Need.RENEW and p is not None:
                reports.append(self._renew(p, line, executed, now))
                continue
            if need is Need.REARM and p is not None:
                adopted = self._adopt_working(p, line, now)
                if adopted is not None:
                    reports.append(adopted)
                    p = self._protections[key]
                    need = review(p, line.qty, self._stop_state(p), self._guard_armed(p))
            if need is Need.NONE:
                continue
            reports.append(self._act(need, key, line, p, now))
        venue = self._oms.broker.venue
        for key in [k for k in self._protections if k not in positions]:
            p = self._protections[key]
            why = (
                "the position is flat"
                if p.venue == venue
                else f"not a position of the connected venue {venue}"
            )
            reports.append(self._release(p, now, why))
        reports.extend(self._orphans(now))
        return reports

    def _follow(self, p: Protection, now: datetime) -> Protection:
        """A native stop whose trigger price changed outside the supervisor (an amendment by
        hand, or one recovery adopted from the venue): the protection follows the order."""
        if p.mode is not ProtectionMode.NATIVE or p.order_id is None:
            return p
        order = self._oms.get(p.order_id)
        if order is None or not order.status.working:
            return p
        level = order.intent.stop_price
        if level is None or level == p.level:
            return p
        return self._put(p.evolve(level=level, updated_at=now, reason="follows its stop order"))

    def _adopt_working(
        self, p: Protection, line: PositionLine, now: datetime
    ) -> ProtectionReport | None:
        """The protection's stop is gone but another working stop covers the position (it was
        replaced outside the supervisor, e.g. ``riskdesk orders amend`` by cancel-replace): the
        newest such stop becomes the protection's, instead of a second one being placed."""
        found = [
            o
            for o in self._oms.live()
            if o.role is OrderRole.PROTECTIVE_STOP
            and o.group == p.key
            and o.client_order_id != p.order_id
            and o.status.working
            and o.intent.side is p.close_side
            and o.intent.stop_price is not None
        ]
        if not found:
            return None
        newest = found[-1]  # live() is oldest first
        level = newest.intent.stop_price
        assert level is not None  # noqa: S101 - filtered above
        self._put(
            p.evolve(
                mode=ProtectionMode.NATIVE,
                order_id=newest.client_order_id,
                cond_id=None,
                level=level,
                qty=newest.remaining,
                updated_at=now,
                reason="adopted the working stop that replaced it",
            )
        )
        return ProtectionReport(
            p.key,
            Need.REARM,
            "adopted stop",
            f"{newest.intent.intent_id} at {level} for {newest.remaining}",
            DriftKind.STOP_REPLACEMENT,
            f"stop {p.level} ({self._gone(p)})",
            f"working stop {newest.intent.intent_id} at {level}",
        )

    def _act(
        self, need: Need, key: str, line: PositionLine, p: Protection | None, now: datetime
    ) -> ProtectionReport:
        size = abs(line.qty)
        if need is Need.PLACE or need is Need.FLIP:
            if need is Need.FLIP and p is not None:
                self._release(p, now)
            level, why = self._initial_level(line)
            fresh = self._fresh(line, level, why, now)
            done = self._place(fresh, now)
            return ProtectionReport(
                key, need, f"placed {done.mode.value} stop", f"{why}: {done.level} for {size}"
            )
        assert p is not None  # noqa: S101 - review() only asks for these with a protection
        if need is Need.REARM:
            self._alert(
                key,
                "protection_rearmed",
                f"the stop of {key} was gone ({self._gone(p)}): re-armed at {p.level}",
                AlertLevel.WARNING,
            )
            done = self._place(p.evolve(qty=size, updated_at=now, reason="re-armed"), now)
            return ProtectionReport(
                key, need, f"re-armed {done.mode.value} stop", f"{done.level} for {size}"
            )
        # RESIZE
        growing = size > p.qty
        if not growing and not self._spend(now, critical=False):
            self._defer(p, p.level, size, now, "resized to the position", None, alert=False)
            return ProtectionReport(
                key,
                need,
                "deferred",
                "stop-edit budget spent; the oversized reduce-only stop still covers the position",
            )
        done = self._change(p, p.level, size, now, reason="resized to the position")
        return ProtectionReport(key, need, "resized", f"{p.qty} → {done.qty}")

    def _renew(
        self, p: Protection, line: PositionLine, executed: str | None, now: datetime
    ) -> ProtectionReport:
        """The protection is finished (its close executed, or the position went flat and was
        opened again): release it and protect the position as a new one."""
        why = executed or "the position was closed and opened again"
        self._release(p, now, why)
        level, how = self._initial_level(line)
        done = self._place(self._fresh(line, level, how, now), now)
        return ProtectionReport(
            p.key,
            Need.RENEW,
            f"placed {done.mode.value} stop",
            f"the stop at {p.level} is done ({why}); {how}: {done.level} for {abs(line.qty)}",
        )

    def _gone(self, p: Protection) -> str:
        if p.mode is ProtectionMode.GUARD:
            return "guard condition not armed"
        order = self._oms.get(p.order_id) if p.order_id else None
        return "no order" if order is None else f"{order.status.value}: {order.reason}"

    def _initial_level(self, line: PositionLine) -> tuple[Decimal, str]:
        inst = self._oms.instrument(line.instrument_key)
        long = line.qty > 0
        named = self._named_stop(line)
        if named is not None:
            return inst.make_stop_price(named, protects_long=long), "the entry's protective stop"
        f = self.config.default_stop_fraction
        base = line.entry_price
        mark = self._marks(line.instrument_key)
        if mark is not None:
            base = min(base, mark) if long else max(base, mark)
        raw = base * (1 - f) if long else base * (1 + f)
        return inst.make_stop_price(raw, protects_long=long), f"default stop {f * 100}% from {base}"

    def _named_stop(self, line: PositionLine) -> Decimal | None:
        for order in reversed(
            self._oms.orders(
                [OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELED],
                line.account_id,
                line.symbol,
                limit=20,
            )
        ):
            i = order.intent
            if (
                order.filled_qty > 0
                and not i.reduce_only
                and i.venue == line.venue
                and i.protective_stop is not None
                and (i.side is Side.BUY) == (line.qty > 0)
            ):
                return i.protective_stop
        return None

    def _fresh(self, line: PositionLine, level: Decimal, why: str, now: datetime) -> Protection:
        key = protection_key(line.account_id, line.instrument_key, line.slot)
        return Protection(
            account_id=line.account_id,
            venue=line.venue,
            symbol=line.symbol,
            slot=line.slot,
            direction=1 if line.qty > 0 else -1,
            level=level,
            qty=abs(line.qty),
            trigger=self.config.trigger,
            mode=ProtectionMode.NATIVE,
            updated_at=now,
            generation=self._generation_floor(key),
            reason=why,
        )

    # ------------------------------------------------------------------ budget

    def _spend(self, now: datetime, critical: bool) -> bool:
        if self._budget.take(now):
            return True
        return critical  # protection first: critical edits go anyway (the venue may refuse)

    def _defer(
        self,
        p: Protection,
        level: Decimal,
        qty: Decimal,
        now: datetime,
        reason: str,
        intent: OrderIntent | None,
        *,
        alert: bool = True,
    ) -> Protection:
        """Record a change the stop-edit budget postponed: it stays visible (``pending``, an
        alert) and the next pass retries it, so the stop catches up with what was decided."""
        self.deferred += 1
        before = p.pending
        if alert and (before is None or before.level != level or not before.deferred):
            self._alert(
                p.key,
                "stop_edit_deferred",
                f"stop-edit budget spent: the stop of {p.key} stays at {p.level} for now; the move "
                f"to {level} is retried on the next pass",
                AlertLevel.WARNING,
            )
        return self._put(
            p.evolve(pending=PendingStop(level, qty, now, intent, reason, deferred=True))
        )

    # ------------------------------------------------------------------ placing

    def _carrier(
        self, intent: OrderIntent | None, default: OrderIntent, level: Decimal, qty: Decimal
    ) -> OrderIntent:
        """The order that carries a stop: the plan's own intent (its id kept, so the journal
        links the stop to the plan) or the supervisor's; an id the journal already holds is
        never reused (it names an order that already lived)."""
        if intent is None:
            return default
        carried = replace(intent, qty=qty, stop_price=level, reduce_only=True)
        if self._oms.get(carried.intent_id) is not None:
            carried = replace(carried, intent_id=self._oms.next_intent_id(carried.intent_id))
        return carried

    def _place(
        self,
        p: Protection,
        now: datetime,
        intent: OrderIntent | None = None,
        precheck: Decision | None = None,
    ) -> Protection:
        """Place a stop for ``p`` (native, else guard); close at market when already crossed.
        The stop is journaled as the protection's pending change before it is sent."""
        mark = self._marks(p.instrument_key)
        if mark is not None and crossed(p.direction, p.level, mark):
            return self._close_crossed(p, mark, now)
        if not self._oms.broker.capabilities().native_stop:
            return self._guard(p, now, "the venue has no stop orders")
        self._spend(now, critical=True)
        gen = self._next_generation(p)
        order_intent = self._carrier(intent, stop_intent(p, gen, now), p.level, p.qty)
        self._put(
            p.evolve(
                generation=gen,
                pending=PendingStop(p.level, p.qty, now, order_intent, p.reason),
            )
        )
        order = self._oms.submit(
            order_intent, role=OrderRole.PROTECTIVE_STOP, group=p.key, precheck=precheck, now=now
        )
        if order.status in (
            OrderStatus.REJECTED,
            OrderStatus.FAILED,
            OrderStatus.EXPIRED,
            OrderStatus.CANCELED,
        ):
            return self._guard(
                p.evolve(generation=gen), now, f"the venue did not take the stop: {order.reason}"
            )
        if not self._verified(order):
            return self._guard(
                p.evolve(generation=gen), now, "the stop could not be read back from the venue"
            )
        return self._put(
            p.evolve(
                mode=ProtectionMode.NATIVE,
                order_id=order.client_order_id,
                cond_id=None,
                generation=gen,
                updated_at=now,
                pending=None,
            )
        )

    def _verified(self, order: Order) -> bool:
        """Read the stop back: the venue must list it as working."""
        if order.status is OrderStatus.FILLED:
            return True
        try:
            view = self._oms.broker.query(order.client_order_id, order.intent.symbol)
        except BrokerError:  # a venue that cannot answer has not verified the stop
            return order.status.working
        return view is not None and (view.status.working or view.status is OrderStatus.FILLED)

    def _guard(self, p: Protection, now: datetime, why: str) -> Protection:
        """Arm the emulated guard stop and alert."""
        gen = self._next_generation(p)
        cond = guard_condition(p, gen, now)
        self._cond.arm([cond])
        self._alert(
            p.key,
            "guard_stop",
            f"{why}; guard stop armed for {p.qty} {p.symbol} at {p.level} ({p.trigger.value} price, emulated by riskdesk)",
        )
        return self._put(
            p.evolve(
                mode=ProtectionMode.GUARD,
                cond_id=cond.cond_id,
                order_id=None,
                generation=gen,
                updated_at=now,
                reason=why,
                pending=None,
            )
        )

    def _close_crossed(self, p: Protection, mark: Decimal, now: datetime) -> Protection:
        gen = self._next_generation(p)
        intent = OrderIntent(
            intent_id=stopout_intent_id(p, gen),
            account_id=p.account_id,
            venue=p.venue,
            symbol=p.symbol,
            side=p.close_side,
            qty=p.qty,
            order_type=OrderType.MARKET,
            reduce_only=True,
            position_side=p.slot,
            source="protection",
            created_at=now,
        )
        order = self._oms.submit(intent, role=OrderRole.CLOSE, group=p.key, now=now)
        self._alert(
            p.key,
            "stop_crossed",
            f"the stop {p.level} of {p.key} is already through the {p.trigger.value} price {mark}: closed at market ({order.status.value})",
        )
        return self._put(
            p.evolve(
                generation=gen,
                order_id=None,
                cond_id=None,
                updated_at=now,
                reason="stop crossed: closed at market",
                pending=None,
            )
        )

    # ------------------------------------------------------------------ changing

    def _change(
        self,
        p: Protection,
        level: Decimal,
        qty: Decimal,
        now: datetime,
        reason: str,
        intent: OrderIntent | None = None,
        precheck: Decision | None = None,
    ) -> Protection:
        """Move / resize without a gap: amend, guard modify, or new-first replacement. The change
        is journaled (``pending``) before the venue is asked, so recovery can finish it."""
        target = p.evolve(level=level, qty=qty, updated_at=now, reason=reason, pending=None)
        mark = self._marks(p.instrument_key)
        if mark is not None and crossed(p.direction, level, mark):
            # Keep the working stop; the new level is already hit: close at market.
            return self._close_crossed(target, mark, now)
        if p.mode is ProtectionMode.GUARD and p.cond_id and self._guard_armed(p):
            self._cond.modify(p.cond_id, level=level, qty=qty)
            return self._put(target)
        old = self._oms.get(p.order_id) if p.order_id else None
        if old is None or not old.status.working:
            return self._place(target, now, intent, precheck)
        caps = self._oms.broker.capabilities()
        if caps.native_amend:
            self._put(p.evolve(pending=PendingStop(level, qty, now, None, reason)))
            try:
                amended = self._oms.amend(
                    old.client_order_id, qty=qty + old.filled_qty, stop_price=level, now=now
                )
            except RiskdeskError as exc:  # a refused amend falls back to replace
                self._alert(
                    p.key,
                    "stop_amend_failed",
                    f"amending the stop of {p.key} failed ({exc}); replacing it",
                    AlertLevel.WARNING,
                )
            else:
                if amended.status.working:
                    return self._put(target)
        gen = self._next_generation(p)
        new_intent = self._carrier(intent, stop_intent(target, gen, now), level, qty)
        self._put(
            p.evolve(generation=gen, pending=PendingStop(level, qty, now, new_intent, reason))
        )
        new = self._oms.submit(
            new_intent, role=OrderRole.PROTECTIVE_STOP, group=p.key, precheck=precheck, now=now
        )
        if not (new.status.working and self._verified(new)):
            if qty > old.remaining:
                return self._guard_growth(p, target.evolve(generation=gen), old, new, now)
            self._alert(
                p.key,
                "stop_replace_failed",
                f"the new stop of {p.key} at {level} was not taken ({new.status.value}: {new.reason}); the old stop at {p.level} stays",
            )
            return self._put(p.evolve(generation=gen, pending=None))
        moved = self._put(
            target.evolve(
                order_id=new.client_order_id,
                generation=gen,
                mode=ProtectionMode.NATIVE,
                cond_id=None,
            )
        )
        self._oms.checkpoint(STOP_REPLACE)
        self._oms.cancel(old.client_order_id, "replaced by a new stop", now)
        return moved

    def _guard_growth(
        self, p: Protection, target: Protection, old: Order, new: Order, now: datetime
    ) -> Protection:
        """The position grew and the venue would not take the larger stop (nor amend the old
        one): the old stop covers only part of it, so keeping it would leave the rest bare.
        A guard stop for the whole position is armed first, then the old stop is cancelled (and
        the refused replacement, should the venue still list it), so no moment is unprotected
        and no two closing orders stay behind — as when a venue refuses the first stop."""
        why = (
            f"the venue did not take the larger stop ({new.status.value}: {new.reason}) and the "
            f"old stop covers {old.remaining} of {target.qty}"
        )
        guarded = self._guard(target, now, why)
        for stale in (old, new):
            if not stale.status.terminal:
                self._oms.cancel(stale.client_order_id, "replaced by a guard stop", now)
        return guarded

    def _resume(self, p: Protection, line: PositionLine, now: datetime) -> ProtectionReport | None:
        """Finish a pending change by its intent: the journal knows where the stop must go and
        which stop it replaces. A replacement the venue holds is kept and the stop it supersedes
        cancelled; one that never worked is placed again; an amendment the venue applied is
        confirmed, one it never saw is made; a deferred edit is retried when the budget allows.
        Never a moment without a working stop: the old one goes only once the new one works."""
        pend = p.pending
        assert pend is not None  # noqa: S101 - review() calls this only with a pending change
        base = p.evolve(pending=None)
        size = abs(line.qty)
        carrier = self._oms.get(pend.intent.intent_id) if pend.intent is not None else None
        if carrier is not None and carrier.client_order_id != p.order_id:
            return self._resume_replacement(p, base, carrier, size, now)
        current = self._oms.get(p.order_id) if p.order_id else None
        if (
            pend.intent is None
            and current is not None
            and current.status.working
            and current.intent.stop_price == pend.level
        ):
            # The venue applied the amendment before the crash (recovery adopted its terms).
            self._put(
                base.evolve(
                    level=pend.level, qty=current.remaining, updated_at=now, reason=pend.reason
                )
            )
            return ProtectionReport(
                p.key,
                Need.NONE,
                "amendment confirmed",
                f"{current.intent.intent_id} at {pend.level}",
                None if pend.deferred else DriftKind.STOP_REPLACEMENT,
                f"stop {p.level}, moving to {pend.level}",
                f"stop {current.intent.intent_id} at {pend.level}",
            )
        covering = self._stop_state(p)
        still_covers = (
            p.mode is ProtectionMode.GUARD and self._guard_armed(p) and p.qty >= size
        ) or (
            covering is not None
            and covering.status is not None
            and covering.status.working
            and covering.remaining >= size
        )
        # A deferred edit waits for the budget only while the working stop still covers the
        # position; growing or re-arming protection never waits (the edit goes with it).
        if pend.deferred and still_covers and not self._spend(now, critical=False):
            self.deferred += 1
            return ProtectionReport(
                p.key,
                Need.NONE,
                "deferred",
                f"stop-edit budget spent; the move to {pend.level} waits for the next pass",
            )
        if (
            current is not None
            and current.status.working
            and base.level == pend.level
            and current.remaining == size
        ):
            self._put(base.evolve(updated_at=now))
            return None
        done = self._change(base, pend.level, size, now, pend.reason, pend.intent)
        if pend.deferred:
            return ProtectionReport(
                p.key, Need.NONE, "deferred edit made", f"{p.level} → {done.level} for {done.qty}"
            )
        return ProtectionReport(
            p.key,
            Need.NONE,
            "interrupted change made",
            f"{p.level} → {done.level} for {done.qty}",
            DriftKind.STOP_REPLACEMENT,
            f"stop {p.level}, moving to {pend.level} (cut before the venue was asked)",
            f"stop {p.level}",
        )

    def _resume_replacement(
        self, p: Protection, base: Protection, carrier: Order, size: Decimal, now: datetime
    ) -> ProtectionReport | None:
        """The pending change's order is journaled (a replacement, or a first stop)."""
        pend = p.pending
        assert pend is not None  # noqa: S101 - see _resume
        old = self._oms.get(p.order_id) if p.order_id else None
        ours = f"stop {p.level}" + (f" ({old.intent.intent_id})" if old is not None else "")
        if carrier.status in (OrderStatus.CREATED, OrderStatus.PENDING_SUBMIT):
            return ProtectionReport(
                p.key,
                Need.NONE,
                "replacement unresolved",
                f"the venue cannot say yet whether it holds {carrier.intent.intent_id}; the old stop stays",
                DriftKind.STOP_REPLACEMENT,
                f"{ours}, moving to {pend.level}",
                "unknown (the venue did not answer)",
            )
        if carrier.status.working and self._verified(carrier):
            level = carrier.intent.stop_price or pend.level
            self._put(
                base.evolve(
                    mode=ProtectionMode.NATIVE,
                    order_id=carrier.client_order_id,
                    cond_id=None,
                    level=level,
                    qty=carrier.remaining,
                    updated_at=now,
                    reason=pend.reason,
                )
            )
            if old is not None and not old.status.terminal:
                self._oms.cancel(old.client_order_id, "superseded by its replacement", now)
            self._alert(
                p.key,
                "stop_replacement_resumed",
                f"a stop replacement of {p.key} was interrupted: kept the new stop "
                f"{carrier.intent.intent_id} at {level}"
                + (
                    f", cancelled the superseded {old.intent.intent_id} at {p.level}" if old else ""
                ),
                AlertLevel.WARNING,
            )
            return ProtectionReport(
                p.key,
                Need.NONE,
                "replacement finished",
                f"kept {carrier.intent.intent_id} at {level}"
                + (f"; cancelled {old.intent.intent_id} at {p.level}" if old else ""),
                DriftKind.STOP_REPLACEMENT,
                f"{ours}, moving to {pend.level}",
                f"both working: {carrier.intent.intent_id} at {level}",
            )
        if carrier.status is OrderStatus.FILLED:
            self._put(base.evolve(order_id=carrier.client_order_id, updated_at=now))
            return None  # it closed the position: released by this pass
        # It never worked (refused, failed, too old to send): place the intended stop again.
        done = self._change(base, pend.level, size, now, pend.reason, pend.intent)
        self._alert(
            p.key,
            "stop_replacement_resumed",
            f"a stop replacement of {p.key} was interrupted and {carrier.intent.intent_id} never "
            f"worked ({carrier.status.value}: {carrier.reason}); the stop is now at {done.level}",
            AlertLevel.WARNING,
        )
        return ProtectionReport(
            p.key,
            Need.NONE,
            "replacement redone",
            f"{carrier.intent.intent_id} {carrier.status.value}; stop at {done.level} for {done.qty}",
            DriftKind.STOP_REPLACEMENT,
            f"{ours}, moving to {pend.level}",
            f"{carrier.intent.intent_id} {carrier.status.value}",
        )

    def set_stop(
        self,
        account_id: str,
        instrument_key: str,
        slot: PositionSide,
        level: Decimal,
        *,
        intent: OrderIntent | None = None,
        precheck: Decision | None = None,
        reason: str = "set by hand",
        now: datetime | None = None,
        close_if_through: bool = True,
    ) -> Protection:
        """Put the stop of an open position at ``level`` (governance's PLACE/MOVE_STOP, the
        batch stop modify, the CLI). The stop covers the whole position. When the stop-edit
        budget is spent the change is recorded as ``pending`` (deferred, with an alert) and the
        next pass makes it.

        A level already at or through the mark closes the position at market (governance's
        ladder may decide that); with ``close_if_through`` False it is refused instead, naming
        the level, the mark and the side, and nothing changes (a stop set by hand)."""
        now = now or self._clock.now()
        line, level = self._target(account_id, instrument_key, slot, level, close_if_through)
        key = protection_key(account_id, instrument_key, slot)
        size = abs(line.qty)
        p = self._protections.get(key)
        if p is None or p.direction != (1 if line.qty > 0 else -1):
            if p is not None:
                self._release(p, now)
            return self._place(self._fresh(line, level, reason, now), now, intent, precheck)
        if (
            p.level == level
            and p.qty == size
            and p.pending is None
            and self._stop_state(p) is not None
        ):
            return p
        if not self._spend(now, critical=False):
            return self._defer(p, level, size, now, reason, intent)
        return self._change(p.evolve(pending=None), level, size, now, reason, intent, precheck)

    def _target(
        self,
        account_id: str,
        instrument_key: str,
        slot: PositionSide,
        level: Decimal,
        close_if_through: bool,
    ) -> tuple[PositionLine, Decimal]:
        """The open position a stop is set for and the level on its grid; refuses a bad level
        (and, unless ``close_if_through``, one at or through the mark)."""
        if not level.is_finite() or level <= 0:
            raise InvalidValue(f"must be a positive price, got {level}", field="level")
        key = protection_key(account_id, instrument_key, slot)
        line = self.positions().get(key)
        if line is None:
            raise NotFound(f"no open protected position {key}", field="position")
        level = self._oms.instrument(instrument_key).check_price(level, "level")
        if not close_if_through:
            self.check_level(instrument_key, 1 if line.qty > 0 else -1, level, what=key)
        return line, level

    def mark(self, instrument_key: str) -> Decimal | None:
        """The current mark of an instrument (price currency; None when none is known)."""
        return self._marks(instrument_key)

    def check_level(
        self,
        instrument_key: str,
        direction: int,
        level: Decimal,
        field: str = "level",
        what: str = "",
    ) -> None:
        """Refuse (naming ``field``) a protective stop ``level`` (price currency) at or through
        the current mark for a position of ``direction`` (+1 long, −1 short): it would close
        the position at market at once. ``what`` names the position in the message. No mark
        known: nothing to check against (the venue decides)."""
        mark = self._marks(instrument_key)
        if mark is None:
            return
        why = through_error(direction, level, mark)
        if why is not None:
            raise InvalidValue(f"{what + ': ' if what else ''}{why}", field=field)

    def modify_stops(
        self,
        level: Decimal,
        account_id: str | None = None,
        symbol: str | None = None,
        now: datetime | None = None,
        *,
        close_if_through: bool = False,
    ) -> list[Protection]:
        """Batch stop modify (seed 004 §1.4): the stop of every open position in scope to
        ``level``. Every position is checked first (a level at or through the mark of one of
        them refuses the batch unless ``close_if_through``), so bad input changes nothing."""
        open_keys = self.positions()
        scope = [
            p
            for p in self.protections()
            if p.key in open_keys
            and (account_id is None or p.account_id == account_id)
            and (symbol is None or p.symbol == symbol)
        ]
        for p in scope:
            self._target(p.account_id, p.instrument_key, p.slot, level, close_if_through)
        return [
            self.set_stop(
                p.account_id,
                p.instrument_key,
                p.slot,
                level,
                reason="batch stop modify",
                now=now,
            )
            for p in scope
        ]

    # ------------------------------------------------------------------ releasing

    def _release(
        self, p: Protection, now: datetime, why: str = "the position is flat"
    ) -> ProtectionReport:
        refs = [p.order_id] if p.order_id else []
        if p.pending is not None and p.pending.intent is not None:
            refs.append(p.pending.intent.intent_id)
        for ref in refs:
            order = self._oms.get(ref)
            if order is not None and not order.status.terminal:
                self._oms.cancel(order.client_order_id, "position closed", now)
        if p.cond_id and self._cond.get(p.cond_id) is not None:
            self._cond.cancel(p.cond_id, "position closed")
        self._cond.expire_reduce_only(p.account_id, p.instrument_key, p.slot, keep=p.cond_id)
        self._drop(p, now)
        return ProtectionReport(p.key, Need.RELEASE, "released", why)

    def _orphans(self, now: datetime) -> list[ProtectionReport]:
        """Working protective stops that no protection points at (the superseded stop of a
        replacement a crash interrupted, a stop of a position that is gone): cancelled, with an
        alert."""
        reports = []
        current = {p.order_id for p in self._protections.values() if p.order_id}
        current.update(
            client_id(p.pending.intent.intent_id)
            for p in self._protections.values()
            if p.pending is not None and p.pending.intent is not None
        )
        for order in self._oms.live():
            if order.role is not OrderRole.PROTECTIVE_STOP or order.client_order_id in current:
                continue
            if not order.status.working and order.status is not OrderStatus.PENDING_SUBMIT:
                continue
            self._oms.cancel(order.client_order_id, "orphaned protective stop", now)
            key = order.group or "?"
            stop = f"{order.intent.intent_id} at {order.intent.stop_price} for {order.remaining}"
            self._alert(
                key,
                "orphan_stop_cancelled",
                f"protective stop {stop} was not the stop of any position: cancelled",
                AlertLevel.WARNING,
            )
            reports.append(
                ProtectionReport(
                    key,
                    Need.NONE,
                    "cancelled orphan",
                    order.intent.intent_id,
                    DriftKind.ORPHAN_STOP,
                    "not the stop of any position",
                    f"working stop {stop}",
                )
            )
        return reports

    def covered(self) -> dict[str, bool]:
        """For every open protected position: is a working stop (or an armed guard) covering
        its whole size? (What the fault tests assert after every crash.)"""
        out = {}
        for key, line in self.positions().items():
            p = self._protections.get(key)
            state = self._stop_state(p)
            ok = p is not None and (
                (p.mode is ProtectionMode.GUARD and self._guard_armed(p) and p.qty >= abs(line.qty))
                or (
                    p.mode is ProtectionMode.NATIVE
                    and state is not None
                    and state.status is not None
                    and state.status.working
                    and state.remaining >= abs(line.qty)
                )
            )
            out[key] = ok
        return out


def _generation_cursor(key: str) -> str:
    return f"protection:generation:{key}"


def stop_orders(orders: Sequence[Order]) -> list[Order]:
    """The protective stops among ``orders``."""
    return [o for o in orders if o.role is OrderRole.PROTECTIVE_STOP]


__all__ = [
    "AlertSink",
    "MarkSource",
    "ProtectionReport",
    "ProtectionSupervisor",
    "SupervisorConfig",
    "stop_orders",
]
