"""The demo's governed paper trading: paper twins of the demo's perpetual positions traded by the
engine loop of ``riskdesk run --replay`` (governance plans → pre-trade risk → order manager →
paper venue → fills → book) on the bundled bars, stepped in time with the demo's replay.

What the demo shows is what was executed: each planned action with the pre-trade decision and
what the order path did with it (the fill of a market order, the stop as the supervisor placed
or moved it at the venue), the entry fills, the stop fills and the supervisor's protection
passes. Nothing is assumed to fill.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from riskdesk.application.book_service import BookService
from riskdesk.application.engine import BarFeed, GovernancePlanSource, StepReport, TradingEngine
from riskdesk.application.governance_service import CheckedPlan, GovernanceService
from riskdesk.domain.fills import Fill
from riskdesk.domain.governance.plan import ActionKind
from riskdesk.domain.matching import Candle
from riskdesk.domain.order_lifecycle import Order, OrderRole
from riskdesk.domain.values import Side
from riskdesk.ports.market_data import PaperEntry

_STOPS = (ActionKind.PLACE_STOP, ActionKind.MOVE_STOP)


@dataclass(frozen=True, slots=True)
class PaperDesk:
    """The paper twins' engine (built by bootstrap): ``prepare`` registers and funds the paper
    accounts; ``plans`` is the governance plan source inside ``engine``."""

    description: str
    book: BookService
    engine: TradingEngine
    feed: BarFeed
    governance: GovernanceService
    plans: GovernancePlanSource
    accounts: frozenset[str]
    entries: Sequence[PaperEntry]
    prepare: Callable[[], None]
    intents: Mapping[str, PaperEntry] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaperEvent:
    """One row of the governed paper trading, in time order.

    ``kind`` is a plan action (PLACE_STOP, MOVE_STOP, REDUCE, CLOSE, ADD, ALERT) or an event of
    the order path (ENTRY FILL, STOP FILL, PROTECTION). Stop prices and sizes are kept apart:
    ``stop_from``/``stop_to`` are stop trigger prices, ``size_from``/``size_to`` position sizes
    (contracts); ``qty`` the order size; ``result`` what the order path did (a fill with its
    price, the stop at the venue, a refusal); ``reason`` the rule's explanation."""

    ts: datetime
    account_id: str
    symbol: str
    side: str
    kind: str
    stop_from: Decimal | None = None
    stop_to: Decimal | None = None
    size_from: Decimal | None = None
    size_to: Decimal | None = None
    qty: Decimal | None = None
    result: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (decimals as exact strings)."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = (
                str(value)
                if isinstance(value, Decimal)
                else value.isoformat()
                if isinstance(value, datetime)
                else value
            )
        return out


@dataclass(slots=True)
class PaperReport:
    """What the paper twins did: the rows, the plans (with their pre-trade decisions), the
    engine steps run, any error the engine reported, and each account's result."""

    description: str
    entries: Sequence[PaperEntry]
    events: list[PaperEvent] = field(default_factory=list)
    plans: list[CheckedPlan] = field(default_factory=list)
    steps: int = 0
    errors: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)


class PaperRun:
    """Steps a :class:`PaperDesk` along with the demo's replay (one step per bar, at its close)
    and records what happened; steps after every twin is flat are skipped."""

    def __init__(self, desk: PaperDesk) -> None:
        self._desk = desk
        self._done = False
        self.report = PaperReport(desk.description, desk.entries)
        self._last_entry = max((e.at for e in desk.entries), default=None)
        self._twins = {intent: f"paper twin of {e.twin_of}" for intent, e in desk.intents.items()}

    def start(self) -> list[tuple[datetime, datetime, Mapping[str, Candle]]]:
        """Prepare the accounts; the steps as ``(close time, bar open, candles)``."""
        self._desk.prepare()
        steps = []
        for bar, candles in self._desk.feed.steps(None, None):
            close = max(c.ts + c.length for c in candles.values())
            steps.append((close, bar, candles))
        return steps

    def step(self, bar: datetime, candles: Mapping[str, Candle]) -> None:
        """One engine step (nothing once every twin has closed)."""
        if self._done:
            return
        desk = self._desk
        step = desk.engine.step(bar, candles)
        self.report.steps += 1
        self.report.errors.extend(step.errors)
        last = desk.plans.last_result
        checked = list(last.plans) if last is not None and last.as_of == step.now else []
        self.report.plans.extend(checked)
        self.report.events.extend(_events(step, checked, desk.accounts, self._twins))
        if self._last_entry is not None and step.now >= self._last_entry:
            self._done = not desk.governance.states() and not any(
                line.account_id in desk.accounts
                for line in desk.engine.oms.orders.ledger.open_positions()
            )

    def finish(self, now: datetime) -> PaperReport:
        """The report, with each twin account's realized P&L from the book."""
        for account in sorted(self._desk.accounts):
            summary = self._desk.book.report(account, now).summary
            self.report.results.append(
                f"{account}: realized P&L {summary.realized_pnl:,.2f} "
                f"{summary.reporting_currency} (gross of fees), "
                f"{summary.position_count} position(s) open"
            )
        return self.report


def _events(
    step: StepReport,
    plans: Sequence[CheckedPlan],
    accounts: frozenset[str],
    twins: Mapping[str, str],
) -> list[PaperEvent]:
    """Rows of one engine step: fills the order path made outside plans (entries, stop fills),
    every planned action with what became of it, the supervisor's protection passes."""
    fills: dict[str, list[tuple[Order, Fill]]] = {}
    for order, fill in step.fills:
        fills.setdefault(order.intent.intent_id, []).append((order, fill))
    stops = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in step.stops}
    planned = {a.intent_id for c in plans for a in c.plan.actions if a.intent_id is not None}
    out: list[PaperEvent] = []
    for intent_id, got in fills.items():
        if intent_id in planned:
            continue
        for order, fill in got:
            if order.intent.account_id not in accounts:
                continue
            stop = order.role is OrderRole.PROTECTIVE_STOP
            kind = "STOP FILL" if stop else f"{order.role.value.upper()} FILL"
            if stop:
                why = (
                    f"the protective stop {order.intent.stop_price:,f} triggered on the "
                    f"{order.intent.trigger.value} price"
                )
            else:
                why = twins.get(intent_id, f"order {intent_id}")
            out.append(
                PaperEvent(
                    ts=step.now,
                    account_id=order.intent.account_id,
                    symbol=order.intent.symbol,
                    side="long" if (fill.side is Side.BUY) != stop else "short",
                    kind=kind,
                    qty=fill.qty,
                    result=f"{fill.side.value} {fill.qty.normalize():f} @ {fill.price:,f}",
                    reason=why,
                )
            )
    for checked in plans:
        plan = checked.plan
        for action in plan.actions:
            check = checked.check_of(action.intent_id)
            if check is None:
                result = ""
            elif not check.approved:
                result = f"refused by pre-trade risk [{check.code}]: {check.reason}"
            elif action.kind in _STOPS:
                key = f"{plan.account_id}|{plan.instrument_key}|"
                done = next((v for k, v in stops.items() if k.startswith(key)), "")
                result = done.split("; ", 1)[0] or "approved"
            else:
                got = fills.get(action.intent_id or "", [])
                result = (
                    "; ".join(f"filled {f.qty.normalize():f} @ {f.price:,f}" for _, f in got)
                    or "approved, not filled yet"
                )
            stop = action.kind in _STOPS
            out.append(
                PaperEvent(
                    ts=step.now,
                    account_id=plan.account_id,
                    symbol=checked.symbol,
                    side=checked.side,
                    kind=action.kind.value,
                    stop_from=action.old_value if stop else None,
                    stop_to=action.new_value if stop else None,
                    size_from=None if stop else action.old_value,
                    size_to=None if stop else action.new_value,
                    qty=action.qty,
                    result=result,
                    reason=action.reason,
                )
            )
    for p in step.protection:
        account, key, _slot = p.key.split("|")
        if account not in accounts:
            continue
        out.append(
            PaperEvent(
                ts=step.now,
                account_id=account,
                symbol=key.split(":", 1)[1],
                side="",
                kind="PROTECTION",
                result=p.action,
                reason=p.detail,
            )
        )
    return out


__all__ = ["PaperDesk", "PaperEvent", "PaperReport", "PaperRun"]
