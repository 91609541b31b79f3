"""Carrying out the graded kill switch on working orders and positions, through the order
manager (every action journaled like any order).

* **HALTED** (and FLATTEN): every working order that adds exposure — an entry: not reduce-only,
  role ``entry`` or ``other`` — is cancelled. Reduce-only orders (protective stops, take-profits,
  exits) stay: a position is never stripped of its stop.
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

from riskdesk.application.oms import OrderManager
from riskdesk.application.risk_service import FlattenLine, RiskService, Valuation
from riskdesk.domain.errors import RiskdeskError
from riskdesk.domain.order_lifecycle import Order, OrderRole
from riskdesk.domain.risk.aggregates import RiskBook
from riskdesk.domain.risk.trading_state import TradingState, TradingStatus
from riskdesk.ports.clock import Clock

#: Roles of orders that add exposure: cancelled on HALTED.
ENTRY_ROLES = (OrderRole.ENTRY, OrderRole.OTHER)


@dataclass(frozen=True, slots=True)
class Enforcement:
    """What enforcing a trading state did: entries cancelled, closes sent (FLATTEN), the plan
    they came from, and what could not be done here (with why)."""

    state: TradingState
    cancelled: list[Order] = field(default_factory=list)
    closes: list[Order] = field(default_factory=list)
    plan: list[FlattenLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def acted(self) -> bool:
        """Whether any order was cancelled or sent."""
        return bool(self.cancelled or self.closes)


class KillSwitch:
    """Enforces the persisted trading state (see the module docstring)."""

    def __init__(
        self, risk: RiskService, orders: OrderManager, clock: Clock, attempts: int | None = None
    ) -> None:
        self._risk = risk
        self._orders = orders
        self._clock = clock
        self.attempts = attempts if attempts is not None else risk.config.policy.flatten_attempts

    def enforce(
        self,
        status: TradingStatus | None = None,
        now: datetime | None = None,
        book: RiskBook | None = None,
        valuation: Valuation | None = None,
    ) -> Enforcement:
        """Cancel the working entries in HALTED and FLATTEN; in FLATTEN also close every
        position. ACTIVE and REDUCING need nothing (the pre-trade checks do the rest)."""
        status = status or self._risk.status()
        now = now or self._clock.now()
        state = status.state
        if state < TradingState.HALTED:
            return Enforcement(state)
        cancelled = self.cancel_entries(f"kill switch: trading is {state.label}", now)
        if state is not TradingState.FLATTEN:
            return Enforcement(state, cancelled)
        closes, plan, skipped = self._flatten(status, now, book, valuation)
        return Enforcement(state, cancelled, closes, plan, skipped)

    def cancel_entries(self, reason: str, now: datetime) -> list[Order]:
        """Cancel every working order that adds exposure (returns them as the venue left them:
        one may have filled first)."""
        done = []
        for order in self._orders.live():
            if order.intent.reduce_only or order.role not in ENTRY_ROLES:
                continue
            done.append(self._orders.cancel(order.client_order_id, reason, now))
        return done

    def _flatten(
        self,
        status: TradingStatus,
        now: datetime,
        book: RiskBook | None,
        valuation: Valuation | None,
    ) -> tuple[list[Order], list[FlattenLine], list[str]]:
        run = status.since.strftime("%Y%m%dT%H%M%S%f")
        plan = self._risk.flatten_plan(now, run, book, valuation)
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
