"""Typed settings of the option rebalancer (``Settings.options``; env ``RISKDESK_OPTIONS__<FIELD>``).

Every threshold of seed 000 is a named field with a default and a description (``riskdesk
config`` lists them). Fractions are decimals (0.80 = 80 %), days are calendar days, money is in
the option's premium currency (USD for US equity options). The Tradier token is a secret: it
is never printed and placeholder values (``changeme``, ``your-token``…) are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from riskdesk.adapters.clock import SystemClock
from riskdesk.adapters.market_data.chain_snapshot import (
    bundled_crypto_snapshots,
    bundled_equity_snapshots,
)
from riskdesk.application.book_service import BookService
from riskdesk.application.rebalance_service import RebalanceConfig, RebalanceService
from riskdesk.domain.accounting.margin import OptionMarginRates
from riskdesk.domain.rebalance.chain import QuotePolicy
from riskdesk.domain.rebalance.model import (
    CandidatePoints,
    DecisionPoints,
    EngineConfig,
    LadderConfig,
    LiquidityFilter,
    RebalanceParams,
    RiskTolerance,
    ToleranceThresholds,
    parse_roll_types,
)
from riskdesk.ports.clock import Clock
from riskdesk.ports.options_data import OptionsData

if TYPE_CHECKING:
    from riskdesk.bootstrap.settings import Settings

Points = tuple[float, float, float]
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "your-token",
        "your_token",
        "yourtoken",
        "token",
        "xxx",
        "xxxx",
        "placeholder",
        "secret",
        "none",
        "null",
        "todo",
        "<token>",
        "your-tradier-token",
        "tradier-token",
    }
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _fraction(value: float, name: str) -> float:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a fraction in (0, 1), e.g. 0.8 for 80 %")
    return value


class ToleranceSettings(_Frozen):
    """Thresholds of one risk tolerance (fractions)."""

    assignment_probability: float = Field(
        description="assignment-risk factor fires at or above this N(d2) probability"
    )
    defensive_delta: float = Field(description="|delta| per unit that fires the defensive trigger")
    target_delta: float = Field(description="|delta| a delta-targeted diagonal roll aims for")
    target_otm: float = Field(
        description="distance out of the money (fraction of spot) an OTM-targeted roll aims for"
    )
    max_new_assignment_probability: float = Field(
        description="a roll's new leg above this probability of assignment loses points"
    )

    @field_validator("*")
    @classmethod
    def _in_unit(cls, value: float) -> float:
        return _fraction(value, "threshold")

    def to_domain(self) -> ToleranceThresholds:
        """The domain thresholds."""
        return ToleranceThresholds(
            self.assignment_probability,
            self.defensive_delta,
            self.target_delta,
            self.target_otm,
            self.max_new_assignment_probability,
        )


def _default_tolerances() -> dict[str, ToleranceSettings]:
    return {
        "conservative": ToleranceSettings(
            assignment_probability=0.70,
            defensive_delta=0.30,
            target_delta=0.20,
            target_otm=0.10,
            max_new_assignment_probability=0.30,
        ),
        "moderate": ToleranceSettings(
            assignment_probability=0.80,
            defensive_delta=0.40,
            target_delta=0.25,
            target_otm=0.07,
            max_new_assignment_probability=0.40,
        ),
        "aggressive": ToleranceSettings(
            assignment_probability=0.85,
            defensive_delta=0.50,
            target_delta=0.30,
            target_otm=0.05,
            max_new_assignment_probability=0.50,
        ),
    }


class LiquiditySettings(_Frozen):
    """When a contract is tradable enough to roll into (and the current one to trade)."""

    min_open_interest: int = Field(100, ge=0, description="minimum open interest (contracts)")
    min_volume: int = Field(0, ge=0, description="minimum day volume (contracts)")
    max_spread_pct: float = Field(0.25, gt=0, description="maximum (ask - bid) / mid of a contract")
    min_bid: Decimal = Field(
        Decimal("0.05"),
        ge=0,
        description="minimum bid of a contract to sell, USD per unit (coin premiums converted "
        "at the expiry's forward)",
    )


class LadderSettings(_Frozen):
    """Limit-price ladder of a ticket (price improvement toward the natural price)."""

    steps: int = Field(3, ge=0, le=20, description="price improvements after the first limit")
    floor_fraction: float = Field(
        0.75, ge=0, le=1, description="share of the mid-to-natural distance the floor concedes"
    )
    wait_minutes: int = Field(2, ge=0, description="minutes to wait on each rung")
    time_in_force: Literal["DAY", "GTC"] = Field("DAY", description="time in force of tickets")


class DecisionPointsSettings(_Frozen):
    """Points (hold, close, roll) each factor adds when it fires (docs/options.md table)."""

    base: Points = Field((10.0, 0.0, 0.0), description="always: status-quo bias")
    profit_target: Points = Field((-30.0, 50.0, -10.0), description="P&L >= profit target")
    expiry_near: Points = Field((-20.0, 10.0, 25.0), description="DTE <= target days to roll")
    defensive_loss: Points = Field(
        (-20.0, 15.0, 20.0), description="loss >= defensive trigger (fraction of entry premium)"
    )
    defensive_delta: Points = Field(
        (-15.0, 10.0, 20.0), description="short |delta| >= tolerance's defensive delta"
    )
    assignment_risk: Points = Field(
        (-30.0, 25.0, 30.0), description="assignment probability >= tolerance threshold"
    )
    early_assignment: Points = Field(
        (-15.0, 10.0, 10.0), description="American early assignment is rational"
    )
    healthy: Points = Field((25.0, 0.0, 0.0), description="no risk factor, theta earns")
    credit_roll: Points = Field(
        (0.0, 0.0, 20.0), description="action warranted, a credit roll exists"
    )
    no_credit_roll: Points = Field(
        (0.0, 15.0, -40.0), description="action warranted, no credit roll"
    )
    no_roll: Points = Field((0.0, 0.0, -100.0), description="no roll candidate passed the filters")
    roll_risk_reduction: Points = Field(
        (0.0, 0.0, 10.0), description="best roll cuts the probability-weighted loss enough"
    )
    no_risk_reducing_roll: Points = Field(
        (0.0, 10.0, -25.0),
        description="a defensive factor fired but no roll reduces the risk that fired",
    )
    poor_liquidity: Points = Field((5.0, -5.0, -10.0), description="current option is illiquid")

    def to_domain(self) -> DecisionPoints:
        """The domain points table."""
        return DecisionPoints(**self.model_dump())


class CandidatePointsSettings(_Frozen):
    """Points that rank roll candidates (docs/options.md)."""

    credit: float = Field(20.0, description="net credit at mid")
    debit: float = Field(-20.0, description="net debit at mid")
    risk_reduction: float = Field(30.0, description="x probability-weighted loss reduction (-1..1)")
    assignment_ok: float = Field(10.0, description="new assignment probability within tolerance")
    assignment_high: float = Field(-20.0, description="new assignment probability too high")
    delta_fit: float = Field(10.0, description="x closeness of |delta| to the target (0..1)")
    return_on_capital: float = Field(10.0, description="x annualised return / roc_reference (0..1)")
    roc_reference: float = Field(0.30, gt=0, description="annualised return worth full points")
    execution_cost: float = Field(-10.0, description="x (mid - natural) / premium traded (0..1)")

    def to_domain(self) -> CandidatePoints:
        """The domain points."""
        return CandidatePoints(**self.model_dump())


class OptionsSettings(_Frozen):
    """Option rebalancer: data sources, Tradier access, seed 000 defaults and thresholds."""

    equity_source: Literal["snapshot", "tradier"] = Field(
        "snapshot", description="US equity option data: bundled snapshot or the Tradier API"
    )
    crypto_source: Literal["snapshot", "deribit"] = Field(
        "snapshot", description="crypto option data: bundled Deribit snapshot or Deribit via CCXT"
    )
    tradier_token: SecretStr | None = Field(
        None, description="Tradier API access token (secret; env RISKDESK_OPTIONS__TRADIER_TOKEN)"
    )
    tradier_base_url: str = Field(
        "https://api.tradier.com/v1", description="Tradier production API base URL"
    )
    tradier_sandbox_url: str = Field(
        "https://sandbox.tradier.com/v1", description="Tradier sandbox API base URL"
    )
    tradier_sandbox: bool = Field(False, description="use the Tradier sandbox (delayed data)")
    tradier_timeout_seconds: float = Field(10.0, gt=0, description="HTTP timeout per request")
    tradier_max_attempts: int = Field(
        3, ge=1, le=10, description="attempts per request (retryable errors only)"
    )
    tradier_backoff_seconds: float = Field(
        0.5, ge=0, description="first retry wait; doubles per attempt"
    )
    deribit_testnet: bool = Field(False, description="use Deribit's testnet through CCXT")
    default_risk_tolerance: Literal["conservative", "moderate", "aggressive"] = Field(
        "moderate", description="risk tolerance when a request gives none"
    )
    target_days_to_roll: int = Field(
        21, ge=0, le=3650, description="DTE at or below which the expiry factor fires"
    )
    profit_target: float = Field(
        0.50,
        gt=0,
        le=10,
        description="fraction of the entry premium that fires the profit factor: in (0, 1] for "
        "shorts (a short earns at most its premium), up to 10 for longs",
    )
    defensive_roll_trigger: float = Field(
        0.15, gt=0, le=10, description="loss / entry premium that fires the defensive factor"
    )
    max_additional_capital: Decimal = Field(
        Decimal(0),
        ge=0,
        description="money a roll may add (premium currency); seed 000's default 0 means a "
        "roll must not need new money (excluded candidates are counted in the output)",
    )
    preferred_roll_types: tuple[str, ...] = Field(
        ("calendar", "diagonal", "resize"), description="roll types evaluated by default"
    )
    roll_min_days_out: int = Field(
        7,
        ge=1,
        description="calendar/diagonal/resize window: fewest calendar days the new expiry lies "
        "beyond the current one",
    )
    roll_max_days_out: int = Field(
        60,
        ge=1,
        description="calendar/diagonal/resize window: most calendar days the new expiry lies "
        "beyond the current one (the window moves with the position's expiry)",
    )
    iv_max_spread_pct: float = Field(
        0.50,
        gt=0,
        description="widest (ask - bid) / mid whose mid is used to imply a vol; one-sided, "
        "zero-bid or wider books use the venue mark (Deribit) or the venue IV instead",
    )
    resize_levels: int = Field(
        3, ge=1, le=20, description="smaller quantities a resize roll evaluates"
    )
    max_candidates: int = Field(10, ge=1, le=100, description="roll candidates reported")
    capital_basis: Literal["cash_secured", "margin"] = Field(
        "cash_secured", description="short puts: cash-secured (strike value) or Reg-T margin"
    )
    min_risk_reduction: float = Field(
        0.10, description="loss reduction that earns the roll_risk_reduction points"
    )
    confidence_scale: float = Field(
        50.0, gt=0, description="score lead (points) that maps to full confidence"
    )
    expiry_critical_days: int = Field(
        7, ge=0, description="DTE at or below which a defensive factor means high risk"
    )
    drift: float | None = Field(
        None, description="expected return per year for probabilities (None: risk-neutral r - q)"
    )
    max_plans_kept: int = Field(50, ge=1, description="recorded plans kept for the MCP resource")
    tolerances: dict[str, ToleranceSettings] = Field(
        default_factory=_default_tolerances,
        description="thresholds per risk tolerance (conservative, moderate, aggressive)",
    )
    liquidity: LiquiditySettings = Field(default_factory=LiquiditySettings)
    ladder: LadderSettings = Field(default_factory=LadderSettings)
    decision_points: DecisionPointsSettings = Field(default_factory=DecisionPointsSettings)
    candidate_points: CandidatePointsSettings = Field(default_factory=CandidatePointsSettings)

    @field_validator("tradier_token")
    @classmethod
    def _real_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value().strip()
        if not text:
            return None
        if text.lower() in _PLACEHOLDERS or text.startswith("<") or set(text) <= {"x", "X", "*"}:
            raise ValueError(
                "is a placeholder; set the real Tradier access token or leave it unset"
            )
        return SecretStr(text)

    @field_validator("preferred_roll_types")
    @classmethod
    def _roll_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            parse_roll_types(value)
        except Exception as exc:  # the domain error names the field; pydantic wants ValueError
            raise ValueError(str(exc)) from None
        return value

    @field_validator("tolerances")
    @classmethod
    def _all_tolerances(cls, value: dict[str, ToleranceSettings]) -> dict[str, ToleranceSettings]:
        defaults = _default_tolerances()
        unknown = set(value) - set(defaults)
        if unknown:
            raise ValueError(f"unknown tolerance(s) {sorted(unknown)}; use {sorted(defaults)}")
        return {**defaults, **value}

    @model_validator(mode="after")
    def _window(self) -> OptionsSettings:
        if self.roll_min_days_out > self.roll_max_days_out:
            raise ValueError("roll_min_days_out must not exceed roll_max_days_out")
        if self.equity_source == "tradier" and self.tradier_token is None:
            raise ValueError("equity_source 'tradier' needs tradier_token")
        return self

    @property
    def tradier_url(self) -> str:
        """The base URL in use (sandbox or production)."""
        return self.tradier_sandbox_url if self.tradier_sandbox else self.tradier_base_url

    def to_config(
        self,
        *,
        rate: float,
        carry_yields: dict[str, float],
        coin_rate: float,
        margin_rates: OptionMarginRates,
    ) -> RebalanceConfig:
        """The application's plain configuration (rates come from the pricing settings)."""
        engine = EngineConfig(
            tolerances={RiskTolerance(k): v.to_domain() for k, v in self.tolerances.items()},
            liquidity=LiquidityFilter(
                self.liquidity.min_open_interest,
                self.liquidity.min_volume,
                self.liquidity.max_spread_pct,
                self.liquidity.min_bid,
            ),
            ladder=LadderConfig(
                self.ladder.steps,
                self.ladder.floor_fraction,
                self.ladder.wait_minutes,
                self.ladder.time_in_force,
            ),
            decision_points=self.decision_points.to_domain(),
            candidate_points=self.candidate_points.to_domain(),
            margin_rates=margin_rates,
            roll_min_days_out=self.roll_min_days_out,
            roll_max_days_out=self.roll_max_days_out,
            quote_policy=QuotePolicy(max_iv_spread=self.iv_max_spread_pct),
            resize_levels=self.resize_levels,
            max_candidates=self.max_candidates,
            capital_basis=self.capital_basis,
            min_risk_reduction=self.min_risk_reduction,
            confidence_scale=self.confidence_scale,
            expiry_critical_days=self.expiry_critical_days,
            rate=rate,
            carry_yields=dict(carry_yields),
            coin_rate=coin_rate,
            drift=self.drift,
        )
        defaults = RebalanceParams(
            risk_tolerance=RiskTolerance(self.default_risk_tolerance),
            max_additional_capital=self.max_additional_capital,
            target_days_to_roll=self.target_days_to_roll,
            defensive_roll_trigger=self.defensive_roll_trigger,
            profit_target=self.profit_target,
            preferred_roll_types=parse_roll_types(self.preferred_roll_types),
        )
        return RebalanceConfig(engine=engine, defaults=defaults, max_plans_kept=self.max_plans_kept)


def build_options_service(
    settings: Settings, book: BookService | None = None, clock: Clock | None = None
) -> RebalanceService:
    """The option rebalancer wired to the configured data sources (bundled snapshots by
    default; Tradier and Deribit/CCXT adapters are imported only when selected). Without a
    ``book`` it serves single positions only (no database needed)."""
    clock = clock or SystemClock()
    opts = settings.options
    pricing = settings.pricing
    om = settings.option_margin
    equity: OptionsData
    crypto: OptionsData
    if opts.equity_source == "tradier":
        # Imported only when selected: the HTTP client stack is not needed for snapshots.
        from riskdesk.adapters.market_data.tradier import (  # noqa: PLC0415
            TradierConfig,
            TradierOptionsData,
        )

        assert opts.tradier_token is not None  # noqa: S101 - checked by the model validator
        equity = TradierOptionsData(
            TradierConfig(
                token=opts.tradier_token.get_secret_value(),
                base_url=opts.tradier_url,
                timeout_seconds=opts.tradier_timeout_seconds,
                max_attempts=opts.tradier_max_attempts,
                backoff_seconds=opts.tradier_backoff_seconds,
            ),
            clock=clock,
        )
    else:
        equity = bundled_equity_snapshots()
    if opts.crypto_source == "deribit":
        # ccxt takes about a second to import: only when Deribit is selected.
        from riskdesk.adapters.market_data.deribit_ccxt import DeribitOptionsData  # noqa: PLC0415

        crypto = DeribitOptionsData.public(testnet=opts.deribit_testnet)
    else:
        crypto = bundled_crypto_snapshots()
    config = opts.to_config(
        rate=pricing.risk_free_rate,
        carry_yields=dict(pricing.dividend_yields),
        coin_rate=pricing.coin_discount_rate,
        margin_rates=OptionMarginRates(
            equity_base=om.equity_base,
            equity_floor=om.equity_floor,
            crypto_im_base=om.crypto_im_base,
            crypto_im_floor=om.crypto_im_floor,
            crypto_mm_base=om.crypto_mm_base,
        ),
    )
    return RebalanceService(equity, crypto, book, clock, config)


__all__ = [
    "CandidatePointsSettings",
    "DecisionPointsSettings",
    "LadderSettings",
    "LiquiditySettings",
    "OptionsSettings",
    "ToleranceSettings",
    "build_options_service",
]
