"""Persistence ports: repositories grouped in a unit of work (one transaction).

A unit of work is used as a context manager; nothing is visible to others until ``commit()``,
and leaving the block without committing (or on an exception) rolls everything back, so a failed
import or a rejected fill leaves the database unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self

from riskdesk.domain.accounting.book import Account, Book, BookChange
from riskdesk.domain.accounting.portfolio import PortfolioSnapshot
from riskdesk.domain.accounting.position import ClosedPosition, TradeRecord
from riskdesk.domain.conditional import ConditionalOrder, ConditionStatus
from riskdesk.domain.events import Event
from riskdesk.domain.fills import Fill, FundingPayment
from riskdesk.domain.governance.plan import GovernanceEvent, StoredPlan
from riskdesk.domain.governance.state import GovernanceState
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.order_lifecycle import Order, OrderStatus
from riskdesk.domain.protection import Protection
from riskdesk.domain.risk.decisions import RiskRecord
from riskdesk.domain.risk.equity import EquityMark
from riskdesk.domain.risk.monitors import Alert
from riskdesk.domain.risk.trading_state import StateChange, TradingStatus
from riskdesk.domain.transfers import TransferRequest, TransferStatus


class InstrumentRepository(Protocol):
    """The instrument catalog."""

    def get(self, key: str) -> Instrument | None:
        """Instrument by ``venue:symbol``."""
        ...

    def many(self, keys: Iterable[str]) -> dict[str, Instrument]:
        """The instruments of ``keys`` found in the catalog, by ``venue:symbol`` (one query
        per few hundred keys, not one per key)."""
        ...

    def put(self, instrument: Instrument) -> None:
        """Insert or replace an instrument."""
        ...

    def all(self) -> list[Instrument]:
        """Every instrument, ordered by key."""
        ...


class AccountRepository(Protocol):
    """Accounts."""

    def get(self, account_id: str) -> Account | None:
        """Account by id."""
        ...

    def put(self, account: Account) -> None:
        """Insert or replace an account."""
        ...

    def all(self) -> list[Account]:
        """Every account, ordered by id."""
        ...


class BookRepository(Protocol):
    """Balances and open positions of accounts."""

    def load(self, account: Account) -> Book:
        """The account's book: cash balances and open positions (no fill history)."""
        ...

    def save(self, book: Book, change: BookChange) -> None:
        """Persist what ``change`` did to ``book``: upsert ``change.upserted`` positions, delete
        the open rows of ``change.closed`` positions and insert them as closed positions, insert
        ``change.trades``, write the book's current balances for the currencies in
        ``change.cash``, and append ``change.events`` to the journal."""
        ...


class FillRepository(Protocol):
    """The fill (and funding) history, unique by ``(venue, fill_id)``."""

    def add(self, fill: Fill) -> None:
        """Insert a fill (the key must be new)."""
        ...

    def add_funding(self, payment: FundingPayment, amount: str, position_id: str | None) -> None:
        """Record a booked funding payment (``amount`` as exact decimal text)."""
        ...

    def add_cash_movement(
        self,
        key: tuple[str, str],
        account_id: str,
        currency: str,
        amount: Decimal,
        ts: datetime,
        reason: str,
    ) -> None:
        """Record a deposit (> 0) or withdrawal (< 0) under its idempotency ``key``."""
        ...

    def cash_movements(
        self, account_id: str | None = None, since: datetime | None = None
    ) -> list[tuple[str, str, Decimal, datetime]]:
        """``(account_id, currency, amount, ts)`` of recorded cash movements, oldest first."""
        ...

    def cash_movement(self, key: tuple[str, str]) -> tuple[str, str, Decimal, datetime] | None:
        """The cash movement recorded under ``key``: ``(account_id, currency, amount, ts)``."""
        ...

    def existing(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of ``keys`` (fills, funding or cash-movement keys) are already stored."""
        ...

    def fills_by_key(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Fill]:
        """The stored fills among ``keys`` (``(venue, fill_id)``), by key (to compare a
        re-imported fill with what was booked under its id)."""
        ...

    def history(
        self,
        account_id: str | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        """Fills in time order, optionally filtered."""
        ...


class ClosedPositionRepository(Protocol):
    """Closed positions and the trade log."""

    def closed(
        self,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ClosedPosition]:
        """Closed positions by closing time."""
        ...

    def trades(
        self,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[TradeRecord]:
        """Trade records in time order."""
        ...


class SnapshotRepository(Protocol):
    """The equity curve."""

    def add(self, snapshot: PortfolioSnapshot) -> None:
        """Insert (or replace the one at the same scope and time)."""
        ...

    def series(
        self, scope: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[PortfolioSnapshot]:
        """Snapshots of a scope in time order."""
        ...

    def last_before(self, scope: str, ts: datetime) -> PortfolioSnapshot | None:
        """The latest snapshot strictly before ``ts``."""
        ...


class PriceRepository(Protocol):
    """Latest known prices: instrument marks (by ``venue:symbol``) and asset prices in the
    reporting currency (by asset code, e.g. ``BTC``, ``AAPL``). Each keeps its time and source."""

    def put_marks(self, marks: dict[str, Decimal], ts: datetime, source: str) -> None:
        """Upsert instrument marks (the newest ``ts`` wins; an older one is ignored)."""
        ...

    def put_asset_prices(self, prices: dict[str, Decimal], ts: datetime, source: str) -> None:
        """Upsert asset prices (the newest ``ts`` wins)."""
        ...

    def marks(self) -> dict[str, tuple[Decimal, datetime]]:
        """Latest mark and its time per instrument key."""
        ...

    def asset_prices(self) -> dict[str, tuple[Decimal, datetime]]:
        """Latest price and its time per asset."""
        ...

    def mark_sources(self) -> dict[str, str]:
        """Who recorded each latest mark (``manual``, ``paper quote``, ``replay``, a feed name),
        per instrument key."""
        ...


class EventJournal(Protocol):
    """Append-only event journal."""

    def append(self, events: Sequence[Event]) -> None:
        """Append events in order."""
        ...

    def read(
        self, kind: str | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[dict[str, object]]:
        """Stored events as dicts (with ``kind``, ``ts`` and payload), oldest first."""
        ...


class RiskRepository(Protocol):
    """Risk decisions (every pre-trade result), the trading state and its history, and alerts."""

    def add_decisions(self, records: Sequence[RiskRecord]) -> None:
        """Append decisions."""
        ...

    def decisions(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        account_id: str | None = None,
        outcome: str | None = None,
    ) -> list[RiskRecord]:
        """Stored decisions in time order (half-open ``since <= ts < until``)."""
        ...

    def status(self, scope: str) -> TradingStatus | None:
        """The persisted trading status of a scope (``*`` for the whole desk)."""
        ...

    def set_status(self, scope: str, status: TradingStatus, change: StateChange) -> None:
        """Persist a new status and append the transition to the history."""
        ...

    def history(self, scope: str) -> list[StateChange]:
        """Every transition of a scope, oldest first."""
        ...

    def add_alerts(self, alerts: Sequence[Alert]) -> None:
        """Append raised alerts."""
        ...

    def alerts(self, since: datetime | None = None, limit: int | None = None) -> list[Alert]:
        """Raised alerts, oldest first (the newest ``limit`` when given)."""
        ...

    def equity_marks(self) -> dict[str, EquityMark]:
        """Every scope's equity mark (last revaluation and high-water mark)."""
        ...

    def put_equity_marks(self, marks: Sequence[EquityMark]) -> None:
        """Insert or replace equity marks by scope."""
        ...


class GovernanceRepository(Protocol):
    """Governance states (one per governed position, keyed by the entry intent id), the plans
    with their pre-trade decisions, and governance events."""

    def states(self, open_only: bool = True) -> list[GovernanceState]:
        """Stored states; only PENDING_ENTRY / ACTIVE / PENDING_CLOSING unless ``open_only``
        is False."""
        ...

    def get(self, intent_id: str) -> GovernanceState | None:
        """One state by its intent id."""
        ...

    def put_states(self, states: Sequence[GovernanceState]) -> None:
        """Insert or replace states (each write raises the store's revision)."""
        ...

    def revision(self) -> int:
        """The revision of the newest write of states (0 when none): a copy of the states
        taken at revision r is current while this is still r."""
        ...

    def add_plans(self, plans: Sequence[StoredPlan]) -> None:
        """Insert plans (a plan id already stored is replaced: replays do not double)."""
        ...

    def plans(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        position_id: str | None = None,
        limit: int | None = None,
    ) -> list[StoredPlan]:
        """Stored plans oldest first (``since <= ts < until``; the newest ``limit``)."""
        ...

    def add_events(self, events: Sequence[GovernanceEvent]) -> None:
        """Append governance events."""
        ...

    def events(
        self, since: datetime | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[GovernanceEvent]:
        """Governance events oldest first (the newest ``limit`` when given)."""
        ...


class OmsRepository(Protocol):
    """The order journal: orders (keyed by client order id, with their intents) and an event
    per transition, the venue fills already applied to orders, emulated conditional orders,
    protective stops, SPOT -> FUT transfer requests and named cursors."""

    def put_orders(self, orders: Sequence[Order]) -> None:
        """Insert or replace orders (by client order id)."""
        ...

    def get_order(self, client_order_id: str) -> Order | None:
        """One order by client order id."""
        ...

    def orders(
        self,
        statuses: Collection[OrderStatus] | None = None,
        account_id: str | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Orders oldest first (by creation; ``since`` on the last update; the newest
        ``limit``)."""
        ...

    def add_order_events(self, events: Sequence[Event]) -> None:
        """Append order events (transitions, amendments)."""
        ...

    def order_events(
        self, client_order_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, object]]:
        """Stored order events oldest first (the newest ``limit``)."""
        ...

    def add_order_fills(
        self, rows: Sequence[tuple[str, str, str, Decimal, Decimal, datetime]]
    ) -> None:
        """Record venue fills applied to orders: ``(venue, fill_id, client_order_id, qty,
        price, ts)``."""
        ...

    def order_fill_keys(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which ``(venue, fill_id)`` were already applied to an order."""
        ...

    def put_conditionals(self, conds: Sequence[ConditionalOrder]) -> None:
        """Insert or replace emulated conditional orders."""
        ...

    def conditionals(
        self, statuses: Collection[ConditionStatus] | None = None
    ) -> list[ConditionalOrder]:
        """Conditional orders by creation time."""
        ...

    def put_protections(self, items: Sequence[Protection]) -> None:
        """Insert or replace protective stops (by key)."""
        ...

    def delete_protections(self, keys: Sequence[str]) -> None:
        """Forget protections (their positions are flat)."""
        ...

    def protections(self) -> list[Protection]:
        """Every protection, by key."""
        ...

    def put_transfers(self, items: Sequence[TransferRequest]) -> None:
        """Insert or replace transfer requests."""
        ...

    def transfers(
        self, status: TransferStatus | None = None, since: datetime | None = None
    ) -> list[TransferRequest]:
        """Transfer requests oldest first."""
        ...

    def cursor(self, name: str) -> str | None:
        """A named cursor (the last venue fill seen, the last replayed bar…)."""
        ...

    def set_cursor(self, name: str, value: str, ts: datetime) -> None:
        """Set a named cursor."""
        ...

    def last_activity(self) -> datetime | None:
        """The latest time anything was journaled (order events, cursors, conditions,
        protections, transfers); None for an empty journal. A restarted replay never stamps
        anything earlier."""
        ...


class OmsUnitOfWork(Protocol):
    """The part of a unit of work the order manager uses (the SQL unit of work is one; the
    in-memory journal of the benchmarks and unit tests is another)."""

    oms: OmsRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make everything done in this unit visible, atomically."""
        ...


class OmsUnitOfWorkFactory(Protocol):
    """Creates a fresh order-journal unit of work per use."""

    def __call__(self) -> OmsUnitOfWork: ...


class UnitOfWork(Protocol):
    """One transaction over every repository."""

    instruments: InstrumentRepository
    accounts: AccountRepository
    books: BookRepository
    fills: FillRepository
    closed: ClosedPositionRepository
    snapshots: SnapshotRepository
    prices: PriceRepository
    risk: RiskRepository
    events: EventJournal
    governance: GovernanceRepository
    oms: OmsRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make everything done in this unit visible, atomically."""
        ...

    def rollback(self) -> None:
        """Discard everything done in this unit."""
        ...


class UnitOfWorkFactory(Protocol):
    """Creates a fresh unit of work per use case."""

    def __call__(self) -> UnitOfWork: ...

    def transaction(self) -> AbstractContextManager[None]:
        """A scope in which every unit of work created on this thread joins one transaction:
        committed once at the end of the block, rolled back entirely on an exception (so a use
        case that calls others — import fills, then revalue — is all or nothing)."""
        ...
