"""Market-data ports: price updates over time and scenario bundles (the demo book)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from riskdesk.domain.accounting.book import Account
from riskdesk.domain.instruments import Instrument


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    """Marks (by ``venue:symbol``, price currency per unit) and asset prices (reporting currency)
    known at ``ts``, from ``source``."""

    ts: datetime
    marks: Mapping[str, Decimal]
    asset_prices: Mapping[str, Decimal]
    source: str


@dataclass(frozen=True, slots=True)
class CashMovement:
    """A deposit (> 0) or withdrawal (< 0), idempotent by ``reference``."""

    account_id: str
    currency: str
    amount: Decimal
    ts: datetime
    reference: str
    reason: str = "deposit"


@dataclass(frozen=True, slots=True)
class PaperEntry:
    """A market entry a paper twin sends at ``at`` (the first bar closing at or after it):
    ``side`` ``buy``/``sell``, ``qty`` contracts, governed by ``profile`` (None: the default)."""

    at: datetime
    account_id: str
    instrument_key: str
    side: str
    qty: Decimal
    leverage: Decimal
    profile: str | None
    twin_of: str


@dataclass(frozen=True, slots=True)
class PaperTwins:
    """Paper twins of a scenario's positions: the same entries traded on the paper venue over
    bundled bars by the engine loop (governance plans → risk → order manager → venue → fills →
    book). ``bars`` is the OHLCV file the twins trade on (its candles open from ``start`` to
    ``end``); ``deposits`` fund the accounts at ``start``."""

    description: str
    instruments: Sequence[Instrument]
    accounts: Sequence[Account]
    deposits: Sequence[CashMovement]
    entries: Sequence[PaperEntry]
    bars: str
    timeframe: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Scenario:
    """A book to load and replay: accounts, instruments, cash, fill rows (as imported from a file)
    and price updates in time order; optionally when to run the risk monitors, orders to check
    (raw rows: ``at``, ``intent_id``, ``account_id``, ``venue``, ``symbol``, ``side``, ``qty``…) and
    risk thresholds the scenario's data needs (e.g. daily closes are older than live marks);
    ``paper`` the paper twins traded under governance (the demo's governed positions)."""

    description: str
    accounts: Sequence[Account]
    instruments: Sequence[Instrument]
    cash: Sequence[CashMovement]
    fill_rows: Sequence[Mapping[str, object]]
    price_updates: Sequence[PriceUpdate]
    sources: Mapping[str, str] = field(default_factory=dict)
    monitor_times: Sequence[datetime] = ()
    order_checks: Sequence[Mapping[str, object]] = ()
    risk_overrides: Mapping[str, float] = field(default_factory=dict)
    notes: Sequence[str] = ()
    paper: PaperTwins | None = None


class PriceFeed(Protocol):
    """Anything that yields price updates in time order (a replay, a live poller)."""

    def updates(self) -> Iterator[PriceUpdate]:
        """Price updates, oldest first."""
        ...
