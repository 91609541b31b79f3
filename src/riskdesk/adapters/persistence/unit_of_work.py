"""The SQL unit of work and the store that creates units of work.

Usage::

    store = SqlStore("sqlite:///riskdesk.db")   # or "postgresql+psycopg://user@host/db"
    store.migrate()                             # idempotent
    with store() as uow:                        # one transaction
        book = uow.books.load(account)
        change = book.apply_fill(fill, instrument)
        uow.fills.add(fill)
        uow.books.save(book, change)
        uow.commit()                            # leaving without commit rolls back
    store.dispose()
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, NestedTransaction
from sqlalchemy.engine import URL

from riskdesk.adapters.persistence.buffer import FLUSH_ROWS, WriteBuffer
from riskdesk.adapters.persistence.engine import (
    SQLITE_BEGIN_OPTION,
    SqliteBegin,
    create_store_engine,
)
from riskdesk.adapters.persistence.governance_repository import SqlGovernanceRepository
from riskdesk.adapters.persistence.migrations import current_revision, head_revision, upgrade
from riskdesk.adapters.persistence.oms_repository import SqlOmsRepository
from riskdesk.adapters.persistence.repositories import (
    SqlAccountRepository,
    SqlBookRepository,
    SqlClosedPositionRepository,
    SqlEventJournal,
    SqlFillRepository,
    SqlInstrumentRepository,
    SqlPriceRepository,
    SqlSnapshotRepository,
)
from riskdesk.adapters.persistence.risk_repository import SqlRiskRepository
from riskdesk.ports.store import (
    AccountRepository,
    BookRepository,
    ClosedPositionRepository,
    EventJournal,
    FillRepository,
    GovernanceRepository,
    InstrumentRepository,
    OmsRepository,
    PriceRepository,
    RiskRepository,
    SnapshotRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)


class SqlUnitOfWork:
    """One database transaction shared by every repository.

    ``commit()`` makes the work visible and the unit stays usable (the next statement starts a
    new transaction); ``rollback()`` discards it. Leaving the ``with`` block rolls back whatever
    was not committed — also on an exception — and returns the connection to the pool.

    The book's writes are queued in a :class:`WriteBuffer` and flushed before any read through
    :attr:`connection` and at ``commit()``, so a constraint violation (a duplicate fill key)
    surfaces there rather than at the call that queued the row.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        sqlite_begin: SqliteBegin | None = None,
        joined: Connection | None = None,
    ) -> None:
        """Bind to ``engine``; ``sqlite_begin`` overrides the engine's SQLite BEGIN mode.
        ``joined`` is the connection of an open :meth:`SqlStore.transaction`: the unit then
        works inside it on a savepoint (its commit releases the savepoint; only the enclosing
        transaction commits to the database)."""
        self._engine = engine
        self._sqlite_begin = sqlite_begin
        self._joined = joined
        self._savepoint: NestedTransaction | None = None
        self._connection: Connection | None = None
        self._buffer = WriteBuffer()
        # Typed as the ports: protocol attributes are invariant. Adapter extras (``add_many``,
        # ``put_many``) are on the Sql* classes.
        self.instruments: InstrumentRepository = SqlInstrumentRepository(self)
        self.accounts: AccountRepository = SqlAccountRepository(self)
        self.books: BookRepository = SqlBookRepository(self)
        self.fills: FillRepository = SqlFillRepository(self)
        self.closed: ClosedPositionRepository = SqlClosedPositionRepository(self)
        self.snapshots: SnapshotRepository = SqlSnapshotRepository(self)
        self.prices: PriceRepository = SqlPriceRepository(self)
        self.risk: RiskRepository = SqlRiskRepository(self)
        self.events: EventJournal = SqlEventJournal(self)
        self.governance: GovernanceRepository = SqlGovernanceRepository(self)
        self.oms: OmsRepository = SqlOmsRepository(self)

    @property
    def connection(self) -> Connection:
        """The connection of the current transaction, with queued writes flushed (only inside
        the ``with`` block). Use it for reads the repositories do not offer."""
        connection = self._open_connection()
        if self._buffer:
            self._buffer.flush(connection)
        return connection

    @property
    def buffer(self) -> WriteBuffer:
        """The queue of deferred writes (flushed early once it holds many rows)."""
        connection = self._open_connection()
        if self._buffer.size >= FLUSH_ROWS:
            self._buffer.flush(connection)
        return self._buffer

    def flush(self) -> None:
        """Execute queued writes now (still uncommitted)."""
        self._buffer.flush(self._open_connection())

    def _open_connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use it as `with uow: ...`")
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; create a new one per use")
        if self._joined is not None:
            self._connection = self._joined
            self._savepoint = self._joined.begin_nested()
            return self
        connection = self._engine.connect()
        if self._sqlite_begin is not None:
            connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: self._sqlite_begin})
        self._connection = connection
        connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._buffer.clear()
        if connection is None:
            return
        if self._joined is not None:
            savepoint, self._savepoint = self._savepoint, None
            if savepoint is not None and savepoint.is_active:
                savepoint.rollback()  # what was not committed; the enclosing transaction goes on
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        """Make everything done in this unit visible, atomically (inside a
        :meth:`SqlStore.transaction`: keep it, to be committed with the enclosing one)."""
        connection = self.connection
        if self._savepoint is None:
            connection.commit()
            return
        self._savepoint.commit()
        self._savepoint = connection.begin_nested()

    def rollback(self) -> None:
        """Discard everything done in this unit since the last commit."""
        self._buffer.clear()
        connection = self._open_connection()
        if self._savepoint is None:
            connection.rollback()
            return
        self._savepoint.rollback()
        self._savepoint = connection.begin_nested()


class SqlStore:
    """A database: creates units of work (it is a ``UnitOfWorkFactory``) and migrates the schema.

    Accepts a URL (``sqlite:///path.db``, ``postgresql+psycopg://…``) or a ready ``Engine``;
    an engine passed in is not disposed by :meth:`dispose`.
    """

    def __init__(
        self,
        target: str | URL | Engine,
        *,
        sqlite_begin: SqliteBegin = "DEFERRED",
        connect_args: dict[str, Any] | None = None,
        echo: bool = False,
    ) -> None:
        """Create (or adopt) the engine; see :func:`create_store_engine` for the options."""
        if isinstance(target, Engine):
            self.engine = target
            self._owns_engine = False
        else:
            self.engine = create_store_engine(
                target, sqlite_begin=sqlite_begin, connect_args=connect_args, echo=echo
            )
            self._owns_engine = True
        self._scope = threading.local()

    def __call__(self, *, sqlite_begin: SqliteBegin | None = None) -> SqlUnitOfWork:
        """A fresh unit of work. ``sqlite_begin="IMMEDIATE"`` makes a writing unit wait for the
        SQLite write lock up front instead of failing later on a stale snapshot. Inside
        :meth:`transaction` (on the same thread) the unit joins that transaction."""
        joined: Connection | None = getattr(self._scope, "connection", None)
        return SqlUnitOfWork(self.engine, sqlite_begin=sqlite_begin, joined=joined)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction for several use cases: every unit of work this store creates on
        this thread inside the block joins it (a unit's commit keeps its work; leaving a unit
        without committing discards only that unit's work). The block commits once at its end;
        an exception rolls everything back. A nested block joins the outer one."""
        if getattr(self._scope, "connection", None) is not None:
            yield
            return
        connection = self.engine.connect()
        try:
            with connection.begin():
                self._scope.connection = connection
                try:
                    yield
                finally:
                    self._scope.connection = None
        finally:
            connection.close()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is already there)."""
        upgrade(self.engine)

    def is_current(self) -> bool:
        """True when the database is at the newest schema revision."""
        return current_revision(self.engine) == head_revision()

    def dispose(self) -> None:
        """Close pooled connections (only for an engine this store created)."""
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()


def make_uow_factory(
    target: str | URL | Engine, *, sqlite_begin: SqliteBegin = "DEFERRED"
) -> SqlStore:
    """A :class:`SqlStore` for ``target`` (call ``.migrate()`` before first use)."""
    return SqlStore(target, sqlite_begin=sqlite_begin)


__all__ = ["SqlStore", "SqlUnitOfWork", "make_uow_factory"]


def _conforms(store: SqlStore) -> UnitOfWorkFactory:
    # Static check only: mypy verifies the adapter satisfies the ports.
    return store


def _uow_conforms(uow: SqlUnitOfWork) -> UnitOfWork:
    return uow
