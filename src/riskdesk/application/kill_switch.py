"""Carrying out the graded kill switch on working orders and positions, through the order
manager (every action journaled like any order).

* **HALTED** (and FLATTEN): every working order that adds exposure — an entry: not reduce-only,
  role ``entry`` or ``other`` — is cancelled. Reduce-only orders (protective stops, take-profits,
  exits) stay: a position is never stripped of its stop. So is every emulated condition
  (``application.conditionals``) whose order would open or add to a position (a price-above
  buy, a breakout stop entry, an OTO child opening another instrument): it is cancelled in the
  condition journal with the kill switch's reason, not left armed to be refused when it fires.
  Conditions that protect a position (stop-loss, take-profit, trailing stop that reduce it,
  reduce-only exits, a bracket's exits) stay armed (``domain.risk.halt``); the waiting exits of
  an entry the switch cancelled end with it.
* **FLATTEN**: additionally every position on the connected venue gets a market close
  (reduce-only where the venue takes the flag, source ``kill_switch``), largest risk
  contribution first (``domain.risk.flatten``). The protective stops stay in place until the
  closes fill; the supervisor releases them once a position is flat. The close's intent id
  derives from the moment FLATTEN was entered, so enforcing again (every engine step, a second
  ``riskdesk risk flatten``) never sends a second close while one is working; a close that ended
  without closing its position (rejected, expired) is sent again under a new id, at most
  ``attempts`` times in all. A position on another venue cannot be closed from here: it is
  reported, never silently skipped.

Pre-trade risk accepts these closes in FLATTEN (and the supervisor's stops in HALTED and
FLATTEN); see ``domain.risk.trading_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.oms import OrderManager
from riskdesk.application.risk_service import FlattenLine, RiskService, Valuation
from riskdesk.domain.conditional import ConditionalOrder, ConditionStatus
from riskdesk.domain.errors import RiskdeskError
from riskdesk.domain.order_lifecycle import Order, OrderRole
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.risk.aggregates import RiskBook
from riskdesk.domain.risk.halt import entry_conditions
from riskdesk.domain.risk.trading_state import TradingState, TradingStatus
from riskdesk.ports.clock import Clock

#: Roles of orders that add exposure: cancelled on HALTED.
ENTRY_ROLES = (OrderRole.ENTRY, OrderRole.OTHER)


@dataclass(frozen=True, slots=True)
class Enforcement:
    """What enforcing a trading state did: entries cancelled, closes sent (FLATTEN), the plan
    they came from, what could not be done here (with why), and the entry conditions disarmed
    (cancelled in the condition journal)."""

    state: TradingState
    cancelled: list[Order] = field(default_factory=list)
    closes: list[Order] = field(default_factory=list)
    plan: list[FlattenLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    disarmed: list[ConditionalOrder] = field(default_factory=list)

    @property
    def acted(self) -> bool:
        """Whether any order was cancelled or sent."""
        return bool(self.cancelled or self.closes)


class KillSwitch:
    """Enforces the persisted trading state (see the module docstring)."""

    def __init__(
        self,
        risk: RiskService,
        orders: OrderManager,
        clock: Clock,
        attempts: int | None = None,
        conditionals: ConditionalEngine | None = None,
    ) -> None:
        self._risk = risk
        self._orders = orders
        self._clock = clock
        self._conditionals = conditionals
        self.attempts = attempts if attempts is not None else risk.config.policy.flatten_attempts

    @property
    def scope(self) -> str:
        """The risk book of the connected venue: the one whose state this switch carries out."""
        return self._risk.split.book_of(self._orders.broker.venue)

    def enforce(
        self,
        status: TradingStatus | None = None,
        now: datetime | None = None,
        book: RiskBook | None = None,
        valuation: Valuation | None = None,
    ) -> Enforcement:
        """Cancel the working entries and disarm the entry conditions in HALTED and FLATTEN;
        in FLATTEN also close every position. ACTIVE and REDUCING need nothing (the pre-trade
        checks do the rest). The state is the connected venue's book's (``domain.risk.books``:
        the paper book on the paper venue). ``book``: that book's current risk book (its
        positions tell an entry condition from a protective one; built when needed)."""
        status = status or self._risk.status(self.scope)
        now = now or self._clock.now()
        state = status.state
        if state < TradingState.HALTED:
            return Enforcement(state)
        reason = f"kill switch: trading is {state.label}"
        cancelled = self.cancel_entries(reason, now)
        disarmed = self.disarm_entries(reason, now, book)
        if state is not TradingState.FLATTEN:
            return Enforcement(state, cancelled, disarmed=disarmed)
        closes, plan, skipped = self._flatten(status, now, book, valuation)
        return Enforcement(state, cancelled, closes, plan, skipped, disarmed)

    def cancel_entries(self, reason: str, now: datetime) -> list[Order]:
        """Cancel every working order that adds exposure (returns them as the venue left them:
        one may have filled first)."""
        done = []
        for order in self._orders.live():
            if order.intent.reduce_only or order.role not in ENTRY_ROLES:
                continue
            done.append(self._orders.cancel(order.client_order_id, reason, now))
        return done

    def disarm_entries(
        self, reason: str, now: datetime, book: RiskBook | None = None
    ) -> list[ConditionalOrder]:
        """Cancel every live emulated condition whose order would open or add to a position
        (journaled with ``reason``); protective ones stay armed (see the module docstring). A
        waiting child whose parent order ended without a fill (the entry this switch just
        cancelled) can never arm: it is cancelled too."""
        if self._conditionals is None:
            return []
        live = self._conditionals.live()
        parents: dict[str, OrderIntent] = {}
        orphans: list[ConditionalOrder] = []
        for cond in live:
            if cond.status is not ConditionStatus.WAITING or not cond.parent:
                continue
            parent = self._orders.get(cond.parent)
            if parent is None:
                continue
            if not parent.status.terminal:
                parents[cond.parent] = parent.intent
            elif parent.filled_qty == 0:
                orphans.append(cond)
        candidates = [c for c in live if not c.intent.reduce_only and c not in orphans]
        entries: list[ConditionalOrder] = []
        if candidates:
            if book is None or book.scope != self.scope:
                book = self._risk.risk_book(now, record=False, scope=self.scope)
            positions = book.positions
            entries = entry_conditions(candidates, positions, parents)
        done = [self._conditionals.cancel(c.cond_id, reason) for c in entries]
        done += [
            self._conditionals.cancel(
                c.cond_id, f"{reason}: its parent {c.parent} ended without a fill"
            )
            for c in orphans
        ]
        return done

    def _flatten(
        self,
        status: TradingStatus,
        now: datetime,
        book: RiskBook | None,
        valuation: Valuation | None,
    ) -> tuple[list[Order], list[FlattenLine], list[str]]:
        run = (status.since or now).strftime("%Y%m%dT%H%M%S%f")
        if valuation is not None and valuation.book != self.scope:
            valuation = None
        plan = self._risk.flatten_plan(now, run, book, valuation, self.scope)
        venue = self._orders.broker.venue
        closes: list[Order] = []
        skipped: list[str] = []
        for line in plan:
            intent = line.intent
            what = (
                f"{intent.account_id} {intent.venue}:{intent.symbol} ({intent.position_side.value})"
            )
            if intent.venue != venue:
                skipped.append(f"{what}: not on the connected venue {venue}; close it there")
                continue
            for attempt in range(1, self.attempts + 1):
                intent_id = intent.intent_id if attempt == 1 else f"{intent.intent_id}#{attempt}"
                existing = self._orders.get(intent_id)
                if existing is None:
                    try:
                        closes.append(
                            self._orders.submit(
                                replace(intent, intent_id=intent_id, created_at=now),
                                role=OrderRole.CLOSE,
                                now=now,
                            )
                        )
                    except RiskdeskError as exc:
                        skipped.append(f"{what}: close not sent: {exc}")
                    break
                if not existing.status.terminal:
                    skipped.append(f"{what}: close {intent_id} already working")
                    break
            else:
                skipped.append(
                    f"{what}: {self.attempts} close orders ended without closing it; close it by hand"
                )
        return closes, plan, skipped


__all__ = ["ENTRY_ROLES", "Enforcement", "KillSwitch"]
