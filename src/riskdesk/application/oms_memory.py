"""In-memory fakes for the order manager: the order journal and the ledger.

First-class fakes (design guide §4.6): the unit tests and the throughput benchmark run the real
order manager over them. The journal applies writes at once (a unit of work is not isolated and
``commit`` has nothing to do), which is what a single-threaded test or benchmark needs; the
ledger is the domain :class:`~riskdesk.domain.accounting.book.Book` per account.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Self

from riskdesk.application.oms import PositionLine
from riskdesk.domain.accounting.book import Account, Book
from riskdesk.domain.conditional import ConditionalOrder, ConditionStatus
from riskdesk.domain.events import Event
from riskdesk.domain.fills import Fill
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.order_lifecycle import Order, OrderStatus, client_id
from riskdesk.domain.protection import Protection
from riskdesk.domain.transfers import TransferRequest, TransferStatus


class MemoryOmsRepository:
    """The journal port over dictionaries."""

    def __init__(self) -> None:
        self.order_map: dict[str, Order] = {}
        self.event_log: list[Event] = []
        self.fill_keys: dict[tuple[str, str], str] = {}
        self.cond_map: dict[str, ConditionalOrder] = {}
        self.protection_map: dict[str, Protection] = {}
        self.transfer_map: dict[str, TransferRequest] = {}
        self.cursors: dict[str, str] = {}
        self.cursor_times: dict[str, datetime] = {}
        self.keep_events = True

    def put_orders(self, orders: Sequence[Order]) -> None:
        """Insert or replace orders."""
        order_map = self.order_map
        for o in orders:
            order_map[client_id(o.intent.intent_id)] = o

    def get_order(self, client_order_id: str) -> Order | None:
        """One order."""
        return self.order_map.get(client_order_id)

    def orders(
        self,
        statuses: Collection[OrderStatus] | None = None,
        account_id: str | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Orders oldest first."""
        found = [
            o
            for o in self.order_map.values()
            if (statuses is None or o.status in statuses)
            and (account_id is None or o.intent.account_id == account_id)
            and (symbol is None or o.intent.symbol == symbol)
            and (since is None or o.updated_at >= since)
        ]
        found.sort(key=lambda o: (o.created_at, o.client_order_id))
        return found[-limit:] if limit is not None else found

    def add_order_events(self, events: Sequence[Event]) -> None:
        """Append events (kept as objects; turned into dicts when read)."""
        if self.keep_events:
            self.event_log.extend(events)

    def order_events(
        self, client_order_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, object]]:
        """Stored events oldest first."""
        found = [
            d
            for d in (e.to_dict() for e in self.event_log)
            if client_order_id is None or d.get("client_order_id") == client_order_id
        ]
        return found[-limit:] if limit is not None else found

    def add_order_fills(
        self, rows: Sequence[tuple[str, str, str, Decimal, Decimal, datetime]]
    ) -> None:
        """Record fills applied to orders."""
        for venue, fill_id, cid, *_ in rows:
            self.fill_keys[(venue, fill_id)] = cid

    def order_fill_keys(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which fills were applied."""
        return {k for k in keys if k in self.fill_keys}

    def put_conditionals(self, conds: Sequence[ConditionalOrder]) -> None:
        """Insert or replace conditional orders."""
        for c in conds:
            self.cond_map[c.cond_id] = c

    def conditionals(
        self, statuses: Collection[ConditionStatus] | None = None
    ) -> list[ConditionalOrder]:
        """Conditional orders in insertion order."""
        return [c for c in self.cond_map.values() if statuses is None or c.status in statuses]

    def put_protections(self, items: Sequence[Protection]) -> None:
        """Insert or replace protections."""
        for p in items:
            self.protection_map[p.key] = p

    def delete_protections(self, keys: Sequence[str]) -> None:
        """Forget protections."""
        for key in keys:
            self.protection_map.pop(key, None)

    def protections(self) -> list[Protection]:
        """Every protection by key."""
        return [self.protection_map[k] for k in sorted(self.protection_map)]

    def put_transfers(self, items: Sequence[TransferRequest]) -> None:
        """Insert or replace transfers."""
        for x in items:
            self.transfer_map[x.transfer_id] = x

    def transfers(
        self, status: TransferStatus | None = None, since: datetime | None = None
    ) -> list[TransferRequest]:
        """Transfers oldest first."""
        found = [
            x
            for x in self.transfer_map.values()
            if (status is None or x.status is status) and (since is None or x.created_at >= since)
        ]
        return sorted(found, key=lambda x: (x.created_at, x.transfer_id))

    def cursor(self, name: str) -> str | None:
        """A named cursor."""
        return self.cursors.get(name)

    def set_cursor(self, name: str, value: str, ts: datetime) -> None:
        """Set a named cursor."""
        self.cursors[name] = value
        self.cursor_times[name] = ts

    def last_activity(self) -> datetime | None:
        """The latest time anything was journaled (None for an empty journal)."""
        found: list[datetime] = [e.ts for e in self.event_log]
        found.extend(self.cursor_times.values())
        found.extend(c.updated_at for c in self.cond_map.values() if c.updated_at is not None)
        found.extend(p.updated_at for p in self.protection_map.values())
        found.extend(x.updated_at for x in self.transfer_map.values())
        return max(found) if found else None


class _MemoryUnit:
    def __init__(self, repo: MemoryOmsRepository) -> None:
        self.oms = repo

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        """Writes are already applied."""


class MemoryOmsJournal:
    """An :class:`~riskdesk.ports.store.OmsUnitOfWorkFactory` over one in-memory repository."""

    def __init__(self) -> None:
        self.repo = MemoryOmsRepository()
        self._unit = _MemoryUnit(self.repo)

    def __call__(self) -> _MemoryUnit:
        return self._unit


class MemoryLedger:
    """The ledger port over domain books (one per account)."""

    def __init__(self, instruments: Callable[[str], Instrument | None]) -> None:
        self._instruments = instruments
        self.books: dict[str, Book] = {}

    def open(self, account: Account) -> None:
        """Add an account."""
        self.books.setdefault(account.account_id, Book(account))

    def has(self, account_id: str) -> bool:
        """Whether the ledger knows the account."""
        return account_id in self.books

    def apply_fills(self, fills: Sequence[Fill]) -> int:
        """Book fills in order (duplicates are ignored by the books)."""
        booked = 0
        for f in fills:
            inst = self._instruments(f.instrument_key)
            assert inst is not None  # noqa: S101 - the venue only fills listed instruments
            change = self.books[f.account_id].apply_fill(f, inst)
            booked += 0 if change.duplicate else 1
        return booked

    def open_positions(self) -> list[PositionLine]:
        """Every open position."""
        return [
            PositionLine(p.account_id, p.instrument_key, p.slot, p.qty, p.entry_price, p.opened_at)
            for book in self.books.values()
            for p in book.open_positions()
        ]


__all__ = ["MemoryLedger", "MemoryOmsJournal", "MemoryOmsRepository"]
