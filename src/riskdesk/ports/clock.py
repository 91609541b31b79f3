"""The clock port: the only way the application learns the time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time (timezone-aware UTC)."""

    def now(self) -> datetime:
        """Current time, UTC."""
        ...
