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
    # The pipeline asks about one ``now`` several times per order: its POSIX seconds are kept
    # (``now.timestamp()`` costs more than the whole refill), and the burst as a float.
    _now: datetime | None = field(default=None, repr=False, compare=False)
    _now_seconds: float = field(default=0.0, repr=False, compare=False)
    _capacity: float = field(default=0.0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._capacity = float(self.burst)
        if self.tokens < 0:
            self.tokens = self._capacity

    def _seconds(self, now: datetime) -> float:
        if now is not self._now:
            self._now, self._now_seconds = now, now.timestamp()
        return self._now_seconds

    def available(self, now: datetime) -> float:
        """Tokens available at ``now`` (refilled since the last take)."""
        last = self.last
        if last is None:
            return self.tokens
        if now is not self._now:
            self._now, self._now_seconds = now, now.timestamp()
        # min(burst, tokens + max(elapsed, 0) * rate), spelt out: this runs for every order.
        elapsed = self._now_seconds - last
        refilled = self.tokens + (0.0 if elapsed < 0.0 else elapsed) * self.rate
        capacity = self._capacity
        return refilled if refilled < capacity else capacity

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
        if now is not self._now:
            self._now, self._now_seconds = now, now.timestamp()
        self.last = self._now_seconds
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
