"""Typed pricing settings (``Settings.pricing``; env ``RISKDESK_PRICING__<FIELD>``).

Rates and yields are continuously compounded per year (0.04 = 4 %); betas are against
``benchmark``; scenario shocks are fractions (-0.3 = -30 %); time steps are calendar days.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskdesk.adapters.market_data.chain_snapshot import (
    bundled_crypto_snapshots,
    bundled_equity_snapshots,
)
from riskdesk.application.pricing_service import PricingConfig
from riskdesk.ports.options_data import OptionsData

VenueGreeksSource = Literal["none", "snapshot"]


def venue_greeks_sources(kind: VenueGreeksSource) -> list[OptionsData]:
    """Option data sources whose Greeks ``riskdesk greeks --venue-greeks`` shows beside ours.

    ``snapshot``: the bundled chain snapshots (CBOE AAPL, Deribit BTC/XRP), which carry the
    venues' Greeks at the snapshot time. ``none``: no venue Greeks.
    """
    if kind == "none":
        return []
    return [bundled_equity_snapshots(), bundled_crypto_snapshots()]


class PricingSettings(BaseModel):
    """Rates, yields, betas and the default scenario grid used by the pricing service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    risk_free_rate: float = Field(
        0.04, description="continuously compounded risk-free rate per year (0.04 = 4 %)"
    )
    dividend_yields: dict[str, float] = Field(
        default_factory=dict,
        description="continuous dividend/carry yield per underlying per year, e.g. {AAPL = 0.005}",
    )
    betas: dict[str, float] = Field(
        default_factory=dict,
        description="beta of each underlying against the benchmark (1 when not listed)",
    )
    benchmark: str = Field(
        "SPY", description="benchmark for beta-weighted delta (its asset price gives units)"
    )
    american_method: Literal["bs2002", "bs1993", "baw"] = Field(
        "bs2002",
        description="American approximation: Bjerksund-Stensland 2002/1993 or Barone-Adesi-Whaley",
    )
    coin_discount_rate: float = Field(
        0.0, description="discount rate of coin-settled (Deribit) option values (Deribit uses 0)"
    )
    spot_shocks: tuple[float, ...] = Field(
        (-0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3),
        description="scenario grid: relative spot shocks",
    )
    vol_shocks: tuple[float, ...] = Field(
        (-0.5, -0.25, 0.0, 0.25, 0.5), description="scenario grid: vol shocks"
    )
    vol_shock_mode: Literal["relative", "absolute"] = Field(
        "relative", description="vol shocks as σ·(1+dv) (relative) or σ+dv (absolute vol points)"
    )
    time_steps_days: tuple[float, ...] = Field(
        (0.0, 1.0, 7.0), description="scenario grid: calendar days elapsed"
    )

    @field_validator("risk_free_rate", "coin_discount_rate")
    @classmethod
    def _rate(cls, value: float) -> float:
        if not -0.5 < value < 1.0:
            raise ValueError("must be a decimal rate in (-0.5, 1), e.g. 0.04 for 4 %")
        return value

    @field_validator("dividend_yields", "betas")
    @classmethod
    def _upper_keys(cls, value: dict[str, float]) -> dict[str, float]:
        return {k.upper(): v for k, v in value.items()}

    @field_validator("spot_shocks")
    @classmethod
    def _spot(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(s <= -1.0 for s in value):
            raise ValueError("need at least one shock, each above -1 (-100 %)")
        return value

    @field_validator("vol_shocks", "time_steps_days")
    @classmethod
    def _non_empty(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("need at least one value")
        return value

    def to_config(self) -> PricingConfig:
        """The plain configuration the application's pricing service takes."""
        return PricingConfig(
            risk_free_rate=self.risk_free_rate,
            dividend_yields=dict(self.dividend_yields),
            betas=dict(self.betas),
            benchmark=self.benchmark.upper(),
            american_method=self.american_method,
            coin_discount_rate=self.coin_discount_rate,
            spot_shocks=self.spot_shocks,
            vol_shocks=self.vol_shocks,
            vol_shock_mode=self.vol_shock_mode,
            time_steps_days=self.time_steps_days,
        )
