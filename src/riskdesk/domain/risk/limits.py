"""Risk limits and alert thresholds as plain, frozen values (the typed settings map onto them).

Ratios are fractions of total equity unless a field says otherwise (0.20 = 20 %). Defaults are
the seeds' numbers (seed 002 per-symbol 20 %, total 60 %, 5 positions, 2 % risk per trade;
seed 004 leverage 5×, daily loss 5 %, liquidity 10 % of the top 10 levels, alert levels;
seed 001 ``RISK_CONTROLS``: 10 adjustments a day, 300 s between adjustments, a delta change of
5.0 (units of the underlying) per adjustment, 1,000 of adjustment costs a day, 30 %
concentration). ``None`` disables a limit.

Comparisons (documented once, used everywhere): a **pre-trade limit** lets an order take a value
up to the limit and denies it beyond (``value > limit``); a **monitor level or kill-switch
trigger** fires when its value *reaches* the threshold (``value >= threshold``, or ``<=`` for the
distance to liquidation, which falls). So a drawdown of exactly 15 % raises the alert and one of
exactly 20 % trips the switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from riskdesk.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class LeverageTier:
    """Leverage range for a confidence band (seed 002: high 10-20×, medium 5-10×, low 2-5×)."""

    min_confidence: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Pre-trade limits."""

    max_symbol_exposure: float | None = 0.20
    max_total_exposure: float | None = 0.60
    max_positions: int | None = 5
    risk_per_trade: float | None = 0.02
    max_leverage: float | None = 5.0
    daily_loss_limit: float | None = 0.05
    max_order_notional: float | None = 250_000.0
    price_band: float | None = 0.05
    option_price_band: float | None = 0.50
    liquidity_book_fraction: float | None = 0.10
    liquidity_levels: int = 10
    max_slippage_bps: float | None = 50.0
    require_order_book: bool = False
    orders_per_second: float | None = 10.0
    order_burst: int = 20
    # Seed 001 (delta adjustments): these apply to orders whose source (before any ``:``) is
    # one of ``adjustment_sources``, in the seed's units.
    max_adjustments_per_day: int | None = 10
    min_seconds_between_adjustments: float | None = 300.0
    adjustment_sources: tuple[str, ...] = ("rebalance", "hedge", "delta")
    #: |delta change| of one adjustment in units of the underlying (BTC, shares): seed 001's 5.0.
    max_delta_change_per_trade: float | None = 5.0
    #: Fees of today's adjustments plus this one, reporting currency: seed 001's 1,000.0.
    max_cost_per_day: float | None = 1000.0
    #: Largest single-asset gross exposure / equity (seed 001 ``max_position_concentration``).
    max_concentration: float | None = 0.30
    max_portfolio_heat: float | None = 0.10
    max_net_delta_per_underlying: float | None = 0.50
    max_net_delta_total: float | None = 1.00
    max_gamma_per_underlying: float | None = 0.05
    max_gamma_total: float | None = 0.10
    max_vega_per_underlying: float | None = 0.01
    max_vega_total: float | None = 0.02
    max_scenario_loss: float | None = 0.30
    max_mark_age_seconds: float | None = 300.0
    #: A mark recorded by hand (``RiskConfig.manual_mark_sources``) is as-of data the user
    #: vouches for: entries may rely on it this long (seconds) instead of
    #: ``max_mark_age_seconds``, which is for live feeds.
    max_manual_mark_age_seconds: float | None = 86_400.0
    require_protective_stop: bool = False
    leverage_tiers: tuple[LeverageTier, ...] = field(
        default=(
            LeverageTier(0.75, 10.0, 20.0),
            LeverageTier(0.65, 5.0, 10.0),
            LeverageTier(0.0, 2.0, 5.0),
        )
    )
    kelly_fraction: float = 0.5


@dataclass(frozen=True, slots=True)
class MonitorThresholds:
    """Intraday monitor levels (seed 004 §3.2, seed 002 heat and margin levels)."""

    liq_warning: float = 0.10
    liq_critical: float = 0.05
    liq_emergency: float = 0.03
    loss_warning: float = 0.10
    loss_critical: float = 0.20
    drawdown_alert: float = 0.15
    margin_warning: float = 0.80
    margin_critical: float = 0.90
    margin_block: float = 1.00  # EMERGENCY; the kill switch moves to ``on_margin_block``
    heat_levels: tuple[float, float, float] = (0.05, 0.10, 0.15)
    stale_warning_seconds: float = 60.0
    stale_critical_seconds: float = 300.0
    #: A mark recorded by hand is judged by its own, longer threshold (seconds): it raises a
    #: stale-data warning once it is this old; the live-feed levels above do not apply to it.
    manual_mark_max_age_seconds: float = 86_400.0
    cooldown_seconds: float = 900.0


class KillTrigger(StrEnum):
    """What can move the trading state."""

    DAILY_LOSS = "daily_loss"
    DRAWDOWN = "drawdown"
    LIQUIDATION = "liquidation_emergency"
    STALE_DATA = "stale_data"
    MARGIN_BLOCK = "margin_block"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class KillSwitchPolicy:
    """Which state each trigger moves to, and the drawdown that trips it."""

    drawdown_limit: float = 0.20
    on_daily_loss: str = "reducing"
    on_drawdown: str = "halted"
    on_liquidation_emergency: str = "reducing"
    on_stale_data: str = "halted"
    #: Whether a position that has never had a mark trips the stale-data trigger like a mark
    #: older than ``MonitorThresholds.stale_critical_seconds``. Off by default: its risk is
    #: unknown, so entries in it are denied (``no_mark``) and a stale-data alert is raised, but
    #: the desk is halted only when data that was flowing went stale.
    unmarked_trips_stale_data: bool = False
    #: Whether a mark recorded by hand older than
    #: ``MonitorThresholds.manual_mark_max_age_seconds`` trips the stale-data trigger. Off by
    #: default: a hand-priced book is as of its marks, not a feed that stopped.
    manual_marks_trip_stale_data: bool = False
    #: Margin in use reached ``MonitorThresholds.margin_block`` (100 %): only reducing orders.
    on_margin_block: str = "reducing"
    #: A FLATTEN close order that ended without closing its position is sent again (a new
    #: intent id) at most this many times in total.
    flatten_attempts: int = 3


def preset(name: str) -> RiskLimits:
    """Named presets (seed 002 examples): ``conservative``, ``balanced`` (the defaults),
    ``aggressive``."""
    base = RiskLimits()
    if name == "balanced":
        return base
    if name == "conservative":
        return replace(
            base,
            max_symbol_exposure=0.10,
            max_total_exposure=0.40,
            max_positions=3,
            risk_per_trade=0.01,
            max_leverage=5.0,
            daily_loss_limit=0.03,
            max_concentration=0.20,
            max_portfolio_heat=0.06,
            leverage_tiers=(
                LeverageTier(0.75, 5.0, 5.0),
                LeverageTier(0.65, 3.0, 3.0),
                LeverageTier(0.0, 2.0, 2.0),
            ),
        )
    if name == "aggressive":
        return replace(
            base,
            max_symbol_exposure=0.30,
            max_total_exposure=0.80,
            max_positions=8,
            risk_per_trade=0.03,
            max_leverage=20.0,
            daily_loss_limit=0.08,
            max_concentration=0.60,
            max_portfolio_heat=0.15,
            leverage_tiers=(
                LeverageTier(0.75, 20.0, 20.0),
                LeverageTier(0.65, 10.0, 10.0),
                LeverageTier(0.0, 5.0, 5.0),
            ),
        )
    raise ConfigError(
        f"unknown risk preset {name!r} (conservative, balanced, aggressive)", field="preset"
    )
