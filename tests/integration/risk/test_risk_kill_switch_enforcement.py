"""The kill switch carried out on the paper venue through the order manager: HALTED cancels the
working entries and keeps (and re-arms) the protective stops; FLATTEN closes every position,
largest risk contribution first, once, retrying a close that did not close; a position on
another venue is reported; and the engine loop does all of it by itself when a monitor trips
the switch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.adapters.clock import ManualClock
from riskdesk.application.engine import Oms, StepReport
from riskdesk.application.kill_switch import KillSwitch
from riskdesk.bootstrap.oms_runtime import replay_run
from riskdesk.bootstrap.oms_settings import ReplayEntrySettings
from riskdesk.bootstrap.oms_wiring import open_paper_account
from riskdesk.bootstrap.risk_runtime import enforce_state
from riskdesk.bootstrap.risk_settings import KillSwitchSettings, LimitOverrides, RiskSettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.matching import Quote
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import Side

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
BTC = perpetual_or_future("BTC/USDT:USDT", "paper", tick_size="0.1", lot_size="0.001")
ETH = perpetual_or_future("ETH/USDT:USDT", "paper", tick_size="0.01", lot_size="0.01")
ELSEWHERE = perpetual_or_future("BTC/USDT:USDT", "binance", tick_size="0.1", lot_size="0.001")


@dataclass
class Paper:
    rt: Runtime
    oms: Oms
    clock: ManualClock

    def quote(self, inst: object, bid: str, ask: str) -> None:
        key = inst.key  # type: ignore[attr-defined]
        now = self.clock.now()
        b, a = Decimal(bid), Decimal(ask)
        m = (b + a) / 2
        self.rt.app.book.record_prices({key: m}, {}, now, "test")
        assert self.oms.venue is not None
        self.oms.venue.on_quote(key, Quote(now, b, a, last=m, mark=m, index=m))
        self.oms.settle(now)

    def submit(self, qty: str, side: str = "buy", inst: object = BTC, **kw: object) -> Order:
        intent = OrderIntent(
            intent_id=f"t:{side}:{qty}:{inst.symbol}:{kw.get('price')}",  # type: ignore[attr-defined]
            account_id="pu",
            venue="paper",
            symbol=inst.symbol,  # type: ignore[attr-defined]
            side=Side(side),
            qty=Decimal(qty),
            created_at=self.clock.now(),
            **kw,  # type: ignore[arg-type]
        )
        order = self.oms.orders.submit(intent)
        self.oms.settle()
        return self.oms.orders.get(order.client_order_id) or order

    def position(self, inst: object = BTC) -> Decimal:
        lines = self.oms.orders.ledger.open_positions()
        return sum((p.qty for p in lines if p.instrument_key == inst.key), Decimal(0))  # type: ignore[attr-defined]

    def stops(self) -> list[Order]:
        return [o for o in self.oms.orders.live() if o.role is OrderRole.PROTECTIVE_STOP]

    def kill_switch(self) -> KillSwitch:
        return KillSwitch(self.rt.app.risk, self.oms.orders, self.clock)


def _paper(tmp_path: Path, settings: Settings | None = None) -> Iterator[Paper]:
    clock = ManualClock(T0)
    rt = build(
        settings or Settings(data_dir=tmp_path), str(tmp_path / "desk.db"), clock=clock, create=True
    )
    oms = rt.app.oms.get()
    rt.app.book.register_instruments([BTC, ETH, ELSEWHERE])
    account = Account(
        "pu", "paper", default_margin_mode=MarginMode.CROSS, default_leverage=Decimal(10)
    )
    open_paper_account(rt.app.book, oms, account, Decimal(100_000), "USDT", "dep", T0)
    desk = Paper(rt, oms, clock)
    desk.quote(BTC, "49999", "50000")
    desk.quote(ETH, "2999", "3000")
    yield desk
    oms.close()
    rt.store.dispose()


@pytest.fixture
def paper(tmp_path: Path) -> Iterator[Paper]:
    yield from _paper(tmp_path)


def test_halted_cancels_working_entries_and_keeps_the_stops(paper: Paper) -> None:
    assert paper.submit("0.2").status is OrderStatus.FILLED
    entry = paper.submit("0.1", order_type=OrderType.LIMIT, price=Decimal("49500"))
    assert entry.status is OrderStatus.OPEN
    (stop,) = paper.stops()
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    done = paper.kill_switch().enforce()
    assert [o.intent.intent_id for o in done.cancelled] == [entry.intent.intent_id]
    assert done.cancelled[0].status is OrderStatus.CANCELED
    reasons = [e.get("reason") for e in paper.oms.orders.events(entry.intent.intent_id)]
    assert "kill switch: trading is halted" in reasons
    assert [o.client_order_id for o in paper.stops()] == [stop.client_order_id]
    # The market comes to the cancelled limit: nothing fills, the position stays 0.2.
    paper.quote(BTC, "49400", "49401")
    assert paper.position() == Decimal("0.2")
    # Enforcing again changes nothing.
    assert not paper.kill_switch().enforce().acted


def test_the_supervisor_re_arms_a_stop_while_halted(paper: Paper) -> None:
    """The exemption: HALTED refuses every new order except the protective stops."""
    paper.submit("0.2")
    (stop,) = paper.stops()
    paper.rt.app.risk.escalate(TradingState.HALTED, "manual", "ops halt")
    paper.oms.orders.cancel(stop.client_order_id, "lost at the venue")
    paper.oms.settle()
    (rearmed,) = paper.stops()
    assert rearmed.client_order_id != stop.client_order_id
    assert rearmed.status is OrderStatus.OPEN
    manual = paper.submit("0.1", "sell", reduce_only=True)
    assert manual.status is OrderStatus.REJECTED
    assert "[trading_state] trading is halted" in manual.reason


def test_flatten_closes_every_position_largest_contribution_first_and_once(paper: Paper) -> None:
    paper.submit("0.1")  # 5,000 of BTC
    paper.submit("3", inst=ETH)  # 9,000 of ETH: the larger loss at the −30 % shock
    working = paper.submit("0.1", order_type=OrderType.LIMIT, price=Decimal("49000"))
    paper.rt.app.risk.escalate(TradingState.FLATTEN, "manual", "close everything")
    done = paper.kill_switch().enforce()
    assert [o.intent.intent_id for o in done.cancelled] == [working.intent.intent_id]
    assert [ln.intent.symbol for ln in done.plan] == [ETH.symbol, BTC.symbol]
    assert [o.intent.symbol for o in done.closes] == [ETH.symbol, BTC.symbol]
    assert all(o.intent.reduce_only and o.intent.source == "kill_switch" for o in done.closes)
    assert all(o.role is OrderRole.CLOSE for o in done.closes)
    assert all(o.role is not OrderRole.PROTECTIVE_STOP for o in done.cancelled)
    paper.oms.settle()
    assert paper.position(BTC) == 0 and paper.position(ETH) == 0
    assert paper.stops() == []  # released once flat
    again = paper.kill_switch().enforce()
    assert again.closes == [] and again.plan == []


def test_a_close_that_did_not_close_is_sent_again(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings = settings.model_copy(
        update={
            "oms": settings.oms.model_copy(
                update={
                    "paper": settings.oms.paper.model_copy(
                        update={"faults": ["submit:reject:market:2"]}
                    )
                }
            )
        }
    )
    for paper in _paper(tmp_path, settings):
        # The first market orders are the venue's to refuse: open with a limit that crosses.
        paper.submit("0.1", order_type=OrderType.LIMIT, price=Decimal("50000"))
        assert paper.position() == Decimal("0.1")
        paper.submit("0.01", order_type=OrderType.MARKET)  # refused (fault 1)
        paper.rt.app.risk.escalate(TradingState.FLATTEN, "manual", "close everything")
        first = paper.kill_switch().enforce()
        assert [o.status for o in first.closes] == [OrderStatus.REJECTED]  # fault 2
        second = paper.kill_switch().enforce()
        assert [o.intent.intent_id for o in second.closes] == [
            first.closes[0].intent.intent_id + "#2"
        ]
        paper.oms.settle()
        assert paper.position() == 0


def test_a_position_on_another_venue_is_reported_not_skipped_silently(paper: Paper) -> None:
    book = paper.rt.app.book
    book.register_account(Account("bn", "binance"))
    book.move_cash("bn", "USDT", Decimal(10_000), T0, "deposit", "bn-dep")
    book.apply_fills(
        [
            Fill.create(
                venue="binance",
                fill_id="x1",
                account_id="bn",
                symbol=ELSEWHERE.symbol,
                side="buy",
                qty="0.1",
                price="50000",
                ts=T0,
            )
        ]
    )
    book.record_prices({ELSEWHERE.key: Decimal(50_000)}, {}, T0, "test")
    risk = paper.rt.app.risk
    # The real book (accounts not on the paper venue) is judged and flattened apart: FLATTEN of
    # the paper book never reaches the binance position, FLATTEN of the real book reports it.
    risk.escalate(TradingState.FLATTEN, "manual", "close everything", scope="paper")
    assert paper.kill_switch().enforce().skipped == []
    risk.escalate(TradingState.FLATTEN, "manual", "close everything", scope="real")
    done = enforce_state(paper.rt.app, paper.rt.store, "paper", paper.oms, scope="real")
    assert done is not None and done.closes == []
    assert done.skipped == [
        f"bn binance:{ELSEWHERE.symbol}: not on the connected venue paper; close it there"
    ]


# ----------------------------------------------------------------------------- the engine loop


def test_the_engine_trips_and_carries_out_the_kill_switch_by_itself(tmp_path: Path) -> None:
    """A short entry into the 2019-10-07 rally on the bundled bars; a daily loss limit of 0.1 %
    (15 USDT of 15,000) set to FLATTEN: the loop's own monitor trips it and closes the short."""
    base = Settings(data_dir=tmp_path)
    # A wide protective stop, so the kill switch (not the stop) ends the trade.
    short = ReplayEntrySettings(
        at=datetime(2019, 10, 7, 4, tzinfo=UTC), side="sell", qty=Decimal("0.2"), stop=Decimal(9000)
    )
    replay = base.oms.replay.model_copy(update={"entries": [short]})
    settings = base.model_copy(
        update={
            "oms": base.oms.model_copy(update={"replay": replay}),
            "risk": RiskSettings(
                limits=LimitOverrides(daily_loss_limit=0.001),
                kill_switch=KillSwitchSettings(on_daily_loss="flatten"),
            ),
        }
    )
    run = replay_run(settings, str(tmp_path / "r.db"))
    reports: list[StepReport] = []
    try:
        run.engine.recover()
        run.engine.run(run.feed, until=datetime(2019, 10, 8, tzinfo=UTC), on_step=reports.append)
        tripped = [r for r in reports if r.state_change is not None]
        assert tripped, [json.dumps(r.errors) for r in reports]
        change = tripped[0].state_change
        assert change is not None
        assert (change.new, change.trigger) == (TradingState.FLATTEN, "daily_loss")
        enforced = tripped[0].enforcement
        assert enforced is not None
        assert [(o.intent.side, o.intent.source) for o in enforced.closes] == [
            (Side.BUY, "kill_switch")
        ]
        assert run.rt.app.risk.status().state is TradingState.FLATTEN
        assert run.oms.orders.ledger.open_positions() == []
        later = reports[reports.index(tripped[0]) + 1 :]
        assert all(r.enforcement is not None and not r.enforcement.closes for r in later)
        assert run.rt.app.risk.alerts(), "the loop's monitors stored alerts"
    finally:
        run.close()


def test_engine_checks_reuse_the_live_risk_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks read the book a mark update built: no rebuild per order, whatever the clock."""
    run = replay_run(Settings(data_dir=tmp_path), str(tmp_path / "r.db"))
    try:
        risk = run.rt.app.risk
        run.engine.recover()
        run.engine.run(run.feed, until=datetime(2019, 10, 7, 5, tzinfo=UTC))
        gate = run.oms.gate
        assert gate is not None and gate.book is not None
        builds: list[datetime | None] = []
        original = risk.risk_book
        monkeypatch.setattr(
            risk,
            "risk_book",
            lambda now=None, *a, **k: builds.append(now) or original(now, *a, **k),
        )
        now = run.clock.now()
        for i in range(3):
            gate.check(
                OrderIntent(
                    intent_id=f"probe-{i}",
                    account_id="paper-usdm",
                    venue="paper",
                    symbol="BTC/USDT:USDT",
                    side=Side.BUY,
                    qty=Decimal("0.001"),
                    created_at=now,
                ),
                now + timedelta(seconds=i),
            )
        assert builds == []
        assert len(gate.book.pending) >= 2  # the approved probes count as working orders
    finally:
        run.close()
