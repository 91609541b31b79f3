"""Write-behind buffer of one unit of work: the book's writes, batched into few statements.

An import saves the book once per fill; executed one by one, that is five statements per fill and
SQLAlchemy's per-statement cost dominates. Instead the book's writes are collected here and run
as one executemany per table when the unit of work next reads, commits, or the buffer grows
large. Because every read flushes first, a unit of work always reads its own writes; because the
flush happens inside the same transaction, atomicity is unchanged. The one visible difference: a
constraint violation (say, a duplicate fill) is raised at the next read or at ``commit()``
instead of by the call that queued the row.

Flush order respects the constraints: open-position deletes, then position upserts (so a new
position can take the slot of one closed in the same batch), balances, then plain inserts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, delete, insert

from riskdesk.adapters.persistence import tables as t
from riskdesk.adapters.persistence.mapping import Row
from riskdesk.adapters.persistence.statements import chunks, upsert

#: Queued rows that trigger a flush even without a read (bounds memory on huge imports).
FLUSH_ROWS = 5_000

#: Insert order: only plain appends, no constraint between them.
_INSERT_TABLES = (
    t.closed_positions,
    t.trade_records,
    t.fills,
    t.funding_payments,
    t.cash_movements,
    t.events,
)


class WriteBuffer:
    """Queued writes, executed in a safe order by :meth:`flush`."""

    __slots__ = ("_balances", "_deleted_positions", "_inserts", "_positions", "size")

    def __init__(self) -> None:
        self._deleted_positions: set[str] = set()
        self._positions: dict[str, Row] = {}
        self._balances: dict[tuple[str, str], Row] = {}
        self._inserts: dict[Table, list[Row]] = {table: [] for table in _INSERT_TABLES}
        self.size = 0

    def __bool__(self) -> bool:
        return self.size > 0

    def delete_positions(self, position_ids: Iterable[str]) -> None:
        """Queue the removal of open-position rows (a queued upsert of the same id is dropped)."""
        for position_id in position_ids:
            self._positions.pop(position_id, None)
            self._deleted_positions.add(position_id)
            self.size += 1

    def upsert_positions(self, rows: Iterable[Row]) -> None:
        """Queue open-position states; the last state per ``position_id`` wins."""
        for row in rows:
            self._positions[row["position_id"]] = row
            self.size += 1

    def upsert_balances(self, rows: Iterable[Row]) -> None:
        """Queue balances; the last amount per ``(account_id, currency)`` wins."""
        for row in rows:
            self._balances[(row["account_id"], row["currency"])] = row
            self.size += 1

    def insert(self, table: Table, rows: Iterable[Row]) -> None:
        """Queue plain inserts into one of the append-only tables."""
        queued = self._inserts[table]
        before = len(queued)
        queued.extend(rows)
        self.size += len(queued) - before

    def clear(self) -> None:
        """Forget everything queued (on rollback)."""
        self._deleted_positions.clear()
        self._positions.clear()
        self._balances.clear()
        for rows in self._inserts.values():
            rows.clear()
        self.size = 0

    def flush(self, conn: Connection) -> None:
        """Execute everything queued, in constraint-safe order, then forget it.

        The queue is emptied even if a statement fails: the error belongs to the transaction,
        which the caller rolls back."""
        deleted = sorted(self._deleted_positions)
        positions = list(self._positions.values())
        balances = list(self._balances.values())
        inserts = [(table, list(rows)) for table, rows in self._inserts.items() if rows]
        self.clear()
        for chunk in chunks(deleted):
            conn.execute(delete(t.positions).where(t.positions.c.position_id.in_(chunk)))
        upsert(conn, t.positions, positions, ["position_id"])
        upsert(conn, t.balances, balances, ["account_id", "currency"])
        for table, rows in inserts:
            conn.execute(insert(table), rows)


__all__ = ["FLUSH_ROWS", "WriteBuffer"]
