"""Runtimes of the order-management commands: the application with its order-management
services (``riskdesk orders …``), and the replay ``riskdesk run --replay`` drives (a manual
clock that follows the replayed bars, resumed at the last bar processed).

Time on a replay is the replay's, never the wall clock: a restarted replay (and any command
on a replay's database, ``riskdesk reconcile`` among them) runs at the replay's resume time,
which is never earlier than anything already journaled — so every order's events stay in
time order across a crash and a restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from riskdesk.adapters.clock import ManualClock
from riskdesk.adapters.persistence import SqlStore
from riskdesk.application.engine import ENGINE_CURSOR, Oms, TradingEngine
from riskdesk.application.governance_service import GovernanceService
from riskdesk.bootstrap.oms_wiring import (
    CsvBarFeed,
    SystemSleeper,
    replay_bar_length,
    replay_engine,
)
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.conditional import ConditionStatus
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.matching import Quote
from riskdesk.domain.order_lifecycle import OrderStatus


def replay_resume_time(store: SqlStore, start: datetime, length: timedelta) -> datetime | None:
    """When a replay stored in ``store`` resumes (None when it never completed a bar): the close
    of the last bar it processed, or — after a crash in the middle of the next bar — the latest
    time the journal holds (at most that bar's close). Never earlier than anything journaled."""
    with store() as uow:
        cursor = uow.oms.cursor(ENGINE_CURSOR)
        last = uow.oms.last_activity()
    base = start if cursor is None else datetime.fromisoformat(cursor) + length
    if last is not None and last > base:
        base = min(last, base + length)
    return None if cursor is None and base == start else base


class ReplayAwareClock:
    """The wall clock, until :meth:`pin` fixes the time (a command on a replay's database runs
    at the replay's time, not today's)."""

    def __init__(self) -> None:
        self._pinned: datetime | None = None

    def pin(self, ts: datetime) -> None:
        """Stop at ``ts`` (timezone-aware)."""
        self._pinned = ts

    def now(self) -> datetime:
        """The pinned time, else the current UTC time."""
        return self._pinned if self._pinned is not None else datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OmsRuntime:
    """The application and its order-management services."""

    rt: Runtime
    oms: Oms

    def close(self) -> None:
        """Release the paper venue's file and the database pool."""
        self.oms.close()
        self.rt.store.dispose()


def open_oms(settings: Settings, db: str | None = None) -> OmsRuntime:
    """The application with its order-management services: on the wall clock, or at the
    replay's resume time when the database holds a replay (``riskdesk run --replay``)."""
    clock = ReplayAwareClock()
    rt = build(settings, db, clock=clock)
    replay = settings.oms.replay
    with rt.store() as uow:
        replayed = uow.oms.cursor(ENGINE_CURSOR) is not None
    if replayed:
        resume = replay_resume_time(rt.store, replay.start, replay_bar_length(replay))
        if resume is not None:
            clock.pin(resume)
    return OmsRuntime(rt, rt.app.oms.get())


_WORKING = tuple(s for s in OrderStatus if not s.terminal)


def paper_mark(rt: Runtime, venue: str, key: str, mark: Decimal, now: datetime) -> int | None:
    """A mark set by hand (``riskdesk prices set``) for an instrument of the paper ``venue`` is
    a market update there, like a quote: the venue matches its working orders on a zero-spread
    quote at the mark, riskdesk's emulated conditions watching the instrument (guard stops, OCO
    legs…) are evaluated on it, fills are synced and the protection pass runs. Returns the
    executions and triggers, or None when the mark is not one the paper venue trades on (another
    venue's instrument: nothing of it is managed here) or nothing works there."""
    if key.partition(":")[0] != venue:
        return None
    with rt.store() as uow:
        if uow.instruments.get(key) is None:
            return None
        busy = bool(uow.oms.orders(_WORKING, limit=1)) or any(
            c.watch == key for c in uow.oms.conditionals([ConditionStatus.ARMED])
        )
    if not busy:
        return None
    oms = rt.app.oms.get()
    quote = Quote(now, mark, mark, last=mark, mark=mark, index=mark)
    made = oms.venue.on_quote(key, quote) if oms.venue is not None else 0
    fired = oms.conditionals.on_quote(key, quote)
    oms.settle(now)
    return made + len(fired)


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """Everything ``riskdesk run --replay`` needs."""

    rt: Runtime
    oms: Oms
    engine: TradingEngine
    feed: CsvBarFeed
    clock: ManualClock
    governance: GovernanceService
    sleeper: SystemSleeper

    def close(self) -> None:
        """Release the paper venue's file and the database pool."""
        self.oms.close()
        self.rt.store.dispose()


def replay_database(settings: Settings) -> Path:
    """The replay's own database file (``oms.replay.database``, else ``<data_dir>/replay.db``)."""
    configured = settings.oms.replay.database
    return (configured or settings.data_dir / "replay.db").expanduser()


def own_replay(settings: Settings, fresh: bool = False) -> tuple[Settings, str]:
    """Settings and database of a replay run without ``--db``: its own SQLite file (never the
    default book) with its paper venue file next to it (``oms.paper.state_file`` is for the
    user's paper venue, not the replay's). ``fresh`` deletes both first, so the replay starts
    over; otherwise a previous run — finished, stopped or killed — is resumed."""
    path = replay_database(settings)
    oms = settings.oms
    own = settings.model_copy(
        update={
            "oms": oms.model_copy(
                update={"paper": oms.paper.model_copy(update={"state_file": None})}
            )
        }
    )
    if fresh:
        paper = path.with_name(path.stem + ".paper.db")
        for file in (path, paper):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{file}{suffix}").unlink(missing_ok=True)
    return own, str(path)


def replay_run(settings: Settings, db: str | None = None, fresh: bool = False) -> ReplayRun:
    """Build the replay; the clock starts at the replay's start, or at the close of the last bar
    a previous (perhaps killed) run processed, so it resumes there. The replay sets up its own
    account and catalog, so (like the demo) it creates its database when there is none.

    Without ``db`` it runs on its own database (:func:`own_replay`), never the default book;
    ``fresh`` (only with that database) starts it over."""
    if db is None:
        settings, db = own_replay(settings, fresh)
    elif fresh:
        raise InvalidValue(
            "--fresh starts over the replay's own database only; to start over on --db, "
            "remove that file yourself",
            field="fresh",
        )
    replay = settings.oms.replay
    clock = ManualClock(replay.start)
    rt = build(settings, db, clock=clock, create=True)
    oms = rt.app.oms.get()
    engine, feed, governance = replay_engine(
        settings, rt.app.book, rt.app.risk, rt.store, clock, clock.set, oms
    )
    resume = replay_resume_time(rt.store, replay.start, feed.length)
    if resume is not None and resume > clock.now():
        clock.set(resume)
    return ReplayRun(rt, oms, engine, feed, clock, governance, SystemSleeper())


def bar_length(run: ReplayRun) -> timedelta:
    """The replay's bar length."""
    return run.feed.length


__all__ = [
    "OmsRuntime",
    "ReplayAwareClock",
    "ReplayRun",
    "bar_length",
    "open_oms",
    "own_replay",
    "paper_mark",
    "replay_database",
    "replay_resume_time",
    "replay_run",
]
