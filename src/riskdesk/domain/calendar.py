"""Market status from an exchange calendar: US equities (NYSE/Cboe hours and holidays) and crypto.

Pure: the caller passes ``now`` (timezone-aware). US equity sessions in New York time:
pre-market 04:00-09:30, regular 09:30-16:00 (13:00 on early-close days), after-hours until
20:00 (17:00 on early-close days). Holidays follow the NYSE rules (Rule 7.2):

* New Year's Day (a Sunday holiday moves to Monday; a Saturday one is not observed, so the
  exchange does not close on the Friday before), Martin Luther King Jr. Day (3rd Monday of
  January), Washington's Birthday (3rd Monday of February), Good Friday (2 days before Western
  Easter), Memorial Day (last Monday of May), Juneteenth (June 19, from 2022), Independence Day,
  Labor Day (1st Monday of September), Thanksgiving (4th Thursday of November), Christmas.
  Fixed-date holidays on a Saturday are observed on the Friday before, on a Sunday the Monday
  after.
* Early closes (13:00): July 3 when it is a weekday trading day, the Friday after Thanksgiving,
  and December 24 when it is a weekday trading day.

Daylight saving time follows the US rule since 2007
(:func:`riskdesk.domain.instruments.us_eastern_utc_offset_hours`). Crypto venues never close.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Final

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.instruments import us_eastern_utc_offset_hours

PRE_MARKET_OPEN: Final = time(4, 0)
REGULAR_OPEN: Final = time(9, 30)
REGULAR_CLOSE: Final = time(16, 0)
EARLY_CLOSE: Final = time(13, 0)
AFTER_HOURS_CLOSE: Final = time(20, 0)
EARLY_AFTER_HOURS_CLOSE: Final = time(17, 0)


class MarketSession(StrEnum):
    """Where in the trading day ``now`` falls."""

    OPEN = "open"
    CLOSED = "closed"
    PRE_MARKET = "pre_market"
    AFTER_HOURS = "after_hours"


@dataclass(frozen=True, slots=True)
class MarketStatus:
    """The market's state at ``as_of``.

    ``next_open``/``next_close`` are the next regular-session open and close (UTC) at or after
    ``as_of`` (``next_close`` is today's close while the market is open); None for 24/7 markets.
    ``local_time`` is ``as_of`` in the exchange's time zone, ``reason`` says why (``weekend``,
    ``holiday: Thanksgiving Day``, ``regular session 09:30-16:00 ET``…).
    """

    market: str
    session: MarketSession
    as_of: datetime
    local_time: str
    reason: str
    next_open: datetime | None
    next_close: datetime | None
    early_close: bool = False

    @property
    def is_open(self) -> bool:
        """True during the regular session (or always, for 24/7 markets)."""
        return self.session is MarketSession.OPEN


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Mon=0) of a month; ``n = -1`` is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def western_easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _observed(day: date) -> date:
    """Saturday holidays move to Friday, Sunday holidays to Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def us_equity_holidays(year: int) -> dict[date, str]:
    """Full-day US equity market holidays of ``year`` (observed dates) with their names."""
    days: dict[date, str] = {}
    new_year = date(year, 1, 1)
    if new_year.weekday() == 6:
        days[new_year + timedelta(days=1)] = "New Year's Day (observed)"
    elif new_year.weekday() != 5:
        days[new_year] = "New Year's Day"
    days[_nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    days[_nth_weekday(year, 2, 0, 3)] = "Washington's Birthday"
    days[western_easter(year) - timedelta(days=2)] = "Good Friday"
    days[_nth_weekday(year, 5, 0, -1)] = "Memorial Day"
    if year >= 2022:
        days[_observed(date(year, 6, 19))] = "Juneteenth"
    days[_observed(date(year, 7, 4))] = "Independence Day"
    days[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    days[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving Day"
    days[_observed(date(year, 12, 25))] = "Christmas Day"
    # A Saturday New Year's Day of next year is not observed on this year's December 31.
    return days


@lru_cache(maxsize=64)
def us_equity_early_closes(year: int) -> dict[date, str]:
    """Days of ``year`` on which the regular session ends at 13:00 New York time."""
    holidays = us_equity_holidays(year)
    days: dict[date, str] = {}
    for day, name in (
        (date(year, 7, 3), "day before Independence Day"),
        (_nth_weekday(year, 11, 3, 4) + timedelta(days=1), "day after Thanksgiving"),
        (date(year, 12, 24), "Christmas Eve"),
    ):
        if day.weekday() < 5 and day not in holidays:
            days[day] = name
    return days


def is_us_trading_day(day: date) -> bool:
    """True on weekdays that are not US equity market holidays."""
    return day.weekday() < 5 and day not in us_equity_holidays(day.year)


def next_us_trading_day(day: date) -> date:
    """The first trading day strictly after ``day``."""
    nxt = day + timedelta(days=1)
    while not is_us_trading_day(nxt):
        nxt += timedelta(days=1)
    return nxt


def _new_york(day: date, at: time) -> datetime:
    """``day`` at local New York time ``at``, as UTC."""
    local = datetime.combine(day, at, tzinfo=UTC)
    return local - timedelta(hours=us_eastern_utc_offset_hours(day))


def _check(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidValue("must be a timezone-aware datetime", field="now")


def us_equity_market_status(now: datetime) -> MarketStatus:
    """Session of the US equity and option markets at ``now`` (any timezone-aware time)."""
    _check(now)
    now = now.astimezone(UTC)
    # The offset is decided per local calendar day (the switch happens at 02:00 on a Sunday,
    # when the market is closed anyway); UTC-5 locates that day closely enough.
    offset = us_eastern_utc_offset_hours((now - timedelta(hours=5)).date())
    local = now + timedelta(hours=offset)
    day, clock = local.date(), local.time()
    zone = "EDT" if offset == -4 else "EST"
    local_text = f"{local:%Y-%m-%d %H:%M} {zone}"
    early = day in us_equity_early_closes(day.year)
    close_at = EARLY_CLOSE if early else REGULAR_CLOSE
    after_close = EARLY_AFTER_HOURS_CLOSE if early else AFTER_HOURS_CLOSE

    def following_open(from_day: date) -> datetime:
        return _new_york(next_us_trading_day(from_day), REGULAR_OPEN)

    def close_of(open_day: date) -> datetime:
        closing = EARLY_CLOSE if open_day in us_equity_early_closes(open_day.year) else close_at
        return _new_york(open_day, closing)

    if not is_us_trading_day(day):
        holiday = us_equity_holidays(day.year).get(day)
        reason = f"holiday: {holiday}" if holiday else "weekend"
        nxt = next_us_trading_day(day)
        return MarketStatus(
            "us_equity",
            MarketSession.CLOSED,
            now,
            local_text,
            reason,
            _new_york(nxt, REGULAR_OPEN),
            close_of(nxt),
        )
    if clock < PRE_MARKET_OPEN:
        session, reason = MarketSession.CLOSED, "overnight (pre-market opens 04:00 ET)"
    elif clock < REGULAR_OPEN:
        session, reason = MarketSession.PRE_MARKET, "pre-market 04:00-09:30 ET"
    elif clock < close_at:
        session = MarketSession.OPEN
        reason = f"regular session 09:30-{close_at:%H:%M} ET" + (" (early close)" if early else "")
    elif clock < after_close:
        session, reason = MarketSession.AFTER_HOURS, f"after-hours until {after_close:%H:%M} ET"
    else:
        session, reason = MarketSession.CLOSED, "overnight (after-hours ended)"
    if clock < REGULAR_OPEN:
        next_open = _new_york(day, REGULAR_OPEN)
        next_close = _new_york(day, close_at)
    elif clock < close_at:
        next_open = following_open(day)
        next_close = _new_york(day, close_at)
    else:
        next_open = following_open(day)
        next_close = close_of(next_us_trading_day(day))
    return MarketStatus(
        "us_equity", session, now, local_text, reason, next_open, next_close, early_close=early
    )


def crypto_market_status(now: datetime) -> MarketStatus:
    """Crypto venues trade around the clock: always open."""
    _check(now)
    now = now.astimezone(UTC)
    return MarketStatus(
        "crypto", MarketSession.OPEN, now, f"{now:%Y-%m-%d %H:%M} UTC", "24/7 market", None, None
    )


__all__ = [
    "MarketSession",
    "MarketStatus",
    "crypto_market_status",
    "is_us_trading_day",
    "next_us_trading_day",
    "us_equity_early_closes",
    "us_equity_holidays",
    "us_equity_market_status",
    "western_easter",
]
