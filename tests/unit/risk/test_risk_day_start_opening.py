"""The first revaluation of a book (no earlier mark or snapshot): a book that had no cash and
no fill by midnight held nothing then, so its baseline is zero with no exposure (its first
day's deposits and trades are that day's); one with history keeps the estimate — its equity
less today's cash — flagged as an exposure that was not observed (a report does not take its
leverage from it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from riskdesk.domain.risk.equity import mark_equity

D = Decimal
DAY = datetime(2026, 12, 7, tzinfo=UTC)
RATES = {"USDT": D(1), "BTC": D(64_250)}


def _first(opened: bool) -> tuple:  # type: ignore[type-arg]
    # The walkthrough: 25,000 USDT and 1.5 BTC deposited today, positions of 45,550 gross.
    return mark_equity(
        None,
        "*real",
        DAY + timedelta(hours=22, minutes=13),
        D("121768.24"),
        D("45550.30"),
        D("31550.30"),
        {"USDT": D(25_000), "BTC": D("1.5")},
        RATES,
        moved_today=D(121_375),
        opened_before_midnight=opened,
    )


def test_a_book_opened_today_starts_the_day_empty() -> None:
    mark, start = _first(opened=False)
    assert start is not None
    assert (start.ts, start.equity, start.gross, start.net) == (DAY, 0, 0, 0)
    assert start.exposure_known
    assert (mark.equity, mark.peak) == (D("121768.24"), D("121768.24"))


def test_a_book_with_history_keeps_the_estimate_and_flags_its_exposure() -> None:
    _, start = _first(opened=True)
    assert start is not None
    assert (start.equity, start.gross) == (D("393.24"), D("45550.30"))
    assert not start.exposure_known
    assert start.basis.startswith("first revaluation")
