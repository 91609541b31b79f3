"""Max drawdown along an equity curve with the high-water mark moved by cash in and out (what
the book summary reports), against the plain peak-to-trough function and a brute-force
definition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.accounting.portfolio import max_drawdown
from riskdesk.domain.risk.equity import EquityMark, max_drawdown_with_cash, peak_equity_at
from riskdesk.domain.values import ACCOUNTING_CONTEXT

T = datetime(2025, 3, 3, tzinfo=UTC)
D = Decimal


def _at(hours: int) -> datetime:
    return T + timedelta(hours=hours)


def test_a_withdrawal_moves_the_mark_down() -> None:
    points = [(_at(0), D(100)), (_at(2), D(70))]
    assert max_drawdown_with_cash(points, [(_at(1), D(-30))]) == 0
    assert max_drawdown_with_cash(points, []) == D("0.3")


def test_a_move_at_a_points_time_is_already_in_it() -> None:
    points = [(_at(0), D(100)), (_at(1), D(150))]
    assert max_drawdown_with_cash(points, [(_at(1), D(50))]) == 0
    assert max_drawdown_with_cash([(_at(0), D(100)), (_at(1), D(100))], [(_at(0), D(50))]) == 0


def test_the_fall_before_a_deposit_is_kept() -> None:
    points = [(_at(0), D(100)), (_at(1), D(80)), (_at(3), D(130))]
    assert max_drawdown_with_cash(points, [(_at(2), D(50))]) == D("0.2")


def test_no_points_no_drawdown() -> None:
    assert max_drawdown_with_cash([], [(_at(0), D(1))]) is None


def test_the_stored_peak_is_taken_back_to_its_time() -> None:
    mark = EquityMark("*", _at(5), D(140), D(0), D(0), peak=D(160), peak_ts=_at(2))
    moves = [(_at(1), D(10)), (_at(3), D(50)), (_at(6), D(7))]
    assert peak_equity_at(mark, moves) == D(110)


_equities = st.lists(
    st.integers(min_value=1, max_value=10_000).map(Decimal), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(_equities)
def test_without_cash_it_is_the_plain_peak_to_trough(equities: list[Decimal]) -> None:
    points = [(_at(i), e) for i, e in enumerate(equities)]
    assert max_drawdown_with_cash(points, []) == max_drawdown(equities)


@settings(max_examples=300, deadline=None)
@given(_equities, st.lists(st.integers(min_value=-2_000, max_value=2_000), max_size=12))
def test_each_point_is_measured_against_the_cash_adjusted_peak(
    equities: list[Decimal], cash: list[int]
) -> None:
    """Brute force: the drawdown at t_j is 1 − e_j / max_{i<=j}(e_i + cash moved in (t_i, t_j]),
    with one move between each pair of points."""
    points = [(_at(2 * i), e) for i, e in enumerate(equities)]
    moves = [(_at(2 * i + 1), D(c)) for i, c in enumerate(cash[: len(equities) - 1])]

    def moved(a: int, b: int) -> Decimal:
        return sum((v for ts, v in moves if points[a][0] < ts <= points[b][0]), D(0))

    worst = D(0)
    with localcontext(ACCOUNTING_CONTEXT):  # the ledger's 50 digits, as the domain computes
        for j, (_, e) in enumerate(points):
            peak = max(points[i][1] + moved(i, j) for i in range(j + 1))
            if peak > 0 and peak > e:
                worst = max(worst, (peak - e) / peak)
    assert max_drawdown_with_cash(points, moves) == worst
