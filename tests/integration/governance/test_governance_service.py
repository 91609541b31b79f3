"""The governance service over a real store: adoption, plans checked by pre-trade risk and
stored with their decisions, dry runs, replays, denials undone, entries, profiles, bars."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.adapters.persistence import SqlStore
from riskdesk.application.governance_service import Bars, wilder_atr
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.errors import NotFound, StateError
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.governance import (
    GovernanceEvent,
    Lifecycle,
    Signal,
    SignalKind,
    StoredPlan,
    new_state,
    preset,
)
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.orders import OrderIntent
from riskdesk.domain.values import Side

D = Decimal
T0 = datetime(2025, 3, 3, 12, tzinfo=UTC)
PERP = perpetual_or_future(
    "BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001", taker_fee_rate="0.0004"
)
_ids = itertools.count(1)


class Desk:
    """A built application with one isolated USDT account and a BTC perpetual."""

    def __init__(self, db: str, settings: Settings | None = None) -> None:
        self.clock = ManualClock(T0)
        self.rt: Runtime = build(settings or Settings(), db, clock=self.clock, migrate=False)
        book = self.rt.app.book
        book.register_instruments([PERP])
        book.register_account(
            Account(
                "acct",
                "paper",
                default_margin_mode=MarginMode.ISOLATED,
                default_leverage=D(10),
            )
        )
        book.move_cash("acct", "USDT", D(100000), T0 - timedelta(days=1), "deposit", "dep")

    @property
    def gov(self):  # type: ignore[no-untyped-def]
        return self.rt.app.governance

    def fill(self, side: str, qty: str, price: str, at: datetime | None = None) -> None:
        self.rt.app.book.apply_fills(
            [
                Fill.create(
                    venue="paper",
                    fill_id=f"f{next(_ids)}",
                    account_id="acct",
                    symbol=PERP.symbol,
                    side=side,
                    qty=qty,
                    price=price,
                    ts=at or self.clock.now(),
                    leverage="10",
                    margin_mode=MarginMode.ISOLATED,
                )
            ]
        )

    def mark(self, price: str, at: datetime | None = None) -> datetime:
        ts = at or self.clock.now()
        self.clock.set(ts)
        self.rt.app.book.record_prices({PERP.key: D(price)}, {"BTC": D(price)}, ts, "test")
        return ts

    def plans(self) -> list[StoredPlan]:
        return self.gov.plans()


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[Desk]:
    d = Desk(sqlite_url)
    yield d
    d.rt.store.dispose()


def _kinds(result: Any) -> list[str]:
    return [a.kind.value for p in result.plans for a in p.plan.actions]


def test_repository_round_trip(store_url: str) -> None:
    with SqlStore(store_url) as store:
        s = new_state("intent-1", "acct", "paper:X", "net", preset("perp_roe"), now=T0)
        plan = StoredPlan(
            "plan-1",
            T0,
            "p1",
            "intent-1",
            "acct",
            "paper:X",
            "perp_roe",
            "approved",
            "PLACE_STOP: why",
            {"plan": {"a": "1"}, "orders": []},
            ({"intent_id": "o1", "approved": True},),
        )
        event = GovernanceEvent(T0, "STAGNATED", "intent-1", "p1", "held too long", {"roe": 0.01})
        with store() as uow:
            uow.governance.put_states([s])
            uow.governance.add_plans([plan])
            uow.governance.add_plans([plan])  # a replayed tick replaces, never doubles
            uow.governance.add_events([event])
            uow.commit()
        with store() as uow:
            assert uow.governance.get("intent-1") == s
            assert uow.governance.states() == [s]
            assert uow.governance.plans() == [plan]
            assert uow.governance.plans(limit=1, position_id="p1") == [plan]
            assert uow.governance.events(kind="STAGNATED") == [event]
            uow.governance.put_states([s.transition(Lifecycle.FAILED, "gone", T0)])
            uow.commit()
        with store() as uow:
            assert uow.governance.states() == []
            assert uow.governance.states(open_only=False)[0].lifecycle is Lifecycle.FAILED


def test_a_tick_adopts_the_position_places_a_checked_stop_and_stores_everything(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    now = desk.mark("50000")
    result = desk.gov.tick(now)
    assert result.positions == 1 and _kinds(result) == ["PLACE_STOP"]
    checked = result.plans[0]
    assert checked.status == "approved" and checked.checks[0].approved
    order = checked.plan.orders[0]
    assert order.stop_price == D("49000.0") and order.reduce_only  # no bars: 2 % stop
    # The plan (with when and why), the state and the pre-trade decision are stored.
    (stored,) = desk.plans()
    assert stored.plan_id == checked.plan.plan_id and stored.ts == now
    assert "protective stop at entry" in stored.why and stored.decisions[0]["approved"]
    decisions = desk.rt.app.risk.decisions()
    assert [d.intent_id for d in decisions] == [order.intent_id]
    assert decisions[0].source == f"governance:{checked.plan.plan_id}"
    (view,) = desk.gov.overview(now)
    assert view.state.stop_price == D("49000.0") and view.state.lifecycle is Lifecycle.ACTIVE
    assert [step.label for step in view.steps] == ["2R", "3R", "4R"]
    assert view.steps[0].trigger == "52,000"
    # The same tick again: the state already holds the stop, nothing new is planned.
    assert desk.gov.tick(now).plans == ()
    assert len(desk.plans()) == 1


def test_a_dry_run_stores_nothing_and_replays_give_the_same_ids(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    now = desk.mark("50000")
    first = desk.gov.tick(now, dry_run=True)
    second = desk.gov.tick(now, dry_run=True)
    assert [p.plan.plan_id for p in first.plans] == [p.plan.plan_id for p in second.plans]
    assert [o.intent_id for p in first.plans for o in p.plan.orders] == [
        o.intent_id for p in second.plans for o in p.plan.orders
    ]
    assert desk.plans() == [] and desk.rt.app.risk.decisions() == []
    assert desk.gov.overview(now) == []


def test_lock_ladder_take_profit_and_the_close(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    desk.gov.tick(desk.mark("50000"))
    # ROE 21.6 % at 51,080: lock 10 % net of fees; 2R = 52,000 not reached.
    result = desk.gov.tick(desk.mark("51080", T0 + timedelta(hours=1)))
    (action,) = result.plans[0].plan.actions
    assert action.kind.value == "MOVE_STOP" and action.rule == "lock_profit"
    # 2R: half is taken, the stop is resized to what remains.
    result = desk.gov.tick(desk.mark("52100", T0 + timedelta(hours=2)))
    assert _kinds(result) == ["MOVE_STOP", "REDUCE"]
    reduce_order = result.plans[0].plan.orders[1]
    desk.fill("sell", str(reduce_order.qty), "52100", T0 + timedelta(hours=2, minutes=1))
    desk.fill("sell", "0.5", "51500", T0 + timedelta(hours=3))  # the rest, by hand
    result = desk.gov.tick(desk.mark("51500", T0 + timedelta(hours=3)))
    assert result.plans == () and [e.kind for e in result.events] == ["LIFECYCLE"]
    assert desk.gov.overview() == []
    states = desk.gov.events(kind="LIFECYCLE")
    assert "closed" in states[-1].message


def test_a_denied_add_is_undone_and_recorded(sqlite_url: str) -> None:
    settings = Settings(
        risk={"limits": {"max_symbol_exposure": 0.6}},
        governance={"default_profile": "perp_roe"},
    )
    desk = Desk(sqlite_url, settings)
    try:
        desk.fill("buy", "1", "50000")
        desk.gov.tick(desk.mark("50000"))
        now = desk.mark("50300", T0 + timedelta(hours=2))  # ROE 6 %
        (position,) = desk.rt.app.book.report(None, now).positions
        signal = Signal("sig-1", SignalKind.ENTRY, 1, now)
        result = desk.gov.tick(now, signals={position.position_id: [signal]})
        checked = result.plans[0]
        add = next(a for a in checked.plan.actions if a.kind.value == "ADD")
        check = checked.check_of(add.intent_id)
        assert check is not None and not check.approved and check.code == "symbol_exposure"
        assert checked.status in ("denied", "partly_denied")
        (view,) = desk.gov.overview(now)
        assert view.state.add_count == 0 and view.add_ons.startswith("0/2")
        denied = desk.gov.events(kind="ORDER_DENIED")
        assert "refused by pre-trade risk: [symbol_exposure]" in denied[0].message
    finally:
        desk.rt.store.dispose()


def test_a_registered_entry_waits_then_uses_its_given_stop(desk: Desk) -> None:
    intent = OrderIntent(
        "entry-7", "acct", "paper", PERP.symbol, Side.BUY, D(1), protective_stop=D("48500")
    )
    state = desk.gov.register_entry(
        intent, "swing", invalidation=[{"timeframe": "1h", "close_below": 45000}], now=T0
    )
    assert state.lifecycle is Lifecycle.PENDING_ENTRY and state.profile.name == "swing"
    assert desk.gov.tick(desk.mark("50000")).plans == ()
    desk.fill("buy", "1", "50000")
    result = desk.gov.tick(desk.mark("50010", T0 + timedelta(minutes=1)))
    (plan,) = result.plans
    assert plan.plan.intent_id == "entry-7" and plan.plan.profile == "swing"
    assert plan.plan.orders[0].stop_price == D("48500.0")
    with pytest.raises(StateError):
        desk.gov.mark_failed("entry-7", "not filled")  # ACTIVE cannot fail
    with pytest.raises(NotFound):
        desk.gov.mark_failed("nope", "x")


def test_attach_switches_the_profile_of_a_governed_position(desk: Desk) -> None:
    desk.fill("buy", "1", "50000")
    now = desk.mark("50000")
    (position,) = desk.rt.app.book.report(None, now).positions
    state = desk.gov.attach(position.position_id, "swing", stop=D("47000"))
    assert state.intent_id == f"adopt:{position.position_id}"
    result = desk.gov.tick(now)
    assert result.plans[0].plan.profile == "swing"
    assert result.plans[0].plan.orders[0].stop_price == D("47000.0")
    with pytest.raises(Exception, match="unknown profile"):
        desk.gov.attach(position.position_id, "nope")


def test_atr_comes_from_the_configured_bar_file(sqlite_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    start = T0 - timedelta(hours=30)
    rows = ["timestamp_ms,open,high,low,close,volume"]
    closes = 50000 + np.cumsum(rng.normal(0, 80, 30))
    for i, c in enumerate(closes):
        ts = int((start + timedelta(hours=i)).timestamp() * 1000)
        rows.append(f"{ts},{c:.2f},{c + 60:.2f},{c - 70:.2f},{c:.2f},1")
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = Settings(governance={"bars": {PERP.key: {"file": str(path), "timeframe": "1h"}}})
    desk = Desk(sqlite_url, settings)
    try:
        desk.fill("buy", "1", "50000")
        now = desk.mark("50000")
        result = desk.gov.tick(now)
        order = result.plans[0].plan.orders[0]
        c = closes
        bars = Bars(
            "1h",
            np.array([int((start + timedelta(hours=i)).timestamp()) for i in range(30)]),
            c,
            c + 60,
            c - 70,
            c,
        ).closed_by(now)
        atr = wilder_atr(
            Bars(
                "1h",
                bars.ts,
                bars.open,
                np.round(bars.high, 2),
                np.round(bars.low, 2),
                np.round(bars.close, 2),
            ),
            14,
        )
        assert atr is not None
        expected = PERP.make_stop_price(D(50000) - D(repr(2 * atr)), True)
        assert order.stop_price == expected
        assert "ATR stop" in result.plans[0].plan.actions[0].reason
    finally:
        desk.rt.store.dispose()
