"""Governance settings: named profiles with every threshold documented, profile assignment, the
instrument kinds governance adopts, and the bar files ATR and invalidation conditions read.

Defaults come from the domain presets (``riskdesk.domain.governance.profile.preset``), i.e. from
seeds 002 and 003. A profile given in the configuration starts from the preset of the same name
(or the one named in its ``preset`` field, else ``standard``) and overrides only the fields it
sets, e.g. in TOML::

    [governance.profiles.perp_roe]
    atr_multiplier = 2.5
    [governance.profiles.tight]
    preset = "standard"
    lock_tiers = [{trigger_roe = 0.05, lock_roe = 0.0}, {trigger_roe = 0.10, lock_roe = 0.05}]
    [governance.assignments]
    "binance:BTC/USDT:USDT" = "perp_roe"
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from riskdesk.adapters.market_data.bundled import data_text
from riskdesk.application.book_service import BookService
from riskdesk.application.governance_service import (
    Bars,
    GovernanceConfig,
    GovernanceService,
    resample,
)
from riskdesk.application.risk_service import RiskService
from riskdesk.domain.errors import ConfigError, RiskdeskError
from riskdesk.domain.governance.profile import (
    PRESETS,
    TIMEFRAMES,
    GovernanceProfile,
    InvalidationCondition,
    LockTier,
    StopMethod,
    TakeProfitTier,
    preset,
    timeframe_seconds,
)
from riskdesk.domain.orders import TriggerPrice
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import UnitOfWorkFactory

_D = GovernanceProfile()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LockTierSettings(_Frozen):
    """A lock-profit tier (seed 003)."""

    trigger_roe: float = Field(description="ROE (fraction) that arms the tier")
    lock_roe: float = Field(description="ROE kept by the stop; 0 = breakeven incl. fees")


class TakeProfitTierSettings(_Frozen):
    """A take-profit step."""

    trigger: float = Field(description="R multiple (r_ladder) or ROE fraction (roe_ladder)")
    fraction: float = Field(
        description="r_ladder: share of the base quantity; roe_ladder: share of what is held"
    )


class InvalidationSettings(_Frozen):
    """A structured invalidation condition evaluated on closed bars."""

    timeframe: str = Field(description="bar length: 1m 5m 15m 30m 1h 4h 1d")
    close_below: float | None = Field(None, description="invalid once a candle closes below")
    close_above: float | None = Field(None, description="invalid once a candle closes above")


def _preset_values(name: str) -> dict[str, Any]:
    """A preset as settings data (tiers as dicts)."""
    p = preset(name)
    return {
        "stop_method": p.stop_method.value,
        "atr_period": p.atr_period,
        "atr_timeframe": p.atr_timeframe,
        "atr_multiplier": p.atr_multiplier,
        "stop_percent": p.stop_percent,
        "trigger": p.trigger.value,
        "liquidation_buffer": p.liquidation_buffer,
        "lock_tiers": [
            {"trigger_roe": t.trigger_roe, "lock_roe": t.lock_roe} for t in p.lock_tiers
        ],
        "lock_net_of_fees": p.lock_net_of_fees,
        "fee_rate": p.fee_rate,
        "chandelier_multiplier": p.chandelier_multiplier,
        "trail_percent": p.trail_percent,
        "trail_activation": p.trail_activation,
        "min_stop_move": p.min_stop_move,
        "r_ladder": [{"trigger": t.trigger, "fraction": t.fraction} for t in p.r_ladder],
        "roe_ladder": [{"trigger": t.trigger, "fraction": t.fraction} for t in p.roe_ladder],
        "add_on_cap": p.add_on_cap,
        "add_on_roe_tiers": list(p.add_on_roe_tiers),
        "add_on_requires_signal": p.add_on_requires_signal,
        "add_on_gamma": p.add_on_gamma,
        "add_on_min_interval_seconds": p.add_on_min_interval,
        "max_holding_seconds": p.max_holding_seconds,
        "stagnation_seconds": p.stagnation_seconds,
        "stagnation_roe": p.stagnation_roe,
        "stagnation_close": p.stagnation_close,
        "exit_on_signal": p.exit_on_signal,
        "exit_on_opposite_signal": p.exit_on_opposite_signal,
        "guard_stop": p.guard_stop,
        "fill_timeout_seconds": p.fill_timeout_seconds,
        "entry_timeout_seconds": p.entry_timeout_seconds,
    }


class ProfileSettings(_Frozen):
    """One governance profile. Fields not given come from ``preset`` (default: the preset with
    the profile's name, else ``standard``)."""

    preset: str | None = Field(None, description="preset the profile starts from")
    stop_method: str = Field(
        _D.stop_method.value, description="initial stop: 'atr' (E ∓ k·ATR) or 'percent' (E·(1 ∓ p))"
    )
    atr_period: int = Field(_D.atr_period, description="ATR period in bars (Wilder, TA-Lib)")
    atr_timeframe: str = Field(_D.atr_timeframe, description="bar length ATR is computed on")
    atr_multiplier: float = Field(
        _D.atr_multiplier, description="k of the ATR stop E ∓ k·ATR (seed 003)"
    )
    stop_percent: float = Field(
        _D.stop_percent,
        description="percent stop, fraction of entry; also the fallback without bars",
    )
    trigger: str = Field(
        _D.trigger.value, description="price stop orders trigger on: mark, last or index"
    )
    liquidation_buffer: float = Field(
        _D.liquidation_buffer,
        description="a stop stays at least this fraction of the liquidation price inside it",
    )
    lock_tiers: list[LockTierSettings] = Field(
        default_factory=lambda: [
            LockTierSettings(trigger_roe=t.trigger_roe, lock_roe=t.lock_roe) for t in _D.lock_tiers
        ],
        description="ROE lock-profit ladder: 10 % → breakeven incl. fees, 20 % → 10 %, …",
    )
    lock_net_of_fees: bool = Field(
        _D.lock_net_of_fees, description="lock levels include the round-trip taker fee"
    )
    fee_rate: float | None = Field(
        _D.fee_rate, description="fee rate per side for lock levels (None: the instrument's taker)"
    )
    chandelier_multiplier: float | None = Field(
        _D.chandelier_multiplier,
        description="chandelier trail: extreme since entry ∓ m·ATR (None: off)",
    )
    trail_percent: float | None = Field(
        _D.trail_percent, description="percent trail callback from the extreme (None: off)"
    )
    trail_activation: float | None = Field(
        _D.trail_activation,
        description="percent trail armed after this move from entry (None: at once)",
    )
    min_stop_move: float = Field(
        _D.min_stop_move, description="smallest stop move worth a cancel/replace, fraction of price"
    )
    r_ladder: list[TakeProfitTierSettings] = Field(
        default_factory=lambda: [
            TakeProfitTierSettings(trigger=t.trigger, fraction=t.fraction) for t in _D.r_ladder
        ],
        description="take-profit by R multiples (seed 002: 2R/3R/4R × 50/30/20 %)",
    )
    roe_ladder: list[TakeProfitTierSettings] = Field(
        default_factory=list,
        description="take-profit by ROE: β of what is held at ROE ≥ ρ (seed 003)",
    )
    add_on_cap: int = Field(_D.add_on_cap, description="maximum add-ons (0: pyramiding off)")
    add_on_roe_tiers: list[float] = Field(
        default_factory=lambda: list(_D.add_on_roe_tiers),
        description="ROE the j-th add-on needs (seed 003: 5 %, 10 %; the last repeats)",
    )
    add_on_requires_signal: bool = Field(
        _D.add_on_requires_signal, description="an add-on also needs a same-direction signal"
    )
    add_on_gamma: float = Field(_D.add_on_gamma, description="γ of Q_add(j) = Q0·γ^j, 0 < γ < 1")
    add_on_min_interval_seconds: float = Field(
        _D.add_on_min_interval, description="seconds between entry/add-ons"
    )
    max_holding_seconds: float | None = Field(
        _D.max_holding_seconds, description="time stop: close after this long (None: off)"
    )
    stagnation_seconds: float | None = Field(
        _D.stagnation_seconds, description="stagnation T: held longer than this … (None: off)"
    )
    stagnation_roe: float = Field(
        _D.stagnation_roe, description="… with |ROE| below ρ_min → STAGNATED event"
    )
    stagnation_close: bool = Field(
        _D.stagnation_close, description="also close a stagnated position"
    )
    invalidation: list[InvalidationSettings] = Field(
        default_factory=list, description="invalidation conditions for every position"
    )
    exit_on_signal: bool = Field(_D.exit_on_signal, description="close on an exit signal")
    exit_on_opposite_signal: bool = Field(
        _D.exit_on_opposite_signal, description="close on an opposite-direction entry signal"
    )
    guard_stop: bool = Field(
        _D.guard_stop,
        description="close at market when the trigger price is through the stop (seed 003 guard)",
    )
    fill_timeout_seconds: float = Field(
        _D.fill_timeout_seconds,
        description="a planned take-profit, close or add-on that has not filled after this many "
        "seconds is planned again (reductions, closes: old order cancelled, ALERT) or dropped "
        "(add-ons)",
    )
    entry_timeout_seconds: float | None = Field(
        _D.entry_timeout_seconds,
        description="a registered entry that has not opened its position after this many "
        "seconds moves to FAILED (none: wait forever)",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") is not None:
            name = str(data["preset"])
            if name not in PRESETS:
                raise ValueError(f"unknown preset {name!r} ({', '.join(PRESETS)})")
            return {**_preset_values(name), **data}
        return data

    def to_profile(self, name: str) -> GovernanceProfile:
        """The domain profile (a ``ConfigError`` names the bad field)."""
        try:
            return GovernanceProfile(
                name=name,
                stop_method=StopMethod(self.stop_method),
                atr_period=self.atr_period,
                atr_timeframe=self.atr_timeframe,
                atr_multiplier=self.atr_multiplier,
                stop_percent=self.stop_percent,
                trigger=TriggerPrice(self.trigger),
                liquidation_buffer=self.liquidation_buffer,
                lock_tiers=tuple(LockTier(t.trigger_roe, t.lock_roe) for t in self.lock_tiers),
                lock_net_of_fees=self.lock_net_of_fees,
                fee_rate=self.fee_rate,
                chandelier_multiplier=self.chandelier_multiplier,
                trail_percent=self.trail_percent,
                trail_activation=self.trail_activation,
                min_stop_move=self.min_stop_move,
                r_ladder=tuple(TakeProfitTier(t.trigger, t.fraction) for t in self.r_ladder),
                roe_ladder=tuple(TakeProfitTier(t.trigger, t.fraction) for t in self.roe_ladder),
                add_on_cap=self.add_on_cap,
                add_on_roe_tiers=tuple(self.add_on_roe_tiers),
                add_on_requires_signal=self.add_on_requires_signal,
                add_on_gamma=self.add_on_gamma,
                add_on_min_interval=self.add_on_min_interval_seconds,
                max_holding_seconds=self.max_holding_seconds,
                stagnation_seconds=self.stagnation_seconds,
                stagnation_roe=self.stagnation_roe,
                stagnation_close=self.stagnation_close,
                invalidation=tuple(
                    InvalidationCondition.parse(c.model_dump(exclude_none=True))
                    for c in self.invalidation
                ),
                exit_on_signal=self.exit_on_signal,
                exit_on_opposite_signal=self.exit_on_opposite_signal,
                guard_stop=self.guard_stop,
                fill_timeout_seconds=self.fill_timeout_seconds,
                entry_timeout_seconds=self.entry_timeout_seconds,
            )
        except ValueError as exc:
            raise ConfigError(str(exc), field=f"governance.profiles.{name}") from None
        except RiskdeskError as exc:
            field = f"governance.profiles.{name}" + (f".{exc.field}" if exc.field else "")
            raise ConfigError(exc.reason, field=field) from None


def _default_profiles() -> dict[str, ProfileSettings]:
    return {name: ProfileSettings(preset=name) for name in PRESETS}


class BarFileSettings(_Frozen):
    """An OHLCV CSV (``timestamp_ms,open,high,low,close,volume``, candle open time) for one
    instrument: a path inside the bundled data or a file on disk."""

    file: str = Field(description="bundled path (crypto/…) or a file path")
    timeframe: str = Field("1h", description="bar length of the file")

    @field_validator("timeframe")
    @classmethod
    def _tf(cls, value: str) -> str:
        if value not in TIMEFRAMES:
            raise ValueError(f"unknown timeframe {value!r} ({', '.join(TIMEFRAMES)})")
        return value


_BUNDLED_1H = "crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv"


def _default_bars() -> dict[str, BarFileSettings]:
    # The bundled hourly BTC/USDT bars price the demo's BTC perpetuals (the inverse one too: its
    # marks in the demo are the same bars).
    return {
        key: BarFileSettings(file=_BUNDLED_1H, timeframe="1h")
        for key in ("binance:BTC/USDT:USDT", "deribit:BTC/USD:BTC", "binance:BTC/USDT")
    }


class GovernanceSettings(_Frozen):
    """All governance configuration."""

    default_profile: str = Field("standard", description="profile of a newly governed position")
    profiles: dict[str, ProfileSettings] = Field(
        default_factory=_default_profiles,
        description="named profiles (standard, perp_roe, swing + your own)",
    )
    assignments: dict[str, str] = Field(
        default_factory=dict,
        description="profile per 'account/venue:symbol', 'venue:symbol', account or venue",
    )
    managed_kinds: list[str] = Field(
        default_factory=lambda: ["perpetual", "future"],
        description="instrument kinds governed automatically (perpetual, future, spot)",
    )
    bars: dict[str, BarFileSettings] = Field(
        default_factory=_default_bars, description="OHLCV files per instrument key (ATR, extremes)"
    )
    accounts: list[str] = Field(
        default_factory=list, description="accounts governed (empty: every account)"
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_profiles(cls, data: Any) -> Any:
        # A configured profile with a preset's name starts from that preset; the presets stay.
        if isinstance(data, dict) and isinstance(data.get("profiles"), dict):
            merged: dict[str, Any] = {name: {"preset": name} for name in PRESETS}
            for name, given in data["profiles"].items():
                if isinstance(given, dict):
                    base = {"preset": name if name in PRESETS else "standard"}
                    merged[name] = {**base, **given}
                else:
                    merged[name] = given
            data = {**data, "profiles": merged}
        return data

    @field_validator("managed_kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        for kind in value:
            if kind not in ("perpetual", "future", "spot"):
                raise ValueError(f"unknown kind {kind!r} (perpetual, future, spot)")
        return value

    @model_validator(mode="after")
    def _names(self) -> GovernanceSettings:
        for name in (self.default_profile, *self.assignments.values()):
            if name not in self.profiles:
                raise ValueError(
                    f"unknown profile {name!r} (known: {', '.join(sorted(self.profiles))})"
                )
        for name, profile in self.profiles.items():
            try:
                profile.to_profile(name)
            except ConfigError as exc:
                raise ValueError(f"{exc.field}: {exc.reason}") from None
        return self

    def to_config(self) -> GovernanceConfig:
        """Plain configuration for the service."""
        return GovernanceConfig(
            profiles={name: p.to_profile(name) for name, p in self.profiles.items()},
            default_profile=self.default_profile,
            assignments=dict(self.assignments),
            managed_kinds=frozenset(self.managed_kinds),
            accounts=frozenset(self.accounts),
        )


class FileBarSource:
    """Bars from OHLCV CSV files (bundled or on disk), read once and resampled on demand."""

    def __init__(self, files: Mapping[str, BarFileSettings]) -> None:
        self._files = dict(files)
        self._cache: dict[tuple[str, str], Bars] = {}

    def bars(self, instrument_key: str, timeframe: str, until: datetime) -> Bars | None:
        """Bars of ``timeframe`` that closed by ``until`` (None when no file is configured)."""
        spec = self._files.get(instrument_key)
        if spec is None:
            return None
        if timeframe_seconds(timeframe) < timeframe_seconds(spec.timeframe):
            return None
        key = (spec.file, timeframe)
        if key not in self._cache:
            base = self._cache.get((spec.file, spec.timeframe))
            if base is None:
                base = self._cache[(spec.file, spec.timeframe)] = _read(spec)
            self._cache[key] = resample(base, timeframe)
        return self._cache[key].closed_by(until)


def _read(spec: BarFileSettings) -> Bars:
    path = Path(spec.file).expanduser()
    text = path.read_text(encoding="utf-8") if path.is_absolute() else data_text(spec.file)
    rows = sorted(csv.DictReader(text.splitlines()), key=lambda r: int(r["timestamp_ms"]))
    ts = np.array([int(r["timestamp_ms"]) // 1000 for r in rows], dtype=np.int64)
    cols = {
        name: np.array([float(r[name]) for r in rows], dtype=float)
        for name in ("open", "high", "low", "close")
    }
    return Bars(spec.timeframe, ts, cols["open"], cols["high"], cols["low"], cols["close"])


def build_governance_service(
    settings: GovernanceSettings,
    book: BookService,
    risk: RiskService,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
) -> GovernanceService:
    """The governance service over the book, risk and the store, reading the configured bars."""
    return GovernanceService(
        book, risk, uow_factory, clock, settings.to_config(), FileBarSource(settings.bars)
    )


__all__ = [
    "BarFileSettings",
    "FileBarSource",
    "GovernanceSettings",
    "InvalidationSettings",
    "LockTierSettings",
    "ProfileSettings",
    "TakeProfitTierSettings",
    "build_governance_service",
]
