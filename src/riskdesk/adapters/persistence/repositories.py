"""SQL implementations of the store ports (one class per port), over SQLAlchemy Core.

Every repository works on the connection of its unit of work, so all of them share one
transaction. The book's writes (positions, balances, closed positions, trades, fills, funding,
cash movements, events) go through the unit's write buffer and are batched into one executemany
per table (see ``buffer.py``); reads flush it first. Time filters are half-open:
``since <= ts < until``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import Connection, Select, select, union_all

from riskdesk.adapters.persistence import mapping as m
from riskdesk.adapters.persistence import tables as t
from riskdesk.adapters.persistence.buffer import WriteBuffer
from riskdesk.adapters.persistence.statements import chunks, upsert
from riskdesk.domain.accounting.book import Account, Book, BookChange
from riskdesk.domain.accounting.portfolio import PortfolioSnapshot
from riskdesk.domain.accounting.position import ClosedPosition, Position, TradeRecord
from riskdesk.domain.events import Event
from riskdesk.domain.fills import Fill, FundingPayment
from riskdesk.domain.instruments import Instrument

#: Tables whose rows are idempotency keys ``(venue, <column>)``.
_KEYED = (
    (t.fills, t.fills.c.fill_id),
    (t.funding_payments, t.funding_payments.c.funding_key),
    (t.cash_movements, t.cash_movements.c.movement_key),
)


class ConnectionSource(Protocol):
    """Where a repository gets the connection of its transaction and its write buffer."""

    @property
    def connection(self) -> Connection:
        """The open connection, after flushing queued writes (raises when not entered)."""
        ...

    @property
    def buffer(self) -> WriteBuffer:
        """The unit of work's queue of deferred writes (raises when not entered)."""
        ...


def _between(
    query: Select[Any], column: Any, since: datetime | None, until: datetime | None
) -> Select[Any]:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def _limit(query: Select[Any], limit: int | None) -> Select[Any]:
    if limit is None:
        return query
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    return query.limit(limit)


class _Repository:
    __slots__ = ("_source",)

    def __init__(self, source: ConnectionSource) -> None:
        self._source = source

    @property
    def _conn(self) -> Connection:
        return self._source.connection

    @property
    def _buffer(self) -> WriteBuffer:
        return self._source.buffer


class SqlInstrumentRepository(_Repository):
    """The instrument catalog (``instruments``)."""

    def get(self, key: str) -> Instrument | None:
        """Instrument by ``venue:symbol``."""
        row = self._conn.execute(select(t.instruments).where(t.instruments.c.key == key))
        found = row.mappings().first()
        return None if found is None else m.instrument_from_row(found)

    def many(self, keys: Iterable[str]) -> dict[str, Instrument]:
        """The instruments of ``keys`` found in the catalog, by ``venue:symbol``."""
        found: dict[str, Instrument] = {}
        column = t.instruments.c.key
        for chunk in chunks(sorted(set(keys))):
            rows = self._conn.execute(select(t.instruments).where(column.in_(chunk)))
            for row in rows.mappings():
                instrument = m.instrument_from_row(row)
                found[instrument.key] = instrument
        return found

    def put(self, instrument: Instrument) -> None:
        """Insert or replace an instrument."""
        self.put_many([instrument])

    def put_many(self, instruments: Iterable[Instrument]) -> None:
        """Insert or replace several instruments in one statement (adapter extra)."""
        upsert(self._conn, t.instruments, [m.instrument_row(i) for i in instruments], ["key"])

    def all(self) -> list[Instrument]:
        """Every instrument, ordered by key."""
        rows = self._conn.execute(select(t.instruments).order_by(t.instruments.c.key))
        return [m.instrument_from_row(r) for r in rows.mappings()]


class SqlAccountRepository(_Repository):
    """Accounts (``accounts``)."""

    def get(self, account_id: str) -> Account | None:
        """Account by id."""
        rows = self._conn.execute(select(t.accounts).where(t.accounts.c.account_id == account_id))
        found = rows.mappings().first()
        return None if found is None else m.account_from_row(found)

    def put(self, account: Account) -> None:
        """Insert or replace an account."""
        upsert(self._conn, t.accounts, [m.account_row(account)], ["account_id"])

    def all(self) -> list[Account]:
        """Every account, ordered by id."""
        rows = self._conn.execute(select(t.accounts).order_by(t.accounts.c.account_id))
        return [m.account_from_row(r) for r in rows.mappings()]


class SqlBookRepository(_Repository):
    """Balances and open positions (``balances``, ``positions``, ``closed_positions``,
    ``trade_records`` and the event journal)."""

    def load(self, account: Account) -> Book:
        """The account's book: cash balances and open positions (no fill history).

        On PostgreSQL the account row is locked (``FOR UPDATE``) until the unit of work ends, so
        two units changing the same book run one after the other instead of losing an update.
        SQLite has one writer at a time anyway."""
        conn = self._conn
        account_id = account.account_id
        if conn.dialect.name == "postgresql":
            conn.execute(
                select(t.accounts.c.account_id)
                .where(t.accounts.c.account_id == account_id)
                .with_for_update()
            )
        balances = conn.execute(
            select(t.balances.c.currency, t.balances.c.amount).where(
                t.balances.c.account_id == account_id
            )
        )
        rows = conn.execute(
            select(t.positions)
            .where(t.positions.c.account_id == account_id)
            .order_by(t.positions.c.opened_at, t.positions.c.position_id)
        )
        return Book(
            account,
            balances={currency: amount for currency, amount in balances},
            positions=[m.position_from_row(r) for r in rows.mappings()],
        )

    def save(self, book: Book, change: BookChange) -> None:
        """Persist what ``change`` did to ``book``.

        Upserts ``change.upserted`` positions, deletes the open rows of ``change.closed`` and
        inserts them as closed positions, inserts ``change.trades``, writes the book's current
        balances for the currencies in ``change.cash`` and appends ``change.events``.

        A change merged from several fills (``BookChange.merge``) can list a position more than
        once, or open and close it within the batch; only its last state is written, and a
        position that is also in ``change.closed`` is not written as open at all."""
        buffer = self._buffer
        closed_ids = {c.position_id for c in change.closed}
        buffer.delete_positions(closed_ids)
        latest: dict[str, Position] = {}
        for position in change.upserted:
            latest[position.position_id] = position
        buffer.upsert_positions(
            m.position_row(p) for pid, p in latest.items() if pid not in closed_ids
        )
        buffer.insert(t.closed_positions, (m.closed_row(c) for c in change.closed))
        buffer.insert(t.trade_records, (m.trade_row(r) for r in change.trades))
        account_id = book.account.account_id
        buffer.upsert_balances(
            {"account_id": account_id, "currency": currency, "amount": book.cash(currency)}
            for currency in sorted(change.cash)
        )
        buffer.insert(t.events, (m.event_row(e) for e in change.events))


class SqlFillRepository(_Repository):
    """Fill, funding and cash-movement history (``fills``, ``funding_payments``,
    ``cash_movements``), each unique by its idempotency key."""

    def add(self, fill: Fill) -> None:
        """Insert a fill (the key must be new; a duplicate fails at the next flush)."""
        self._buffer.insert(t.fills, [m.fill_row(fill)])

    def add_many(self, fills: Iterable[Fill]) -> None:
        """Insert several new fills (adapter extra for bulk imports)."""
        self._buffer.insert(t.fills, (m.fill_row(f) for f in fills))

    def add_funding(self, payment: FundingPayment, amount: str, position_id: str | None) -> None:
        """Record a booked funding payment (``amount`` as exact decimal text)."""
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError):
            raise ValueError(f"funding amount must be decimal text, got {amount!r}") from None
        self._buffer.insert(t.funding_payments, [m.funding_row(payment, value, position_id)])

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
        row = {
            "venue": key[0],
            "movement_key": key[1],
            "account_id": account_id,
            "currency": currency,
            "amount": amount,
            "ts": ts,
            "reason": reason,
        }
        self._buffer.insert(t.cash_movements, [row])

    def cash_movements(
        self, account_id: str | None = None, since: datetime | None = None
    ) -> list[tuple[str, str, Decimal, datetime]]:
        """``(account_id, currency, amount, ts)`` of recorded cash movements, oldest first
        (``ts >= since``)."""
        c = t.cash_movements.c
        query = select(c.account_id, c.currency, c.amount, c.ts)
        if account_id is not None:
            query = query.where(c.account_id == account_id)
        query = _between(query, c.ts, since, None).order_by(c.ts, c.id)
        return [(r[0], r[1], r[2], r[3]) for r in self._conn.execute(query)]

    def cash_movement(self, key: tuple[str, str]) -> tuple[str, str, Decimal, datetime] | None:
        """The cash movement recorded under ``key``: ``(account_id, currency, amount, ts)``."""
        c = t.cash_movements.c
        query = select(c.account_id, c.currency, c.amount, c.ts).where(
            c.venue == key[0], c.movement_key == key[1]
        )
        row = self._conn.execute(query).first()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def existing(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of ``keys`` (fill, funding or cash-movement keys) are already stored."""
        by_venue: dict[str, list[str]] = defaultdict(list)
        for venue, key in set(keys):
            by_venue[venue].append(key)
        found: set[tuple[str, str]] = set()
        for venue, ids in by_venue.items():
            for chunk in chunks(sorted(ids)):
                # One round trip per chunk: the three key spaces are disjoint by construction,
                # but a key is "existing" wherever it is stored.
                query = union_all(
                    *(
                        select(column).where(table.c.venue == venue, column.in_(chunk))
                        for table, column in _KEYED
                    )
                )
                found.update((venue, key) for (key,) in self._conn.execute(query))
        return found

    def fills_by_key(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Fill]:
        """The stored fills among ``keys`` (``(venue, fill_id)``), by key."""
        by_venue: dict[str, list[str]] = defaultdict(list)
        for venue, key in set(keys):
            by_venue[venue].append(key)
        found: dict[tuple[str, str], Fill] = {}
        c = t.fills.c
        for venue, ids in by_venue.items():
            for chunk in chunks(sorted(ids)):
                query = select(t.fills).where(c.venue == venue, c.fill_id.in_(chunk))
                for row in self._conn.execute(query).mappings():
                    fill = m.fill_from_row(row)
                    found[fill.key] = fill
        return found

    def history(
        self,
        account_id: str | None = None,
        symbol: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        """Fills in time order (``since <= ts < until``); ``limit`` keeps the earliest."""
        query = select(t.fills)
        if account_id is not None:
            query = query.where(t.fills.c.account_id == account_id)
        if symbol is not None:
            query = query.where(t.fills.c.symbol == symbol)
        query = _between(query, t.fills.c.ts, since, until).order_by(t.fills.c.ts, t.fills.c.id)
        rows = self._conn.execute(_limit(query, limit))
        return [m.fill_from_row(r) for r in rows.mappings()]


class SqlClosedPositionRepository(_Repository):
    """Closed positions and the trade log."""

    def closed(
        self,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ClosedPosition]:
        """Closed positions by closing time (``since <= closed_at < until``)."""
        c = t.closed_positions.c
        query = select(t.closed_positions)
        if account_id is not None:
            query = query.where(c.account_id == account_id)
        query = _between(query, c.closed_at, since, until).order_by(c.closed_at, c.position_id)
        return [m.closed_from_row(r) for r in self._conn.execute(query).mappings()]

    def trades(
        self,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[TradeRecord]:
        """Trade records in time order (ties in the order they were written)."""
        c = t.trade_records.c
        query = select(t.trade_records)
        if account_id is not None:
            query = query.where(c.account_id == account_id)
        query = _between(query, c.ts, since, until).order_by(c.ts, c.id)
        return [m.trade_from_row(r) for r in self._conn.execute(query).mappings()]


class SqlSnapshotRepository(_Repository):
    """The equity curve (``portfolio_snapshots``)."""

    def add(self, snapshot: PortfolioSnapshot) -> None:
        """Insert (or replace the one at the same scope and time)."""
        upsert(self._conn, t.portfolio_snapshots, [m.snapshot_row(snapshot)], ["scope", "ts"])

    def series(
        self, scope: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[PortfolioSnapshot]:
        """Snapshots of a scope in time order (``since <= ts < until``)."""
        c = t.portfolio_snapshots.c
        query = select(t.portfolio_snapshots).where(c.scope == scope)
        query = _between(query, c.ts, since, until).order_by(c.ts)
        return [m.snapshot_from_row(r) for r in self._conn.execute(query).mappings()]

    def last_before(self, scope: str, ts: datetime) -> PortfolioSnapshot | None:
        """The latest snapshot strictly before ``ts``."""
        c = t.portfolio_snapshots.c
        query = (
            select(t.portfolio_snapshots)
            .where(c.scope == scope, c.ts < ts)
            .order_by(c.ts.desc())
            .limit(1)
        )
        found = self._conn.execute(query).mappings().first()
        return None if found is None else m.snapshot_from_row(found)


class SqlPriceRepository(_Repository):
    """Latest marks and asset prices (``prices``, one row per kind and key)."""

    def put_marks(self, marks: dict[str, Decimal], ts: datetime, source: str) -> None:
        """Upsert instrument marks (the newest ``ts`` wins; an older one is ignored)."""
        self._put("mark", marks, ts, source)

    def put_asset_prices(self, prices: dict[str, Decimal], ts: datetime, source: str) -> None:
        """Upsert asset prices (the newest ``ts`` wins)."""
        self._put("asset", prices, ts, source)

    def marks(self) -> dict[str, tuple[Decimal, datetime]]:
        """Latest mark and its time per instrument key."""
        return self._latest("mark")

    def asset_prices(self) -> dict[str, tuple[Decimal, datetime]]:
        """Latest price and its time per asset."""
        return self._latest("asset")

    def _put(self, kind: str, values: dict[str, Decimal], ts: datetime, source: str) -> None:
        rows = [
            {"kind": kind, "key": key, "price": price, "ts": ts, "source": source}
            for key, price in sorted(values.items())
        ]
        # Equal timestamps replace (a correction from the same instant), older ones are ignored.
        upsert(self._conn, t.prices, rows, ["kind", "key"], only_newer=True)

    def _latest(self, kind: str) -> dict[str, tuple[Decimal, datetime]]:
        c = t.prices.c
        rows = self._conn.execute(
            select(c.key, c.price, c.ts).where(c.kind == kind).order_by(c.key)
        )
        return {key: (price, ts) for key, price, ts in rows}

    def mark_sources(self) -> dict[str, str]:
        """Source of the latest mark per instrument key."""
        c = t.prices.c
        rows = self._conn.execute(select(c.key, c.source).where(c.kind == "mark"))
        return {key: source for key, source in rows}


class SqlEventJournal(_Repository):
    """The append-only event journal (``events``)."""

    def append(self, events: Sequence[Event]) -> None:
        """Append events in order."""
        self._buffer.insert(t.events, (m.event_row(e) for e in events))

    def read(
        self, kind: str | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[dict[str, object]]:
        """Stored events as their ``to_dict()`` (``kind``, ``ts`` as ISO text, ``account_id``
        and the event's fields), oldest first (``ts``, then append order); ``limit`` keeps the
        oldest."""
        c = t.events.c
        query = select(c.payload)
        if kind is not None:
            query = query.where(c.kind == kind)
        query = _between(query, c.ts, since, None).order_by(c.ts, c.id)
        rows = self._conn.execute(_limit(query, limit))
        return [dict(payload) for (payload,) in rows]


__all__ = [
    "ConnectionSource",
    "SqlAccountRepository",
    "SqlBookRepository",
    "SqlClosedPositionRepository",
    "SqlEventJournal",
    "SqlFillRepository",
    "SqlInstrumentRepository",
    "SqlPriceRepository",
    "SqlSnapshotRepository",
]
