"""Risk on the command line's mark updates and state changes: what ``riskdesk prices set``,
``riskdesk paper quote``, ``riskdesk risk halt`` and ``riskdesk risk flatten`` run after they
change marks or the trading state, so that monitors and the kill switch act by themselves
outside the engine loop too. Every book is monitored; the state carried out on the paper venue
is the paper book's (``domain.risk.books``).

The order-management services (the paper venue's file, the order journal) are built only when
there is something to act on: working orders or live emulated conditions in the journal, or
FLATTEN with positions on the paper venue. A position on another venue is reported (it cannot
be closed from here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from riskdesk.application.engine import Oms
from riskdesk.application.facade import Application
from riskdesk.application.kill_switch import Enforcement, KillSwitch
from riskdesk.application.risk_service import MarkUpdate
from riskdesk.domain.conditional import ConditionStatus
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.risk.aggregates import RiskBook
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.ports.store import UnitOfWorkFactory

_WORKING = tuple(s for s in OrderStatus if not s.terminal)
_LIVE_CONDITIONS = (ConditionStatus.ARMED, ConditionStatus.WAITING)


@dataclass(frozen=True, slots=True)
class RiskUpdate:
    """A mark update's risk work: the monitor run and what the kill switch did."""

    update: MarkUpdate
    enforcement: Enforcement | None


def _needs_oms(app: Application, store: UnitOfWorkFactory, venue: str, state: TradingState) -> bool:
    with store() as uow:
        if uow.oms.orders(_WORKING, limit=1) or uow.oms.conditionals(_LIVE_CONDITIONS):
            return True
    if state is not TradingState.FLATTEN:
        return False
    return any(v.venue == venue for v in app.book.report().positions)


def enforce_state(
    app: Application,
    store: UnitOfWorkFactory,
    venue: str,
    oms: Oms | None = None,
    now: datetime | None = None,
    book: RiskBook | None = None,
    scope: str | None = None,
) -> Enforcement | None:
    """Carry out a book's persisted trading state (``scope``; default the paper venue's book)
    on the paper venue (HALTED: cancel working entries and disarm entry conditions; FLATTEN:
    also close every position), then sync and run the protection pass. None when the state
    asks for nothing (ACTIVE, REDUCING). Another book's orders and positions are not on this
    venue: in FLATTEN its positions are reported to be closed where they are.
    ``book``: the risk book just built, if any (else built when needed)."""
    mine = app.risk.split.book_of(venue)
    scope = mine if scope is None else scope
    status = app.risk.status(scope)
    if status.state < TradingState.HALTED:
        return None
    if scope != mine or (
        oms is None and not (app.oms.built or _needs_oms(app, store, venue, status.state))
    ):
        skipped = []
        if status.state is TradingState.FLATTEN:
            skipped = [
                f"{line.intent.account_id} {line.intent.venue}:{line.intent.symbol}: not on the "
                f"connected venue {venue}; close it there"
                for line in app.risk.flatten_plan(now, scope=scope)
            ]
        return Enforcement(status.state, skipped=skipped)
    services = oms or app.oms.get()
    kill_switch = KillSwitch(
        app.risk, services.orders, app.clock, conditionals=services.conditionals
    )
    result = kill_switch.enforce(status, now, book)
    if result.acted:
        services.settle(now)
    return result


def mark_update(
    app: Application,
    store: UnitOfWorkFactory,
    venue: str,
    oms: Oms | None = None,
    now: datetime | None = None,
    detail: bool = False,
) -> RiskUpdate:
    """After marks were recorded: revalue (equity marks), run every monitor (alerts stored,
    de-duplicated; a trigger moves the kill switch), then enforce the resulting state
    (``detail``: every non-OK reading in the result)."""
    update = app.risk.on_mark_update(now, detail)
    enforcement = None
    mine = update.of(app.risk.split.book_of(venue))
    if mine.monitor.state.state >= TradingState.HALTED:
        enforcement = enforce_state(app, store, venue, oms, now, mine.book)
    return RiskUpdate(update, enforcement)


__all__ = ["RiskUpdate", "enforce_state", "mark_update"]
