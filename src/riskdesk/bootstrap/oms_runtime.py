"""Runtimes of the order-management commands: the application with its order-management
services (``riskdesk orders …``), and the replay ``riskdesk run --replay`` drives (a manual
clock that follows the replayed bars, resumed at the last bar processed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from riskdesk.adapters.clock import ManualClock
from riskdesk.application.engine import Oms, TradingEngine
from riskdesk.application.governance_service import GovernanceService
from riskdesk.bootstrap.oms_wiring import CsvBarFeed, SystemSleeper, replay_engine
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build


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
    """The application (wall clock) with its order-management services."""
    rt = build(settings, db)
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
    cursor = engine.cursor()
    if cursor is not None:
        resume = cursor + feed.length
        if resume > clock.now():
            clock.set(resume)
    return ReplayRun(rt, oms, engine, feed, clock, governance, SystemSleeper())


def bar_length(run: ReplayRun) -> timedelta:
    """The replay's bar length."""
    return run.feed.length


__all__ = ["OmsRuntime", "ReplayRun", "bar_length", "open_oms", "replay_run"]
