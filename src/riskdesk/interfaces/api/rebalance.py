"""``POST /api/v1/rebalance``: seed 000's request and response over the option rebalancer.

Request: seed 000's ``RebalanceRequest`` fields (``option_symbol``, ``position_size``,
``entry_price``, ``position_type``, ``risk_tolerance``, ``max_additional_capital``,
``target_days_to_roll``, ``defensive_roll_trigger``, ``preferred_roll_types``) plus
``entry_date`` and ``profit_target`` from the issue. Enum values are accepted in any case
(the seed upper-cases ``position_type``: ``"SHORT_PUT"`` works). Omitted preferences take the
configured defaults, which are seed 000's (moderate, 0, 21, 0.15); an omitted
``position_type`` is derived from the symbol and the sign of ``position_size`` (the seed's
default ``short_put`` would refuse every other position) and a given one is checked against
them. ``position_size`` is whole contracts for US equity options and a decimal amount for
Deribit (lots of 0.1 BTC).

Response: seed 000's ``RebalanceResponse`` field by field (``application.rebalance_seed``
documents every field's unit) plus the extra keys ``valuation_time`` and ``evidence``.

Errors (request validation included) have riskdesk's shape ``{"error": {"code", "field",
"reason"}}``: 422 for bad input (nothing is changed), 404 for an unknown contract or
underlying, 502 when market data cannot be obtained.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from riskdesk.application.facade import Application
from riskdesk.application.rebalance_seed import SeedResponse, seed_response
from riskdesk.application.rebalance_service import RebalanceRequest as ServiceRequest
from riskdesk.domain.errors import MarketDataError, NotFound, RiskdeskError

router = APIRouter(prefix="/api/v1", tags=["options"])


def _lower(value: object) -> object:
    """Enum values in any case (``SHORT_PUT`` → ``short_put``)."""
    return value.strip().lower() if isinstance(value, str) else value


PositionTypeName = Annotated[
    Literal["short_put", "short_call", "long_put", "long_call"], BeforeValidator(_lower)
]
ToleranceName = Annotated[
    Literal["conservative", "moderate", "aggressive"], BeforeValidator(_lower)
]
RollTypeName = Annotated[
    Literal["calendar", "diagonal", "triple_strike_resize", "resize"], BeforeValidator(_lower)
]


class RebalanceRequest(BaseModel):
    """Seed 000's request (module doc). Fractions are decimals (0.15 = 15 %)."""

    model_config = ConfigDict(extra="forbid")

    option_symbol: str = Field(description="OCC (AAPL260821P00330000) or Deribit symbol")
    position_size: Decimal = Field(
        description="contracts, negative = short (whole contracts for US equity options)"
    )
    entry_price: Decimal = Field(description="entry premium per unit (per share; per coin)")
    position_type: PositionTypeName | None = Field(
        None,
        description="short_put, short_call, long_put or long_call in any case; derived from the "
        "symbol and the size's sign when omitted, checked against them when given",
    )
    entry_date: datetime | None = Field(
        None, description="when the position was opened; not after the valuation time"
    )
    risk_tolerance: ToleranceName | None = Field(
        None, description="conservative, moderate or aggressive (default: configured, moderate)"
    )
    max_additional_capital: Decimal | None = Field(
        None, description="money a roll may add, premium currency (default: configured, 0)"
    )
    target_days_to_roll: int | None = Field(
        None, description="DTE at or below which the roll window opens (default 21)"
    )
    defensive_roll_trigger: float | None = Field(
        None,
        description="loss / entry premium that fires the defensive factor (default 0.15); "
        "in (0, 1] for long options, up to 10 for short ones",
    )
    profit_target: float | None = Field(
        None,
        description="profit / entry premium that fires the profit factor (default 0.5); in "
        "(0, 1] for short options (they earn at most the premium), up to 10 for long ones",
    )
    preferred_roll_types: list[RollTypeName] | None = Field(
        None, description="calendar, diagonal, triple_strike_resize (alias resize)"
    )


def get_application(request: Request) -> Application:
    """The application the app factory stored."""
    app: Application = request.app.state.application
    return app


def error_response(exc: RiskdeskError) -> JSONResponse:
    """riskdesk's error shape with the HTTP status of its kind (module doc)."""
    status = 404 if isinstance(exc, NotFound) else 502 if isinstance(exc, MarketDataError) else 422
    return JSONResponse(status_code=status, content={"error": exc.to_dict()})


def request_validation_response(exc: RequestValidationError) -> JSONResponse:
    """A request the schema refuses, in riskdesk's error shape: the first problem as
    ``error`` (its field is the path inside the body) and all of them in ``errors``."""
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        problems.append(
            {
                "code": "invalid_value",
                "field": ".".join(loc) or None,
                "reason": str(err.get("msg", "invalid")),
            }
        )
    first = (
        problems[0] if problems else {"code": "invalid_value", "field": None, "reason": "invalid"}
    )
    return JSONResponse(status_code=422, content={"error": first, "errors": problems})


@router.post(
    "/rebalance",
    response_model=SeedResponse,
    responses={
        404: {"description": "unknown contract or underlying"},
        422: {"description": "bad input"},
        502: {"description": "market data unavailable"},
    },
)
def rebalance_position(
    body: RebalanceRequest,
    application: Annotated[Application, Depends(get_application)],
) -> SeedResponse | JSONResponse:
    """Analyse the option position on the current chain and decide hold / close / roll, with
    roll candidates from the chain and a ready order ticket (seed 000's response)."""
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
        return error_response(exc)
    return seed_response(record.report)


__all__ = [
    "RebalanceRequest",
    "error_response",
    "request_validation_response",
    "router",
]
