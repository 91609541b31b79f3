"""Equity marks (``domain.risk.equity``): the start-of-day baseline chosen at the first
revaluation of a UTC day, and the high-water mark moved by cash so deposits and withdrawals are
neither gains nor drawdowns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.risk.equity import (
    EquityMark,
    Observation,
    flow_value,
    mark_equity,
    midnight,
)

D = Decimal
DAY = datetime(2026, 3, 2, tzinfo=UTC)
RATES = {"USDT": D(1), "BTC": D(50_000)}


def mark(ts: datetime, equity: str, peak: str | None = None, **flows: str) -> EquityMark:
    return EquityMark(
        "*",
        ts,
        D(equity),
        D(0),
        D(0),
        D(peak or equity),
        ts,
        {k: D(v) for k, v in flows.items()},
    )


def fold(previous: EquityMark | None, now: datetime, equity: str, **kw: object) -> tuple:  # type: ignore[type-arg]
    flows = kw.pop("flows", {"USDT": D(100_000)})
    return mark_equity(previous, "*", now, D(equity), D(0), D(0), flows, RATES, **kw)  # type: ignore[arg-type]


def test_first_revaluation_of_a_fresh_book_takes_its_equity_less_todays_cash() -> None:
    """The account was funded today: at midnight it held nothing."""
    new, start = fold(None, DAY + timedelta(hours=21), "100000", moved_today=D(100_000))
    assert start is not None
    assert (start.ts, start.equity) == (DAY, D(0))
    assert start.basis.startswith("first revaluation")
    assert (new.equity, new.peak, new.ts) == (D(100_000), D(100_000), DAY + timedelta(hours=21))


def test_later_revaluations_the_same_day_keep_the_baseline() -> None:
    first, _ = fold(None, DAY + timedelta(hours=9), "100000")
    second, start = fold(first, DAY + timedelta(hours=10), "70000")
    assert start is None
    assert (second.equity, second.peak, second.peak_ts) == (
        D(70_000),
        D(100_000),
        DAY + timedelta(hours=9),
    )


def test_next_day_baseline_is_the_last_equity_known_plus_cash_moved_before_midnight() -> None:
    yesterday = mark(DAY - timedelta(hours=3), "70000", "100000", USDT="100000")
    new, start = fold(
        yesterday,
        DAY + timedelta(hours=1),
        "76000",
        flows={"USDT": D(105_000)},
        moved_before_midnight=D(5_000),
    )
    assert start is not None
    assert (start.ts, start.equity) == (DAY, D(75_000))
    assert "last revaluation" in start.basis
    # The 5,000 deposit moved the peak up by as much: no drawdown invented, no gain either.
    assert new.peak == D(105_000)


def test_a_snapshot_at_midnight_is_never_replaced() -> None:
    yesterday = mark(DAY - timedelta(hours=3), "70000")
    _, start = fold(
        yesterday, DAY + timedelta(hours=1), "71000", last_snapshot=Observation(DAY, D(72_000))
    )
    assert start is None


def test_a_snapshot_newer_than_the_last_mark_is_the_better_baseline() -> None:
    old = mark(DAY - timedelta(hours=10), "70000")
    _, start = fold(
        old,
        DAY + timedelta(hours=1),
        "81000",
        last_snapshot=Observation(DAY - timedelta(hours=2), D(80_000)),
        moved_before_midnight=D(1_000),
    )
    assert start is not None and start.equity == D(81_000)
    assert start.basis.startswith("snapshot of")


def test_a_withdrawal_lowers_the_peak_by_the_amount_moved() -> None:
    previous = mark(DAY + timedelta(hours=1), "100000", "110000", USDT="100000")
    new, _ = fold(previous, DAY + timedelta(hours=2), "55000", flows={"USDT": D(50_000)})
    assert new.peak == D(60_000)  # 110,000 − 50,000: an 8.3 % drawdown, not 50 %


def test_flows_in_another_currency_move_the_peak_at_its_rate() -> None:
    assert flow_value({"BTC": D("1.5")}, {"BTC": D(1)}, RATES) == D(25_000)
    assert flow_value({"XYZ": D(5)}, {}, RATES) == D(0)


def test_snapshots_newer_than_the_mark_are_observations_of_the_peak() -> None:
    new, _ = fold(
        None,
        DAY + timedelta(hours=5),
        "80000",
        observations=[Observation(DAY + timedelta(hours=4), D(110_000))],
    )
    assert (new.peak, new.peak_ts) == (D(110_000), DAY + timedelta(hours=4))


def test_an_older_revaluation_changes_nothing() -> None:
    previous = mark(DAY + timedelta(hours=5), "80000")
    assert fold(previous, DAY + timedelta(hours=4), "1") == (previous, None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=200_000),
            st.integers(min_value=-20_000, max_value=20_000),
            st.integers(min_value=0, max_value=30),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_the_peak_is_the_cash_adjusted_maximum_of_every_equity_seen(
    steps: list[tuple[int, int, int]],
) -> None:
    """Invariant: peak = max over revaluations i of (equity_i + cash moved in after i), and a
    baseline is produced exactly once per new day."""
    previous: EquityMark | None = None
    flows = D(0)
    now = DAY
    seen: list[tuple[D, D]] = []  # (equity, cumulative flows at that time)
    days_with_start: set[datetime] = set()
    for equity, moved, hours in steps:
        flows += D(moved)
        now += timedelta(hours=hours)
        previous, start = mark_equity(
            previous, "*", now, D(equity), D(0), D(0), {"USDT": flows}, RATES
        )
        seen.append((D(equity), flows))
        if start is not None:
            assert midnight(now) not in days_with_start
            days_with_start.add(midnight(now))
    assert previous is not None
    expected = max(e + (flows - f) for e, f in seen)
    assert previous.peak == expected
    assert midnight(now) in days_with_start
