"""Inputs and configuration of the option rebalancer: positions, requests, tolerances, points.

Every threshold and every point of the scoring tables is a named field with its default here;
``bootstrap.options_settings`` exposes them as settings and ``docs/options.md`` explains them.
Fractions are decimals (0.80 = 80 %); days are calendar days; money is in the option's premium
currency (USD for US equity options, the coin for Deribit inverse options).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, Literal

from riskdesk.domain.accounting.margin import OptionMarginRates
from riskdesk.domain.errors import InvalidValue, MarketDataError, ValidationError
from riskdesk.domain.rebalance.chain import QuotePolicy
from riskdesk.domain.symbols import OptionRight, SymbolKind, SymbolSpec, parse_symbol
from riskdesk.domain.values import Number, to_decimal


class PositionType(StrEnum):
    """Seed 000's position types."""

    SHORT_PUT = "short_put"
    SHORT_CALL = "short_call"
    LONG_PUT = "long_put"
    LONG_CALL = "long_call"

    @property
    def is_short(self) -> bool:
        """True for short (written) options."""
        return self in (PositionType.SHORT_PUT, PositionType.SHORT_CALL)

    @property
    def right(self) -> OptionRight:
        """The option right."""
        return OptionRight.PUT if self.value.endswith("put") else OptionRight.CALL


class RiskTolerance(StrEnum):
    """How much risk the trader accepts; selects a :class:`ToleranceThresholds`."""

    CONSERVATIVE = "conservative"
    MODERATE = "moderate"
    AGGRESSIVE = "aggressive"


class RollType(StrEnum):
    """Roll families: same strike later expiry; new strike later expiry; fewer contracts."""

    CALENDAR = "calendar"
    DIAGONAL = "diagonal"
    RESIZE = "resize"


#: Accepted spellings of roll types (seed 000 calls the resize roll "triple_strike_resize").
ROLL_TYPE_ALIASES: Final = {
    "calendar": RollType.CALENDAR,
    "diagonal": RollType.DIAGONAL,
    "resize": RollType.RESIZE,
    "triple_strike_resize": RollType.RESIZE,
}


class Action(StrEnum):
    """The decision."""

    HOLD = "HOLD"
    CLOSE = "CLOSE"
    ROLL = "ROLL"


CapitalBasis = Literal["cash_secured", "margin"]


@dataclass(frozen=True, slots=True)
class ToleranceThresholds:
    """Thresholds for one risk tolerance.

    ``assignment_probability``: the assignment-risk factor fires at or above it (N(d2));
    ``defensive_delta``: |delta| per unit at which the defensive trigger fires;
    ``target_delta``: |delta| a delta-targeted diagonal roll aims for;
    ``target_otm``: distance out of the money (fraction of spot) an OTM-targeted roll aims for;
    ``max_new_assignment_probability``: a roll candidate whose new leg is more likely than this
    to finish in the money loses points (see :class:`CandidatePoints`).
    """

    assignment_probability: float
    defensive_delta: float
    target_delta: float
    target_otm: float
    max_new_assignment_probability: float


def default_tolerances() -> dict[RiskTolerance, ToleranceThresholds]:
    """Conservative 70 %, moderate 80 %, aggressive 85 % assignment thresholds (issue 7)."""
    return {
        RiskTolerance.CONSERVATIVE: ToleranceThresholds(0.70, 0.30, 0.20, 0.10, 0.30),
        RiskTolerance.MODERATE: ToleranceThresholds(0.80, 0.40, 0.25, 0.07, 0.40),
        RiskTolerance.AGGRESSIVE: ToleranceThresholds(0.85, 0.50, 0.30, 0.05, 0.50),
    }


@dataclass(frozen=True, slots=True)
class LiquidityFilter:
    """A contract is tradable when all hold: open interest and volume (contracts) at least the
    minimum, spread (ask − bid) at most ``max_spread_pct`` of the mid, and a bid of at least
    ``min_bid`` (USD per unit; a coin premium is converted at the expiry's forward) on the side
    that must be sold."""

    min_open_interest: int = 100
    min_volume: int = 0
    max_spread_pct: float = 0.25
    min_bid: Decimal = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class LadderConfig:
    """Limit-price ladder of a ticket: start at the (net) mid, improve the price ``steps`` times
    by equal amounts toward the natural price, never past the floor, which concedes
    ``floor_fraction`` of the mid-to-natural distance; ``wait_minutes`` between rungs."""

    steps: int = 3
    floor_fraction: float = 0.75
    wait_minutes: int = 2
    time_in_force: Literal["DAY", "GTC"] = "DAY"


@dataclass(frozen=True, slots=True)
class DecisionPoints:
    """Points each triggered factor adds to HOLD / CLOSE / ROLL (docs/options.md has the table).

    Each field is ``(hold, close, roll)``. A factor that does not fire adds nothing.
    """

    base: tuple[float, float, float] = (10.0, 0.0, 0.0)
    profit_target: tuple[float, float, float] = (-30.0, 50.0, -10.0)
    expiry_near: tuple[float, float, float] = (-20.0, 10.0, 25.0)
    defensive_loss: tuple[float, float, float] = (-20.0, 15.0, 20.0)
    defensive_delta: tuple[float, float, float] = (-15.0, 10.0, 20.0)
    assignment_risk: tuple[float, float, float] = (-30.0, 25.0, 30.0)
    early_assignment: tuple[float, float, float] = (-15.0, 10.0, 10.0)
    healthy: tuple[float, float, float] = (25.0, 0.0, 0.0)
    credit_roll: tuple[float, float, float] = (0.0, 0.0, 20.0)
    no_credit_roll: tuple[float, float, float] = (0.0, 15.0, -40.0)
    no_roll: tuple[float, float, float] = (0.0, 0.0, -100.0)
    roll_risk_reduction: tuple[float, float, float] = (0.0, 0.0, 10.0)
    no_risk_reducing_roll: tuple[float, float, float] = (0.0, 10.0, -25.0)
    poor_liquidity: tuple[float, float, float] = (5.0, -5.0, -10.0)


@dataclass(frozen=True, slots=True)
class CandidatePoints:
    """Points that rank roll candidates against each other (docs/options.md).

    ``credit``/``debit``: net at mid ≥ 0 or < 0; ``risk_reduction`` × the probability-weighted
    loss reduction (clipped to [-1, 1]); ``assignment_ok``/``assignment_high``: new leg's
    assignment probability below/above the tolerance maximum; ``delta_fit`` × closeness of
    |delta| to the target (0..1); ``return_on_capital`` × annualised return / ``roc_reference``
    (clipped 0..1); ``execution_cost`` × (mid − natural) as a fraction of the premium traded
    (clipped 0..1).
    """

    credit: float = 20.0
    debit: float = -20.0
    risk_reduction: float = 30.0
    assignment_ok: float = 10.0
    assignment_high: float = -20.0
    delta_fit: float = 10.0
    return_on_capital: float = 10.0
    roc_reference: float = 0.30
    execution_cost: float = -10.0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Static configuration of the rebalancer (built by bootstrap from ``OptionsSettings``).

    ``roll_min_days_out``/``roll_max_days_out``: calendar days the new expiry may lie beyond
    the current one (the window moves with the position, so a long-dated position has roll
    candidates too); ``resize_levels``:
    how many smaller quantities a resize roll evaluates (evenly spaced below the current size);
    ``quote_policy``: when a quote's mid may imply a vol (``chain.QuotePolicy``);
    ``max_candidates``: candidates reported; ``capital_basis``: short puts as cash-secured
    (strike × multiplier) or on Reg-T margin (short calls always use margin);
    ``min_risk_reduction``: the best roll's probability-weighted loss reduction that earns the
    ``roll_risk_reduction`` points; ``confidence_scale``: score lead (points) that maps to full
    confidence; ``expiry_critical_days``: DTE at or below which an expiry-near position with a
    risk factor is high risk; ``rate``: risk-free rate (continuous per year); ``carry_yields``:
    dividend yield per underlying; ``coin_rate``: discount rate of coin-settled options;
    ``drift``: expected return per year used for probabilities and expected values (None = the
    risk-neutral drift r − q).
    """

    tolerances: Mapping[RiskTolerance, ToleranceThresholds] = field(
        default_factory=default_tolerances
    )
    liquidity: LiquidityFilter = field(default_factory=LiquidityFilter)
    ladder: LadderConfig = field(default_factory=LadderConfig)
    decision_points: DecisionPoints = field(default_factory=DecisionPoints)
    candidate_points: CandidatePoints = field(default_factory=CandidatePoints)
    margin_rates: OptionMarginRates = field(default_factory=OptionMarginRates)
    roll_min_days_out: int = 7
    roll_max_days_out: int = 60
    quote_policy: QuotePolicy = field(default_factory=QuotePolicy)
    resize_levels: int = 3
    max_candidates: int = 10
    capital_basis: CapitalBasis = "cash_secured"
    min_risk_reduction: float = 0.10
    confidence_scale: float = 50.0
    expiry_critical_days: int = 7
    rate: float = 0.04
    carry_yields: Mapping[str, float] = field(default_factory=dict)
    coin_rate: float = 0.0
    drift: float | None = None

    def thresholds(self, tolerance: RiskTolerance) -> ToleranceThresholds:
        """Thresholds of ``tolerance``."""
        return self.tolerances[tolerance]


@dataclass(frozen=True, slots=True)
class RebalanceParams:
    """Per-request preferences (seed 000's parameters), with the configured defaults filled in.

    ``profit_target``: fraction of the maximum profit (shorts: of the premium received; longs:
    of the premium paid) at which the profit factor fires; ``defensive_roll_trigger``: loss as a
    fraction of the entry premium at which the defensive factor fires; ``target_days_to_roll``:
    DTE at or below which the expiry factor fires; ``max_additional_capital``: premium-currency
    amount a roll may add (new requirement − old requirement − net credit).
    """

    risk_tolerance: RiskTolerance = RiskTolerance.MODERATE
    max_additional_capital: Decimal = Decimal(0)
    target_days_to_roll: int = 21
    defensive_roll_trigger: float = 0.15
    profit_target: float = 0.50
    preferred_roll_types: frozenset[RollType] = frozenset(RollType)


@dataclass(frozen=True, slots=True)
class OptionPosition:
    """One option position to analyse: ``quantity`` signed (negative = short) in contracts,
    ``entry_price`` per unit of underlying in the premium currency (per share for US equity
    options, per coin for Deribit)."""

    symbol: str
    spec: SymbolSpec
    quantity: Decimal
    entry_price: Decimal
    position_type: PositionType
    entry_date: datetime | None = None

    @property
    def contracts(self) -> Decimal:
        """|quantity|."""
        return abs(self.quantity)

    @property
    def is_short(self) -> bool:
        """True for a short position."""
        return self.quantity < 0


def _enum(value: object, kind: type[StrEnum], field_name: str) -> StrEnum:
    text = str(getattr(value, "value", value)).strip().lower()
    for member in kind:
        if member.value.lower() == text:
            return member
    allowed = ", ".join(m.value for m in kind)
    raise InvalidValue(f"expected one of {allowed}, got {value!r}", field=field_name)


def parse_tolerance(value: object) -> RiskTolerance:
    """``conservative`` / ``moderate`` / ``aggressive`` (case-insensitive)."""
    result = _enum(value, RiskTolerance, "risk_tolerance")
    assert isinstance(result, RiskTolerance)  # noqa: S101 - _enum returns a member of kind
    return result


def parse_roll_types(values: Iterable[object] | str | None) -> frozenset[RollType]:
    """Roll types from names (``calendar``, ``diagonal``, ``resize``/``triple_strike_resize``);
    a comma-separated string is accepted; None means all."""
    if values is None:
        return frozenset(RollType)
    items = values.split(",") if isinstance(values, str) else list(values)
    out: set[RollType] = set()
    for item in items:
        text = str(getattr(item, "value", item)).strip().lower()
        if not text:
            continue
        if text not in ROLL_TYPE_ALIASES:
            raise InvalidValue(
                f"unknown roll type {item!r}; use calendar, diagonal or resize",
                field="preferred_roll_types",
            )
        out.add(ROLL_TYPE_ALIASES[text])
    if not out:
        raise InvalidValue("give at least one roll type", field="preferred_roll_types")
    return frozenset(out)


def make_position(
    symbol: str,
    size: Number,
    entry_price: Number,
    position_type: str | PositionType | None = None,
    entry_date: datetime | None = None,
) -> OptionPosition:
    """Validate a position: an option symbol (OCC or Deribit), a non-zero size (negative =
    short; whole contracts for US equity options), a positive entry price and, when given, a
    position type that matches the symbol's right and the size's sign. Raises a
    :class:`~riskdesk.domain.errors.ValidationError` naming the field."""
    spec = parse_symbol(symbol)
    if spec.kind is not SymbolKind.OPTION or spec.right is None:
        raise InvalidValue(f"{symbol!r} is not an option symbol", field="option_symbol")
    qty = to_decimal(size, "position_size")
    if qty == 0:
        raise InvalidValue(
            "must not be zero (negative = short, positive = long)", field="position_size"
        )
    if spec.equity and qty != qty.to_integral_value():
        raise InvalidValue(
            f"US equity options trade in whole contracts, got {qty}", field="position_size"
        )
    qty = Decimal(format(qty.normalize(), "f"))
    price = to_decimal(entry_price, "entry_price")
    if price.is_finite() and price > 0:
        price = Decimal(format(price.normalize(), "f"))
    if price <= 0:
        raise InvalidValue(f"must be positive (premium per unit), got {price}", field="entry_price")
    short = qty < 0
    derived = PositionType(f"{'short' if short else 'long'}_{spec.right.word}")
    if position_type is not None:
        given = _enum(position_type, PositionType, "position_type")
        if given is not derived:
            raise ValidationError(
                f"{given.value} does not match the position: size {qty} of a {spec.right.word} "
                f"is {derived.value}",
                field="position_type",
            )
    if entry_date is not None and entry_date.tzinfo is None:
        entry_date = entry_date.replace(tzinfo=UTC)
    return OptionPosition(
        symbol=symbol.strip().upper(),
        spec=spec,
        quantity=qty,
        entry_price=price,
        position_type=derived,
        entry_date=entry_date,
    )


def make_params(
    defaults: RebalanceParams,
    *,
    risk_tolerance: object | None = None,
    max_additional_capital: Number | None = None,
    target_days_to_roll: int | None = None,
    defensive_roll_trigger: float | None = None,
    profit_target: float | None = None,
    preferred_roll_types: Iterable[object] | str | None = None,
) -> RebalanceParams:
    """``defaults`` with the given overrides, each validated (field named on error)."""
    capital = defaults.max_additional_capital
    if max_additional_capital is not None:
        capital = to_decimal(max_additional_capital, "max_additional_capital")
        if capital < 0:
            raise InvalidValue(
                f"must not be negative, got {capital}", field="max_additional_capital"
            )
    days = defaults.target_days_to_roll if target_days_to_roll is None else target_days_to_roll
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise InvalidValue(
            f"must be whole days in [0, 3650], got {days!r}", field="target_days_to_roll"
        )
    trigger = defaults.defensive_roll_trigger
    if defensive_roll_trigger is not None:
        trigger = _fraction(defensive_roll_trigger, "defensive_roll_trigger", upper=10.0)
    target = defaults.profit_target
    if profit_target is not None:
        target = _fraction(profit_target, "profit_target", upper=10.0)
    return RebalanceParams(
        risk_tolerance=defaults.risk_tolerance
        if risk_tolerance is None
        else parse_tolerance(risk_tolerance),
        max_additional_capital=capital,
        target_days_to_roll=days,
        defensive_roll_trigger=trigger,
        profit_target=target,
        preferred_roll_types=defaults.preferred_roll_types
        if preferred_roll_types is None
        else parse_roll_types(preferred_roll_types),
    )


def check_params(position: OptionPosition, params: RebalanceParams) -> None:
    """Ranges that depend on the position's side (``make_params`` checks the rest).

    A short option earns at most its premium, so its ``profit_target`` (a fraction of the
    premium received) must be in (0, 1]; a long option can gain several times its premium, so
    its target may go up to 10 (1000 %). A long option loses at most its premium, so its
    ``defensive_roll_trigger`` must be in (0, 1]; a short option can lose more (up to 10)."""
    if position.is_short and params.profit_target > 1.0:
        raise InvalidValue(
            f"a short option earns at most the premium received: profit_target must be in "
            f"(0, 1] (0.5 = 50 % of the premium), got {params.profit_target:g}",
            field="profit_target",
        )
    if not position.is_short and params.defensive_roll_trigger > 1.0:
        raise InvalidValue(
            f"a long option loses at most the premium paid: defensive_roll_trigger must be in "
            f"(0, 1] (0.15 = 15 % of the premium), got {params.defensive_roll_trigger:g}",
            field="defensive_roll_trigger",
        )


def _fraction(value: float, name: str, upper: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"not a number: {value!r}", field=name) from None
    if not 0.0 < number <= upper:
        raise InvalidValue(
            f"must be a fraction in (0, {upper:g}] (0.15 = 15 %), got {value!r}", field=name
        )
    return number


__all__ = [
    "ROLL_TYPE_ALIASES",
    "Action",
    "CandidatePoints",
    "CapitalBasis",
    "DecisionPoints",
    "EngineConfig",
    "LadderConfig",
    "LiquidityFilter",
    "MarketDataError",
    "OptionPosition",
    "PositionType",
    "RebalanceParams",
    "RiskTolerance",
    "RollType",
    "ToleranceThresholds",
    "check_params",
    "default_tolerances",
    "make_params",
    "make_position",
    "parse_roll_types",
    "parse_tolerance",
]
