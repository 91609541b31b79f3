"""Order-management settings: retries, the protective-stop supervisor, the paper venue
(matching model, capabilities, fault injection), SPOT → FUT transfers and the replay that
``riskdesk run --replay`` trades on. Every number is a named field with a description
(``riskdesk config`` lists them); environment overrides use ``RISKDESK_OMS__…``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskdesk.adapters.brokers.faults import parse_rule
from riskdesk.application.oms import OmsConfig
from riskdesk.application.supervisor import SupervisorConfig
from riskdesk.domain.errors import ConfigError
from riskdesk.domain.orders import TriggerPrice
from riskdesk.domain.transfers import TransferPolicy

_BUNDLED_1H = "crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrySettings(_Frozen):
    """How the order manager retries venue calls (only rate limits and unknown outcomes)."""

    submit_attempts: int = Field(
        4, ge=1, description="sends of one order (rate limits and 'never received' count)"
    )
    query_attempts: int = Field(
        4, ge=1, description="lookups by client order id after a timeout or a 5xx"
    )
    backoff_seconds: float = Field(0.25, ge=0, description="first wait between retries, seconds")
    backoff_max_seconds: float = Field(
        8.0, ge=0, description="longest wait between retries (doubling stops there), seconds"
    )
    resume_max_age_seconds: float = Field(
        300.0,
        ge=0,
        description="an order journaled but never sent before a restart is sent if younger, else failed",
    )
    fills_page: int = Field(1000, ge=1, description="venue fills read per request")

    def to_config(self) -> OmsConfig:
        """Plain configuration for the order manager."""
        return OmsConfig(
            submit_attempts=self.submit_attempts,
            query_attempts=self.query_attempts,
            backoff_seconds=self.backoff_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
            resume_max_age_seconds=self.resume_max_age_seconds,
            fills_page=self.fills_page,
        )


class SupervisorSettings(_Frozen):
    """The protective-stop supervisor."""

    default_stop_fraction: Decimal = Field(
        Decimal("0.02"),
        gt=0,
        lt=1,
        description="distance of a stop the entry did not name, fraction of the entry (0.02 = 2 %)",
    )
    trigger: str = Field("mark", description="price protective stops trigger on: mark, last, index")
    protect_kinds: list[str] = Field(
        default_factory=lambda: ["perpetual", "future"],
        description="instrument kinds that must always have a stop",
    )

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: str) -> str:
        if value not in ("mark", "last", "index"):
            raise ValueError("must be mark, last or index")
        return value

    def to_config(self) -> SupervisorConfig:
        """Plain configuration for the supervisor."""
        return SupervisorConfig(
            default_stop_fraction=self.default_stop_fraction,
            trigger=TriggerPrice(self.trigger),
            protect_kinds=frozenset(self.protect_kinds),
        )


class PaperSettings(_Frozen):
    """The paper venue: matching model, what it supports natively, limits and faults."""

    venue: str = Field("paper", description="venue name of paper instruments (venue:symbol)")
    state_file: Path | None = Field(
        None,
        description="the paper venue's own SQLite file (default: <database>.paper.db next to a SQLite database, <data_dir>/paper.db otherwise)",
    )
    default_leverage: Decimal = Field(
        Decimal(10), gt=0, le=125, description="leverage of margined orders that name none"
    )
    slippage_bps: Decimal = Field(
        Decimal(0), ge=0, description="price paid by orders that take liquidity, basis points"
    )
    bar_half_spread_bps: Decimal = Field(
        Decimal(1), ge=0, description="synthetic half spread around bar prices, basis points"
    )
    max_fill_fraction: Decimal | None = Field(
        None, gt=0, le=1, description="cap of one fill at this fraction of the displayed size"
    )
    latency_ms: int = Field(0, ge=0, description="delay before a new order can execute, ms")
    native_stop: bool = Field(True, description="the venue accepts stop orders")
    native_take_profit: bool = Field(True, description="the venue accepts take-profit orders")
    native_amend: bool = Field(True, description="the venue amends orders in place")
    native_oco: bool = Field(True, description="the venue cancels an OCO group as one")
    stop_edits_per_second: float = Field(
        5.0,
        gt=0,
        description="budget of protective-stop edits inside the venue rate limit, per second",
    )
    stop_edit_burst: int = Field(10, ge=1, description="burst of protective-stop edits")
    rate_limit_per_second: float | None = Field(
        None, gt=0, description="requests per second the venue accepts (None: unlimited)"
    )
    rate_limit_burst: int = Field(20, ge=1, description="request burst the venue accepts")
    faults: list[str] = Field(
        default_factory=list,
        description="injected faults 'operation:kind[:order_type][:count]' (tests; see faults.py)",
    )

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: list[str]) -> list[str]:
        for spec in value:
            try:
                parse_rule(spec)
            except ConfigError as exc:
                raise ValueError(exc.reason) from None
        return value


class TransferSettings(_Frozen):
    """Automatic SPOT → FUT margin transfers (seed 003)."""

    enabled: bool = Field(True, description="evaluate the transfer rule in the engine loop")
    currency: str = Field("USDT", description="currency moved")
    spot_account: str = Field("paper-spot", description="account of the spot wallet (pays)")
    fut_account: str = Field("paper-usdm", description="account of the futures wallet (receives)")
    min_free_fut: Decimal = Field(
        Decimal(1000), ge=0, description="free futures balance to keep (min_free_fut)"
    )
    spot_buffer: Decimal = Field(
        Decimal(100), ge=0, description="spot balance left after a transfer (spot_buffer)"
    )
    min_interval_seconds: float = Field(
        300.0, gt=0, description="minimum time between two requests, seconds"
    )
    daily_cap: Decimal = Field(Decimal(10000), ge=0, description="most requested per UTC day")
    auto: bool = Field(False, description="execute without a person's approval")
    check_every_seconds: float = Field(
        300.0, gt=0, description="how often the engine evaluates the rule, seconds"
    )

    def to_policy(self) -> TransferPolicy:
        """The pure policy."""
        return TransferPolicy(
            currency=self.currency,
            min_free_fut=self.min_free_fut,
            spot_buffer=self.spot_buffer,
            min_interval=timedelta(seconds=self.min_interval_seconds),
            daily_cap=self.daily_cap,
            auto=self.auto,
        )


class ReplayEntrySettings(_Frozen):
    """A scripted entry of the replay (market order through pre-trade risk)."""

    at: datetime = Field(
        description="when (UTC) the entry is sent: the first bar closing at or after"
    )
    side: str = Field("buy", description="buy or sell")
    qty: Decimal = Field(gt=0, description="contracts")
    leverage: Decimal | None = Field(None, gt=0, description="leverage (default: the replay's)")
    stop: Decimal | None = Field(
        None, gt=0, description="protective stop level (default: governance's)"
    )
    profile: str | None = Field(None, description="governance profile (default: the replay's)")


def _default_entries() -> list[ReplayEntrySettings]:
    return [
        ReplayEntrySettings(at=datetime(2019, 10, 7, 4, tzinfo=UTC), side="buy", qty=Decimal("0.2"))
    ]


class ReplaySettings(_Frozen):
    """What ``riskdesk run --replay`` trades: bundled real bars replayed as a live feed on a paper
    account, with scripted entries governed by a profile."""

    file: str = Field(_BUNDLED_1H, description="OHLCV CSV (bundled path or file path)")
    timeframe: str = Field("1h", description="bar length of the file")
    symbol: str = Field("BTC/USDT:USDT", description="instrument traded on the paper venue")
    tick_size: Decimal = Field(Decimal("0.1"), gt=0, description="price tick")
    lot_size: Decimal = Field(Decimal("0.001"), gt=0, description="quantity step")
    maker_fee_rate: Decimal = Field(Decimal("0.0002"), description="maker fee rate")
    taker_fee_rate: Decimal = Field(Decimal("0.0004"), description="taker fee rate")
    start: datetime = Field(
        datetime(2019, 10, 6, tzinfo=UTC), description="first bar (open time, UTC)"
    )
    end: datetime = Field(
        datetime(2019, 10, 10, tzinfo=UTC), description="last bar (open time, UTC)"
    )
    database: Path | None = Field(
        None,
        description="the replay's own database, resumed on the next run (default "
        "<data_dir>/replay.db; --db names another, --fresh starts it over)",
    )
    account: str = Field("paper-usdm", description="paper futures account")
    spot_account: str = Field("paper-spot", description="paper spot wallet (transfers)")
    deposit: Decimal = Field(Decimal(10000), ge=0, description="initial futures deposit (USDT)")
    spot_deposit: Decimal = Field(Decimal(5000), ge=0, description="initial spot deposit (USDT)")
    leverage: Decimal = Field(Decimal(10), gt=0, description="leverage of the entries")
    profile: str = Field("standard", description="governance profile of the entries")
    speed: float = Field(
        0.0,
        ge=0,
        description="replay pace, a time multiplier (3600: an hourly bar per second; 0: as fast as possible)",
    )
    entries: list[ReplayEntrySettings] = Field(
        default_factory=_default_entries, description="scripted entries"
    )


class OmsSettings(_Frozen):
    """All order-management configuration."""

    retries: RetrySettings = Field(default_factory=RetrySettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    paper: PaperSettings = Field(default_factory=PaperSettings)
    transfers: TransferSettings = Field(default_factory=TransferSettings)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)


__all__ = [
    "OmsSettings",
    "PaperSettings",
    "ReplayEntrySettings",
    "ReplaySettings",
    "RetrySettings",
    "SupervisorSettings",
    "TransferSettings",
]
