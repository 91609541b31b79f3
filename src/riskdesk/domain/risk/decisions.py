"""Outcomes of pre-trade risk checks: ``Approved`` or ``Denied(code, reason, suggestion, value,
limit)``. Codes are stable strings; reasons are plain sentences stating the value and the limit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class RiskCode(StrEnum):
    """Stable codes of every pre-trade check."""

    INVALID_ORDER = "invalid_order"
    TRADING_STATE = "trading_state"
    STALE_DATA = "stale_data"
    NO_MARK = "no_mark"
    NO_RATE = "no_rate"
    REDUCE_ONLY = "reduce_only"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    DAILY_LOSS = "daily_loss"
    SYMBOL_EXPOSURE = "symbol_exposure"
    TOTAL_EXPOSURE = "total_exposure"
    MAX_POSITIONS = "max_positions"
    RISK_PER_TRADE = "risk_per_trade"
    NO_PROTECTIVE_STOP = "no_protective_stop"
    LEVERAGE = "leverage"
    ORDER_NOTIONAL = "order_notional"
    PRICE_BAND = "price_band"
    LIQUIDITY = "liquidity"
    SLIPPAGE = "slippage"
    RATE_LIMIT = "rate_limit"
    ADJUSTMENTS_PER_DAY = "adjustments_per_day"
    ADJUSTMENT_INTERVAL = "adjustment_interval"
    DELTA_CHANGE = "delta_change"
    COST_PER_DAY = "cost_per_day"
    CONCENTRATION = "concentration"
    PORTFOLIO_HEAT = "portfolio_heat"
    NET_DELTA = "net_delta"
    GAMMA = "gamma"
    VEGA = "vega"
    SCENARIO_LOSS = "scenario_loss"


class Severity(StrEnum):
    """Critical checks short-circuit the pipeline."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"


#: The unit of each check's ``value`` and ``limit``.
UNITS: dict[RiskCode, str] = {
    RiskCode.INVALID_ORDER: "none",
    RiskCode.TRADING_STATE: "state level (0 active, 1 reducing, 2 halted, 3 flatten)",
    RiskCode.STALE_DATA: "seconds",
    RiskCode.NO_MARK: "none",
    RiskCode.NO_RATE: "currencies without a rate",
    RiskCode.REDUCE_ONLY: "contracts",
    RiskCode.INSUFFICIENT_MARGIN: "settlement currency",
    RiskCode.DAILY_LOSS: "fraction of the day-start equity",
    RiskCode.SYMBOL_EXPOSURE: "fraction of equity",
    RiskCode.TOTAL_EXPOSURE: "fraction of equity",
    RiskCode.MAX_POSITIONS: "positions",
    RiskCode.RISK_PER_TRADE: "fraction of equity",
    RiskCode.NO_PROTECTIVE_STOP: "fraction of equity",
    RiskCode.LEVERAGE: "times equity",
    RiskCode.ORDER_NOTIONAL: "reporting currency",
    RiskCode.PRICE_BAND: "fraction of the mark",
    RiskCode.LIQUIDITY: "fraction of the book depth",
    RiskCode.SLIPPAGE: "bps",
    RiskCode.RATE_LIMIT: "order tokens",
    RiskCode.ADJUSTMENTS_PER_DAY: "adjustments",
    RiskCode.ADJUSTMENT_INTERVAL: "seconds",
    RiskCode.DELTA_CHANGE: "units of the underlying",
    RiskCode.COST_PER_DAY: "reporting currency",
    RiskCode.CONCENTRATION: "fraction of equity",
    RiskCode.PORTFOLIO_HEAT: "fraction of equity",
    RiskCode.NET_DELTA: "fraction of equity",
    RiskCode.GAMMA: "fraction of equity",
    RiskCode.VEGA: "fraction of equity",
    RiskCode.SCENARIO_LOSS: "fraction of equity",
}


def analytics(value: float) -> float | None:
    """A float analytic as JSON shows it: rounded to 8 decimals (None when not finite)."""
    return round(value, 8) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class Denial:
    """One failed check: ``value`` and ``limit`` are float analytics in ``unit`` (empty: the
    code's, :data:`UNITS`)."""

    code: RiskCode
    reason: str
    suggestion: str
    value: float
    limit: float
    severity: Severity
    unit: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form: value and limit rounded to 8 decimals, with their unit."""
        return {
            "code": self.code.value,
            "reason": self.reason,
            "suggestion": self.suggestion,
            "value": analytics(self.value),
            "limit": analytics(self.limit),
            "unit": self.unit or UNITS[self.code],
            "severity": self.severity.value,
        }


@dataclass(frozen=True, slots=True)
class Approved:
    """The order passed every check; ``warnings`` say what could not be checked or is close."""

    intent_id: str
    checks: int
    warnings: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        """Always True."""
        return True


@dataclass(frozen=True, slots=True)
class Denied:
    """The order failed: the first (most severe) denial, and every denial found."""

    intent_id: str
    denial: Denial
    all: tuple[Denial, ...]

    @property
    def approved(self) -> bool:
        """Always False."""
        return False

    @property
    def code(self) -> RiskCode:
        """Code of the primary denial."""
        return self.denial.code

    @property
    def reason(self) -> str:
        """Reason of the primary denial."""
        return self.denial.reason

    @property
    def suggestion(self) -> str:
        """Suggestion of the primary denial."""
        return self.denial.suggestion

    @property
    def value(self) -> float:
        """Value of the primary denial."""
        return self.denial.value

    @property
    def limit(self) -> float:
        """Limit of the primary denial."""
        return self.denial.limit


Decision = Approved | Denied


@dataclass(frozen=True, slots=True)
class RiskRecord:
    """A stored pre-trade decision (the ``risk_violations`` journal keeps every result:
    ``outcome`` is ``approved`` or ``denied``; for approvals ``code`` is ``approved``)."""

    ts: datetime
    intent_id: str
    account_id: str
    venue: str
    symbol: str
    side: str
    qty: Decimal
    source: str
    outcome: str
    code: str
    reason: str
    suggestion: str
    value: float
    limit: float
    severity: str
    details: tuple[dict[str, object], ...] = ()


def record_of(
    decision: Decision,
    intent_ts: datetime,
    account_id: str,
    venue: str,
    symbol: str,
    side: str,
    qty: Decimal,
    source: str,
) -> RiskRecord:
    """The stored form of a decision."""
    if isinstance(decision, Denied):
        d = decision.denial
        return RiskRecord(
            intent_ts,
            decision.intent_id,
            account_id,
            venue,
            symbol,
            side,
            qty,
            source,
            "denied",
            d.code.value,
            d.reason,
            d.suggestion,
            d.value,
            d.limit,
            d.severity.value,
            tuple(x.to_dict() for x in decision.all),
        )
    warnings = "; ".join(decision.warnings)
    return RiskRecord(
        intent_ts,
        decision.intent_id,
        account_id,
        venue,
        symbol,
        side,
        qty,
        source,
        "approved",
        "approved",
        warnings or "passed every check",
        "",
        0.0,
        0.0,
        "",
        (),
    )
