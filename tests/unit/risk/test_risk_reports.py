"""Risk reports (``domain.risk.reports``): the start equity is the equity at the period start,
deposits are net cash flow and never P&L, ratios use sane denominators, and reports of
different periods over the same facts agree — a month's peak leverage and drawdown are never
below those of a week it contains, and the days of a month add up to the month's P&L."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.risk.reports import EquityPoint, RiskReport, build_report

D = Decimal
MONTH = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
WEEKS = [MONTH[0] + timedelta(days=2 + 7 * k) for k in range(4)]  # Mondays inside March 2025


def _report(
    start: datetime,
    end: datetime,
    points: list[EquityPoint],
    moves: list[tuple[datetime, Decimal]],
    opened: datetime | None,
    period: str = "day",
) -> RiskReport:
    return build_report(period, start, end, points, moves, opened, [], [], 0.60)


def test_report_arithmetic() -> None:
    t = [MONTH[0] + timedelta(hours=h) for h in range(4)]
    r = build_report(
        "day",
        t[0],
        t[3],
        [
            EquityPoint(t[0], D(100_000), D(50_000)),
            EquityPoint(t[1], D(110_000), D(132_000)),
            EquityPoint(t[2], D(99_000)),
            EquityPoint(t[3], D(105_000)),
        ],
        [(t[1], D(2000))],
        t[0] - timedelta(days=1),
        [D(100), D(-50), D(200), D(-300)],
        ["daily_loss", "symbol_exposure", "daily_loss"],
        0.60,
        "real",
    )
    assert (r.book, r.start_equity, r.end_equity) == ("real", D(100_000), D(105_000))
    assert (r.start_equity_at, r.end_equity_at) == (t[0], t[3])
    assert r.net_cash_flow == D(2000)
    assert r.pnl == D(3000)  # 105,000 − 100,000 − the 2,000 deposited
    assert r.return_pct == D("0.03")
    assert r.max_drawdown == D("0.1")  # 110,000 → 99,000
    assert (r.trades, r.wins, r.win_rate) == (4, 2, D("0.5"))
    assert (r.largest_win, r.largest_loss) == (D(200), D(-300))
    assert r.peak_leverage == D("1.2")
    assert r.peak_exposure_usage == D(2)
    assert r.violations == 3 and r.violations_by_code == {"daily_loss": 2, "symbol_exposure": 1}


def test_ratios_are_rounded_to_8_decimals() -> None:
    start = MONTH[0]
    r = _report(
        start,
        start + timedelta(days=1),
        [EquityPoint(start, D(3), D(1)), EquityPoint(start + timedelta(hours=1), D(7))],
        [],
        start,
    )
    assert r.peak_leverage == D("0.33333333")
    assert r.return_pct == D("1.33333333")
    assert r.peak_leverage is not None and r.peak_leverage.as_tuple().exponent == -8


def test_a_book_opened_in_the_period_starts_from_nothing() -> None:
    """The walkthrough: a baseline stored at midnight for a book whose cash and fills came
    later that day (today's equity less today's deposits, beside today's exposure: 115x) is
    not an equity the book had: the week and the month both start from zero, the deposit is
    net cash flow and the peak leverage is the real one."""
    day = WEEKS[0]
    opened = day + timedelta(hours=22)
    points = [
        EquityPoint(day, D("393.24"), D("45550.30")),  # the bogus midnight baseline
        EquityPoint(day + timedelta(hours=23), D("131768.24"), D("45550.30")),
    ]
    moves = [(opened, D(25_000)), (opened + timedelta(seconds=1), D(106_375))]
    week = _report(day, day + timedelta(days=7), points, moves, opened, "week")
    month = _report(*MONTH, points, moves, opened, "month")
    for r in (week, month):
        assert r.start_equity == 0 and r.end_equity == D("131768.24")
        assert r.net_cash_flow == D(131_375)
        assert r.pnl == D("393.24")
        assert r.peak_leverage == D("0.34568497")
        assert r.max_drawdown == 0
    assert (week.start_equity_at, month.start_equity_at) == (day, MONTH[0])


def test_a_point_at_the_period_start_counts_for_every_period_that_starts_there() -> None:
    day = WEEKS[1]
    points = [
        EquityPoint(day, D(1000), D(5000)),  # 5x at the week's (and the day's) first instant
        EquityPoint(day + timedelta(hours=5), D(1000), D(1000)),
    ]
    for start, end in ((day, day + timedelta(days=1)), (day, day + timedelta(days=7)), MONTH):
        r = _report(start, end, points, [], MONTH[0])
        assert r.peak_leverage == D(5)


def test_the_start_is_carried_to_the_period_start_with_the_cash_moved() -> None:
    day = WEEKS[1]
    points = [
        EquityPoint(day - timedelta(days=2), D(1000)),
        EquityPoint(day + timedelta(hours=1), D(1600)),
    ]
    moves = [(day - timedelta(days=1), D(500)), (day + timedelta(minutes=30), D(50))]
    r = _report(day, day + timedelta(days=1), points, moves, MONTH[0])
    assert (r.start_equity, r.start_equity_at) == (D(1500), day)
    assert (r.net_cash_flow, r.pnl) == (D(50), D(50))


def test_points_without_positive_equity_are_skipped_and_counted() -> None:
    start = MONTH[0]
    points = [
        EquityPoint(start, D(0), D(5000)),
        EquityPoint(start + timedelta(hours=1), D(-10), D(100)),
        EquityPoint(start + timedelta(hours=2), D(0), D(0)),  # an empty book: no leverage
        EquityPoint(start + timedelta(hours=3), D(1000), D(500)),
    ]
    r = _report(start, start + timedelta(days=1), points, [], start)
    assert (r.peak_leverage, r.skipped_points) == (D("0.5"), 2)
    assert r.return_pct is None  # no positive base


def test_a_point_without_observed_exposure_does_not_count_for_leverage() -> None:
    start = MONTH[0]
    points = [EquityPoint(start, D(10)), EquityPoint(start + timedelta(hours=1), D(1000), D(100))]
    r = _report(start, start + timedelta(days=1), points, [], start)
    assert r.peak_leverage == D("0.1")


def test_an_empty_book_reports_nothing_happened() -> None:
    r = _report(*MONTH, [], [], None, "month")
    assert (r.start_equity, r.end_equity, r.pnl, r.net_cash_flow) == (0, 0, 0, 0)
    assert r.return_pct is r.peak_leverage is r.win_rate is r.largest_win is None
    assert (r.trades, r.violations, r.skipped_points) == (0, 0, 0)


def test_a_book_with_history_but_no_point_yet_has_no_equity() -> None:
    r = _report(*MONTH, [], [], MONTH[0] - timedelta(days=3), "month")
    assert r.start_equity is r.end_equity is r.pnl is r.max_drawdown is None


# ----------------------------------------------------------------------------- properties

_times = st.integers(min_value=0, max_value=40 * 24 * 60).map(
    lambda m: MONTH[0] - timedelta(days=8) + timedelta(minutes=m)
)


@st.composite
def books(draw: st.DrawFn) -> tuple[list[EquityPoint], list[tuple[datetime, Decimal]], datetime]:
    """A book opened at a random moment (its first point there), points after it with a
    positive equity and sometimes an exposure, and deposits and withdrawals after it."""
    opened = draw(_times)
    later = st.integers(min_value=0, max_value=35 * 24 * 60).map(
        lambda m: opened + timedelta(minutes=m)
    )
    equity = st.integers(min_value=1, max_value=10**7).map(Decimal)
    gross = st.one_of(st.none(), st.integers(min_value=0, max_value=10**8).map(Decimal))
    points = [EquityPoint(opened, draw(equity), draw(gross))]
    points += draw(st.lists(st.builds(EquityPoint, later, equity, gross), max_size=25))
    amount = st.integers(min_value=-(10**5), max_value=10**6).map(Decimal)
    moves = draw(st.lists(st.tuples(later, amount), max_size=10))
    return points, moves, opened


@settings(max_examples=150, deadline=None)
@given(books())
def test_pnl_is_the_change_in_equity_less_the_net_cash_flow(
    book: tuple[list[EquityPoint], list[tuple[datetime, Decimal]], datetime],
) -> None:
    points, moves, opened = book
    for start, end in (MONTH, (WEEKS[1], WEEKS[2])):
        r = _report(start, end, points, moves, opened)
        assert r.start_equity is not None and r.end_equity is not None and r.pnl is not None
        assert r.pnl == r.end_equity - r.start_equity - r.net_cash_flow
        assert r.start_equity_at is not None and r.end_equity_at is not None
        assert r.net_cash_flow == sum(
            (v for ts, v in moves if r.start_equity_at < ts <= r.end_equity_at), Decimal(0)
        )


@settings(max_examples=150, deadline=None)
@given(books())
def test_a_month_never_shows_less_than_a_week_it_contains(
    book: tuple[list[EquityPoint], list[tuple[datetime, Decimal]], datetime],
) -> None:
    points, moves, opened = book
    month = _report(*MONTH, points, moves, opened, "month")
    for start in WEEKS:
        week = _report(start, start + timedelta(days=7), points, moves, opened, "week")
        if week.peak_leverage is not None:
            assert month.peak_leverage is not None and month.peak_leverage >= week.peak_leverage
        if week.max_drawdown is not None:
            assert month.max_drawdown is not None and month.max_drawdown >= week.max_drawdown


@settings(max_examples=100, deadline=None)
@given(books())
def test_the_days_of_a_month_add_up_to_the_month(
    book: tuple[list[EquityPoint], list[tuple[datetime, Decimal]], datetime],
) -> None:
    points, moves, opened = book
    month = _report(*MONTH, points, moves, opened, "month")
    days = [
        _report(
            MONTH[0] + timedelta(days=k), MONTH[0] + timedelta(days=k + 1), points, moves, opened
        )
        for k in range(31)
    ]
    assert days[0].start_equity == month.start_equity
    assert month.pnl == sum((d.pnl for d in days if d.pnl is not None), Decimal(0))
    for today, tomorrow in itertools.pairwise(days):
        # Each day starts where the last one ended, plus the cash moved in between.
        assert today.end_equity is not None and tomorrow.start_equity is not None
        assert today.end_equity_at is not None
        gap = sum((v for ts, v in moves if today.end_equity_at < ts <= tomorrow.start), Decimal(0))
        assert tomorrow.start_equity == today.end_equity + gap
