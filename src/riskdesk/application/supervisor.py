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
* **release** it when the position is flat, and cancel orphaned stops (left by a replacement a
  crash interrupted).

Moving or resizing a stop never leaves the position unprotected: a native amend where the venue
has one (atomic); otherwise the new stop is placed first and the old one cancelled only once the
new one works — if the new one fails the old one stays. A stop already through the price is not
placed (the venue would refuse it or fill it at once): the position is closed at market instead.

Stop edits are budgeted against the venue's rate limit (a token bucket of
``stop_edits_per_second`` / ``stop_edit_burst``): tightening a stop or shrinking it waits for the
next pass when the budget is spent; placing, re-arming and growing a stop never wait.
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
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType, TriggerPrice
from riskdesk.domain.protection import (
    Need,
    Protection,
    ProtectionMode,
    StopState,
    crossed,
    guard_condition,
    protection_key,
    review,
    stop_intent,
)
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

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form."""
        return {
            "key": self.key,
            "need": self.need.value,
            "action": self.action,
            "detail": self.detail,
        }


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

    def _drop(self, key: str) -> None:
        with self._journal() as uow:
            uow.oms.delete_protections([key])
            uow.commit()
        self._protections.pop(key, None)

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
        """Open positions that must be protected, by protection key."""
        return {
            protection_key(line.account_id, line.instrument_key, line.slot): line
            for line in self._oms.ledger.open_positions()
            if line.qty != 0 and self._protected(line)
        }

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

    def review(self, now: datetime | None = None) -> list[ProtectionReport]:
        """One pass over every position and protection (see the module docstring)."""
        now = now or self._clock.now()
        reports: list[ProtectionReport] = []
        positions = self.positions()
        for key, line in positions.items():
            p = self._protections.get(key)
            need = review(p, line.qty, self._stop_state(p), self._guard_armed(p))
            if need is Need.NONE:
                continue
            reports.append(self._act(need, key, line, p, now))
        for key in [k for k in self._protections if k not in positions]:
            reports.append(self._release(self._protections[key], now))
        reports.extend(self._orphans(now))
        return reports

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
            self.deferred += 1
            return ProtectionReport(
                key,
                need,
                "deferred",
                "stop-edit budget spent; the oversized reduce-only stop still covers the position",
            )
        done = self._change(p, p.level, size, now, reason="resized to the position")
        return ProtectionReport(key, need, "resized", f"{p.qty} → {done.qty}")

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
            reason=why,
        )

    # ------------------------------------------------------------------ budget

    def _spend(self, now: datetime, critical: bool) -> bool:
        if self._budget.take(now):
            return True
        return critical  # protection first: critical edits go anyway (the venue may refuse)

    # ------------------------------------------------------------------ placing

    def _place(
        self,
        p: Protection,
        now: datetime,
        intent: OrderIntent | None = None,
        precheck: Decision | None = None,
    ) -> Protection:
        """Place a stop for ``p`` (native, else guard); close at market when already crossed."""
        mark = self._marks(p.instrument_key)
        if mark is not None and crossed(p.direction, p.level, mark):
            return self._close_crossed(p, mark, now)
        if not self._oms.broker.capabilities().native_stop:
            return self._guard(p, now, "the venue has no stop orders")
        self._spend(now, critical=True)
        gen = p.generation + 1
        order_intent = stop_intent(p, gen, now)
        if intent is not None:
            order_intent = replace(intent, qty=p.qty, stop_price=p.level, reduce_only=True)
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
        gen = p.generation + 1
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
            )
        )

    def _close_crossed(self, p: Protection, mark: Decimal, now: datetime) -> Protection:
        intent = OrderIntent(
            intent_id=f"stopout:{p.key}:{p.generation + 1}",
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
                generation=p.generation + 1,
                order_id=None,
                cond_id=None,
                updated_at=now,
                reason="stop crossed: closed at market",
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
        """Move / resize without a gap: amend, guard modify, or new-first replacement."""
        target = p.evolve(level=level, qty=qty, updated_at=now, reason=reason)
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
        gen = p.generation + 1
        new_intent = stop_intent(target, gen, now)
        if intent is not None:
            new_intent = replace(intent, qty=qty, stop_price=level, reduce_only=True)
        new = self._oms.submit(
            new_intent, role=OrderRole.PROTECTIVE_STOP, group=p.key, precheck=precheck, now=now
        )
        if not (new.status.working and self._verified(new)):
            self._alert(
                p.key,
                "stop_replace_failed",
                f"the new stop of {p.key} at {level} was not taken ({new.status.value}: {new.reason}); the old stop at {p.level} stays",
            )
            return p
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
    ) -> Protection:
        """Put the stop of an open position at ``level`` (governance's PLACE/MOVE_STOP, the
        batch stop modify, the CLI). The stop covers the whole position."""
        now = now or self._clock.now()
        if not level.is_finite() or level <= 0:
            raise InvalidValue(f"must be a positive price, got {level}", field="level")
        key = protection_key(account_id, instrument_key, slot)
        line = self.positions().get(key)
        if line is None:
            raise NotFound(f"no open protected position {key}", field="position")
        inst = self._oms.instrument(instrument_key)
        level = inst.check_price(level, "level")
        size = abs(line.qty)
        p = self._protections.get(key)
        if p is None or p.direction != (1 if line.qty > 0 else -1):
            if p is not None:
                self._release(p, now)
            return self._place(self._fresh(line, level, reason, now), now, intent, precheck)
        if p.level == level and p.qty == size and self._stop_state(p) is not None:
            return p
        if not self._spend(now, critical=False):
            self.deferred += 1
            return p
        return self._change(p, level, size, now, reason, intent, precheck)

    def modify_stops(
        self,
        level: Decimal,
        account_id: str | None = None,
        symbol: str | None = None,
        now: datetime | None = None,
    ) -> list[Protection]:
        """Batch stop modify (seed 004 §1.4): every protection in scope to ``level``."""
        out = []
        for p in self.protections():
            if (account_id is None or p.account_id == account_id) and (
                symbol is None or p.symbol == symbol
            ):
                out.append(
                    self.set_stop(
                        p.account_id,
                        p.instrument_key,
                        p.slot,
                        level,
                        reason="batch stop modify",
                        now=now,
                    )
                )
        return out

    # ------------------------------------------------------------------ releasing

    def _release(self, p: Protection, now: datetime) -> ProtectionReport:
        if p.order_id:
            order = self._oms.get(p.order_id)
            if order is not None and not order.status.terminal:
                self._oms.cancel(order.client_order_id, "position closed", now)
        if p.cond_id and self._cond.get(p.cond_id) is not None:
            self._cond.cancel(p.cond_id, "position closed")
        self._drop(p.key)
        return ProtectionReport(p.key, Need.RELEASE, "released", "the position is flat")

    def _orphans(self, now: datetime) -> list[ProtectionReport]:
        """Working protective stops that no protection points at (a replacement interrupted by
        a crash, a stop of a position that is gone)."""
        reports = []
        current = {p.order_id for p in self._protections.values() if p.order_id}
        for order in self._oms.live():
            if order.role is not OrderRole.PROTECTIVE_STOP or order.client_order_id in current:
                continue
            if not order.status.working and order.status is not OrderStatus.PENDING_SUBMIT:
                continue
            self._oms.cancel(order.client_order_id, "orphaned protective stop", now)
            reports.append(
                ProtectionReport(
                    order.group or "?", Need.NONE, "cancelled orphan", order.intent.intent_id
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
