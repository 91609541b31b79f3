"""Round trips and queries of every repository, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from persistence_testkit import (
    CATALOG,
    HEDGE,
    LINEAR,
    NETTING,
    SPOT,
    T0,
    VENUE,
    count,
    fill,
    seed,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from riskdesk.adapters.persistence import SqlStore
from riskdesk.adapters.persistence import tables as t
from riskdesk.domain.accounting.portfolio import PortfolioSnapshot
from riskdesk.domain.events import CashMoved, FillApplied, PositionOpened


def test_instruments_round_trip(store: SqlStore) -> None:
    seed(store)
    with store() as uow:
        for instrument in CATALOG:
            assert uow.instruments.get(instrument.key) == instrument
        assert uow.instruments.all() == sorted(CATALOG, key=lambda i: i.key)
        assert uow.instruments.get("paper:NOPE") is None


def test_instrument_put_replaces(store: SqlStore) -> None:
    seed(store)
    cheaper = replace(LINEAR, taker_fee_rate=Decimal("0.0004"), margin_tiers=())
    with store() as uow:
        uow.instruments.put(cheaper)
        uow.commit()
    with store() as uow:
        assert uow.instruments.get(LINEAR.key) == cheaper
        assert len(uow.instruments.all()) == len(CATALOG)


def test_accounts_round_trip_and_replace(store: SqlStore) -> None:
    seed(store)
    with store() as uow:
        assert uow.accounts.get(HEDGE.account_id) == HEDGE
        assert uow.accounts.all() == [HEDGE, NETTING]
        assert uow.accounts.get("missing") is None
        uow.accounts.put(replace(NETTING, name="renamed"))
        uow.commit()
    with store() as uow:
        stored = uow.accounts.get(NETTING.account_id)
    assert stored is not None
    assert stored.name == "renamed"


def test_fill_history_filters_and_orders(store: SqlStore) -> None:
    seed(store)
    fills = [
        fill(3, "sell", "0.5", "101.5", fee="0.01"),
        fill(1, "buy", "1", "100"),
        fill(2, "buy", "0.25", "50000", symbol=SPOT.symbol),
        fill(4, "buy", "1", "99", account=HEDGE, position_side="long"),
    ]
    with store() as uow:
        for f in fills:
            uow.fills.add(f)
        uow.commit()
    by_time = sorted(fills, key=lambda f: f.ts)
    with store() as uow:
        history = uow.fills.history
        assert history() == by_time
        assert history(account_id=NETTING.account_id) == by_time[:3]
        assert history(symbol=SPOT.symbol) == [fills[2]]
        assert history(since=T0 + timedelta(minutes=2)) == by_time[1:]
        assert history(until=T0 + timedelta(minutes=2)) == by_time[:1]
        assert history(limit=2) == by_time[:2]
        assert history(limit=0) == []
        with pytest.raises(ValueError, match="limit"):
            history(limit=-1)


def test_a_fill_key_is_unique(store: SqlStore) -> None:
    seed(store)
    with store() as uow:
        uow.fills.add(fill(1, "buy", "1", "100"))
        uow.commit()
        uow.fills.add(fill(1, "sell", "2", "101"))
        # Writes are batched: the violation surfaces when the batch is flushed.
        with pytest.raises(IntegrityError):
            uow.commit()
    assert count(store, "fills") == 1


def test_fills_need_a_known_account_and_instrument(store: SqlStore) -> None:
    seed(store, NETTING)
    with store() as uow, pytest.raises(IntegrityError):
        uow.fills.add(fill(1, "buy", "1", "100", account=HEDGE))
        uow.commit()
    with store() as uow, pytest.raises(IntegrityError):
        uow.fills.add(fill(1, "buy", "1", "100", symbol="ETH/USDT"))
        uow.fills.history()
    assert count(store, "fills") == 0


def test_existing_finds_keys_across_venues_and_chunks(store: SqlStore) -> None:
    seed(store, NETTING)
    stored = [fill(n, "buy", "1", "100", minutes=0) for n in range(1000)]
    with store() as uow:
        uow.fills.add_many(stored)  # type: ignore[attr-defined]
        uow.commit()
    asked = [f.key for f in stored] + [(VENUE, f"f{n}") for n in range(1000, 1500)]
    asked += [("other-venue", "f1"), (VENUE, "funding:x"), (VENUE, "cash:x")]
    with store() as uow:
        assert uow.fills.existing(asked) == {f.key for f in stored}
        assert uow.fills.existing(iter([])) == set()
        assert uow.fills.existing(iter([(VENUE, "f7"), (VENUE, "f7")])) == {(VENUE, "f7")}


def test_funding_amount_must_be_decimal_text(store: SqlStore) -> None:
    from riskdesk.domain.fills import FundingPayment

    seed(store, NETTING)
    payment = FundingPayment.create(
        venue=VENUE,
        account_id=NETTING.account_id,
        symbol=LINEAR.symbol,
        rate="0.0001",
        mark_price="100",
        ts=T0,
    )
    with store() as uow, pytest.raises(ValueError, match="decimal text"):
        uow.fills.add_funding(payment, "a lot", None)


def snapshot(scope: str, hours: int, equity: str) -> PortfolioSnapshot:
    """A snapshot ``hours`` after T0 with a summary holding JSON-safe data."""
    return PortfolioSnapshot(
        scope=scope,
        ts=T0 + timedelta(hours=hours),
        total_equity=Decimal(equity),
        available_balance=Decimal("0.000000000000000001"),
        unrealized_pnl=Decimal("-12.5"),
        realized_pnl=Decimal(0),
        gross_exposure=Decimal("98765432.98765432"),
        net_exposure=Decimal("-1"),
        summary={"equity": equity, "positions": [{"symbol": "BTC", "qty": "1.5"}], "ok": True},
    )


def test_snapshots_series_last_before_and_replace(store: SqlStore) -> None:
    snaps = [snapshot("*", h, f"{1000 + h}") for h in (2, 0, 1)]
    with store() as uow:
        for s in snaps:
            uow.snapshots.add(s)
        uow.snapshots.add(snapshot("acct-net", 1, "5"))
        uow.commit()
    ordered = sorted(snaps, key=lambda s: s.ts)
    with store() as uow:
        assert uow.snapshots.series("*") == ordered
        assert uow.snapshots.series("*", since=T0 + timedelta(hours=1)) == ordered[1:]
        assert uow.snapshots.series("*", until=T0 + timedelta(hours=1)) == ordered[:1]
        assert uow.snapshots.last_before("*", T0 + timedelta(hours=1)) == ordered[0]
        assert uow.snapshots.last_before("*", T0 + timedelta(hours=1, seconds=1)) == ordered[1]
        assert uow.snapshots.last_before("*", T0) is None
        assert uow.snapshots.series("nobody") == []
        # Same scope and time: the newer snapshot replaces the older one.
        uow.snapshots.add(snapshot("*", 1, "7"))
        uow.commit()
    with store() as uow:
        series = uow.snapshots.series("*")
    assert [s.total_equity for s in series] == [Decimal(1000), Decimal(7), Decimal(1002)]
    assert count(store, "portfolio_snapshots") == 4


def test_prices_newest_wins(store: SqlStore) -> None:
    later, earlier = T0 + timedelta(minutes=5), T0
    with store() as uow:
        uow.prices.put_marks({LINEAR.key: Decimal(101), SPOT.key: Decimal(50000)}, later, "feed")
        uow.prices.put_marks({LINEAR.key: Decimal(99)}, earlier, "stale-feed")
        uow.prices.put_asset_prices({"BTC": Decimal("50000.5")}, earlier, "index")
        uow.commit()
    with store() as uow:
        assert uow.prices.marks() == {
            LINEAR.key: (Decimal(101), later),
            SPOT.key: (Decimal(50000), later),
        }
        assert uow.prices.asset_prices() == {"BTC": (Decimal("50000.5"), earlier)}
        # A newer asset price wins; an equal timestamp replaces (a correction).
        uow.prices.put_asset_prices({"BTC": Decimal(51000)}, later, "index")
        uow.prices.put_marks({LINEAR.key: Decimal("101.5")}, later, "correction")
        uow.commit()
    with store() as uow:
        assert uow.prices.asset_prices() == {"BTC": (Decimal(51000), later)}
        assert uow.prices.marks()[LINEAR.key] == (Decimal("101.5"), later)
        rows = uow.connection.execute(select(t.prices.c.key, t.prices.c.source))
        sources = {key: source for key, source in rows}
    assert sources == {LINEAR.key: "correction", SPOT.key: "feed", "BTC": "index"}


def test_event_journal_appends_and_reads_in_time_order(store: SqlStore) -> None:
    events = [
        FillApplied(
            T0, "a", VENUE, "f1", "BTC", "buy", Decimal("1"), Decimal("1.5"), Decimal(0), "USDT"
        ),
        PositionOpened(T0, "a", "pos_1", "BTC", Decimal("1"), Decimal("1.5")),
        CashMoved(T0 + timedelta(seconds=1), "b", "USD", Decimal("-0.000000000000000001"), "fee"),
        FillApplied(
            T0 - timedelta(days=1),
            "a",
            VENUE,
            "f0",
            "BTC",
            "sell",
            Decimal(2),
            Decimal(3),
            Decimal(0),
            "USDT",
        ),
    ]
    with store() as uow:
        uow.events.append(events[:2])
        uow.events.append(events[2:])
        uow.commit()
    expected = [events[3], events[0], events[1], events[2]]
    with store() as uow:
        journal = uow.events
        assert journal.read() == [e.to_dict() for e in expected]
        assert journal.read(kind="fill_applied") == [events[3].to_dict(), events[0].to_dict()]
        assert journal.read(since=T0) == [e.to_dict() for e in expected[1:]]
        assert journal.read(limit=1) == [events[3].to_dict()]
        assert journal.read(kind="nothing") == []
    assert count(store, "events") == 4
