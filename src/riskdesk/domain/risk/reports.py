"""Daily / weekly / monthly risk reports (seed 004 §3.3), computed from stored facts.

**Equity.** The start equity is the book's equity *at the period start*: the last known point
at or before it plus the cash moved in between; zero when the book had no cash and no fill yet
(it did not exist); the first point of the period when the book existed but no earlier point is
known (``start_equity_at`` says which moment the number is). The end equity is the last point
of the period. Cash moved in and out between the two is the **net cash flow**, never P&L:
``pnl = end_equity − start_equity − net_cash_flow``. The return is over the start equity (over
the start equity plus the net cash flow when the book started the period empty).

Points before the book's first cash movement or fill are ignored: the book held nothing then,
and a baseline stored for such a moment (before this rule, a first revaluation stored today's
equity less today's deposits at midnight) is not an equity the book ever had.

**Ratios** are computed on sane denominators: the max drawdown is cash-adjusted like the
drawdown monitor (``equity.max_drawdown_with_cash``: a deposit is not a gain, a withdrawal not
a drawdown); the peak leverage is gross exposure / equity over the points *in* the period
(start included) whose exposure was observed with their equity, and a point with exposure but
no positive equity is skipped and counted (``skipped_points``). So a period's peak is never
below the peak of a shorter period it contains, and reports of consecutive periods add up.
Ratios are rounded to 8 decimals (``values.ratio``).

A **trade** is a realized reduction: every fill that reduced or closed a position (a trade
record with action ``reduce`` or ``close``) counts once, so a partial take-profit is a trade of
its own; its P&L is the realized P&L of that reduction net of that fill's fee (opening fees and
funding stay in the period's P&L but are not attributed to a trade). Win rate = winning trades /
trades.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from riskdesk.domain.risk.equity import max_drawdown_with_cash
from riskdesk.domain.values import ZERO, exact, ratio


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """A known equity of the book (reporting currency) and, when it was observed with it, its
    gross exposure (None: not known at that moment, e.g. a peak between revaluations)."""

    ts: datetime
    equity: Decimal
    gross: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskReport:
    """A period's numbers for one book in the reporting currency; ratios are fractions."""

    period: str
    book: str
    start: datetime
    end: datetime
    start_equity: Decimal | None
    start_equity_at: datetime | None
    end_equity: Decimal | None
    end_equity_at: datetime | None
    net_cash_flow: Decimal
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
    skipped_points: int
    violations: int
    violations_by_code: dict[str, int]
    #: Currencies of the period's cash flows or trades without a rate: left out of the cash
    #: flow and the trade P&L, which are incomplete.
    unpriced: tuple[str, ...] = ()


class _Cash:
    """Cash moved in (reporting currency) over time windows."""

    def __init__(self, moves: Sequence[tuple[datetime, Decimal]]) -> None:
        ordered = sorted(moves, key=lambda m: m[0])
        self.times = [ts for ts, _ in ordered]
        self.sums = [ZERO, *itertools.accumulate(v for _, v in ordered)]
        self.ordered = ordered

    def until(self, ts: datetime) -> Decimal:
        return self.sums[bisect.bisect_right(self.times, ts)]

    def between(self, after: datetime, until: datetime) -> Decimal:
        """Cash moved in ``(after, until]``."""
        return self.until(until) - self.until(after) if until > after else ZERO


@exact
def build_report(
    period: str,
    start: datetime,
    end: datetime,
    points: Sequence[EquityPoint],
    moves: Sequence[tuple[datetime, Decimal]],
    opened: datetime | None,
    closed_pnls: Sequence[Decimal],
    violation_codes: Sequence[str],
    max_total_exposure: float | None = None,
    book: str = "*",
) -> RiskReport:
    """Assemble one book's report for ``[start, end)`` (see the module docstring).

    ``points``: every known equity of the book up to ``end`` (snapshots, the midnight baselines,
    the latest revaluation, the high-water mark's moment), any order; ``moves``: (time,
    reporting-currency value, < 0 out) of every cash movement of the book; ``opened``: the
    book's first cash movement or fill (None: never); ``closed_pnls``: P&L of every trade of the
    period; ``violation_codes``: the codes of the period's denied orders."""
    cash = _Cash(moves)
    known = sorted(
        (p for p in points if p.ts <= end and opened is not None and p.ts >= opened),
        key=lambda p: p.ts,
    )
    before = [p for p in known if p.ts <= start]
    inside = [p for p in known if p.ts > start]
    start_at: datetime | None
    start_eq: Decimal | None
    if before:
        start_at, start_eq = start, before[-1].equity + cash.between(before[-1].ts, start)
    elif opened is None or opened > start:
        start_at, start_eq = start, ZERO  # the book did not exist yet
    elif inside:
        start_at, start_eq = inside[0].ts, inside[0].equity
    else:
        start_at, start_eq = None, None
    end_at, end_eq = (inside[-1].ts, inside[-1].equity) if inside else (start_at, start_eq)
    flow = cash.between(start_at, end_at) if start_at is not None and end_at is not None else ZERO
    pnl = None if start_eq is None or end_eq is None else end_eq - start_eq - flow
    base = None
    if start_eq is not None:
        base = start_eq if start_eq > 0 else start_eq + flow
    ret = None if pnl is None or base is None or base <= 0 else ratio(pnl / base)
    drawdown = None
    if start_at is not None and start_eq is not None:
        curve = [(start_at, start_eq)] + [(p.ts, p.equity) for p in inside if p.ts > start_at]
        found = max_drawdown_with_cash(curve, cash.ordered)
        drawdown = None if found is None else ratio(found)
    leverages: list[Decimal] = []
    skipped = 0
    for p in known:
        if p.ts < start or p.gross is None:
            continue
        if p.equity > 0:
            leverages.append(p.gross / p.equity)
        elif p.gross > 0:
            skipped += 1
    peak_lev = max(leverages) if leverages else None
    usage = None
    if peak_lev is not None and max_total_exposure:
        usage = ratio(peak_lev / Decimal(repr(max_total_exposure)))
    wins = sum(1 for p in closed_pnls if p > 0)
    by_code: dict[str, int] = {}
    for code in violation_codes:
        by_code[code] = by_code.get(code, 0) + 1
    return RiskReport(
        period=period,
        book=book,
        start=start,
        end=end,
        start_equity=start_eq,
        start_equity_at=start_at,
        end_equity=end_eq,
        end_equity_at=end_at,
        net_cash_flow=flow,
        pnl=pnl,
        return_pct=ret,
        max_drawdown=drawdown,
        trades=len(closed_pnls),
        wins=wins,
        win_rate=ratio(Decimal(wins) / len(closed_pnls)) if closed_pnls else None,
        largest_win=max((p for p in closed_pnls if p > 0), default=None),
        largest_loss=min((p for p in closed_pnls if p < 0), default=None),
        peak_leverage=None if peak_lev is None else ratio(peak_lev),
        peak_exposure_usage=usage,
        skipped_points=skipped,
        violations=len(violation_codes),
        violations_by_code=by_code,
    )
