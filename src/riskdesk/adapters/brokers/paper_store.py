"""Durable state of the paper venue in its own SQLite file (stdlib ``sqlite3``).

The paper venue is a separate system from riskdesk's database, as a real exchange is: it keeps
its own orders, its own ledger journal (account openings, cash movements, fills — replayed
through the domain ledger on load) and a few meta values (last bar per instrument, last quote,
transfer receipts, counters). Every venue operation is written in one transaction, so a process
killed mid-operation loses the whole operation or none of it — like a request that never reached
the exchange.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS orders (client_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, "
    "data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
    "data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, data TEXT NOT NULL)",
)


@dataclass(slots=True)
class PaperChanges:
    """What one venue operation changed: orders to upsert (client id → (seq, document)),
    journal entries to append ((seq, kind, document)) and meta values to set."""

    orders: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    journal: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.orders or self.journal or self.meta)


@dataclass(frozen=True, slots=True)
class PaperState:
    """Everything stored: orders by client id (seq, document), the journal in order, meta."""

    orders: Mapping[str, tuple[int, dict[str, Any]]]
    journal: list[tuple[int, str, dict[str, Any]]]
    meta: Mapping[str, Any]


class PaperStore:
    """The paper venue's SQLite file (WAL; a killed process keeps every committed operation)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: durable across a killed process (only an OS crash can lose the last commits).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def load(self) -> PaperState:
        """Read the whole state."""
        orders = {
            cid: (seq, json.loads(data))
            for cid, seq, data in self._db.execute("SELECT client_id, seq, data FROM orders")
        }
        journal = [
            (seq, kind, json.loads(data))
            for seq, kind, data in self._db.execute(
                "SELECT seq, kind, data FROM journal ORDER BY seq"
            )
        ]
        meta = {
            key: json.loads(data) for key, data in self._db.execute("SELECT key, data FROM meta")
        }
        return PaperState(orders, journal, meta)

    def commit(self, changes: PaperChanges) -> None:
        """Write one operation's changes atomically."""
        if not changes:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            _many(
                db,
                "INSERT INTO orders (client_id, seq, data) VALUES (?, ?, ?) "
                "ON CONFLICT(client_id) DO UPDATE SET data = excluded.data",
                ((cid, seq, json.dumps(doc)) for cid, (seq, doc) in changes.orders.items()),
            )
            _many(
                db,
                "INSERT INTO journal (seq, kind, data) VALUES (?, ?, ?)",
                ((seq, kind, json.dumps(doc)) for seq, kind, doc in changes.journal),
            )
            _many(
                db,
                "INSERT INTO meta (key, data) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET data = excluded.data",
                ((key, json.dumps(value)) for key, value in changes.meta.items()),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def _many(db: sqlite3.Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    db.executemany(sql, list(rows))


__all__ = ["PaperChanges", "PaperState", "PaperStore"]
