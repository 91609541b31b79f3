"""Equity marks: the start-of-day baseline and the high-water mark, kept on every revaluation.

Daily loss needs the equity at the start of the UTC day and drawdown needs the peak equity; both
must exist in any book, not only where someone takes snapshots. So every revaluation (a mark
update, a fill, a monitor run, a pre-trade check on a rebuilt book) folds the current equity
into an :class:`EquityMark` per scope (``*`` for the whole desk, each risk book — see
``books`` — and each account):

* **Start of day.** At the first revaluation of a UTC day the baseline is the *last equity known
  before midnight* — the newer of the previous mark and the latest snapshot taken at or before
  midnight — plus the cash moved in between it and midnight. Without either (a fresh database):
  zero when the scope had no cash movement and no fill by midnight (it held nothing: today's
  deposits and trades are today's, not yesterday's), else the current equity minus the cash
  moved in since midnight, an estimate whose exposure is flagged as not observed. The
  application stores the baseline as the day's midnight snapshot (never replacing one already
  there), which is where the book's daily P&L reads it.
* **High-water mark.** The peak moves with the cash: a deposit raises it and a withdrawal lowers
  it by the amount moved (so neither looks like a gain or a drawdown), then it is the larger of
  that and the current equity. Snapshots newer than the previous mark count as observations
  too, each adjusted by the cash moved after it.

Pure: the caller passes the previous mark, the current numbers, the cash flows and the rates.
Money is ``Decimal`` in the reporting currency unless a name says otherwise.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from riskdesk.domain.values import ZERO, exact


@dataclass(frozen=True, slots=True)
class EquityMark:
    """The last revaluation of a scope and its high-water mark.

    ``equity``/``gross``/``net``: at ``ts``; ``peak``: the high-water mark (cash-adjusted) and
    ``peak_ts`` when the equity set it; ``flows``: cash moved into the scope so far, per
    currency (settlement units), at ``ts``."""

    scope: str
    ts: datetime
    equity: Decimal
    gross: Decimal
    net: Decimal
    peak: Decimal
    peak_ts: datetime
    flows: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DayStart:
    """The start-of-day baseline to store as the midnight snapshot ``ts`` of a scope."""

    scope: str
    ts: datetime
    equity: Decimal
    gross: Decimal
    net: Decimal
    basis: str
    #: Whether ``gross``/``net`` were observed with ``equity`` (False for a first revaluation's
    #: estimate: today's exposure beside the equity less today's cash).
    exposure_known: bool = True


@dataclass(frozen=True, slots=True)
class Observation:
    """An equity seen outside the marks (a stored snapshot), already adjusted for the cash moved
    after it."""

    ts: datetime
    equity: Decimal


def midnight(ts: datetime) -> datetime:
    """The UTC day start of ``ts``."""
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


@exact
def flow_value(
    now: Mapping[str, Decimal], before: Mapping[str, Decimal], rates: Mapping[str, Decimal]
) -> Decimal:
    """Reporting-currency value of the cash moved between two cumulative flow totals (a
    currency without a rate counts as 0)."""
    total = ZERO
    for currency in set(now) | set(before):
        moved = now.get(currency, ZERO) - before.get(currency, ZERO)
        if moved:
            total += moved * rates.get(currency, ZERO)
    return total


@exact
def mark_equity(
    previous: EquityMark | None,
    scope: str,
    now: datetime,
    equity: Decimal,
    gross: Decimal,
    net: Decimal,
    flows: Mapping[str, Decimal],
    rates: Mapping[str, Decimal],
    *,
    last_snapshot: Observation | None = None,
    moved_before_midnight: Decimal = ZERO,
    moved_today: Decimal = ZERO,
    observations: Sequence[Observation] = (),
    opened_before_midnight: bool = True,
) -> tuple[EquityMark, DayStart | None]:
    """Fold one revaluation into the scope's mark (see the module docstring).

    ``last_snapshot``: the latest snapshot at or before today's midnight (raw equity);
    ``moved_before_midnight``: cash moved in after the last known equity (the newer of
    ``previous`` and ``last_snapshot``) up to midnight; ``moved_today``: cash moved in since
    midnight; ``observations``: snapshots newer than ``previous`` (cash-adjusted);
    ``opened_before_midnight``: whether the scope had any cash movement or fill by midnight
    (without, a first revaluation's baseline is zero: the scope held nothing then). A
    revaluation older than ``previous`` changes nothing. Returns the new mark and the baseline
    to store (None when the day already has one: the previous mark is from today, or a
    snapshot sits at midnight)."""
    if previous is not None and now < previous.ts:
        return previous, None
    day = midnight(now)
    start: DayStart | None = None
    known_before = previous is not None and previous.ts < day
    snapshot_is_newer = last_snapshot is not None and (
        previous is None or last_snapshot.ts >= previous.ts
    )
    if previous is None or known_before:
        if last_snapshot is not None and last_snapshot.ts == day:
            start = None  # the day already has its baseline
        elif snapshot_is_newer and last_snapshot is not None:
            start = DayStart(
                scope,
                day,
                last_snapshot.equity + moved_before_midnight,
                previous.gross if previous else gross,
                previous.net if previous else net,
                f"snapshot of {last_snapshot.ts.isoformat()} + cash moved before midnight",
            )
        elif previous is not None:
            start = DayStart(
                scope,
                day,
                previous.equity + moved_before_midnight,
                previous.gross,
                previous.net,
                f"last revaluation {previous.ts.isoformat()} + cash moved before midnight",
            )
        elif not opened_before_midnight:
            start = DayStart(
                scope, day, ZERO, ZERO, ZERO, "no cash and no fill before midnight: empty"
            )
        else:
            start = DayStart(
                scope,
                day,
                equity - moved_today,
                gross,
                net,
                "first revaluation of the book: its equity less the cash moved in today",
                exposure_known=False,
            )
    if previous is None:
        peak, peak_ts = equity, now
    else:
        peak = previous.peak + flow_value(flows, previous.flows, rates)
        peak_ts = previous.peak_ts
        if equity > peak:
            peak, peak_ts = equity, now
    for seen in observations:
        if seen.equity > peak:
            peak, peak_ts = seen.equity, seen.ts
    return EquityMark(scope, now, equity, gross, net, peak, peak_ts, dict(flows)), start


@exact
def peak_equity_at(mark: EquityMark, moves: Sequence[tuple[datetime, Decimal]]) -> Decimal:
    """The equity that set ``mark``'s high-water mark, as it was at ``peak_ts``: the stored peak
    is moved by the cash moved in (``moves``: time, reporting-currency value, in time order) up
    to ``mark.ts``, so that is taken back out."""
    return mark.peak - sum((value for ts, value in moves if mark.peak_ts < ts <= mark.ts), ZERO)


@exact
def max_drawdown_with_cash(
    points: Sequence[tuple[datetime, Decimal]], moves: Sequence[tuple[datetime, Decimal]]
) -> Decimal | None:
    """Largest fall below the high-water mark along an equity curve (a fraction: 0.08 = −8 %),
    the mark moved by the cash moved in or out between two points as :func:`mark_equity` moves
    it, so each point's drawdown is the one the drawdown monitor saw then (a deposit is not a
    gain, a withdrawal not a drawdown). ``points``: (time, equity) in time order; ``moves``:
    (time, reporting-currency value, < 0 out) in time order, a move at a point's time already
    in that point's equity. None without points."""
    times = [ts for ts, _ in moves]
    moved = [ZERO, *itertools.accumulate(value for _, value in moves)]

    def cash_until(ts: datetime) -> Decimal:
        return moved[bisect.bisect_right(times, ts)]

    peak: Decimal | None = None
    since = ZERO
    worst = ZERO
    for ts, equity in points:
        upto = cash_until(ts)
        if peak is not None:
            peak += upto - since
        since = upto
        if peak is None or equity > peak:
            peak = equity
        elif peak > 0:
            worst = max(worst, (peak - equity) / peak)
    return None if peak is None else worst


def day_window(now: datetime) -> tuple[datetime, datetime]:
    """``(midnight, next midnight)`` of ``now``'s UTC day."""
    day = midnight(now)
    return day, day + timedelta(days=1)
