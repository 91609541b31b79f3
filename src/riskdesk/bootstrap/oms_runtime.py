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


def replay_run(settings: Settings, db: str | None = None) -> ReplayRun:
    """Build the replay; the clock starts at the replay's start, or at the close of the last bar
    a previous (perhaps killed) run processed, so it resumes there. The replay sets up its own
    account and catalog, so (like the demo) it creates its database when there is none."""
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
    "replay_resume_time",
    "replay_run",
]
