"""Daily / weekly / monthly risk reports (seed 004 §3.3), computed from stored facts.

A **trade** is a realized reduction: every fill that reduced or closed a position (a trade
record with action ``reduce`` or ``close``) counts once, so a partial take-profit is a trade of
its own; its P&L is the realized P&L of that reduction net of that fill's fee (opening fees and
funding stay in the period's P&L but are not attributed to a trade). Win rate = winning trades /
trades.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from riskdesk.domain.accounting.portfolio import max_drawdown
from riskdesk.domain.values import ZERO, exact


@dataclass(frozen=True, slots=True)
class RiskReport:
    """A period's numbers in the reporting currency; ratios are fractions."""

    period: str
    start: datetime
    end: datetime
    start_equity: Decimal | None
    end_equity: Decimal | None
    pnl: Decimal | None
    return_pct: Decimal | None
    max_drawdown: Decimal | None
    trades: int
    wins: int
    win_rate: Decimal | None
    largest_win: Decimal | None
    largest_loss: Decimal | None
    peak_leverage: Decimal | None
    peak_exposure_usage: Decimal | None
    violations: int
    violations_by_code: dict[str, int]
    deposits: Decimal


@exact
def build_report(
    period: str,
    start: datetime,
    end: datetime,
    equities: Sequence[tuple[datetime, Decimal]],
    exposures: Sequence[tuple[Decimal, Decimal]],
    closed_pnls: Sequence[Decimal],
    violation_codes: Sequence[str],
    deposits: Decimal = ZERO,
    max_total_exposure: float | None = None,
) -> RiskReport:
    """Assemble a report.

    ``equities``: (time, equity) points from the last snapshot before ``start`` to ``end``;
    ``exposures``: (gross exposure, equity) pairs of the period's points (peak usage);
    ``closed_pnls``: P&L of every trade (realized reduction, see the module docstring) in the
    period; ``deposits``: cash moved in (P&L excludes it). The return is over the start equity,
    or over the cash deposited when the period started from nothing."""
    values = [e for _, e in equities]
    start_eq = values[0] if values else None
    end_eq = values[-1] if values else None
    pnl = None if start_eq is None or end_eq is None else end_eq - start_eq - deposits
    base = start_eq if start_eq else (start_eq or ZERO) + deposits
    ret = None if pnl is None or not base or base < 0 else pnl / base
    wins = sum(1 for p in closed_pnls if p > 0)
    leverages = [g / e for g, e in exposures if e > 0]
    peak_lev = max(leverages) if leverages else None
    usage = None
    if peak_lev is not None and max_total_exposure:
        usage = peak_lev / Decimal(str(max_total_exposure))
    by_code: dict[str, int] = {}
    for code in violation_codes:
        by_code[code] = by_code.get(code, 0) + 1
    return RiskReport(
        period=period,
        start=start,
        end=end,
        start_equity=start_eq,
        end_equity=end_eq,
        pnl=pnl,
        return_pct=ret,
        max_drawdown=max_drawdown(values) if values else None,
        trades=len(closed_pnls),
        wins=wins,
        win_rate=Decimal(wins) / len(closed_pnls) if closed_pnls else None,
        largest_win=max((p for p in closed_pnls if p > 0), default=None),
        largest_loss=min((p for p in closed_pnls if p < 0), default=None),
        peak_leverage=peak_lev,
        peak_exposure_usage=usage,
        violations=len(violation_codes),
        violations_by_code=by_code,
        deposits=deposits,
    )
