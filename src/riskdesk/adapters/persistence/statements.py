"""Statement helpers shared by the repositories and the write buffer: dialect-aware upserts
(built once per shape) and chunking for ``IN (...)`` lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import Connection, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite

from riskdesk.adapters.persistence.mapping import Row

#: Keys per ``IN (...)``: under SQLite's historical limit of 999 bound parameters.
IN_CHUNK = 900

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    keys: Sequence[str],
    *,
    only_newer: bool = False,
) -> None:
    """Insert ``rows``, updating the non-key columns of rows whose ``keys`` already exist.

    ``only_newer`` updates an existing row only when its ``ts`` is not after the new one.
    One executemany for all rows; every row must have the same columns."""
    if not rows:
        return
    stmt = _upsert_statement(conn.dialect.name, table, tuple(keys), tuple(rows[0]), only_newer)
    conn.execute(stmt, rows)


@lru_cache(maxsize=64)
def _upsert_statement(
    dialect: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...], only_newer: bool
) -> Executable:
    # Built once per shape: constructing ``excluded`` proxies every column and used to cost
    # more than executing the statement.
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    excluded = stmt.excluded
    update = {name: excluded[name] for name in columns if name not in keys}
    where = table.c.ts <= excluded.ts if only_newer else None
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=update, where=where)


__all__ = ["IN_CHUNK", "chunks", "upsert"]
