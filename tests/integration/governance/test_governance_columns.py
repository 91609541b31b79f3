"""The book hands governance its open positions as columns (``BookService.position_table``), and
the service pairs its kept states with the rows: the columns are the views' values, a position
that opens between ticks is adopted, and repeated ticks over the same positions plan nothing new."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.instruments import perpetual_or_future

D = Decimal
T0 = datetime(2025, 3, 3, 12, tzinfo=UTC)
PERP = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
ETH = perpetual_or_future(
    "ETH/USDT:USDT", "paper", tick_size="0.01", lot_size="0.01", taker_fee_rate="0.0004"
)
_ids = itertools.count(1)


@pytest.fixture
def rt(sqlite_url: str) -> Iterator[Runtime]:
    runtime = build(Settings(), sqlite_url, clock=ManualClock(T0), migrate=False)
    book = runtime.app.book
    book.register_instruments([PERP, ETH])
    for account, mode in (("iso", MarginMode.ISOLATED), ("cross", MarginMode.CROSS)):
        book.register_account(
            Account(account, "paper", default_margin_mode=mode, default_leverage=D(10))
        )
        book.move_cash(account, "USDT", D(100000), T0 - timedelta(days=1), "deposit", "dep")
    yield runtime
    runtime.store.dispose()


def _fill(rt: Runtime, account: str, symbol: str, side: str, qty: str, price: str) -> None:
    rt.app.book.apply_fills(
        [
            Fill.create(
                venue="paper",
                fill_id=f"f{next(_ids)}",
                account_id=account,
                symbol=symbol,
                side=side,
                qty=qty,
                price=price,
                ts=T0,
                leverage="10",
                margin_mode=MarginMode.ISOLATED if account == "iso" else MarginMode.CROSS,
            )
        ]
    )


def _marks(rt: Runtime, btc: str, eth: str, at: datetime) -> None:
    rt.app.book.record_prices(
        {PERP.key: D(btc), ETH.key: D(eth)}, {"BTC": D(btc), "ETH": D(eth)}, at, "test"
    )


def test_the_columns_are_the_views_values(rt: Runtime) -> None:
    _fill(rt, "iso", PERP.symbol, "buy", "1.5", "50000")
    _fill(rt, "cross", ETH.symbol, "sell", "20", "3000")
    _marks(rt, "51000", "2900", T0)
    views = rt.app.book.positions(None, T0)
    table = rt.app.book.position_table(None, T0)
    assert table.n == len(views) == 2
    for i, v in enumerate(views):
        assert table.views[i] is not None and table.position_id[i] == v.position_id
        assert table.index[v.position_id] == i
        assert table.account_id[i] == v.account_id and table.slot[i] == v.slot
        assert table.instrument_key[i] == f"{v.venue}:{v.symbol}" and table.kind[i] == v.kind
        assert table.qty[i] == float(v.qty) and table.entry[i] == float(v.entry_price)
        assert table.mark[i] == float(v.mark_price) and table.margin[i] == float(v.margin_ccy)
        assert table.leverage[i] == float(v.leverage)
        assert table.opened[i] == v.opened_at.timestamp()
        for column, value in (
            (table.liquidation, v.liquidation_price),
            (table.liq_distance, v.liq_distance_ratio),
        ):
            assert math.isnan(column[i]) if value is None else column[i] == float(value)


def test_a_position_opening_between_ticks_is_adopted_and_steady_ticks_plan_nothing(
    rt: Runtime,
) -> None:
    gov = rt.app.governance
    _fill(rt, "iso", PERP.symbol, "buy", "1", "50000")
    _marks(rt, "50000", "3000", T0)
    first = gov.tick(T0)
    assert [a.kind.value for p in first.plans for a in p.plan.actions] == ["PLACE_STOP"]
    later = T0 + timedelta(seconds=30)
    _marks(rt, "50010", "3000", later)
    assert gov.tick(later).plans == ()
    # A second position opens: the next tick pairs the new row and places its stop.
    _fill(rt, "cross", ETH.symbol, "buy", "10", "3000")
    again = later + timedelta(seconds=30)
    _marks(rt, "50020", "3000", again)
    result = gov.tick(again)
    assert result.positions == 2
    assert [(p.symbol, [a.kind.value for a in p.plan.actions]) for p in result.plans] == [
        ("ETH/USDT:USDT", ["PLACE_STOP"])
    ]
    steady = again + timedelta(seconds=30)
    _marks(rt, "50030", "3001", steady)
    assert gov.tick(steady).plans == ()
    assert {s.instrument_key for s in gov.states()} == {PERP.key, ETH.key}
