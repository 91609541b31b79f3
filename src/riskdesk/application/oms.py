"""The order manager: intent journal, pre-trade risk, the order state machine, the broker.

The order path (design guide §3)::

    OrderIntent(intent_id) ─► journal CREATED ─► pre-trade risk ─► journal PENDING_SUBMIT
        ─► broker.submit(client id from intent id) ─► journal the venue's answer ─► fills ─► book

Guarantees, and how they are kept:

* **Nothing is sent that is not journaled.** The order is committed (CREATED, then
  PENDING_SUBMIT) before the broker is called.
* **No order is ever duplicated.** The client order id is derived from the intent id; an intent
  already in the journal is never sent again; after a timeout or a 5xx the venue is asked for
  the client id *before* anything is resent, and only an explicit "never received" allows a
  resend (with the same client id, which the venue would refuse as a duplicate anyway). When
  the lookup itself fails the order stays PENDING_SUBMIT and the next sync or restart resolves it.
* **No fill is lost.** Fills are pulled from the venue after a cursor; each is booked in the
  ledger (idempotent by venue and fill id) and applied to its order (idempotent by the same
  key) before the cursor moves, so a crash anywhere in between replays them harmlessly.
* **Every transition is an event** (:class:`~riskdesk.domain.order_lifecycle.OrderTransitioned`,
  :class:`~riskdesk.domain.order_lifecycle.OrderAmended`), stored with the order in one unit.

Only rate limits and unknown outcomes (timeouts, 5xx) are retried, with exponential backoff
through the injected sleeper. ``checkpoint(name)`` is called at the crash points the fault
tests kill the process at (it does nothing in production).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

from riskdesk.domain.errors import (
    BrokerError,
    InvalidValue,
    NotFound,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    StateError,
    UnknownAccount,
    UnknownInstrument,
)
from riskdesk.domain.events import Event
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.order_lifecycle import (
    TERMINAL,
    Order,
    OrderAmended,
    OrderRole,
    OrderStatus,
    OrderTransitioned,
    advance,
    amend,
    client_id,
    created_event,
    fill,
    late_fill,
    new_order,
    submitted,
    transition,
)
from riskdesk.domain.orders import (
    OrderIntent,
    OrderType,
    TimeInForce,
    validate_intent,
)
from riskdesk.domain.risk.decisions import Approved, Decision, Denied
from riskdesk.domain.values import PositionSide, Side, exact, frozen_factory
from riskdesk.ports.broker import AmendRequest, Broker, OrderRequest, Sleeper, VenueOrder
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import OmsUnitOfWorkFactory

T = TypeVar("T")

#: Crash points (see ``docs/oms.md``): the fault tests kill the process right after each.
JOURNAL_WRITTEN = "journal_written"  # order journaled PENDING_SUBMIT, nothing sent yet
SUBMITTED = "submitted"  # the venue accepted it, its answer not journaled yet
FILLS_FETCHED = "fills_fetched"  # venue fills read, not booked in the ledger yet
LEDGER_APPLIED = "ledger_applied"  # fills booked, orders and cursor not updated yet
STOP_REPLACE = "stop_replace"  # new protective stop working, old one not cancelled yet
AMENDED = "amended"  # the venue amended an order in place, the journal not told yet

Checkpoint = Callable[[str], None]

FILL_CURSOR = "fills"

_amend_request = frozen_factory(AmendRequest)  # AmendRequest(...), built the cheap way


def no_checkpoint(_: str) -> None:
    """The production checkpoint: nothing happens."""


class RiskGate(Protocol):
    """Pre-trade risk as the order manager sees it."""

    def check(self, intent: OrderIntent, now: datetime) -> Decision:
        """Approve or deny one order (the decision is stored by the implementation)."""
        ...


class Ledger(Protocol):
    """The book the order manager books venue fills into and reads positions from."""

    def apply_fills(self, fills: Sequence[Fill]) -> object:
        """Book fills (idempotent by venue and fill id)."""
        ...

    def open_positions(self) -> list[PositionLine]:
        """Every open position of the accounts on the connected venue (signed quantity in
        contracts)."""
        ...


@dataclass(frozen=True, slots=True)
class PositionLine:
    """An open position as the order manager needs it (``opened_at``: when it last opened
    from flat, None when the ledger does not say)."""

    account_id: str
    instrument_key: str
    slot: PositionSide
    qty: Decimal
    entry_price: Decimal
    opened_at: datetime | None = None

    @property
    def venue(self) -> str:
        """The venue part of the instrument key."""
        return self.instrument_key.split(":", 1)[0]

    @property
    def symbol(self) -> str:
        """The symbol part of the instrument key."""
        return self.instrument_key.split(":", 1)[1]


class AllowAll:
    """A risk gate that approves everything (unit tests and the raw-throughput benchmark)."""

    def check(self, intent: OrderIntent, now: datetime) -> Decision:
        """Approved."""
        return Approved(intent.intent_id, 0)


class NoSleep:
    """A sleeper that does not wait (replays, tests); remembers what it was asked."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Record the wait."""
        self.slept.append(seconds)


@dataclass(frozen=True, slots=True)
class OmsConfig:
    """Retry and recovery policy (built by bootstrap from ``oms`` settings).

    ``submit_attempts``: sends of one order (rate limits and "never received" answers count);
    ``query_attempts``: lookups by client id after an unknown outcome; ``backoff_seconds`` the
    first wait, doubled per attempt up to ``backoff_max_seconds``; ``resume_max_age_seconds``:
    an order journaled but not sent before a restart is sent on recovery only if it is younger
    (older ones are marked FAILED: the market has moved, the plan will be made again)."""

    submit_attempts: int = 4
    query_attempts: int = 4
    backoff_seconds: float = 0.25
    backoff_max_seconds: float = 8.0
    resume_max_age_seconds: float = 300.0
    fills_page: int = 1000


@dataclass(slots=True)
class SyncResult:
    """What a sync found: fills applied to orders (order after the fill), orders whose status
    changed without a fill, and fills of orders the journal does not know (booked anyway)."""

    fills: list[tuple[Order, Fill]] = field(default_factory=list)
    changed: list[Order] = field(default_factory=list)
    foreign: list[Fill] = field(default_factory=list)
    booked: int = 0


class OrderManager:
    """Orders through risk to the venue and back (see the module docstring)."""

    def __init__(
        self,
        journal: OmsUnitOfWorkFactory,
        broker: Broker,
        ledger: Ledger,
        risk: RiskGate,
        clock: Clock,
        instruments: Callable[[str], Instrument | None],
        accounts: Callable[[str], bool],
        sleeper: Sleeper | None = None,
        config: OmsConfig | None = None,
        checkpoint: Checkpoint = no_checkpoint,
    ) -> None:
        self._journal = journal
        self.broker = broker
        self._venue = broker.venue
        self.ledger = ledger
        self.risk = risk
        self._clock = clock
        self._instruments = instruments
        self._accounts = accounts
        self._sleeper = sleeper or NoSleep()
        self.config = config or OmsConfig()
        self.checkpoint = checkpoint
        self._live: dict[str, Order] = {}
        self._cursor: str | None = None
        #: Called with every sync's result (the conditional engine arms OTO children here).
        self.listeners: list[Callable[[SyncResult], None]] = []
        self.load()

    # ------------------------------------------------------------------ journal

    @property
    def journal(self) -> OmsUnitOfWorkFactory:
        """The order journal (the engine keeps its cursor there too)."""
        return self._journal

    def load(self) -> None:
        """(Re)load the non-terminal orders and the fill cursor from the journal."""
        with self._journal() as uow:
            live = uow.oms.orders(_OPEN_STATUSES)
            self._cursor = uow.oms.cursor(FILL_CURSOR)
        self._live = {o.client_order_id: o for o in live}

    def _save(
        self,
        orders: Sequence[Order],
        events: Sequence[Event],
        fills: Sequence[tuple[str, str, str, Decimal, Decimal, datetime]] = (),
        cursor: str | None = None,
    ) -> None:
        with self._journal() as uow:
            if orders:
                uow.oms.put_orders(orders)
            if events:
                uow.oms.add_order_events(events)
            if fills:
                uow.oms.add_order_fills(fills)
            if cursor is not None:
                uow.oms.set_cursor(FILL_CURSOR, cursor, self._clock.now())
            uow.commit()
        live = self._live
        for order in orders:
            if order.status in TERMINAL:
                live.pop(client_id(order.intent.intent_id), None)
            else:
                live[client_id(order.intent.intent_id)] = order
        if cursor is not None:
            self._cursor = cursor

    def get(self, ref: str) -> Order | None:
        """An order by client order id or intent id."""
        cid = _client_id(ref)
        order = self._live.get(cid)
        if order is not None:
            return order
        with self._journal() as uow:
            return uow.oms.get_order(cid)

    def require(self, ref: str) -> Order:
        """Like :meth:`get`, but a clear error when there is no such order."""
        order = self.get(ref)
        if order is None:
            raise NotFound(f"no order {ref!r} (client order id or intent id)", field="order")
        return order

    def live(self) -> list[Order]:
        """Orders not yet in a final state, oldest first."""
        return sorted(self._live.values(), key=lambda o: (o.created_at, o.client_order_id))

    def orders(
        self,
        statuses: Iterable[OrderStatus] | None = None,
        account_id: str | None = None,
        symbol: str | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Journaled orders (see :meth:`OmsRepository.orders`)."""
        with self._journal() as uow:
            return uow.oms.orders(
                None if statuses is None else list(statuses), account_id, symbol, None, limit
            )

    def events(self, ref: str | None = None, limit: int | None = None) -> list[dict[str, object]]:
        """Stored order events (of one order when ``ref`` is given)."""
        cid = None if ref is None else self.require(ref).client_order_id
        with self._journal() as uow:
            return uow.oms.order_events(cid, limit)

    def instrument(self, key: str) -> Instrument:
        """An instrument of the catalog (a clear error when unknown)."""
        inst = self._instruments(key)
        if inst is None:
            raise UnknownInstrument(f"no instrument {key!r} in the catalog", field="symbol")
        return inst

    # ------------------------------------------------------------------ submit

    @exact
    def submit(
        self,
        intent: OrderIntent,
        *,
        role: OrderRole | None = None,
        group: str | None = None,
        venue_group: str | None = None,
        precheck: Decision | None = None,
        now: datetime | None = None,
    ) -> Order:
        """Journal, risk-check and send one order; returns it as the venue left it.

        Bad input raises naming the field and changes nothing. An intent already journaled is
        returned as it is (never sent twice). ``precheck`` is a pre-trade decision already made
        for this intent (a governance tick checks its plans), so it is not checked twice.
        ``venue_group`` links orders the venue cancels together (native OCO)."""
        now = now or self._clock.now()
        self.check_venue(intent)
        inst = self.instrument(intent.instrument_key)
        validate_intent(intent, inst)
        if not self._accounts(intent.account_id):
            raise UnknownAccount(f"no account {intent.account_id!r}", field="account_id")
        existing = self.get(intent.client_order_id)
        if existing is not None:
            return existing
        if role is None:
            role = OrderRole.REDUCE if intent.reduce_only else OrderRole.ENTRY
        order = new_order(intent, now, role, group or venue_group)
        return self._risk_and_send(order, precheck, venue_group, now, [created_event(order)])

    def check_venue(self, intent: OrderIntent) -> None:
        """Refuse (naming the field) an order for a venue other than the connected one."""
        if intent.venue != self._venue:
            raise InvalidValue(
                f"orders go to the connected venue {self._venue!r}; {intent.venue!r} is not "
                "connected here (its positions are managed on that venue)",
                field="venue",
            )

    def _risk_and_send(
        self,
        order: Order,
        precheck: Decision | None,
        venue_group: str | None,
        now: datetime,
        events: list[Event] | None = None,
    ) -> Order:
        """Pre-trade risk, then one commit of the intent and the decision's transition
        (PENDING_SUBMIT or REJECTED) — always before anything is sent."""
        journal: list[Event] = events or []
        decision = precheck if precheck is not None else self.risk.check(order.intent, now)
        if isinstance(decision, Denied):
            order, event = transition(
                order,
                OrderStatus.REJECTED,
                now,
                f"pre-trade risk [{decision.code.value}] {decision.reason}",
            )
            self._save([order], [*journal, event])
            return order
        order, event = transition(order, OrderStatus.PENDING_SUBMIT, now)
        self._save([order], [*journal, event])
        self.checkpoint(JOURNAL_WRITTEN)
        return self._send(order, venue_group)

    def _send(self, order: Order, venue_group: str | None = None) -> Order:
        """Submit a PENDING_SUBMIT order; see the module docstring for the retry rules."""
        request = OrderRequest(group=venue_group) if venue_group else None
        attempts = 0
        delay = self.config.backoff_seconds
        while True:
            attempts += 1
            try:
                view = self.broker.submit(order.intent, request)
                break
            except RateLimited as exc:
                if attempts >= self.config.submit_attempts:
                    return self._fail(order, f"rate limited {attempts} times: {exc.reason}")
                self._sleeper.sleep(min(exc.retry_after or delay, self.config.backoff_max_seconds))
                continue
            except OrderRejected as exc:
                if exc.field == "client_order_id":
                    found = self._lookup(order)
                    if isinstance(found, VenueOrder):
                        view = found
                        break
                now = self._clock.now()
                order, event = transition(order, OrderStatus.REJECTED, now, f"venue: {exc.reason}")
                self._save([order], [event])
                return order
            except BrokerError as exc:
                if not exc.outcome_unknown:
                    return self._fail(order, f"venue error: {exc.reason}")
                found = self._lookup(order)
                if isinstance(found, VenueOrder):
                    view = found
                    break
                if found is _UNKNOWN:
                    # The venue may hold the order and cannot tell us: never resend blindly.
                    self._note(
                        order, f"outcome unknown after '{exc.reason}'; resolved by the next sync"
                    )
                    return self.get(order.client_order_id) or order
                if attempts >= self.config.submit_attempts:
                    return self._fail(
                        order, f"not accepted after {attempts} attempts: {exc.reason}"
                    )
            self._sleeper.sleep(delay)
            delay = min(delay * 2, self.config.backoff_max_seconds)
        self.checkpoint(SUBMITTED)
        return self._adopt(order, view)

    def _lookup(self, order: Order) -> VenueOrder | _Unknown | None:
        """Ask the venue for the order by client id: the view, None (never received), or
        :data:`_UNKNOWN` when the venue could not be asked."""
        delay = self.config.backoff_seconds
        for attempt in range(self.config.query_attempts):
            try:
                return self.broker.query(order.client_order_id, order.intent.symbol)
            except BrokerError as exc:
                if not exc.retryable or attempt + 1 == self.config.query_attempts:
                    return _UNKNOWN
                self._sleeper.sleep(min(exc.retry_after or delay, self.config.backoff_max_seconds))
                delay = min(delay * 2, self.config.backoff_max_seconds)
        return _UNKNOWN

    def _fail(self, order: Order, reason: str) -> Order:
        now = self._clock.now()
        order, event = transition(order, OrderStatus.FAILED, now, reason)
        self._save([order], [event])
        return order

    def _note(self, order: Order, reason: str) -> None:
        self._save([replace(order, reason=reason, updated_at=self._clock.now())], [])

    def _adopt(self, order: Order, view: VenueOrder) -> Order:
        """Journal the venue's view of an order: acknowledged (OPEN), then the fills it reports
        (through :meth:`sync`), then a final status reached without more fills."""
        now = self._clock.now()
        cid = order.client_order_id
        target = view.status
        early = (OrderStatus.CREATED, OrderStatus.PENDING_SUBMIT)
        venue_id = view.venue_order_id or None
        if order.status in early and view.filled_qty == 0 and target.terminal:
            order, done = advance(order, target, now, view.reason, venue_id)
            self._save([order], done)
            return self.get(cid) or order
        events: list[OrderTransitioned] = []
        if order.status in early:
            order, events = advance(
                order, OrderStatus.OPEN, now, "acknowledged by the venue", venue_id
            )
        elif venue_id and order.venue_order_id != venue_id:
            order = replace(order, venue_order_id=venue_id)
        self._save([order], events)
        if view.filled_qty > order.filled_qty:
            self.sync(now)
            order = self.get(cid) or order
        if target.terminal and target is not OrderStatus.FILLED and not order.status.terminal:
            order, events = advance(order, target, now, view.reason)
            self._save([order], events)
        return order

    # ------------------------------------------------------------------ cancel and amend

    @exact
    def cancel(self, ref: str, reason: str = "canceled", now: datetime | None = None) -> Order:
        """Cancel an order; returns its final state (it may have filled first)."""
        order = self.require(ref)
        now = now or self._clock.now()
        if order.status.terminal:
            return order
        if order.status is OrderStatus.CREATED:
            order, event = transition(
                order, OrderStatus.FAILED, now, f"{reason} before it was sent"
            )
            self._save([order], [event])
            return order
        if order.status is OrderStatus.PENDING_SUBMIT:
            found = self._lookup(order)
            if found is None:
                order, event = transition(
                    order, OrderStatus.CANCELED, now, f"{reason} (never reached the venue)"
                )
                self._save([order], [event])
                return order
            if isinstance(found, VenueOrder):
                order = self._adopt(order, found)
                if order.status.terminal:
                    return order
        if order.status is not OrderStatus.CANCEL_PENDING:
            order, event = transition(order, OrderStatus.CANCEL_PENDING, now, reason)
            self._save([order], [event])
        view = self._call(lambda: self.broker.cancel(order.client_order_id, order.intent.symbol))
        if isinstance(view, OrderNotFound):
            order, event = transition(
                order, OrderStatus.CANCELED, now, "the venue has no such order"
            )
            self._save([order], [event])
            return order
        if view is None:
            return self.get(order.client_order_id) or order  # unknown: the next sync resolves it
        return self._after_cancel(order, view)

    def _after_cancel(self, order: Order, view: VenueOrder) -> Order:
        if view.filled_qty > order.filled_qty:
            self.sync()
            order = self.get(order.client_order_id) or order
        if order.status.terminal:
            return order
        now = self._clock.now()
        target = view.status
        if target in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            return order
        order, events = advance(order, target, now, view.reason or "canceled")
        self._save([order], events)
        return order

    def _call(self, action: Callable[[], T]) -> T | OrderNotFound | None:
        """Call the venue with the retry policy: rate limits and unknown outcomes are retried
        (a cancel or amend is safe to repeat); None when it never got through."""
        delay = self.config.backoff_seconds
        for attempt in range(self.config.submit_attempts):
            try:
                return action()
            except OrderNotFound as exc:
                return exc
            except BrokerError as exc:
                if not exc.retryable or attempt + 1 == self.config.submit_attempts:
                    if not exc.retryable:
                        raise
                    return None
                self._sleeper.sleep(min(exc.retry_after or delay, self.config.backoff_max_seconds))
                delay = min(delay * 2, self.config.backoff_max_seconds)
        return None

    @exact
    def amend(
        self,
        ref: str,
        *,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        now: datetime | None = None,
    ) -> Order:
        """Change a working order: a native amend where the venue has one, else an atomic
        cancel-replace (:meth:`replace`). The new values are checked against the instrument's
        grid first; nothing changes when one is wrong."""
        order = self.require(ref)
        now = now or self._clock.now()
        if qty is None and price is None and stop_price is None:
            raise InvalidValue("give a new qty, price or stop_price", field="amend")
        if order.status not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            raise InvalidValue(
                f"order {order.intent.intent_id} is {order.status.value}: only open orders can be amended",
                field="status",
            )
        candidate, event = amend(order, now, qty=qty, price=price, stop_price=stop_price)
        validate_intent(candidate.intent, self.instrument(order.intent.instrument_key))
        if not self.broker.capabilities().native_amend:
            replaced = replace(candidate.intent, qty=candidate.intent.qty - order.filled_qty)
            return self.replace(order, replaced, new_first=order.role is OrderRole.PROTECTIVE_STOP)
        view = self._call(
            lambda: self.broker.amend(
                order.client_order_id,
                order.intent.symbol,
                qty=qty,
                price=price,
                stop_price=stop_price,
            )
        )
        if not isinstance(view, VenueOrder):
            raise OrderRejected(
                f"the venue did not confirm the amendment of {order.intent.intent_id}",
                field="amend",
            )
        self.checkpoint(AMENDED)
        self._save([candidate], [event])
        if view.filled_qty > candidate.filled_qty:
            self.sync(now)
            return self.get(order.client_order_id) or candidate
        return candidate

    def next_intent_id(self, base: str) -> str:
        """A fresh, deterministic intent id derived from ``base`` (``base~r1``, ``base~r2``…)."""
        root = base.split("~r", 1)[0]
        n = 1
        while self.get(_client_id(f"{root}~r{n}")) is not None:
            n += 1
        return f"{root}~r{n}"

    def replace(
        self,
        old: Order,
        new_intent: OrderIntent,
        *,
        new_first: bool,
        precheck: Decision | None = None,
        now: datetime | None = None,
    ) -> Order:
        """Cancel-replace without a gap and without a double: ``new_first`` (protective stops,
        reduce-only: two working at once cannot over-close) sends the new order and cancels the
        old one only once the new one works; otherwise the old one is cancelled first and, if
        the new one then fails, the old one's remainder is sent again (restored)."""
        now = now or self._clock.now()
        if new_intent.intent_id == old.intent.intent_id:
            new_intent = replace(new_intent, intent_id=self.next_intent_id(old.intent.intent_id))
        if new_first:
            new = self.submit(
                new_intent, role=old.role, group=old.group, precheck=precheck, now=now
            )
            if new.status.working or new.status is OrderStatus.FILLED:
                self.checkpoint(STOP_REPLACE)
                self.cancel(old.client_order_id, "replaced", now)
            return new
        cancelled = self.cancel(old.client_order_id, "replaced", now)
        if cancelled.status is OrderStatus.FILLED:
            return cancelled
        remaining = old.intent.qty - cancelled.filled_qty
        if cancelled.filled_qty and new_intent.qty > remaining:
            new_intent = replace(new_intent, qty=remaining)
        new = self.submit(new_intent, role=old.role, group=old.group, precheck=precheck, now=now)
        if new.status in (OrderStatus.REJECTED, OrderStatus.FAILED) and remaining > 0:
            restore = replace(
                old.intent,
                intent_id=self.next_intent_id(old.intent.intent_id),
                qty=remaining,
            )
            self.submit(restore, role=old.role, group=old.group, now=now)
        return new

    # ------------------------------------------------------------------ batches

    def _batches(self, items: list[T]) -> list[list[T]]:
        size = max(1, self.broker.capabilities().batch_size)
        return [items[i : i + size] for i in range(0, len(items), size)]

    @exact
    def submit_many(
        self,
        intents: Sequence[OrderIntent],
        *,
        role: OrderRole | None = None,
        prechecks: Mapping[str, Decision] | None = None,
        now: datetime | None = None,
    ) -> list[Order]:
        """Submit several orders through the venue's batch endpoint: every intent is checked
        first (one bad intent sends nothing), each passes pre-trade risk, all are journaled in
        one commit before the first request, and the venue's answers are journaled together.
        The same guarantees as :meth:`submit` hold order by order: an order whose request
        failed with an unknown outcome is looked up by client id before it is sent again."""
        now = now or self._clock.now()
        seen: set[str] = set()
        for intent in intents:
            self.check_venue(intent)
            validate_intent(intent, self.instrument(intent.instrument_key))
            if not self._accounts(intent.account_id):
                raise UnknownAccount(f"no account {intent.account_id!r}", field="account_id")
            if intent.intent_id in seen:
                raise InvalidValue(
                    f"intent {intent.intent_id!r} twice in one batch", field="intent_id"
                )
            seen.add(intent.intent_id)
        results, pending = self._journal_batch(intents, role, prechecks, now)
        if pending:
            self.checkpoint(JOURNAL_WRITTEN)
        refill = False
        for chunk in self._batches(pending):
            refill = self._send_batch(chunk, results, now) or refill
        if refill:
            self.sync(now)
        out: list[Order] = []
        live = self._live
        for order in results:
            assert order is not None  # noqa: S101 - every slot was filled above
            if order.status in TERMINAL:
                out.append(order)
            else:
                cid = client_id(order.intent.intent_id)
                out.append(live.get(cid) or self.get(cid) or order)
        return out

    def _journal_batch(
        self,
        intents: Sequence[OrderIntent],
        role: OrderRole | None,
        prechecks: Mapping[str, Decision] | None,
        now: datetime,
    ) -> tuple[list[Order | None], list[tuple[int, Order]]]:
        """Risk-check and journal a batch in one commit; returns the slots decided so far
        (journaled before, or refused by risk) and the orders to send."""
        results: list[Order | None] = [None] * len(intents)
        pending: list[tuple[int, Order]] = []
        journal: list[Order] = []
        events: list[Event] = []
        with self._journal() as uow:  # journaled before? (as get() answers, in one unit)
            known = [
                self._live.get(cid) or uow.oms.get_order(cid)
                for cid in (_client_id(intent.intent_id) for intent in intents)
            ]
        for i, intent in enumerate(intents):
            existing = known[i]
            if existing is not None:
                results[i] = existing
                continue
            kind = role or (OrderRole.REDUCE if intent.reduce_only else OrderRole.ENTRY)
            given = None if prechecks is None else prechecks.get(intent.intent_id)
            decision = given if given is not None else self.risk.check(intent, now)
            if isinstance(decision, Denied):
                created = new_order(intent, now, kind)
                why = f"pre-trade risk [{decision.code.value}] {decision.reason}"
                order, event = transition(created, OrderStatus.REJECTED, now, why)
                events.append(created_event(created))
                results[i] = order
            else:
                # CREATED then PENDING_SUBMIT, as new_order + created_event + transition.
                order, created_ev, event = submitted(intent, now, kind)
                events.append(created_ev)
                pending.append((i, order))
            events.append(event)
            journal.append(order)
        self._save(journal, events)
        return results, pending

    def _send_batch(
        self, chunk: list[tuple[int, Order]], results: list[Order | None], now: datetime
    ) -> bool:
        """One batch request; True when some order filled at once (a sync is due)."""
        try:
            answers = self.broker.submit_batch([o.intent for _, o in chunk])
        except BrokerError as exc:
            for i, order in chunk:
                results[i] = self._after_error(order, exc)
            return False
        self.checkpoint(SUBMITTED)
        refill = False
        acked: list[Order] = []
        acks: list[Event] = []
        for (i, sent), answer in zip(chunk, answers, strict=True):
            if isinstance(answer, BrokerError):
                results[i] = self._after_error(sent, answer)
                continue
            venue_id = answer.venue_order_id or None
            if answer.filled_qty == 0 and answer.status in TERMINAL:
                order, moved = advance(sent, answer.status, now, answer.reason, venue_id)
            else:
                order, moved = advance(
                    sent, OrderStatus.OPEN, now, "acknowledged by the venue", venue_id
                )
                refill = refill or answer.filled_qty > 0
            acked.append(order)
            acks.extend(moved)
            results[i] = order
        self._save(acked, acks)
        return refill

    def _after_error(self, order: Order, exc: BrokerError) -> Order:
        """One order of a batch whose request (or its own part) failed: the single-order rules
        — rate limits wait and resend, an unknown outcome is looked up first, a refusal is
        final."""
        if isinstance(exc, RateLimited):
            self._sleeper.sleep(
                min(exc.retry_after or self.config.backoff_seconds, self.config.backoff_max_seconds)
            )
            return self._send(order)
        if isinstance(exc, OrderRejected) and exc.field != "client_order_id":
            moved, event = transition(
                order, OrderStatus.REJECTED, self._clock.now(), f"venue: {exc.reason}"
            )
            self._save([moved], [event])
            return moved
        if exc.outcome_unknown or isinstance(exc, OrderRejected):
            found = self._lookup(order)
            if isinstance(found, VenueOrder):
                return self._adopt(order, found)
            if found is _UNKNOWN:
                self._note(
                    order, f"outcome unknown after '{exc.reason}'; resolved by the next sync"
                )
                return self.get(order.client_order_id) or order
            return self._send(order)
        return self._fail(order, f"venue error: {exc.reason}")

    @exact
    def cancel_many(
        self, refs: Sequence[str], reason: str = "canceled", now: datetime | None = None
    ) -> list[Order]:
        """Cancel several orders through the venue's batch endpoint (CANCEL_PENDING journaled
        for all before the request); the final state of each."""
        now = now or self._clock.now()
        orders = [self.require(r) for r in refs]
        results: dict[str, Order] = {}
        pending: list[Order] = []
        events: list[Event] = []
        queued: set[str] = set()
        for found in orders:
            cid = client_id(found.intent.intent_id)
            status = found.status
            if status in TERMINAL:
                results[cid] = found
            elif status is OrderStatus.CREATED or status is OrderStatus.PENDING_SUBMIT:
                results[cid] = self.cancel(cid, reason, now)
            elif cid not in queued:
                queued.add(cid)
                if status is OrderStatus.CANCEL_PENDING:
                    pending.append(found)
                    continue
                marked, event = transition(found, OrderStatus.CANCEL_PENDING, now, reason)
                events.append(event)
                pending.append(marked)
        self._save(pending, events)
        refill = False
        for chunk in self._batches(pending):
            try:
                answers = self.broker.cancel_batch(
                    [(client_id(o.intent.intent_id), o.intent.symbol) for o in chunk]
                )
            except BrokerError:
                for asked in chunk:
                    results[asked.client_order_id] = self.cancel(asked.client_order_id, reason, now)
                continue
            done: list[Order] = []
            moved_events: list[Event] = []
            for asked, answer in zip(chunk, answers, strict=True):
                cid = client_id(asked.intent.intent_id)
                if isinstance(answer, OrderNotFound):
                    order, moved = advance(asked, OrderStatus.CANCELED, now, "no such order")
                elif isinstance(answer, BrokerError):
                    results[cid] = asked  # stays CANCEL_PENDING: the next sync resolves it
                    continue
                elif answer.filled_qty > asked.filled_qty or answer.status not in TERMINAL:
                    refill = True  # it filled first: the fills bring it to its final state
                    results[cid] = asked
                    continue
                else:
                    order, moved = advance(asked, answer.status, now, answer.reason or reason)
                done.append(order)
                moved_events.extend(moved)
                results[cid] = order
            self._save(done, moved_events)
        if refill:
            self.sync(now)
        live = self._live
        with self._journal() as uow:  # as get() answers, in one unit
            return [
                live.get(cid) or uow.oms.get_order(cid) or results[cid]
                for cid in (client_id(o.intent.intent_id) for o in orders)
            ]

    @exact
    def amend_many(
        self,
        changes: Sequence[tuple[str, Decimal | None, Decimal | None, Decimal | None]],
        now: datetime | None = None,
    ) -> list[Order]:
        """Amend several working orders ``(ref, qty, price, stop_price)`` in one venue request
        (native amend), else one by one by cancel-replace. Every change is checked first; an
        order the venue refuses to amend is returned unchanged."""
        now = now or self._clock.now()
        planned: list[tuple[Order, Order, OrderAmended]] = []
        for ref, qty, price, stop_price in changes:
            order = self.require(ref)
            if (
                order.status is not OrderStatus.OPEN
                and order.status is not OrderStatus.PARTIALLY_FILLED
            ):
                raise InvalidValue(
                    f"order {order.intent.intent_id} is {order.status.value}: only open orders can be amended",
                    field="status",
                )
            candidate, event = amend(order, now, qty=qty, price=price, stop_price=stop_price)
            validate_intent(candidate.intent, self.instrument(order.intent.instrument_key))
            planned.append((order, candidate, event))
        if not self.broker.capabilities().native_amend:
            return [
                self.amend(o.client_order_id, qty=q, price=p, stop_price=sp, now=now)
                for (o, _, _), (_, q, p, sp) in zip(planned, changes, strict=True)
            ]
        results: list[Order] = []
        for chunk, spec in zip(self._batches(planned), self._batches(list(changes)), strict=True):
            requests = [
                _amend_request(client_id(o.intent.intent_id), o.intent.symbol, q, p, sp)
                for (o, _, _), (_, q, p, sp) in zip(chunk, spec, strict=True)
            ]
            try:
                answers: list[VenueOrder | BrokerError] = self.broker.amend_batch(requests)
            except BrokerError as exc:
                answers = [exc] * len(chunk)
            saved: list[Order] = []
            events: list[Event] = []
            for (order, candidate, event), answer in zip(chunk, answers, strict=True):
                if isinstance(answer, VenueOrder):
                    saved.append(candidate)
                    events.append(event)
                    results.append(candidate)
                else:
                    results.append(order)
            self._save(saved, events)
        return results

    # ------------------------------------------------------------------ bulk

    def _in_scope(
        self, intent: OrderIntent, account_id: str | None, venue: str | None, symbol: str | None
    ) -> bool:
        return (
            (account_id is None or intent.account_id == account_id)
            and (venue is None or intent.venue == venue)
            and (symbol is None or intent.symbol == symbol)
        )

    def cancel_all(
        self,
        account_id: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        include_protective: bool = False,
        now: datetime | None = None,
    ) -> list[Order]:
        """Cancel every working order in scope. Protective stops stay unless
        ``include_protective`` (cancelling all orders must not strip a position's stop)."""
        out = []
        for order in self.live():
            if not self._in_scope(order.intent, account_id, venue, symbol):
                continue
            if order.role is OrderRole.PROTECTIVE_STOP and not include_protective:
                continue
            out.append(self.cancel(order.client_order_id, "cancel-all", now))
        return out

    def close_all(
        self,
        account_id: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        run_id: str | None = None,
        now: datetime | None = None,
    ) -> list[Order]:
        """Close every position in scope with reduce-only market orders (they pass pre-trade
        risk as reducing orders) and cancel the working orders that could re-open them;
        protective stops are released once the positions are flat."""
        now = now or self._clock.now()
        run = run_id or now.strftime("%Y%m%dT%H%M%S")
        out: list[Order] = []
        for order in self.live():
            if (
                self._in_scope(order.intent, account_id, venue, symbol)
                and not order.intent.reduce_only
            ):
                out.append(self.cancel(order.client_order_id, "close-all", now))
        for p in self.ledger.open_positions():
            if account_id is not None and p.account_id != account_id:
                continue
            if (venue is not None and p.venue != venue) or (
                symbol is not None and p.symbol != symbol
            ):
                continue
            inst = self._instruments(p.instrument_key)
            if inst is None or p.qty == 0:
                continue
            intent = OrderIntent(
                intent_id=f"close:{run}:{p.account_id}:{p.instrument_key}:{p.slot.value}",
                account_id=p.account_id,
                venue=p.venue,
                symbol=p.symbol,
                side=Side.SELL if p.qty > 0 else Side.BUY,
                qty=abs(p.qty),
                order_type=OrderType.MARKET,
                reduce_only=inst.is_derivative,
                tif=TimeInForce.GTC,
                position_side=p.slot,
                source="close_all",
                created_at=now,
            )
            out.append(self.submit(intent, role=OrderRole.CLOSE, now=now))
        return out

    # ------------------------------------------------------------------ sync

    @exact
    def sync(self, now: datetime | None = None) -> SyncResult:
        """Pull venue fills after the cursor, book them, apply them to their orders, then move
        working orders the venue finished without a fill (cancelled, expired) to that status."""
        result = SyncResult()
        while True:
            page = self._call(lambda: self.broker.fills_since(self._cursor, self.config.fills_page))
            if page is None or isinstance(page, OrderNotFound):
                break
            fills = list(page.fills)
            if not fills:
                break
            self.checkpoint(FILLS_FETCHED)
            self.ledger.apply_fills(fills)
            result.booked += len(fills)
            self.checkpoint(LEDGER_APPLIED)
            self._apply(fills, page.cursor, result)
            if len(fills) < self.config.fills_page:
                break
        self._statuses(result)
        if result.fills or result.changed:
            for listener in self.listeners:
                listener(result)
        return result

    def _apply(self, fills: Sequence[Fill], cursor: str, result: SyncResult) -> None:
        with self._journal() as uow:
            done = uow.oms.order_fill_keys(f.key for f in fills)
        orders: dict[str, Order] = {}
        events: list[Event] = []
        rows: list[tuple[str, str, str, Decimal, Decimal, datetime]] = []
        for f in fills:
            if f.key in done or not f.order_id:
                if not f.order_id:
                    result.foreign.append(f)
                continue
            order = orders.get(f.order_id) or self.get(f.order_id)
            if order is None:
                result.foreign.append(f)
                continue
            try:
                if order.status.terminal:
                    order = late_fill(order, f.qty, f.price, f.ts)
                else:
                    order, event = fill(order, f.qty, f.price, f.ts)
                    events.append(event)
            except StateError:
                # The venue says more filled than the journal's order allows: book it (the
                # ledger follows the venue), report it as foreign.
                result.foreign.append(f)
                continue
            orders[order.client_order_id] = order
            rows.append((f.venue, f.fill_id, order.client_order_id, f.qty, f.price, f.ts))
            result.fills.append((order, f))
        self._save(list(orders.values()), events, rows, cursor)

    def _statuses(self, result: SyncResult) -> None:
        """Working orders the venue no longer lists: ask for each and adopt its status."""
        if not self._live:
            return
        listed = self._call(lambda: self.broker.open_orders(None))
        if not isinstance(listed, list):
            return
        working = {v.client_order_id for v in listed}
        for order in list(self._live.values()):
            if order.client_order_id in working or order.status is OrderStatus.CREATED:
                continue
            view = self._lookup(order)
            if not isinstance(view, VenueOrder):
                continue
            if view.status.working:
                continue
            if view.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
                continue  # the fills bring it there
            now = self._clock.now()
            moved, events = advance(order, view.status, now, view.reason)
            if events:
                self._save([moved], events)
                result.changed.append(moved)

    # ------------------------------------------------------------------ recovery helpers

    def resume(self, order: Order, now: datetime) -> Order:
        """Finish an order found CREATED or PENDING_SUBMIT after a restart: ask the venue; adopt
        what it holds; send what it never received (young enough), fail the rest."""
        found = self._lookup(order)
        if isinstance(found, VenueOrder):
            if order.status is OrderStatus.CREATED:
                order, event = transition(order, OrderStatus.PENDING_SUBMIT, now)
                self._save([order], [event])
            return self._adopt(order, found)
        if found is _UNKNOWN:
            return order
        age = now - order.created_at
        if age > timedelta(seconds=self.config.resume_max_age_seconds):
            if order.status is OrderStatus.CREATED:
                order, event = transition(
                    order, OrderStatus.FAILED, now, "not sent before a restart; too old to send now"
                )
            else:
                order, event = transition(
                    order,
                    OrderStatus.FAILED,
                    now,
                    "never reached the venue before a restart; too old to send now",
                )
            self._save([order], [event])
            return order
        if order.status is OrderStatus.CREATED:
            return self._risk_and_send(
                order, None, order.group if order.role is OrderRole.OTHER else None, now
            )
        return self._send(order)

    def adopt_unknown(self, view: VenueOrder, now: datetime) -> Order:
        """Journal an order the venue holds but the journal does not (placed outside riskdesk,
        or journaled in a database that was lost)."""
        intent = view.intent
        role = (
            OrderRole.PROTECTIVE_STOP
            if intent.reduce_only
            and intent.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
            else (OrderRole.REDUCE if intent.reduce_only else OrderRole.OTHER)
        )
        order = new_order(intent, view.updated_at, role, view.group)
        order, e1 = transition(order, OrderStatus.PENDING_SUBMIT, now, "adopted from the venue")
        order, e2 = transition(
            order, OrderStatus.OPEN, now, "adopted from the venue", view.venue_order_id
        )
        self._save([order], [e1, e2])
        return order

    def adopt_terms(self, order: Order, view: VenueOrder, now: datetime) -> Order | None:
        """Journal an amendment the venue applied but the journal missed (a crash between the
        venue's answer and the journal): the venue's quantity and prices become the order's,
        with an ``OrderAmended`` event. None when they already agree (or cannot be adopted)."""
        ours, theirs = order.intent, view.intent
        if (ours.qty, ours.price, ours.stop_price) == (theirs.qty, theirs.price, theirs.stop_price):
            return None
        try:
            updated, event = amend(
                order,
                now,
                qty=None if theirs.qty == ours.qty else theirs.qty,
                price=None if theirs.price == ours.price else theirs.price,
                stop_price=None if theirs.stop_price == ours.stop_price else theirs.stop_price,
            )
        except (InvalidValue, StateError):
            return None
        self._save([updated], [event])
        return updated

    def move(self, order: Order, target: OrderStatus, reason: str, now: datetime) -> Order:
        """Move a journaled order to a status the venue reported (reconciliation)."""
        moved, events = advance(order, target, now, reason)
        self._save([moved], events)
        return moved


class _Unknown:
    """Marker: the venue could not be asked."""


_UNKNOWN = _Unknown()

_OPEN_STATUSES = (
    OrderStatus.CREATED,
    OrderStatus.PENDING_SUBMIT,
    OrderStatus.OPEN,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.CANCEL_PENDING,
)


def _client_id(ref: str) -> str:
    """A client order id as it is, an intent id mapped to its client order id."""
    return ref if ref.startswith("rd") and len(ref) == 32 else client_id(ref)


__all__ = [
    "AMENDED",
    "FILLS_FETCHED",
    "JOURNAL_WRITTEN",
    "LEDGER_APPLIED",
    "STOP_REPLACE",
    "SUBMITTED",
    "AllowAll",
    "Checkpoint",
    "Ledger",
    "NoSleep",
    "OmsConfig",
    "OrderManager",
    "PositionLine",
    "RiskGate",
    "SyncResult",
    "no_checkpoint",
]
