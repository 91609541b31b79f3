"""Clocks: the system clock for live use, a manual clock for tests, replays and backtests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock time, UTC."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        """The set time."""
        return self._now

    def set(self, ts: datetime) -> None:
        """Jump to ``ts`` (may not go backwards)."""
        if ts < self._now:
            raise ValueError(f"clock cannot go back from {self._now} to {ts}")
        self._now = ts

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        self.set(self._now + delta)
        return self._now
