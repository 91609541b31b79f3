"""The paper venue: venue-like refusals, margin, reduce-only, persistence, faults, transfers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from oms_unit_kit import CATALOG, PERP, SPOT, T0, candle, intent, make_desk

from riskdesk.adapters.brokers.faults import FaultInjector, parse_rule
from riskdesk.adapters.brokers.paper import PaperBroker, PaperConfig
from riskdesk.adapters.brokers.paper_store import PaperStore
from riskdesk.adapters.clock import ManualClock
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.errors import (
    BrokerTimeout,
    ConfigError,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    VenueUnavailable,
)
from riskdesk.domain.matching import Quote
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.orders import OrderType
from riskdesk.ports.broker import BrokerCapabilities

D = Decimal
S = OrderStatus


def _quoted(**kw):  # type: ignore[no-untyped-def]
    desk = make_desk(**kw)
    desk.broker.on_quote(PERP.key, Quote(T0, D(7999), D(8000), mark=D(8000)))
    return desk


def test_a_client_order_id_is_accepted_once() -> None:
    desk = _quoted()
    desk.broker.submit(intent("x", kind=OrderType.LIMIT, price="7000"))
    with pytest.raises(OrderRejected) as error:
        desk.broker.submit(intent("x", kind=OrderType.LIMIT, price="7000"))
    assert error.value.field == "client_order_id"
    assert len(desk.broker.all_orders()) == 1


def test_orders_adding_exposure_need_free_margin() -> None:
    desk = _quoted(deposit="1000")
    # 1 BTC at 8000 with 10x needs 800 + fee 3.2.
    assert desk.broker.submit(intent("a", qty="1")).status is S.FILLED
    with pytest.raises(OrderRejected, match="insufficient margin"):
        desk.broker.submit(intent("b", qty="1"))
    # Open orders reserve margin too: what is left cannot back another resting order.
    with pytest.raises(OrderRejected, match="insufficient margin"):
        desk.broker.submit(intent("c", qty="0.5", kind=OrderType.LIMIT, price="7000"))
    # Closing needs no margin.
    assert desk.broker.submit(intent("d", "sell", "1")).status is S.FILLED


def test_reduce_only_needs_a_position_and_spot_sales_need_coins() -> None:
    desk = _quoted()
    with pytest.raises(OrderRejected, match="no position to reduce"):
        desk.broker.submit(intent("r", "sell", reduce_only=True))
    desk.broker.on_quote(SPOT.key, Quote(T0, D(7999), D(8000)))
    with pytest.raises(OrderRejected, match="insufficient balance"):
        desk.broker.submit(intent("s", "sell", "1", symbol=SPOT.symbol, leverage=None))


def test_stops_through_the_price_and_unsupported_types_are_refused() -> None:
    desk = _quoted()
    desk.broker.submit(intent("long"))
    with pytest.raises(OrderRejected, match="immediately trigger") as error:
        desk.broker.submit(
            intent("s", "sell", kind=OrderType.STOP_MARKET, stop="8100", reduce_only=True)
        )
    assert error.value.field == "stop_price"
    with pytest.raises(OrderRejected) as error:
        desk.broker.submit(intent("bad", "sell", kind=OrderType.LIMIT, price="8000.05"))
    assert error.value.field == "price"
    no_stops = _quoted(capabilities=BrokerCapabilities(native_stop=False, native_amend=False))
    no_stops.broker.submit(intent("long"))
    with pytest.raises(OrderRejected, match="does not accept stop"):
        no_stops.broker.submit(
            intent("s", "sell", kind=OrderType.STOP_MARKET, stop="7900", reduce_only=True)
        )
    with pytest.raises(OrderRejected, match="amend"):
        no_stops.broker.amend(intent("long").client_order_id, PERP.symbol, qty=D(2))


def test_cancel_amend_and_lookups() -> None:
    desk = _quoted()
    cid = intent("l", kind=OrderType.LIMIT, price="7000").client_order_id
    desk.broker.submit(intent("l", kind=OrderType.LIMIT, price="7000"))
    amended = desk.broker.amend(cid, PERP.symbol, price=D(7100), qty=D(2))
    assert (amended.intent.price, amended.intent.qty) == (D(7100), D(2))
    with pytest.raises(OrderRejected):
        desk.broker.amend(cid, PERP.symbol, qty=D(0))
    assert [o.client_order_id for o in desk.broker.open_orders("acct")] == [cid]
    assert desk.broker.cancel(cid, PERP.symbol).status is S.CANCELED
    assert desk.broker.cancel(cid, PERP.symbol).status is S.CANCELED  # already finished: as it is
    assert desk.broker.open_orders() == []
    with pytest.raises(OrderNotFound):
        desk.broker.cancel("rd" + "0" * 30, PERP.symbol)
    assert desk.broker.query("rd" + "0" * 30, PERP.symbol) is None


def test_a_bar_already_seen_is_ignored() -> None:
    desk = _quoted()
    desk.broker.submit(intent("l", kind=OrderType.LIMIT, price="7900"))
    bar = candle(T0, "8000", "8000", "7800", "7900")
    assert desk.broker.on_candle(PERP.key, bar) == 1
    assert desk.broker.on_candle(PERP.key, bar) == 0
    assert desk.broker.last_bar(PERP.key) == T0


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    clock = ManualClock(T0)
    broker = PaperBroker(CATALOG.get, clock, PaperConfig(), PaperStore(path))
    broker.open_account(Account("acct", "paper", default_leverage=D(10)))
    broker.deposit("acct", "USDT", D(10000), "d0")
    broker.on_quote(PERP.key, Quote(T0, D(7999), D(8000), mark=D(8000)))
    broker.submit(intent("m", qty="0.5"))
    broker.submit(intent("s", "sell", "0.5", OrderType.STOP_MARKET, stop="7900", reduce_only=True))
    broker.transfer("t1", "acct", "acct", "USDT", D(1))
    before = (
        broker.positions(),
        broker.balances("acct"),
        broker.all_orders(),
        broker.fills_since(None),
    )
    broker.close()
    again = PaperBroker(CATALOG.get, clock, PaperConfig(), PaperStore(path))
    after = (again.positions(), again.balances("acct"), again.all_orders(), again.fills_since(None))
    assert after == before
    assert again.last_quote(PERP.key) == broker.last_quote(PERP.key)
    with pytest.raises(OrderRejected):
        again.submit(intent("m", qty="0.5"))  # the client id is still taken
    assert again.transfer("t1", "acct", "acct", "USDT", D(1)).executed
    again.close()


def test_fills_since_a_cursor_are_paged() -> None:
    desk = _quoted()
    for i in range(3):
        desk.broker.submit(intent(f"m{i}", qty="0.1"))
    page = desk.broker.fills_since(None, limit=2)
    assert len(page.fills) == 2
    rest = desk.broker.fills_since(page.cursor)
    assert len(rest.fills) == 1
    assert desk.broker.fills_since(rest.cursor).fills == []


def test_transfers_are_idempotent_and_refuse_what_is_not_free() -> None:
    desk = _quoted(deposit="1000")
    desk.broker.open_account(Account("spot", "paper"))
    done = desk.broker.transfer("t", "acct", "spot", "USDT", D(300))
    assert done.executed
    assert desk.broker.transfer("t", "acct", "spot", "USDT", D(300)) == done
    assert {b.currency: b.total for b in desk.broker.balances("spot")} == {"USDT": D(300)}
    refused = desk.broker.transfer("t2", "acct", "spot", "USDT", D(5000))
    assert not refused.executed and "insufficient" in refused.reason


def test_injected_faults_fire_before_or_after_the_venue_acts() -> None:
    desk = _quoted(
        faults=[
            "submit:timeout",
            "submit:timeout_after",
            "query:unavailable",
            "cancel:rate_limited",
        ]
    )
    with pytest.raises(BrokerTimeout):
        desk.broker.submit(intent("a", kind=OrderType.LIMIT, price="7000"))
    assert desk.broker.all_orders() == []  # nothing happened
    with pytest.raises(BrokerTimeout):
        desk.broker.submit(intent("a", kind=OrderType.LIMIT, price="7000"))
    assert len(desk.broker.all_orders()) == 1  # the venue acted, the answer was lost
    with pytest.raises(VenueUnavailable):
        desk.broker.query(intent("a").client_order_id, PERP.symbol)
    with pytest.raises(RateLimited) as error:
        desk.broker.cancel(intent("a").client_order_id, PERP.symbol)
    assert error.value.retry_after == 1.0
    assert desk.broker.cancel(intent("a").client_order_id, PERP.symbol).status is S.CANCELED
    stops = FaultInjector.parse(["submit:reject:stop_market:*"])
    for _ in range(3):
        with pytest.raises(OrderRejected):
            stops.before("submit", "stop_market")
    stops.before("submit", "market")
    for bad in ("nope", "submit:explode", "teleport:timeout", "submit:timeout::0"):
        with pytest.raises(ConfigError):
            parse_rule(bad)


def test_the_venue_rate_limit() -> None:
    clock = ManualClock(T0)
    broker = PaperBroker(
        CATALOG.get, clock, PaperConfig(rate_limit_per_second=1.0, rate_limit_burst=2)
    )
    broker.open_account(Account("acct", "paper"))
    broker.deposit("acct", "USDT", D(100000), "d")
    broker.on_quote(PERP.key, Quote(T0, D(7999), D(8000), mark=D(8000)))
    broker.submit(intent("a", qty="0.1"))
    broker.submit(intent("b", qty="0.1"))
    with pytest.raises(RateLimited):
        broker.submit(intent("c", qty="0.1"))


def test_reduce_only_orders_expire_when_the_position_closes() -> None:
    """docs/oms.md: a reduce-only order with nothing left to reduce is ended by the venue's own
    rules (EXPIRED), not cancelled as if the client had asked."""
    desk = _quoted()
    desk.broker.submit(intent("long", qty="1"))
    stop = desk.broker.submit(
        intent("stop", "sell", "1", OrderType.STOP_MARKET, stop="7000", reduce_only=True)
    )
    take = desk.broker.submit(
        intent("tp", "sell", "1", OrderType.LIMIT, price="9000", reduce_only=True)
    )
    desk.broker.submit(intent("close", "sell", "1"))  # a plain market order closes the position
    for cid in (stop.client_order_id, take.client_order_id):
        ended = desk.broker.query(cid, PERP.symbol)
        assert ended is not None
        assert ended.status is S.EXPIRED
        assert ended.reason == "reduce-only: the position is closed"
    assert desk.broker.open_orders() == []
