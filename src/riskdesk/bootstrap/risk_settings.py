"""Risk settings: a preset plus named overrides, monitor thresholds and the kill-switch policy.

Every limit defaults to the chosen preset (``balanced`` = the seeds' numbers); setting a field
overrides the preset. Ratios are fractions of total equity (0.20 = 20 %).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskdesk.domain.risk.limits import KillSwitchPolicy, MonitorThresholds, RiskLimits, preset

OffFloat = Literal["off"] | float | None
OffInt = Literal["off"] | int | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    max_slippage_bps: OffFloat = Field(
        None, description="estimated slippage of a marketable order, bps"
    )
    orders_per_second: OffFloat = Field(
        None, description="order rate per venue (token bucket refill)"
    )
    order_burst: OffInt = Field(None, description="token bucket size per venue")
    max_adjustments_per_day: OffInt = Field(
        None, description="automated adjustments per day (seed 001)"
    )
    min_seconds_between_adjustments: OffFloat = Field(None, description="per underlying (seed 001)")
    max_delta_change_per_trade: OffFloat = Field(
        None, description="|dollar delta change| / equity (seed 001)"
    )
    max_cost_per_day: OffFloat = Field(None, description="fees + costs today / equity (seed 001)")
    max_concentration: OffFloat = Field(None, description="largest asset gross exposure / equity")
    max_portfolio_heat: OffFloat = Field(None, description="risk to all stops / equity (seed 002)")
    max_net_delta_per_underlying: OffFloat = Field(
        None, description="|net dollar delta| / equity per underlying"
    )
    max_net_delta_total: OffFloat = Field(
        None, description="|net dollar delta| / equity, whole book"
    )
    max_gamma_per_underlying: OffFloat = Field(
        None, description="|dollar gamma per 1 % move| / equity"
    )
    max_vega_per_underlying: OffFloat = Field(None, description="|vega per vol point| / equity")
    max_scenario_loss: OffFloat = Field(None, description="worst scenario-grid loss / equity")
    max_mark_age_seconds: OffFloat = Field(None, description="marks older than this block new risk")
    require_protective_stop: bool | None = Field(
        None, description="deny entries without a protective stop"
    )
    require_order_book: bool | None = Field(
        None, description="deny marketable orders without depth data"
    )


class MonitorSettings(_Frozen):
    """Intraday monitor thresholds (seed 004 §3.2)."""

    liq_warning: float = Field(0.10, description="distance to liquidation / mark: warning below")
    liq_critical: float = Field(0.05, description="critical below")
    liq_emergency: float = Field(0.03, description="emergency below (also a kill-switch trigger)")
    loss_warning: float = Field(0.10, description="position loss on entry notional: warning above")
    loss_critical: float = Field(0.20, description="critical above")
    drawdown_alert: float = Field(0.15, description="equity below peak: alert above")
    margin_warning: float = Field(0.80, description="margin used / equity: warning")
    margin_critical: float = Field(0.90, description="critical")
    margin_block: float = Field(1.00, description="emergency (no new positions)")
    heat_levels: tuple[float, float, float] = Field(
        (0.05, 0.10, 0.15), description="portfolio heat info/warning/critical"
    )
    stale_warning_seconds: float = Field(60.0, description="mark age: warning")
    stale_critical_seconds: float = Field(
        300.0, description="mark age: critical (also a kill-switch trigger)"
    )
    cooldown_seconds: float = Field(
        900.0, description="an unchanged alert is re-raised after this long"
    )


class KillSwitchSettings(_Frozen):
    """Which state each trigger moves trading to."""

    drawdown_limit: float = Field(
        0.20, description="drawdown from peak equity that trips the switch"
    )
    on_daily_loss: str = Field("reducing", description="state after the daily loss limit is hit")
    on_drawdown: str = Field("halted", description="state after the drawdown limit is hit")
    on_liquidation_emergency: str = Field(
        "reducing", description="state when a position is in liquidation emergency"
    )
    on_stale_data: str = Field("halted", description="state when market data is critically stale")

    @field_validator("on_daily_loss", "on_drawdown", "on_liquidation_emergency", "on_stale_data")
    @classmethod
    def _state(cls, value: str) -> str:
        if value not in ("active", "reducing", "halted", "flatten"):
            raise ValueError("must be active, reducing, halted or flatten")
        return value


class RiskSettings(_Frozen):
    """All risk configuration."""

    preset: str = Field(
        "balanced", description="conservative | balanced | aggressive (seed 002 examples)"
    )
    limits: LimitOverrides = Field(default_factory=LimitOverrides)
    monitors: MonitorSettings = Field(default_factory=MonitorSettings)
    kill_switch: KillSwitchSettings = Field(default_factory=KillSwitchSettings)

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str) -> str:
        if value not in ("conservative", "balanced", "aggressive"):
            raise ValueError("must be conservative, balanced or aggressive")
        return value

    def to_limits(self) -> RiskLimits:
        """The preset with overrides applied."""
        base = preset(self.preset)
        changes = {
            k: (None if v == "off" else v)
            for k, v in self.limits.model_dump().items()
            if v is not None
        }
        return replace(base, **changes)  # type: ignore[arg-type]  # validated field by field above

    def to_thresholds(self) -> MonitorThresholds:
        """Monitor thresholds as domain values."""
        return MonitorThresholds(**self.monitors.model_dump())

    def to_policy(self) -> KillSwitchPolicy:
        """Kill-switch policy as a domain value."""
        return KillSwitchPolicy(**self.kill_switch.model_dump())
