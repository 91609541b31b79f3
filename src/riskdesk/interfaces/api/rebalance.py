"""``POST /api/v1/rebalance``: seed 000's request and response over the option rebalancer.

The request carries seed 000's fields (plus ``entry_date`` and ``profit_target``); omitted
preferences take the configured defaults. The response keeps seed 000's top-level shape
(``status``, ``decision``, ``confidence``, ``execution_plan``, ``risk_metrics``,
``roll_strategies``, ``warnings``) with typed contents, and adds the evidence: the valuation
time and source, risk level, timing, reasoning and every scored factor. Money is exact decimal
strings. Errors keep riskdesk's shape ``{"error": {"code", "field", "reason"}}``: 422 for bad
input (nothing is changed), 404 for an unknown contract or underlying, 502 when market data
cannot be obtained.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.application.facade import Application
from riskdesk.application.rebalance_service import RebalanceRequest as ServiceRequest
from riskdesk.domain.errors import MarketDataError, NotFound, RiskdeskError
from riskdesk.domain.rebalance.analysis import PositionAnalysis
from riskdesk.domain.rebalance.decision import Factor
from riskdesk.domain.rebalance.execution import ExecutionPlan
from riskdesk.domain.rebalance.rolls import RollCandidate

router = APIRouter(prefix="/api/v1", tags=["options"])


class RebalanceRequest(BaseModel):
    """Seed 000's request. ``position_size`` is signed (negative = short), ``entry_price`` per
    unit (per share; per coin for Deribit); fractions are decimals (0.15 = 15 %)."""

    model_config = ConfigDict(extra="forbid")

    option_symbol: str = Field(description="OCC (AAPL260821P00330000) or Deribit symbol")
    position_size: Decimal = Field(description="contracts, negative = short")
    entry_price: Decimal = Field(description="entry premium per unit")
    position_type: Literal["short_put", "short_call", "long_put", "long_call"] | None = Field(
        None, description="checked against the symbol and the size's sign when given"
    )
    entry_date: datetime | None = None
    risk_tolerance: Literal["conservative", "moderate", "aggressive"] | None = None
    max_additional_capital: Decimal | None = Field(
        None, description="money a roll may add (premium currency)"
    )
    target_days_to_roll: int | None = Field(None, description="DTE that opens the roll window")
    defensive_roll_trigger: float | None = Field(
        None, description="loss / entry premium that fires the defensive factor"
    )
    profit_target: float | None = Field(None, description="fraction of max profit to take")
    preferred_roll_types: list[str] | None = Field(
        None, description="calendar, diagonal, resize (seed: triple_strike_resize)"
    )


class RiskMetrics(BaseModel):
    """Seed 000's risk metrics (money in the premium currency; probabilities 0..1)."""

    current_pnl: Decimal
    pnl_percentage: float
    assignment_probability: float | None
    days_to_expiry: int
    theta_daily: float
    max_profit: Decimal | None
    max_loss: Decimal | None
    breakeven_price: Decimal
    delta_dollars: float
    capital_required: Decimal


class RebalanceResponse(BaseModel):
    """Seed 000's response with typed contents and the evidence behind the decision."""

    status: Literal["success"]
    decision: Literal["HOLD", "CLOSE", "ROLL"]
    confidence: float
    risk_level: str
    timing: str
    valuation_time: datetime
    valuation_note: str
    source: str
    reasoning: list[str]
    factors: list[Factor]
    scores: dict[str, float]
    execution_plan: ExecutionPlan
    risk_metrics: RiskMetrics
    roll_strategies: list[RollCandidate] | None
    warnings: list[str]
    analysis: PositionAnalysis


def get_application(request: Request) -> Application:
    """The application the app factory stored."""
    app: Application = request.app.state.application
    return app


def _error(exc: RiskdeskError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 502 if isinstance(exc, MarketDataError) else 422
    return JSONResponse(status_code=status, content={"error": exc.to_dict()})


@router.post(
    "/rebalance",
    response_model=RebalanceResponse,
    responses={404: {"description": "unknown contract"}, 422: {"description": "bad input"}},
)
def rebalance_position(
    body: RebalanceRequest,
    application: Annotated[Application, Depends(get_application)],
) -> RebalanceResponse | JSONResponse:
    """Analyse the option position on the current chain and decide HOLD / CLOSE / ROLL, with
    roll candidates from the chain and a ready order ticket."""
    try:
        record = application.options.rebalance(
            ServiceRequest(
                option_symbol=body.option_symbol,
                position_size=body.position_size,
                entry_price=body.entry_price,
                position_type=body.position_type,
                entry_date=body.entry_date,
                risk_tolerance=body.risk_tolerance,
                max_additional_capital=body.max_additional_capital,
                target_days_to_roll=body.target_days_to_roll,
                defensive_roll_trigger=body.defensive_roll_trigger,
                profit_target=body.profit_target,
                preferred_roll_types=body.preferred_roll_types,
            )
        )
    except RiskdeskError as exc:
        return _error(exc)
    report = record.report
    a, d = report.analysis, report.decision
    return RebalanceResponse(
        status="success",
        decision=d.action.value,
        confidence=d.confidence,
        risk_level=d.risk_level,
        timing=d.timing,
        valuation_time=report.as_of,
        valuation_note=report.valuation_note,
        source=report.source,
        reasoning=d.reasoning,
        factors=d.factors,
        scores=d.scores,
        execution_plan=report.plan,
        risk_metrics=RiskMetrics(
            current_pnl=a.unrealized_pnl,
            pnl_percentage=a.pnl_pct,
            assignment_probability=a.assignment_probability,
            days_to_expiry=a.dte_days,
            theta_daily=a.theta_per_day,
            max_profit=a.max_profit,
            max_loss=a.max_loss,
            breakeven_price=a.breakeven,
            delta_dollars=a.greeks.delta_dollars,
            capital_required=a.capital_required,
        ),
        roll_strategies=report.rolls.candidates or None,
        warnings=report.plan.risk_warnings,
        analysis=a,
    )


__all__ = ["RebalanceRequest", "RebalanceResponse", "RiskMetrics", "router"]
