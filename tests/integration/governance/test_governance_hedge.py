"""Hedge mode with cross margin: the core computes one liquidation price for the legs of an
instrument, which can lie on a leg's profitable side (a flat hedged book liquidates only when
maintenance outgrows the wallet, far above the market). The protective stop is bounded by the
liquidation price only when that price is on the leg's loss side."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account, PositionMode
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.governance import ActionKind
from riskdesk.domain.instruments import perpetual_or_future

D = Decimal
T0 = datetime(2025, 3, 3, 12, tzinfo=UTC)
PERP = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
_ids = itertools.count(1)


@pytest.fixture
def rt(sqlite_url: str) -> Iterator[Runtime]:
    runtime = build(Settings(), sqlite_url, clock=ManualClock(T0), migrate=False)
    book = runtime.app.book
    book.register_instruments([PERP])
    book.register_account(
        Account(
            "hedged",
            "paper",
            position_mode=PositionMode.HEDGE,
            default_margin_mode=MarginMode.CROSS,
            default_leverage=D(10),
        )
    )
    book.move_cash("hedged", "USDT", D(1000), T0 - timedelta(days=1), "deposit", "dep")
    yield runtime
    runtime.store.dispose()


def _fill(rt: Runtime, side: str, slot: str) -> None:
    rt.app.book.apply_fills(
        [
            Fill.create(
                venue="paper",
                fill_id=f"f{next(_ids)}",
                account_id="hedged",
                symbol=PERP.symbol,
                side=side,
                qty="1",
                price="20000",
                ts=T0,
                position_side=slot,
                leverage="10",
                margin_mode=MarginMode.CROSS,
            )
        ]
    )


def test_a_flat_hedged_books_liquidation_price_does_not_bound_the_long_legs_stop(
    rt: Runtime,
) -> None:
    _fill(rt, "buy", "long")
    _fill(rt, "sell", "short")
    rt.app.book.record_prices({PERP.key: D(20000)}, {"BTC": D(20000)}, T0, "test")
    views = {v.slot: v for v in rt.app.book.positions(None, T0)}
    liq = views["long"].liquidation_price
    # One price for the group, above the market: both legs share it.
    assert liq is not None and liq > D(20000) and views["short"].liquidation_price == liq
    result = rt.app.governance.tick(T0, dry_run=True)
    stops = {
        p.plan.position_id: a
        for p in result.plans
        for a in p.plan.actions
        if a.kind is ActionKind.PLACE_STOP
    }
    long_stop = stops[views["long"].position_id]
    short_stop = stops[views["short"].position_id]
    # No bars: the 2 % stop on each side of the entry, below the market for the long.
    assert long_stop.new_value == D("19600.0")
    assert "profitable side" in long_stop.reason and "not a stop bound" in long_stop.reason
    assert short_stop.new_value == D("20400.0") and "liquidation" not in short_stop.reason
    # Nothing closes at market: neither stop is through the price.
    assert not any(a.kind is ActionKind.CLOSE for p in result.plans for a in p.plan.actions)
