"""Risk settings: a preset plus named overrides, monitor thresholds and the kill-switch policy.

Every limit defaults to the chosen preset (``balanced`` = the seeds' numbers); setting a field
overrides the preset. Ratios are fractions of total equity (0.20 = 20 %).

Every value is range-checked when the settings load, and the levels of one monitor must be in
order (warning before critical before emergency); a bad value is refused with an error naming
the setting (``risk.limits.max_leverage``) and its environment variable
(``RISKDESK_RISK__LIMITS__MAX_LEVERAGE``). ``"off"`` disables a limit where the field allows it
(the pre-trade limits); monitor levels and the kill-switch drawdown cannot be switched off (set
a kill-switch ``on_*`` state to ``active`` to make a trigger move nothing).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from riskdesk.domain.errors import ConfigError
from riskdesk.domain.risk.limits import (
    KillSwitchPolicy,
    LeverageTier,
    MonitorThresholds,
    RiskLimits,
    preset,
)

OffFloat = Literal["off"] | float | None
OffInt = Literal["off"] | int | None

_STATES = ("active", "reducing", "halted", "flatten")


def _number(value: object) -> float | None:
    """The value as a float when it is a number (not ``"off"``, None or a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _check(value: object, low: float, high: float, low_open: bool, high_open: bool) -> object:
    """``value`` unchanged if it is not a number or lies in the range; else a ValueError saying
    the range (``low_open``: strictly above ``low``; ``high_open``: strictly below ``high``)."""
    number = _number(value)
    if number is None:
        return value
    ok = math.isfinite(number)
    ok = ok and (number > low if low_open else number >= low)
    ok = ok and (number < high if high_open else number <= high)
    if not ok:
        lo = f"{'>' if low_open else '>='} {low:g}"
        hi = "" if math.isinf(high) else f" and {'<' if high_open else '<='} {high:g}"
        raise ValueError(f"must be {lo}{hi}, got {value}")
    return value


def _named(
    name: str, value: float, low: float, high: float, low_open: bool, high_open: bool
) -> None:
    try:
        _check(value, low, high, low_open, high_open)
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


def _in_order(what: str, levels: list[tuple[str, float]], falling: bool = False) -> None:
    """Each level strictly beyond the previous one (rising, or falling for distances)."""
    for (a, x), (b, y) in itertools.pairwise(levels):
        if (y >= x) if falling else (y <= x):
            relation = "below" if falling else "above"
            raise ValueError(f"{what} are out of order: {b} ({y:g}) must be {relation} {a} ({x:g})")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LeverageTierSettings(_Frozen):
    """Leverage range for signals at or above ``min_confidence`` (seed 002)."""

    min_confidence: float = Field(description="lowest confidence (0..1) of the band")
    low: float = Field(description="leverage at the bottom of the band (x)")
    high: float = Field(description="leverage at the top of the band (x)")

    @model_validator(mode="after")
    def _range(self) -> LeverageTierSettings:
        _named("min_confidence", self.min_confidence, 0.0, 1.0, False, False)
        if not (math.isfinite(self.low) and math.isfinite(self.high) and 0 < self.low <= self.high):
            raise ValueError(f"needs 0 < low <= high, got low {self.low:g} and high {self.high:g}")
        return self


class LimitOverrides(_Frozen):
    """Overrides of the preset's pre-trade limits: a value replaces the preset's, ``"off"``
    disables the limit, None (the default) keeps the preset value."""

    max_symbol_exposure: OffFloat = Field(
        None, description="per-symbol exposure / equity (seed 002: 0.20)"
    )
    max_total_exposure: OffFloat = Field(
        None, description="gross exposure / equity (seed 002: 0.60)"
    )
    max_positions: OffInt = Field(None, description="concurrent open positions (seed 002: 5)")
    risk_per_trade: OffFloat = Field(
        None, description="loss to the protective stop / equity (seed 002: 0.02)"
    )
    max_leverage: OffFloat = Field(
        None, description="effective leverage, gross / equity (seed 004: 5)"
    )
    daily_loss_limit: OffFloat = Field(
        None, description="loss since day start / day-start equity (seed 004: 0.05)"
    )
    max_order_notional: OffFloat = Field(
        None, description="one order's notional, reporting currency"
    )
    price_band: OffFloat = Field(
        None, description="marketable limit price vs mark, linear (fat finger)"
    )
    option_price_band: OffFloat = Field(None, description="marketable limit price vs mark, options")
    liquidity_book_fraction: OffFloat = Field(
        None, description="order / depth of the top levels (seed 004: 0.10)"
    )
    liquidity_levels: int | None = Field(
        None, description="order-book levels the liquidity check sums (seed 004: 10)"
    )
    max_slippage_bps: OffFloat = Field(
        None, description="estimated slippage of a marketable order, bps"
    )
    orders_per_second: OffFloat = Field(
        None, description="order rate per venue (token bucket refill)"
    )
    order_burst: OffInt = Field(None, description="token bucket size per venue")
    adjustment_sources: tuple[str, ...] | None = Field(
        None,
        description="order sources that are automated adjustments (seed 001 limits apply to them)",
    )
    max_adjustments_per_day: OffInt = Field(
        None, description="automated adjustments per UTC day (seed 001: 10)"
    )
    min_seconds_between_adjustments: OffFloat = Field(
        None, description="seconds between adjustments of one underlying (seed 001: 300)"
    )
    max_delta_change_per_trade: OffFloat = Field(
        None,
        description="|delta change| of one adjustment, units of the underlying (seed 001: 5.0)",
    )
    max_cost_per_day: OffFloat = Field(
        None, description="fees of today's adjustments, reporting currency (seed 001: 1000.0)"
    )
    max_concentration: OffFloat = Field(
        None, description="largest asset gross exposure / equity (seed 001: 0.30)"
    )
    max_portfolio_heat: OffFloat = Field(None, description="risk to all stops / equity (seed 002)")
    max_net_delta_per_underlying: OffFloat = Field(
        None, description="|net dollar delta| / equity per underlying"
    )
    max_net_delta_total: OffFloat = Field(
        None, description="|net dollar delta| / equity, whole book"
    )
    max_gamma_per_underlying: OffFloat = Field(
        None, description="|dollar gamma per 1 % move| / equity per underlying"
    )
    max_gamma_total: OffFloat = Field(
        None, description="|dollar gamma per 1 % move of every underlying| / equity, whole book"
    )
    max_vega_per_underlying: OffFloat = Field(
        None, description="|vega per vol point| / equity per underlying"
    )
    max_vega_total: OffFloat = Field(
        None, description="|vega per vol point on every underlying| / equity, whole book"
    )
    max_scenario_loss: OffFloat = Field(None, description="worst scenario-grid loss / equity")
    max_mark_age_seconds: OffFloat = Field(
        None, description="feed marks older than this (s) block new risk (default 300)"
    )
    max_manual_mark_age_seconds: OffFloat = Field(
        None,
        description="marks recorded by hand (risk.manual_mark_sources) older than this (s) "
        "block new risk (default 86400: a day)",
    )
    require_protective_stop: bool | None = Field(
        None, description="deny entries without a protective stop"
    )
    require_order_book: bool | None = Field(
        None, description="deny marketable orders without depth data"
    )
    kelly_fraction: float | None = Field(
        None, description="fraction of the full Kelly bet `risk size` uses (0.5 = half Kelly)"
    )
    leverage_tiers: tuple[LeverageTierSettings, ...] | None = Field(
        None,
        description="leverage by signal confidence: [{min_confidence, low, high}, ...] (seed 002)",
    )

    @field_validator("risk_per_trade")
    @classmethod
    def _risk_fraction(cls, value: object) -> object:
        return _check(value, 0.0, 1.0, True, True)

    @field_validator(
        "daily_loss_limit",
        "liquidity_book_fraction",
        "max_portfolio_heat",
        "kelly_fraction",
    )
    @classmethod
    def _fraction(cls, value: object) -> object:
        return _check(value, 0.0, 1.0, True, False)

    @field_validator(
        "max_symbol_exposure",
        "max_total_exposure",
        "max_leverage",
        "max_order_notional",
        "price_band",
        "option_price_band",
        "max_slippage_bps",
        "orders_per_second",
        "max_delta_change_per_trade",
        "max_concentration",
        "max_net_delta_per_underlying",
        "max_net_delta_total",
        "max_gamma_per_underlying",
        "max_gamma_total",
        "max_vega_per_underlying",
        "max_vega_total",
        "max_scenario_loss",
        "max_mark_age_seconds",
        "max_manual_mark_age_seconds",
    )
    @classmethod
    def _positive(cls, value: object) -> object:
        return _check(value, 0.0, math.inf, True, True)

    @field_validator(
        "min_seconds_between_adjustments", "max_cost_per_day", "max_adjustments_per_day"
    )
    @classmethod
    def _not_negative(cls, value: object) -> object:
        return _check(value, 0.0, math.inf, False, True)

    @field_validator("max_positions")
    @classmethod
    def _positions(cls, value: object) -> object:
        return _check(value, 0.0, math.inf, False, True)  # 0: no position may be opened

    @field_validator("order_burst", "liquidity_levels")
    @classmethod
    def _at_least_one(cls, value: object) -> object:
        return _check(value, 1.0, math.inf, False, True)

    @field_validator("adjustment_sources")
    @classmethod
    def _sources(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and any(not v.strip() or ":" in v for v in value):
            raise ValueError(
                f"sources are non-empty names without ':' (an order's source is matched up to "
                f"its first ':'), got {list(value)}"
            )
        return value

    @field_validator("leverage_tiers")
    @classmethod
    def _tiers(
        cls, value: tuple[LeverageTierSettings, ...] | None
    ) -> tuple[LeverageTierSettings, ...] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("needs at least one tier")
        floors = [t.min_confidence for t in value]
        if len(set(floors)) != len(floors):
            raise ValueError(f"each tier needs its own min_confidence, got {floors}")
        return value


class MonitorSettings(_Frozen):
    """Intraday monitor thresholds (seed 004 §3.2). A level is reached at its threshold."""

    liq_warning: float = Field(
        0.10, description="distance to liquidation / mark: warning at or below"
    )
    liq_critical: float = Field(0.05, description="critical at or below")
    liq_emergency: float = Field(
        0.03, description="emergency at or below (also a kill-switch trigger)"
    )
    loss_warning: float = Field(
        0.10, description="position loss on entry notional: warning at or above"
    )
    loss_critical: float = Field(0.20, description="critical at or above")
    drawdown_alert: float = Field(0.15, description="equity below peak: alert at or above")
    margin_warning: float = Field(0.80, description="margin used / equity: warning")
    margin_critical: float = Field(0.90, description="critical")
    margin_block: float = Field(
        1.00, description="emergency; the kill switch moves to kill_switch.on_margin_block"
    )
    heat_levels: tuple[float, float, float] = Field(
        (0.05, 0.10, 0.15), description="portfolio heat info/warning/critical"
    )
    stale_warning_seconds: float = Field(60.0, description="feed mark age: warning")
    stale_critical_seconds: float = Field(
        300.0, description="feed mark age: critical (also a kill-switch trigger)"
    )
    manual_mark_max_age_seconds: float = Field(
        86_400.0,
        description="age of a mark recorded by hand (risk.manual_mark_sources) that raises a "
        "stale-data warning; the feed levels above do not apply to it (a day)",
    )
    cooldown_seconds: float = Field(
        900.0, description="an unchanged alert is re-raised after this long"
    )

    @model_validator(mode="after")
    def _ordered(self) -> MonitorSettings:
        """Ranges, and the levels of each monitor in order (warning first)."""
        for name in ("liq_warning", "liq_critical", "liq_emergency"):
            _named(name, getattr(self, name), 0.0, 1.0, True, True)
        for name in ("loss_warning", "loss_critical"):
            _named(name, getattr(self, name), 0.0, 1.0, True, False)
        _named("drawdown_alert", self.drawdown_alert, 0.0, 1.0, True, True)
        for name in ("margin_warning", "margin_critical", "margin_block"):
            _named(name, getattr(self, name), 0.0, math.inf, True, True)
        for i, level in enumerate(self.heat_levels):
            _named(f"heat_levels[{i}]", level, 0.0, 1.0, True, False)
        for name in (
            "stale_warning_seconds",
            "stale_critical_seconds",
            "manual_mark_max_age_seconds",
        ):
            _named(name, getattr(self, name), 0.0, math.inf, True, True)
        _named("cooldown_seconds", self.cooldown_seconds, 0.0, math.inf, False, True)
        _in_order(
            "the liquidation distance levels (warning at the largest distance)",
            [
                ("liq_warning", self.liq_warning),
                ("liq_critical", self.liq_critical),
                ("liq_emergency", self.liq_emergency),
            ],
            falling=True,
        )
        _in_order(
            "the position loss levels",
            [("loss_warning", self.loss_warning), ("loss_critical", self.loss_critical)],
        )
        _in_order(
            "the margin usage levels",
            [
                ("margin_warning", self.margin_warning),
                ("margin_critical", self.margin_critical),
                ("margin_block", self.margin_block),
            ],
        )
        _in_order(
            "the portfolio heat levels",
            [(f"heat_levels[{i}]", v) for i, v in enumerate(self.heat_levels)],
        )
        _in_order(
            "the stale data levels",
            [
                ("stale_warning_seconds", self.stale_warning_seconds),
                ("stale_critical_seconds", self.stale_critical_seconds),
            ],
        )
        return self


class KillSwitchSettings(_Frozen):
    """Which state each trigger moves trading to (``active``: the trigger moves nothing)."""

    drawdown_limit: float = Field(
        0.20, description="drawdown from peak equity that trips the switch (reached: >=)"
    )
    on_daily_loss: str = Field("reducing", description="state after the daily loss limit is hit")
    on_drawdown: str = Field("halted", description="state after the drawdown limit is hit")
    on_liquidation_emergency: str = Field(
        "reducing", description="state when a position is in liquidation emergency"
    )
    on_stale_data: str = Field("halted", description="state when market data is critically stale")
    unmarked_trips_stale_data: bool = Field(
        False,
        description=(
            "a position never marked trips the stale-data trigger too (off: it raises a "
            "stale-data alert and entries in it are denied, but only data that stopped "
            "flowing moves the kill switch)"
        ),
    )
    manual_marks_trip_stale_data: bool = Field(
        False,
        description=(
            "a mark recorded by hand older than monitors.manual_mark_max_age_seconds trips the "
            "stale-data trigger too (off: it raises a stale-data warning only; a hand-priced "
            "book is as of its marks, not a feed that stopped)"
        ),
    )
    on_margin_block: str = Field(
        "reducing", description="state when margin in use reaches monitors.margin_block (100 %)"
    )
    flatten_attempts: int = Field(
        3, description="FLATTEN sends a position's close order at most this many times in all"
    )

    @field_validator(
        "on_daily_loss",
        "on_drawdown",
        "on_liquidation_emergency",
        "on_stale_data",
        "on_margin_block",
    )
    @classmethod
    def _state(cls, value: str) -> str:
        if value not in _STATES:
            raise ValueError(f"must be active, reducing, halted or flatten, got {value!r}")
        return value

    @field_validator("drawdown_limit")
    @classmethod
    def _drawdown(cls, value: float) -> float:
        _check(value, 0.0, 1.0, True, True)
        return value

    @field_validator("flatten_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        _check(value, 1.0, math.inf, False, True)
        return value


class RiskSettings(_Frozen):
    """All risk configuration."""

    preset: str = Field(
        "balanced", description="conservative | balanced | aggressive (seed 002 examples)"
    )
    limits: LimitOverrides = Field(default_factory=LimitOverrides)
    monitors: MonitorSettings = Field(default_factory=MonitorSettings)
    kill_switch: KillSwitchSettings = Field(default_factory=KillSwitchSettings)
    manual_mark_sources: tuple[str, ...] = Field(
        ("manual", "paper quote"),
        description="mark sources recorded by hand (prices set, paper quote): as-of data "
        "judged by the manual-mark age limits, not the live-feed ones",
    )

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str) -> str:
        if value not in ("conservative", "balanced", "aggressive"):
            raise ValueError(f"must be conservative, balanced or aggressive, got {value!r}")
        return value

    @model_validator(mode="after")
    def _alert_before_halt(self) -> RiskSettings:
        alert, limit = self.monitors.drawdown_alert, self.kill_switch.drawdown_limit
        if alert > limit:
            raise ValueError(
                f"monitors.drawdown_alert ({alert:g}) must not be above kill_switch.drawdown_limit "
                f"({limit:g}): the alert comes before the halt"
            )
        return self

    def describe(self, prefix: str = "risk.") -> list[tuple[str, Any, str]]:
        """``(name, value, description)`` rows for ``riskdesk config``: every pre-trade limit
        with its *active* value (the preset's, or the override; ``"off"`` when disabled) and
        where it comes from, then the monitor and kill-switch settings and the mark sources."""
        rows: list[tuple[str, Any, str]] = [
            (f"{prefix}preset", self.preset, type(self).model_fields["preset"].description or "")
        ]
        active = self.to_limits()
        for name, info in type(self.limits).model_fields.items():
            value = getattr(active, name)
            if name == "leverage_tiers":
                value = [
                    {"min_confidence": t.min_confidence, "low": t.low, "high": t.high}
                    for t in value
                ]
            source = "override" if getattr(self.limits, name) is not None else self.preset
            rows.append(
                (
                    f"{prefix}limits.{name}",
                    "off" if value is None else value,
                    f"{info.description or ''} [{source}]",
                )
            )
        for group in ("monitors", "kill_switch"):
            model = getattr(self, group)
            for name, info in type(model).model_fields.items():
                rows.append(
                    (f"{prefix}{group}.{name}", getattr(model, name), info.description or "")
                )
        info = type(self).model_fields["manual_mark_sources"]
        rows.append(
            (f"{prefix}manual_mark_sources", self.manual_mark_sources, info.description or "")
        )
        return rows

    def to_limits(self) -> RiskLimits:
        """The preset with overrides applied."""
        base = preset(self.preset)
        changes: dict[str, Any] = {}
        for name in type(self.limits).model_fields:
            value = getattr(self.limits, name)
            if value is None:
                continue
            if name == "leverage_tiers":
                value = tuple(LeverageTier(t.min_confidence, t.low, t.high) for t in value)
            changes[name] = None if value == "off" else value
        return replace(base, **changes)

    def to_thresholds(self) -> MonitorThresholds:
        """Monitor thresholds as domain values."""
        return MonitorThresholds(**self.monitors.model_dump())

    def to_policy(self) -> KillSwitchPolicy:
        """Kill-switch policy as a domain value."""
        return KillSwitchPolicy(**self.kill_switch.model_dump())


def settings_error(exc: PydanticValidationError) -> ConfigError:
    """A settings validation error as one clear domain error: ``field`` is the first bad
    setting's dotted name; the reason says why, with its environment variable, then any other
    bad setting the same way."""
    parts: list[str] = []
    names: list[str] = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if not isinstance(x, int)]
        name = ".".join(loc) or "settings"
        env = "RISKDESK_" + "__".join(p.upper() for p in loc) if loc else "settings"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{message} (setting {name}, environment {env})")
        names.append(name)
    reason = parts[0] + "".join(f"; {n}: {p}" for n, p in zip(names[1:], parts[1:], strict=True))
    return ConfigError(reason, field=names[0] if names else None)
