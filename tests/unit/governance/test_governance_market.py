"""Market analytics of the tick: TA-Lib's ATR against a hand-computed Wilder ATR, bar
resampling, no look-ahead, and the vectorised revaluation."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.application.governance_service import Bars, _suffix_arg, resample, wilder_atr
from riskdesk.bootstrap.governance_settings import BarFileSettings, FileBarSource
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.governance import PositionColumns, revalue

HIGH = [48.70, 48.72, 48.90, 48.87, 48.82, 49.05, 49.20, 49.35, 49.92, 50.19]
LOW = [47.79, 48.14, 48.39, 48.37, 48.24, 48.64, 48.94, 48.86, 49.50, 49.87]
CLOSE = [48.16, 48.61, 48.75, 48.63, 48.74, 49.03, 49.07, 49.32, 49.91, 50.13]


def _bars(n: int = 10) -> Bars:
    ts = np.arange(n, dtype=np.int64) * 3600
    return Bars(
        "1h", ts, np.array(CLOSE[:n]), np.array(HIGH[:n]), np.array(LOW[:n]), np.array(CLOSE[:n])
    )


def _hand_wilder(period: int) -> float:
    tr = [
        max(HIGH[i] - LOW[i], abs(HIGH[i] - CLOSE[i - 1]), abs(LOW[i] - CLOSE[i - 1]))
        for i in range(1, len(HIGH))
    ]
    atr = sum(tr[:period]) / period  # the first ATR is the mean of the first true ranges
    for value in tr[period:]:
        atr = (atr * (period - 1) + value) / period  # Wilder smoothing
    return atr


@pytest.mark.parametrize("period", [3, 5, 8])
def test_talib_atr_is_wilders_atr(period: int) -> None:
    assert wilder_atr(_bars(), period) == pytest.approx(_hand_wilder(period), rel=1e-12)


def test_atr_needs_period_plus_one_bars() -> None:
    assert wilder_atr(_bars(5), 5) is None
    assert wilder_atr(_bars(6), 5) is not None


def test_closed_by_never_looks_ahead() -> None:
    bars = _bars()
    # At 03:30 the 02:00 bar has closed (03:00) but the 03:00 bar has not.
    assert len(bars.closed_by(datetime.fromtimestamp(3 * 3600 + 1800, UTC))) == 3
    assert len(bars.closed_by(datetime.fromtimestamp(4 * 3600, UTC))) == 4


def test_resample_to_coarser_bars() -> None:
    four = resample(_bars(), "4h")
    assert len(four) == 2  # the last two hours do not fill a 4h bar
    assert four.high[0] == max(HIGH[:4]) and four.low[1] == min(LOW[4:8])
    assert four.open[0] == CLOSE[0] and four.close[1] == CLOSE[7]
    with pytest.raises(InvalidValue, match="cannot build 1m bars"):
        resample(_bars(), "1m")


def test_file_bar_source_reads_the_bundled_hourly_bars() -> None:
    source = FileBarSource(
        {"x": BarFileSettings(file="crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv", timeframe="1h")}
    )
    until = datetime(2019, 10, 1, 0, 0, tzinfo=UTC)
    hourly = source.bars("x", "1h", until)
    assert hourly is not None and len(hourly) == 17  # 07:00 … 23:00 of 2019-09-30
    assert source.bars("x", "1m", until) is None and source.bars("other", "1h", until) is None
    daily = source.bars("x", "1d", datetime(2019, 10, 3, tzinfo=UTC))
    assert daily is not None and len(daily) == 2  # 09-30 starts at 07:00: incomplete, dropped


def test_revaluation_linear_and_inverse() -> None:
    cols = PositionColumns(
        qty=np.array([2.0, -3000.0, 0.0]),
        entry=np.array([50000.0, 8000.0, 1.0]),
        margin=np.array([10000.0, 0.75, 0.0]),
        mark=np.array([51000.0, 7600.0, 1.0]),
        contract_size=np.array([1.0, 10.0, 1.0]),
        inverse=np.array([False, True, False]),
        tick=np.array([0.1, 0.5, 0.1]),
        fee_rate=np.zeros(3),
        liquidation=np.array([45500.0, 9500.0, np.nan]),
    )
    r = revalue(cols)
    assert r.unrealized[0] == pytest.approx(2000.0)
    assert r.unrealized[1] == pytest.approx(-30000 * (1 / 8000 - 1 / 7600))
    assert r.roe[0] == pytest.approx(0.2) and r.roe[2] == 0.0
    assert r.liq_distance[0] == pytest.approx((51000 - 45500) / 51000)
    assert r.liq_distance[1] == pytest.approx((9500 - 7600) / 7600)


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40))
def test_suffix_extremes_index_the_first_lowest_and_highest_close(values: list[int]) -> None:
    """The precomputed suffix indices give what argmin / argmax of every slice give."""
    closes = np.array(values, dtype=float)
    lowest = _suffix_arg(closes, lowest=True)
    highest = _suffix_arg(closes, lowest=False)
    for i in range(len(values)):
        assert lowest[i] == i + int(np.argmin(closes[i:]))
        assert highest[i] == i + int(np.argmax(closes[i:]))
