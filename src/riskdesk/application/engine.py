"""The engine loop of ``riskdesk run``: market data → venue → fills → book → management tick →
plans → risk → order manager → venue, then the protection pass — on the paper venue with
bundled real bars replayed as a live feed (live venues come with a later issue).

One step per bar (all instruments' bars opening at the same time)::

    clock := bar close                       (a bar is known only when it has closed)
    record marks and asset prices            (risk and governance read them)
    venue matches its working orders on the bar (native stops, limits, OCO tie rule)
    sync fills → ledger, orders, conditional children
    risk on the mark update                  (equity marks, risk book, monitors; the kill switch
                                              carried out: entries cancelled, FLATTEN closes)
    emulated conditions evaluated along the bar path → released orders (through risk)
    plan sources (scripted entries, the governance management tick) → plans
    plan orders → order manager (pre-trade decisions of the tick are reused, not re-made);
        stop orders → the supervisor (new stop first, then the old one cancelled)
    sync, then the protection pass (every open position covered)
    trailing extremes journaled; SPOT → FUT transfer check when due
    cursor := this bar                       (a restart resumes with the next bar)

Everything is journaled as it happens, so a killed engine resumes after recovery exactly where
it was; a bar already matched by the venue is ignored if it is fed again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from riskdesk.application.book_service import BookService
from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.governance_service import GovernanceService, TickResult
from riskdesk.application.kill_switch import Enforcement, KillSwitch
from riskdesk.application.oms import OrderManager, PositionLine, SyncResult
from riskdesk.application.recovery import Recovery, RecoveryReport
from riskdesk.application.risk_service import RiskService
from riskdesk.application.supervisor import ProtectionReport, ProtectionSupervisor
from riskdesk.application.transfer_service import TransferService
from riskdesk.domain.conditional import ConditionalOrder
from riskdesk.domain.errors import InvalidValue, NotFound, RiskdeskError
from riskdesk.domain.fills import Fill
from riskdesk.domain.governance import GovernanceState
from riskdesk.domain.matching import Candle
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.protection import Protection
from riskdesk.domain.risk.aggregates import RiskBook
from riskdesk.domain.risk.decisions import Approved, Decision
from riskdesk.domain.risk.monitors import Alert
from riskdesk.domain.risk.trading_state import StateChange, TradingState
from riskdesk.domain.transfers import TransferDecision
from riskdesk.ports.broker import Broker, SimulatedVenue, Sleeper
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import UnitOfWorkFactory

ENGINE_CURSOR = "engine:last_bar"
#: How the venue ends an order nobody asked it to end (the step report lists these).
_ENDED_BY_VENUE = (OrderStatus.CANCELED, OrderStatus.EXPIRED)


# ---------------------------------------------------------------------------------- adapters


class ServiceRiskGate:
    """Pre-trade risk through :class:`RiskService` (every decision stored) over the live risk
    books kept alive between mark updates, so a check costs the same whatever the size of the
    book. A desk split into a paper and a real book (``domain.risk.books``) has one live book
    each: an order is checked against the book of its account and counted there, never in the
    other book (a real order's exposure must not hide from the next real order, nor weigh on
    paper ones).

    * :meth:`adopt` takes the books a mark update rebuilt (the engine does it every step);
    * an approved order that adds exposure is counted at once as pending in its account's book
      (its exposure, reserved margin and risk to the stop), so the next order sees it;
    * :meth:`on_sync` (an order-manager listener) moves filled quantities from pending to the
      positions, books other fills, and releases what is left of an order that ended;
    * :meth:`refresh` forgets the books (a change it cannot follow: the next check rebuilds).
    """

    def __init__(self, risk: RiskService) -> None:
        self._risk = risk
        #: The live risk books by book name (``RiskBook.scope``: ``paper``, ``real`` or ``*``).
        self._books: dict[str, RiskBook] = {}

    @property
    def risk(self) -> RiskService:
        """The risk service behind the gate."""
        return self._risk

    @property
    def book(self) -> RiskBook | None:
        """The primary book's live risk book (the order manager's venue; None until the first
        check or mark update)."""
        return self._books.get(self._risk.split.primary)

    def books(self) -> dict[str, RiskBook]:
        """Every live risk book the gate keeps current, by book name."""
        return dict(self._books)

    def adopt(self, book: RiskBook, *others: RiskBook) -> None:
        """Use ``book`` and ``others`` (just rebuilt by a mark update, one per risk book) from
        now on; a book not among them is forgotten (the next check of it rebuilds it)."""
        self._books = {b.scope: b for b in (book, *others)}

    def refresh(self) -> None:
        """Forget the live risk books, here and in the service (the next check rebuilds them)."""
        self._books = {}
        self._risk.forget_live()

    def _book_for(self, account_id: str, now: datetime | None) -> RiskBook:
        """The live risk book of an account's book (the service's, built when it has none)."""
        name = self._risk.book_of_account(account_id)
        book = self._books.get(name)
        if book is None:
            book = self._books[name] = self._risk.live_book(now, name)
        return book

    def check(self, intent: OrderIntent, now: datetime) -> Decision:
        """Decide and store the decision against the book of the order's account; an approved
        order that adds exposure is counted in that live book until it fills or ends."""
        book = self._book_for(intent.account_id, now)
        result = self._risk.check(intent, book, now)
        decision = result.decision
        if isinstance(decision, Approved):
            limits = self._risk.config.limits
            if not result.reducing and not intent.reduce_only:
                book.add_pending(
                    intent.client_order_id,
                    intent.account_id,
                    intent.instrument_key,
                    intent.position_side.value,
                    float(intent.signed_qty),
                    result.margin,
                    result.trade_risk,
                )
            if intent.source.partition(":")[0] in limits.adjustment_sources:
                book.adjustments_today += 1
                inst = book.instruments.get(intent.instrument_key)
                if inst is not None:
                    book.last_adjustment[inst.asset] = now
        return decision

    def on_sync(self, result: SyncResult) -> None:
        """Keep the live books current with what a sync brought (fills, orders that ended)."""
        if not self._books:
            return
        for order, f in result.fills:
            name = self._risk.book_of_account(order.intent.account_id)
            book = self._books.get(name)
            if book is None or f.instrument_key not in book.instruments:
                # A book the gate does not hold (the service may: it would go stale) or an
                # instrument the book never priced: rebuild on next use.
                self.refresh()
                return
            cid = order.client_order_id
            if not book.fill_pending(cid, float(f.qty)):
                signed = float(f.qty) if f.side.value == "buy" else -float(f.qty)
                book.apply_fill(
                    order.intent.account_id,
                    f.instrument_key,
                    order.intent.position_side.value,
                    signed,
                )
            if order.status.terminal:
                book.drop_pending(cid)
        for order in result.changed:
            if order.status.terminal:
                for book in self._books.values():
                    book.drop_pending(order.client_order_id)
        if result.foreign:
            self.refresh()  # fills of orders the journal does not know: rebuild


class BookLedger:
    """The ledger port over the book service (fills) and the store (open positions).

    ``venue`` is the venue the order manager is connected to: only the positions of accounts on
    that venue are its to manage (the book also holds accounts of other venues — real
    accounts whose fills were imported — which the paper venue can neither protect nor close)."""

    def __init__(
        self, book: BookService, store: UnitOfWorkFactory, venue: str | None = None
    ) -> None:
        self._book = book
        self._store = store
        self._venue = venue

    def apply_fills(self, fills: Sequence[Fill]) -> object:
        """Book fills atomically (idempotent by venue and fill id)."""
        return self._book.apply_fills(list(fills))

    def open_positions(self) -> list[PositionLine]:
        """Every open position of the accounts on the venue (of every account without one)."""
        venue = self._venue
        with self._store() as uow:
            books = [
                uow.books.load(a) for a in uow.accounts.all() if venue is None or a.venue == venue
            ]
        return [
            PositionLine(p.account_id, p.instrument_key, p.slot, p.qty, p.entry_price, p.opened_at)
            for b in books
            for p in b.open_positions()
            if venue is None or p.instrument_key.partition(":")[0] == venue
        ]

    def has_account(self, account_id: str) -> bool:
        """Whether the account exists."""
        with self._store() as uow:
            return uow.accounts.get(account_id) is not None


class StoreAlerts:
    """Alerts into the risk journal (``riskdesk risk alerts`` lists them)."""

    def __init__(self, store: UnitOfWorkFactory) -> None:
        self._store = store

    def __call__(self, alert: Alert) -> None:
        with self._store() as uow:
            uow.risk.add_alerts([alert])
            uow.commit()


# ---------------------------------------------------------------------------------- facade


@dataclass(slots=True)
class Oms:
    """The order-management services, wired together (one per process)."""

    orders: OrderManager
    conditionals: ConditionalEngine
    supervisor: ProtectionSupervisor
    recovery: Recovery
    transfers: TransferService | None
    broker: Broker
    venue: SimulatedVenue | None
    gate: ServiceRiskGate | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def settle(self, now: datetime | None = None) -> list[ProtectionReport]:
        """Sync fills and run the protection pass (after a manual order, a cancel…)."""
        self.orders.sync(now)
        if self.gate is not None:
            self.gate.refresh()
        return self.supervisor.review(now)

    def submit_manual(
        self, intent: OrderIntent, governance: GovernanceService
    ) -> tuple[Order, GovernanceState | None]:
        """A hand-submitted order (``riskdesk orders submit``): an entry with a protective stop
        on a governed account is registered with governance first, so the position it opens is
        governed with the trader's stop as its initial stop (and R from it) instead of being
        adopted later with the profile's own stop rule; then the order is submitted and
        settled. An entry that is refused or ends without a fill fails its governed state.
        Returns the order as it stands after the settle and the governed state (None: not
        governed here)."""
        governed = governance.govern_entry(intent)
        try:
            order = self.orders.submit(intent)
        except Exception:
            if governed is not None:
                governance.entry_ended(intent.intent_id, "the entry order was not accepted")
            raise
        self.settle()
        order = self.orders.get(order.client_order_id) or order
        if governed is not None and order.status.terminal and order.filled_qty == 0:
            governance.entry_ended(
                intent.intent_id, f"the entry order ended {order.status.value} without a fill"
            )
            governed = None
        return order, governed

    def close(self) -> None:
        """Release what the wiring opened (the paper venue's file)."""
        for closer in self.closers:
            closer()


class LazyOms:
    """The order-management services, built on first use (most commands never need the paper
    venue's file or the order journal)."""

    def __init__(self, factory: Callable[[], Oms]) -> None:
        self._factory = factory
        self._built: Oms | None = None

    def get(self) -> Oms:
        """The services (built once)."""
        if self._built is None:
            self._built = self._factory()
        return self._built

    @property
    def built(self) -> bool:
        """Whether :meth:`get` was called."""
        return self._built is not None

    def close(self) -> None:
        """Close what was built."""
        if self._built is not None:
            self._built.close()


# ---------------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class Plan:
    """Orders a plan source wants executed, in order; ``prechecks`` are pre-trade decisions
    already made (and stored) for some of them; ``cancels`` intent ids of orders to cancel
    (protective stops among them are the supervisor's to replace, not to cancel)."""

    plan_id: str
    orders: Sequence[OrderIntent]
    cancels: Sequence[str] = ()
    prechecks: Mapping[str, Decision] = field(default_factory=dict)
    why: str = ""
    #: What each order is for, by intent id (a take-profit, an add-on, a close…); orders not
    #: named are entries, or reductions when reduce-only.
    roles: Mapping[str, OrderRole] = field(default_factory=dict)
    #: Why each order is planned, by intent id (``KIND: reason``); an order not named is
    #: explained by the plan's first line.
    reasons: Mapping[str, str] = field(default_factory=dict)


class PlanSource(Protocol):
    """Anything that plans orders at a moment (the governance tick, scripted entries…)."""

    def plans(self, now: datetime) -> Sequence[Plan]:
        """Plans to execute now."""
        ...


#: The order role of a governance action, by (action kind, rule family): a REDUCE by the
#: take-profit ladders is a take-profit, any other REDUCE a reduction.
_ACTION_ROLES: dict[tuple[str, str], OrderRole] = {
    ("REDUCE", "take_profit"): OrderRole.TAKE_PROFIT,
    ("REDUCE", ""): OrderRole.REDUCE,
    ("CLOSE", ""): OrderRole.CLOSE,
    ("ADD", ""): OrderRole.ENTRY,
}


class GovernancePlanSource:
    """The governance management tick as a plan source. The tick already ran pre-trade risk on
    every planned order and stored the decisions; refused orders were undone in the governance
    state and are not executed; approved ones carry their decision so the order manager does not
    check them twice."""

    def __init__(self, governance: GovernanceService) -> None:
        self._governance = governance
        self.last_plans: int = 0
        self.last_result: TickResult | None = None

    def plans(self, now: datetime) -> list[Plan]:
        """Run one tick and turn its plans into executable plans (``last_result`` keeps the
        tick, with the pre-trade decision on every planned order)."""
        result = self._governance.tick(now)
        self.last_result = result
        out = []
        for checked in result.plans:
            plan = checked.plan
            approved = {c.intent_id: c for c in checked.checks if c.approved}
            orders = [o for o in plan.orders if o.intent_id in approved]
            prechecks: dict[str, Decision] = {
                i: Approved(i, 0, (approved[i].reason,)) for i in approved
            }
            if orders or plan.cancels:
                roles = {
                    a.intent_id: _ACTION_ROLES.get((a.kind.value, a.rule.split(":", 1)[0]))
                    or _ACTION_ROLES.get((a.kind.value, ""), OrderRole.OTHER)
                    for a in plan.actions
                    if a.intent_id is not None
                }
                reasons = {
                    a.intent_id: f"{a.kind.value}: {a.reason}"
                    for a in plan.actions
                    if a.intent_id is not None
                }
                out.append(
                    Plan(plan.plan_id, orders, plan.cancels, prechecks, plan.why, roles, reasons)
                )
        self.last_plans = len(out)
        return out


@dataclass(frozen=True, slots=True)
class ScriptedEntry:
    """An entry a replay places at ``at`` (through pre-trade risk), governed by ``profile``."""

    at: datetime
    intent: OrderIntent
    profile: str | None = None


class ScriptedEntries:
    """Entries at set times (the replay's trading signal); each is registered with governance
    (when given) before it is sent, and never sent twice (its intent id is fixed)."""

    def __init__(
        self,
        entries: Sequence[ScriptedEntry],
        orders: OrderManager,
        governance: GovernanceService | None = None,
    ) -> None:
        self._entries = sorted(entries, key=lambda e: e.at)
        self._orders = orders
        self._governance = governance
        self._ended: set[str] = set()

    def plans(self, now: datetime) -> list[Plan]:
        """Entries due by ``now`` not yet journaled. An entry whose order ended without a fill
        (refused by risk or the venue, cancelled, expired) fails its governance state."""
        due = []
        for e in self._entries:
            if e.at > now:
                continue
            order = self._orders.get(e.intent.intent_id)
            if order is None:
                due.append(e)
            elif (
                self._governance is not None
                and order.status.terminal
                and order.filled_qty == 0
                and e.intent.intent_id not in self._ended
            ):
                self._ended.add(e.intent.intent_id)
                why = f"the entry order ended {order.status.value} without a fill"
                reason = f"{why}: {order.reason}" if order.reason else why
                self._governance.entry_ended(e.intent.intent_id, reason, now)
        out = []
        for e in due:
            intent = e.intent
            if intent.created_at is None:
                intent = replace(intent, created_at=now)
            if self._governance is not None:
                # Already governed after a restart between registration and submission.
                with contextlib.suppress(InvalidValue):
                    self._governance.register_entry(intent, e.profile, now=now)
            out.append(Plan(f"entry:{intent.intent_id}", [intent], why="scripted entry"))
        return out


# ---------------------------------------------------------------------------------- engine


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """``transfer_every``: how often the SPOT → FUT rule is evaluated (None: never)."""

    transfer_every: timedelta | None = timedelta(minutes=5)
    source: str = "replay"


@dataclass(slots=True)
class StepReport:
    """What one engine step did."""

    bar: datetime
    now: datetime
    fills: list[tuple[Order, Fill]] = field(default_factory=list)
    released: list[Order] = field(default_factory=list)
    submitted: list[Order] = field(default_factory=list)
    plans: int = 0
    stops: list[str] = field(default_factory=list)
    protection: list[ProtectionReport] = field(default_factory=list)
    transfer: TransferDecision | None = None
    errors: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    state_change: StateChange | None = None
    enforcement: Enforcement | None = None
    #: Conditions that ended without firing in this step (OCO siblings, guard stops released
    #: with their position, children of an entry that never filled, kill-switch cancels).
    disarmed: list[ConditionalOrder] = field(default_factory=list)
    #: Orders the venue ended by its own rules without a fill (a native OCO sibling cancelled,
    #: a reduce-only order expired with its position, a DAY order at the end of its day).
    venue_ended: list[Order] = field(default_factory=list)


class BarFeed(Protocol):
    """Bars in time order, grouped by open time (``{instrument_key: candle}``)."""

    def steps(
        self, after: datetime | None, until: datetime | None
    ) -> Iterator[tuple[datetime, Mapping[str, Candle]]]:
        """Steps whose bars open after ``after`` and no later than ``until``."""
        ...


def _stop_change(before: Protection | None, after: Protection) -> str:
    """What setting a stop did, in words (the step report)."""
    if after.pending is not None and after.pending.deferred:
        return (
            f"stop move to {after.pending.level} deferred (stop-edit budget spent; retried on "
            f"the next pass), stop stays at {after.level}"
        )
    if before is None:
        return f"stop placed at {after.level} for {after.qty}"
    if before.level != after.level:
        return f"stop moved {before.level} → {after.level} for {after.qty}"
    if before.qty != after.qty:
        return f"stop resized {before.qty} → {after.qty} at {after.level}"
    return f"stop kept at {after.level} for {after.qty}"


class TradingEngine:
    """Runs the loop described in the module docstring."""

    def __init__(
        self,
        oms: Oms,
        book: BookService,
        clock: Clock,
        move_clock: Callable[[datetime], None],
        plan_sources: Sequence[PlanSource] = (),
        assets: Mapping[str, str] | None = None,
        config: EngineConfig | None = None,
        risk: RiskService | None = None,
    ) -> None:
        self.oms = oms
        self._book = book
        self._clock = clock
        self._move = move_clock
        self.plan_sources = list(plan_sources)
        self._assets = dict(assets or {})
        self.config = config or EngineConfig()
        self._last_transfer: datetime | None = None
        gate = oms.gate
        #: Risk on every mark update (monitors, kill switch, live risk book); the gate's.
        self.risk = risk or (gate.risk if gate is not None else None)
        self.kill_switch = (
            KillSwitch(self.risk, oms.orders, clock, conditionals=oms.conditionals)
            if self.risk is not None
            else None
        )
        if gate is not None and gate.on_sync not in oms.orders.listeners:
            oms.orders.listeners.append(gate.on_sync)

    def cursor(self) -> datetime | None:
        """Open time of the last bar fully processed (None before the first)."""
        with self.oms.orders.journal() as uow:
            value = uow.oms.cursor(ENGINE_CURSOR)
        return None if value is None else datetime.fromisoformat(value)

    def recover(self) -> RecoveryReport:
        """Reconcile with the venue before resuming."""
        return self.oms.recovery.run(self._clock.now())

    def step(self, bar: datetime, candles: Mapping[str, Candle]) -> StepReport:
        """One step (see the module docstring)."""
        if not candles:
            raise InvalidValue("a step needs at least one bar", field="candles")
        now = max(c.ts + c.length for c in candles.values())
        self._move(now)
        report = StepReport(bar, now)
        oms = self.oms

        def collect(result: SyncResult) -> None:
            report.fills.extend(result.fills)
            report.venue_ended.extend(
                o for o in result.changed if o.status in _ENDED_BY_VENUE and o.filled_qty == 0
            )

        disarmed = report.disarmed.extend
        oms.orders.listeners.append(collect)
        oms.conditionals.disarm_listeners.append(disarmed)
        try:
            self._step(bar, candles, now, report)
        finally:
            oms.orders.listeners.remove(collect)
            oms.conditionals.disarm_listeners.remove(disarmed)
        return report

    def _step(
        self, bar: datetime, candles: Mapping[str, Candle], now: datetime, report: StepReport
    ) -> None:
        oms = self.oms
        marks = {k: c.close for k, c in candles.items()}
        assets = {self._assets[k]: c.close for k, c in candles.items() if k in self._assets}
        self._book.record_prices(marks, assets, now, self.config.source)
        if oms.venue is not None:
            for key, candle in candles.items():
                oms.venue.on_candle(key, candle)
        oms.orders.sync(now)
        self._risk_tick(now, report)
        for key, candle in candles.items():
            report.released.extend(oms.conditionals.on_candle(key, candle))
        for source in self.plan_sources:
            try:
                plans = source.plans(now)
            except RiskdeskError as exc:
                report.errors.append(f"plan source: {exc}")
                continue
            for plan in plans:
                report.plans += 1
                report.submitted.extend(self.execute(plan, now, report))
        oms.orders.sync(now)
        report.protection = oms.supervisor.review(now)
        oms.conditionals.persist_extremes()
        report.transfer = self._transfers(now)
        with oms.orders.journal() as uow:
            uow.oms.set_cursor(ENGINE_CURSOR, bar.isoformat(), now)
            uow.commit()

    def _risk_tick(self, now: datetime, report: StepReport) -> None:
        """Risk on the mark update: one revaluation (equity marks), the risk book rebuilt and
        handed to the gate, every monitor (de-duplicated alerts; a trigger moves the kill
        switch), then the state carried out: working entries cancelled in HALTED, every
        position closed in FLATTEN (see ``application.kill_switch``)."""
        if self.risk is None:
            return
        try:
            update = self.risk.on_mark_update(now)
        except RiskdeskError as exc:
            report.errors.append(f"risk: {exc}")
            return
        if self.oms.gate is not None:
            # Every book's: a real order checked later must meet the real book of this update.
            self.oms.gate.adopt(
                update.book,
                *(part.book for name, part in update.books.items() if name != update.primary),
            )
        report.alerts = list(update.monitor.alerts)
        report.state_change = update.monitor.change
        if update.monitor.state.state >= TradingState.HALTED and self.kill_switch is not None:
            report.enforcement = self.kill_switch.enforce(
                update.monitor.state, now, update.book, update.valuation
            )

    def execute(self, plan: Plan, now: datetime, report: StepReport | None = None) -> list[Order]:
        """Execute one plan: exits, take-profits and add-ons through the order manager; stops
        through the supervisor; cancels of non-stop orders."""
        oms = self.oms
        sent: list[Order] = []
        stops = [
            o
            for o in plan.orders
            if o.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) and o.reduce_only
        ]
        for intent in plan.orders:
            if intent in stops:
                continue
            role = plan.roles.get(intent.intent_id) or (
                OrderRole.REDUCE if intent.reduce_only else OrderRole.ENTRY
            )
            try:
                sent.append(
                    oms.orders.submit(
                        intent, role=role, precheck=plan.prechecks.get(intent.intent_id), now=now
                    )
                )
            except RiskdeskError as exc:
                if report is not None:
                    report.errors.append(f"{plan.plan_id}: {intent.intent_id}: {exc}")
        for intent in stops:
            assert intent.stop_price is not None  # noqa: S101 - validated stop orders carry it
            key = f"{intent.account_id}|{intent.instrument_key}|{intent.position_side.value}"
            before = oms.supervisor.get(key)
            # This stop's own reason: the plan's first line may explain another order, and a
            # stop the supervisor already holds keeps the reason it was last set with.
            reason = plan.reasons.get(intent.intent_id) or (
                plan.why.splitlines()[0] if plan.why else "plan"
            )
            try:
                after = oms.supervisor.set_stop(
                    intent.account_id,
                    intent.instrument_key,
                    intent.position_side,
                    intent.stop_price,
                    intent=intent,
                    precheck=plan.prechecks.get(intent.intent_id),
                    reason=reason,
                    now=now,
                )
            except NotFound:
                continue  # the position closed within this plan
            except RiskdeskError as exc:
                if report is not None:
                    report.errors.append(f"{plan.plan_id}: stop {intent.intent_id}: {exc}")
                continue
            if report is not None:
                what = _stop_change(before, after)
                report.stops.append(f"{key}: {what} ({after.mode.value}); {reason}")
        for ref in plan.cancels:
            order = oms.orders.get(ref)
            if order is None or order.status.terminal or order.role is OrderRole.PROTECTIVE_STOP:
                continue
            oms.orders.cancel(order.client_order_id, f"plan {plan.plan_id}", now)
        return sent

    def _transfers(self, now: datetime) -> TransferDecision | None:
        every = self.config.transfer_every
        if self.oms.transfers is None or every is None:
            return None
        if self._last_transfer is not None and now - self._last_transfer < every:
            return None
        self._last_transfer = now
        try:
            self.oms.transfers.retry_approved(now)
            return self.oms.transfers.check(now)
        except RiskdeskError:
            return None

    def run(
        self,
        feed: BarFeed,
        *,
        until: datetime | None = None,
        speed: float = 0.0,
        sleeper: Sleeper | None = None,
        stop: Callable[[], bool] = lambda: False,
        on_step: Callable[[StepReport], None] | None = None,
    ) -> int:
        """Replay ``feed`` from the step after the cursor; ``speed`` > 0 waits bar length /
        speed between steps (3600: an hourly bar per second); ``stop`` is asked between steps
        (Ctrl-C). Returns the number of steps run."""
        done = 0
        previous: datetime | None = None
        for bar, candles in feed.steps(self.cursor(), until):
            if stop():
                break
            if speed > 0 and sleeper is not None and previous is not None:
                sleeper.sleep((bar - previous).total_seconds() / speed)
                if stop():  # asked while waiting for the bar
                    break
            report = self.step(bar, candles)
            previous = bar
            done += 1
            if on_step is not None:
                on_step(report)
        return done


__all__ = [
    "ENGINE_CURSOR",
    "BarFeed",
    "BookLedger",
    "EngineConfig",
    "GovernancePlanSource",
    "LazyOms",
    "Oms",
    "Plan",
    "PlanSource",
    "ScriptedEntries",
    "ScriptedEntry",
    "ServiceRiskGate",
    "StepReport",
    "StoreAlerts",
    "TradingEngine",
]
