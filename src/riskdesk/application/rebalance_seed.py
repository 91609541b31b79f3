"""Seed 000's response schema, field by field, built from a :class:`RebalanceReport`.

Seed 000 (the option position rebalancer PRD) defines ``RebalanceResponse`` (``status``,
``decision``, ``confidence``, ``execution_plan``, ``risk_metrics``, ``roll_strategies``,
``warnings``), the ``RiskMetrics``, ``RollStrategy`` and ``ExecutionPlan`` dataclasses and an
example response. The REST endpoint and the MCP tools return exactly those names and JSON
types; riskdesk's own evidence (exact decimals, every factor, the ticket, the analysis) rides
along under the extra keys ``valuation_time`` and ``evidence`` (top level) and ``evidence``
(in the execution plan and in each roll strategy), never in place of a seed field.

Conventions of the seed fields:

* ``decision``: the seed's ``DecisionType`` values ``hold`` / ``close`` / ``roll``.
* Money: JSON numbers in the option's premium currency (USD; the coin for Deribit inverse
  options: ``evidence.currency``). Exact decimals are in the evidence.
* ``risk_metrics.pnl_percentage``: percent of the entry premium (34.6 = 34.6 %);
  ``assignment_probability`` a fraction (0.72); ``theta_daily`` = ``time_decay_daily`` the
  position's daily time decay in the premium currency (+ = earns); ``max_loss`` /
  ``max_profit`` null when unbounded.
* ``roll_strategies``: the seed's ``RollStrategy`` per candidate, best first. ``roll_type``
  ``calendar`` / ``diagonal`` / ``triple_strike_resize``; ``target_size`` signed like
  ``position_size``; ``net_credit`` at the natural prices (buy back at the ask, sell at the
  bid — the seed's own formula; the mid is in the evidence); ``improved_breakeven`` the
  combined position's breakeven; ``success_probability`` the combined position's probability of
  profit; ``risk_reduction`` the probability-weighted loss reduction (fraction, computed).
* ``execution_plan.orders``: ``action`` (BTC/STO/BTO/STC), ``symbol``, ``quantity`` (integer
  contracts; a decimal amount for Deribit lots), ``price`` (a single order's limit; for a combo
  each leg's mid, the combo's net limit is in the evidence), ``order_type`` ``LMT``,
  ``time_in_force``; ``net_credit`` the net cash at the first limit (+ received);
  ``risk_reduction`` a percent string (``"60%"`` as in the seed's example: the roll's
  computed loss reduction, negative when the roll adds risk, ``"100%"`` for a close, ``"0%"``
  for a hold); ``new_breakeven`` the breakeven of what is held afterwards (null after a
  close); ``monitoring_points`` "level or date: why" strings (structured in the evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from riskdesk.domain.rebalance.analysis import PositionAnalysis
from riskdesk.domain.rebalance.decision import Factor
from riskdesk.domain.rebalance.engine import RebalanceReport
from riskdesk.domain.rebalance.execution import ExecutionPlan, MonitoringPoint
from riskdesk.domain.rebalance.model import Action, RollType
from riskdesk.domain.rebalance.rolls import RollCandidate, RollEvaluation

SeedDecision = Literal["hold", "close", "roll"]
SEED_DECISIONS: dict[Action, SeedDecision] = {
    Action.HOLD: "hold",
    Action.CLOSE: "close",
    Action.ROLL: "roll",
}
SEED_ROLL_TYPES: dict[RollType, str] = {
    RollType.CALENDAR: "calendar",
    RollType.DIAGONAL: "diagonal",
    RollType.RESIZE: "triple_strike_resize",
}


@dataclass(frozen=True, slots=True)
class SeedOrder:
    """One order line of seed 000's example (module doc for the units)."""

    action: str
    symbol: str
    quantity: int | float
    price: float
    order_type: str
    time_in_force: str


@dataclass(frozen=True, slots=True)
class SeedExecutionPlan:
    """Seed 000's ``ExecutionPlan`` plus the example's ``net_credit``, ``risk_reduction`` and
    ``new_breakeven``; ``evidence`` is riskdesk's full plan (ticket text and JSON, ladder,
    floor, exact decimals, monitoring levels)."""

    primary_action: str
    orders: list[SeedOrder]
    estimated_cost: float
    estimated_proceeds: float
    net_cash_flow: float
    net_credit: float
    risk_reduction: str
    new_breakeven: float | None
    risk_warnings: list[str]
    monitoring_points: list[str]
    evidence: ExecutionPlan


@dataclass(frozen=True, slots=True)
class SeedRiskMetrics:
    """Seed 000's ``RiskMetrics`` with the example's ``days_to_expiry`` and ``theta_daily``."""

    current_pnl: float
    pnl_percentage: float
    assignment_probability: float | None
    days_to_expiry: int
    theta_daily: float
    time_decay_daily: float
    max_loss: float | None
    max_profit: float | None
    breakeven_price: float


@dataclass(frozen=True, slots=True)
class SeedRollStrategy:
    """Seed 000's ``RollStrategy``; ``evidence`` is the full evaluated candidate."""

    roll_type: str
    target_symbol: str
    target_strike: float
    target_expiry: datetime
    target_size: int | float
    net_credit: float
    additional_capital_required: float
    improved_breakeven: float | None
    success_probability: float
    risk_reduction: float | None
    evidence: RollCandidate


@dataclass(frozen=True, slots=True)
class RollSearchSummary:
    """What the roll search looked at and why candidates were left out."""

    window_days_out: tuple[int, int]
    evaluated: int
    passed: int
    rejected: dict[str, int]
    capital_excluded: int
    capital_needed: Decimal | None
    defensive_triggers: tuple[str, ...]
    qualifying: int
    defense_note: str | None
    notes: list[str]


@dataclass(frozen=True, slots=True)
class SeedEvidence:
    """riskdesk's evidence behind the seed fields (extra key ``evidence``)."""

    valuation_note: str
    source: str
    currency: str
    action: str
    risk_level: str
    timing: str
    reasoning: list[str]
    factors: list[Factor]
    scores: dict[str, float]
    roll_search: RollSearchSummary
    analysis: PositionAnalysis


@dataclass(frozen=True, slots=True)
class SeedResponse:
    """Seed 000's ``RebalanceResponse`` (module doc) plus ``valuation_time`` and
    ``evidence``."""

    status: str
    decision: SeedDecision
    confidence: float
    execution_plan: SeedExecutionPlan
    risk_metrics: SeedRiskMetrics
    roll_strategies: list[SeedRollStrategy] | None
    warnings: list[str]
    valuation_time: datetime
    evidence: SeedEvidence


def _f(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def _qty(x: Decimal) -> int | float:
    return int(x) if x == x.to_integral_value() else float(x)


def seed_risk_metrics(a: PositionAnalysis) -> SeedRiskMetrics:
    """Seed 000's risk metrics of an analysis (module doc)."""
    return SeedRiskMetrics(
        current_pnl=float(a.unrealized_pnl),
        pnl_percentage=a.pnl_pct * 100.0,
        assignment_probability=a.assignment_probability,
        days_to_expiry=a.dte_days,
        theta_daily=a.theta_per_day_premium,
        time_decay_daily=a.theta_per_day_premium,
        max_loss=_f(a.max_loss),
        max_profit=_f(a.max_profit),
        breakeven_price=float(a.breakeven),
    )


def seed_roll_strategy(c: RollCandidate, short: bool) -> SeedRollStrategy:
    """Seed 000's ``RollStrategy`` of a candidate (module doc)."""
    size = -c.open.quantity if short else c.open.quantity
    return SeedRollStrategy(
        roll_type=SEED_ROLL_TYPES[c.roll_type],
        target_symbol=c.open.symbol,
        target_strike=float(c.open.strike),
        target_expiry=c.open.expiry,
        target_size=_qty(size),
        net_credit=float(c.net_credit_natural),
        additional_capital_required=float(c.additional_capital),
        improved_breakeven=_f(c.new_breakeven),
        success_probability=c.prob_profit,
        risk_reduction=c.risk_reduction,
        evidence=c,
    )


def seed_roll_strategies(rolls: RollEvaluation, short: bool) -> list[SeedRollStrategy]:
    """Every reported candidate as a seed ``RollStrategy``, best first."""
    return [seed_roll_strategy(c, short) for c in rolls.candidates]


def _point(point: MonitoringPoint) -> str:
    """A monitoring point as the seed's string: the level or date, then why."""
    mark = str(point.level) if point.level is not None else f"{point.when}"
    return point.description if mark in point.description else f"{mark}: {point.description}"


def _plan(report: RebalanceReport) -> SeedExecutionPlan:
    plan, d, a = report.plan, report.decision, report.analysis
    roll = d.roll
    if d.action is Action.ROLL and roll is not None:
        rr = roll.risk_reduction
        reduction = "n/a" if rr is None else f"{rr * 100:.1f}%"
        new_be = _f(roll.new_breakeven)
    elif d.action is Action.CLOSE:
        reduction, new_be = "100%", None
    else:
        reduction, new_be = "0%", float(a.breakeven)
    return SeedExecutionPlan(
        primary_action=plan.primary_action,
        orders=[
            SeedOrder(
                o.action,
                o.symbol,
                _qty(o.quantity),
                float(o.limit_price),
                o.order_type,
                o.time_in_force,
            )
            for o in plan.orders
        ],
        estimated_cost=float(plan.estimated_cost),
        estimated_proceeds=float(plan.estimated_proceeds),
        net_cash_flow=float(plan.net_cash_flow),
        net_credit=float(plan.net_cash_flow),
        risk_reduction=reduction,
        new_breakeven=new_be,
        risk_warnings=plan.risk_warnings,
        monitoring_points=[_point(p) for p in plan.monitoring_points],
        evidence=plan,
    )


def seed_response(report: RebalanceReport) -> SeedResponse:
    """Seed 000's response of a rebalance report (module doc)."""
    a, d, rolls = report.analysis, report.decision, report.rolls
    warnings = list(report.plan.risk_warnings)
    warnings += [n for n in rolls.notes if n not in warnings]
    if rolls.defense_note:
        warnings.append(rolls.defense_note)
    strategies = seed_roll_strategies(rolls, a.position_type.is_short)
    return SeedResponse(
        status="success",
        decision=SEED_DECISIONS[d.action],
        confidence=d.confidence,
        execution_plan=_plan(report),
        risk_metrics=seed_risk_metrics(a),
        roll_strategies=strategies or None,
        warnings=warnings,
        valuation_time=report.as_of,
        evidence=SeedEvidence(
            valuation_note=report.valuation_note,
            source=report.source,
            currency=a.premium_currency,
            action=d.action.value,
            risk_level=d.risk_level,
            timing=d.timing,
            reasoning=d.reasoning,
            factors=d.factors,
            scores=d.scores,
            roll_search=RollSearchSummary(
                window_days_out=rolls.window_days_out,
                evaluated=rolls.evaluated,
                passed=rolls.passed,
                rejected=rolls.rejected,
                capital_excluded=rolls.capital_excluded,
                capital_needed=rolls.capital_needed,
                defensive_triggers=rolls.defensive_triggers,
                qualifying=rolls.qualifying,
                defense_note=rolls.defense_note,
                notes=rolls.notes,
            ),
            analysis=a,
        ),
    )


__all__ = [
    "SEED_DECISIONS",
    "SEED_ROLL_TYPES",
    "RollSearchSummary",
    "SeedDecision",
    "SeedEvidence",
    "SeedExecutionPlan",
    "SeedOrder",
    "SeedResponse",
    "SeedRiskMetrics",
    "SeedRollStrategy",
    "seed_response",
    "seed_risk_metrics",
    "seed_roll_strategies",
    "seed_roll_strategy",
]
