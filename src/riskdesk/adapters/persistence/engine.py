"""Engine creation for the two supported backends.

* **SQLite** (``sqlite:///path/riskdesk.db``, the default): WAL journal (readers never block the
  writer), ``foreign_keys=ON``, a busy timeout, and SQLAlchemy in charge of ``BEGIN`` so that a
  unit of work is one real transaction from its first read (the ``sqlite3`` module's legacy mode
  only begins at the first write, which breaks repeatable reads and transactional DDL).
* **PostgreSQL** (``postgresql+psycopg://user@host/db``); ``postgresql://`` and ``postgres://``
  are taken to mean the psycopg 3 driver, the only one installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

SqliteBegin = Literal["DEFERRED", "IMMEDIATE"]

#: Connection execution option that overrides the SQLite BEGIN mode for one unit of work.
SQLITE_BEGIN_OPTION = "riskdesk_sqlite_begin"
_BEGIN_MODES = ("DEFERRED", "IMMEDIATE")

#: How long a SQLite writer waits for another writer before "database is locked".
DEFAULT_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pin PostgreSQL URLs to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite_memory(url: URL) -> bool:
    """True for an in-memory SQLite database (``sqlite://`` or ``sqlite:///:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(
    url: str | URL,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    sqlite_begin: SqliteBegin = "DEFERRED",
    connect_args: dict[str, Any] | None = None,
    echo: bool = False,
) -> Engine:
    """Create an engine for a riskdesk database.

    ``sqlite_begin="IMMEDIATE"`` takes SQLite's write lock at the start of every transaction,
    serialising units of work (waiting up to the busy timeout) instead of failing a
    read-then-write unit whose snapshot went stale; the default lets readers run freely.
    The parent directory of a SQLite file is created if missing.
    """
    parsed = normalize_url(url)
    args = dict(connect_args or {})
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, args, busy_timeout_ms, sqlite_begin, echo)
    if backend == "postgresql":
        return create_engine(parsed, connect_args=args, pool_pre_ping=True, echo=echo)
    raise ValueError(
        f"unsupported database URL {parsed!r}: use sqlite:/// or postgresql+psycopg://"
    )


def _sqlite_engine(
    url: URL, args: dict[str, Any], busy_timeout_ms: int, begin: SqliteBegin, echo: bool
) -> Engine:
    memory = is_sqlite_memory(url)
    if memory:
        # One shared connection, or every checkout would see a different empty database.
        args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=args, poolclass=StaticPool, echo=echo)
    else:
        assert url.database is not None  # noqa: S101 - not memory, so a file path
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=args, echo=echo)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN (see the module docstring); PRAGMAs run outside a transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                # NORMAL is durable in WAL mode except for the last commits on power loss.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, begin)
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {_BEGIN_MODES}, got {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "SQLITE_BEGIN_OPTION",
    "SqliteBegin",
    "create_store_engine",
    "is_sqlite_memory",
    "normalize_url",
]
