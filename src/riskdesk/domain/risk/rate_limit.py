"""Token buckets for order-rate limits per venue (time is passed in, never read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second up to ``burst``; one order costs one token."""

    rate: float
    burst: int
    tokens: float = -1.0
    last: float | None = None
    _cached: tuple[datetime, float] | None = None

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def _seconds(self, now: datetime) -> float:
        # The pipeline asks twice per order with the same ``now``: convert it once.
        cached = self._cached
        if cached is not None and cached[0] is now:
            return cached[1]
        value = now.timestamp()
        self._cached = (now, value)
        return value

    def available(self, now: datetime) -> float:
        """Tokens available at ``now`` (refilled since the last take)."""
        last = self.last
        if last is None:
            return self.tokens
        # min(burst, tokens + max(elapsed, 0) * rate), spelt out: this runs for every order.
        elapsed = self._seconds(now) - last
        refilled = self.tokens + (0.0 if elapsed < 0.0 else elapsed) * self.rate
        burst = float(self.burst)
        return refilled if refilled < burst else burst

    def take(self, now: datetime) -> bool:
        """Spend a token if one is available at ``now``."""
        tokens = self.available(now)
        self.last = self._seconds(now)
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def spend(self, now: datetime, tokens: float) -> None:
        """Spend one of the ``tokens`` that :meth:`available` just reported at ``now`` (at
        least 1): what :meth:`take` does, without asking again."""
        self.last = self._seconds(now)
        self.tokens = tokens - 1.0

    def wait_seconds(self, now: datetime) -> float:
        """Seconds until a token is available."""
        tokens = self.available(now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


@dataclass(slots=True)
class VenueRateLimiter:
    """One bucket per venue."""

    rate: float
    burst: int
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def bucket(self, venue: str) -> TokenBucket:
        """The venue's bucket (created full)."""
        bucket = self.buckets.get(venue)
        if bucket is None:
            bucket = self.buckets[venue] = TokenBucket(self.rate, self.burst)
        return bucket
