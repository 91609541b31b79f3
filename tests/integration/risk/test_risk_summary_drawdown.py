"""The book summary's max drawdown reads the high-water mark the drawdown monitor keeps
(``risk_equity_marks``), not only the snapshots: a peak between snapshots counts, and cash moved
in or out is neither a gain nor a drawdown."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from risk_service_kit import ACCT, DAY, T0, Desk

from riskdesk.domain.values import ratio


def _max_drawdown(desk: Desk) -> Decimal | None:
    return desk.rt.app.book.report().summary.max_drawdown


def test_a_peak_between_snapshots_counts(desk: Desk) -> None:
    """Long 1 BTC from 50,000 on 100,000 (the day's first mark update stores the midnight
    snapshot); the mark reaches 60,000 (equity 110,000, seen by a mark update, no snapshot),
    then falls back to 50,000."""
    desk.fill("buy", "1", "50000", at=T0 - timedelta(hours=3))
    desk.marks(perp="50000", at=T0 - timedelta(hours=2))
    desk.risk.on_mark_update(T0 - timedelta(hours=2))
    desk.marks(perp="60000", at=T0 - timedelta(hours=1))
    desk.risk.on_mark_update(T0 - timedelta(hours=1))
    desk.marks(perp="50000")
    update = desk.risk.on_mark_update()
    expected = ratio(Decimal(10_000) / Decimal(110_000))
    assert _max_drawdown(desk) == expected
    # The same fall the drawdown monitor measures now.
    assert update.book.peak_equity == 110_000.0
    assert 1.0 - update.book.equity / update.book.peak_equity == pytest.approx(float(expected))


def test_a_withdrawal_is_not_a_drawdown(desk: Desk) -> None:
    desk.marks(perp="50000", at=DAY)
    desk.snapshot(DAY)
    desk.rt.app.book.move_cash(ACCT, "USDT", Decimal(-30_000), T0, "withdrawal", "w-1")
    desk.risk.on_mark_update()
    desk.snapshot()
    assert _max_drawdown(desk) == 0


def test_a_drawdown_before_a_deposit_is_remembered(desk: Desk) -> None:
    """100,000 → 80,000 (−20 %), then 50,000 deposited: the worst fall stays 20 %."""
    desk.fill("buy", "1", "50000", at=DAY)
    desk.marks(perp="50000", at=DAY)
    desk.snapshot(DAY)
    desk.marks(perp="30000", at=T0 - timedelta(hours=1))
    desk.snapshot(T0 - timedelta(hours=1))
    desk.rt.app.book.move_cash(ACCT, "USDT", Decimal(50_000), T0, "deposit", "d-2")
    desk.risk.on_mark_update()
    assert _max_drawdown(desk) == Decimal("0.2")


def test_without_a_mark_update_the_snapshots_still_count(desk: Desk) -> None:
    desk.fill("buy", "1", "50000", at=DAY)
    desk.marks(perp="50000", at=DAY)
    desk.snapshot(DAY)
    desk.marks(perp="40000")
    assert _max_drawdown(desk) == Decimal("0.1")
