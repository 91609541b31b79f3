"""US equity market calendar: NYSE holidays, early closes, sessions and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from riskdesk.domain.calendar import (
    MarketSession,
    crypto_market_status,
    us_equity_early_closes,
    us_equity_holidays,
    us_equity_market_status,
    western_easter,
)
from riskdesk.domain.errors import InvalidValue


def test_published_nyse_holidays() -> None:
    # NYSE's published calendars for 2025 and 2026.
    assert set(us_equity_holidays(2025)) == {
        date(2025, 1, 1), date(2025, 1, 20), date(2025, 2, 17), date(2025, 4, 18),
        date(2025, 5, 26), date(2025, 6, 19), date(2025, 7, 4), date(2025, 9, 1),
        date(2025, 11, 27), date(2025, 12, 25),
    }  # fmt: skip
    assert set(us_equity_holidays(2026)) == {
        date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 4, 3),
        date(2026, 5, 25), date(2026, 6, 19), date(2026, 7, 3), date(2026, 9, 7),
        date(2026, 11, 26), date(2026, 12, 25),
    }  # fmt: skip
    assert set(us_equity_early_closes(2025)) == {
        date(2025, 7, 3),
        date(2025, 11, 28),
        date(2025, 12, 24),
    }
    assert set(us_equity_early_closes(2026)) == {date(2026, 11, 27), date(2026, 12, 24)}
    # New Year's Day on a Saturday (2022) is not observed on the Friday before.
    assert date(2021, 12, 31) not in us_equity_holidays(2021)
    assert western_easter(2024) == date(2024, 3, 31) and western_easter(2026) == date(2026, 4, 5)


@pytest.mark.parametrize(
    ("utc", "session"),
    [
        (datetime(2026, 7, 24, 12, 0, tzinfo=UTC), MarketSession.PRE_MARKET),  # 08:00 EDT
        (datetime(2026, 7, 24, 13, 30, tzinfo=UTC), MarketSession.OPEN),  # 09:30 EDT
        (datetime(2026, 7, 24, 19, 59, 59, tzinfo=UTC), MarketSession.OPEN),
        (datetime(2026, 7, 24, 20, 0, tzinfo=UTC), MarketSession.AFTER_HOURS),
        (datetime(2026, 7, 25, 1, 0, tzinfo=UTC), MarketSession.CLOSED),  # 21:00 EDT
        (datetime(2026, 7, 25, 15, 0, tzinfo=UTC), MarketSession.CLOSED),  # Saturday
        (
            datetime(2026, 12, 24, 18, 30, tzinfo=UTC),
            MarketSession.AFTER_HOURS,
        ),  # 13:30 EST, early close
        (datetime(2026, 1, 15, 14, 45, tzinfo=UTC), MarketSession.OPEN),  # 09:45 EST
        (datetime(2026, 1, 15, 14, 15, tzinfo=UTC), MarketSession.PRE_MARKET),  # 09:15 EST
    ],
)
def test_sessions(utc: datetime, session: MarketSession) -> None:
    assert us_equity_market_status(utc).session is session


def test_next_open_and_close() -> None:
    friday_close = us_equity_market_status(datetime(2026, 7, 24, 20, 30, tzinfo=UTC))
    assert friday_close.next_open == datetime(2026, 7, 27, 13, 30, tzinfo=UTC)
    holiday = us_equity_market_status(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
    assert holiday.session is MarketSession.CLOSED and "Thanksgiving" in holiday.reason
    assert holiday.next_open == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    assert holiday.next_close == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 13:00 EST early close
    open_now = us_equity_market_status(datetime(2026, 7, 24, 15, 0, tzinfo=UTC))
    assert open_now.is_open and open_now.next_close == datetime(2026, 7, 24, 20, 0, tzinfo=UTC)


def test_crypto_and_bad_input() -> None:
    assert crypto_market_status(datetime(2026, 7, 25, tzinfo=UTC)).is_open
    with pytest.raises(InvalidValue):
        us_equity_market_status(datetime(2026, 7, 25))  # noqa: DTZ001 - naive on purpose
