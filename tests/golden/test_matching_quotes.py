"""Golden quote sequences: displayed size, partial fills, IOC/FOK, maker/taker, slippage,
latency and the trigger price source (mark / last / index), through the paper venue."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "oms"))

from oms_unit_kit import PERP, T0, make_desk
from oms_unit_kit import intent as mk

from riskdesk.domain.matching import MatchingModel, Quote
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.orders import OrderType, TimeInForce, TriggerPrice
from riskdesk.domain.values import Liquidity

D = Decimal
S = OrderStatus
K = PERP.key


def q(desk, bid: str, ask: str, size: str | None = None, **refs: str) -> int:  # type: ignore[no-untyped-def]
    quote = Quote(
        desk.clock.now(),
        D(bid),
        D(ask),
        None if size is None else D(size),
        None if size is None else D(size),
        **{k: D(v) for k, v in refs.items()},
    )
    made: int = desk.broker.on_quote(K, quote)
    desk.oms.sync()
    return made


def view(desk, iid: str):  # type: ignore[no-untyped-def]
    return desk.broker.query(mk(iid).client_order_id, PERP.symbol)


def test_displayed_size_caps_fills_so_a_large_order_fills_over_several_quotes() -> None:
    desk = make_desk(model=MatchingModel(max_fill_fraction=D("0.5")))
    q(desk, "7999", "8000", "2")
    order = desk.oms.submit(mk("big", "buy", "3", OrderType.MARKET))
    assert (order.status, order.filled_qty) == (S.PARTIALLY_FILLED, D(1))
    q(desk, "8000", "8001", "2")
    q(desk, "8001", "8002", "4")
    v = view(desk, "big")
    assert (v.status, v.filled_qty) == (S.FILLED, D(3))
    assert v.avg_price == (D(8000) + D(8001) + D(8002)) / 3
    assert desk.ledger_equals_venue()


def test_ioc_keeps_what_filled_and_expires_the_rest_fok_all_or_nothing() -> None:
    desk = make_desk(model=MatchingModel(max_fill_fraction=D(1)))
    q(desk, "7999", "8000", "1")
    ioc = desk.oms.submit(mk("ioc", "buy", "3", OrderType.LIMIT, price="8000", tif=TimeInForce.IOC))
    assert (ioc.status, ioc.filled_qty) == (S.EXPIRED, D(1))  # the venue ends the rest
    fok = desk.oms.submit(mk("fok", "buy", "3", OrderType.LIMIT, price="8000", tif=TimeInForce.FOK))
    assert (fok.status, fok.filled_qty) == (S.EXPIRED, D(0))
    assert desk.position() == D(1)


def test_resting_limit_fills_as_maker_at_its_price_a_marketable_one_as_taker() -> None:
    desk = make_desk()
    q(desk, "7999", "8000")
    desk.oms.submit(mk("rest", "buy", "1", OrderType.LIMIT, price="7990"))
    take = desk.oms.submit(mk("take", "buy", "1", OrderType.LIMIT, price="8005"))
    assert (take.status, take.avg_price) == (S.FILLED, D(8000))
    q(desk, "7985", "7989")
    rest = view(desk, "rest")
    assert (rest.status, rest.avg_price) == (S.FILLED, D(7990))
    fills = desk.broker.fills_since(None).fills
    assert [f.liquidity for f in fills] == [Liquidity.TAKER, Liquidity.MAKER]
    assert fills[1].fee == PERP.fee(D(1), D(7990), maker=True)


def test_slippage_moves_taker_prices_against_the_taker_on_the_tick() -> None:
    desk = make_desk(model=MatchingModel(slippage_bps=D(10)))
    q(desk, "7999", "8000")
    buy = desk.oms.submit(mk("b", "buy", "1", OrderType.MARKET))
    assert buy.avg_price == D("8008.0")  # 8000 × 1.001, on the 0.1 tick
    sell = desk.oms.submit(mk("s", "sell", "1", OrderType.MARKET))
    assert sell.avg_price == D("7991.0")  # 7999 × 0.999 = 7991.001 rounded up for the seller


def test_latency_delays_the_first_execution() -> None:
    desk = make_desk(model=MatchingModel(latency=timedelta(milliseconds=250)))
    q(desk, "7999", "8000")
    order = desk.oms.submit(mk("m", "buy", "1", OrderType.MARKET))
    assert order.status is S.OPEN
    desk.clock.advance(timedelta(milliseconds=100))
    q(desk, "7999", "8000")
    assert view(desk, "m").status is S.OPEN
    desk.clock.advance(timedelta(milliseconds=200))
    q(desk, "8009", "8010")
    assert (view(desk, "m").status, view(desk, "m").avg_price) == (S.FILLED, D(8010))


def test_stops_trigger_on_their_own_price_source() -> None:
    desk = make_desk()
    q(desk, "7999", "8001", mark="8000", last="8000", index="8000")
    desk.oms.submit(mk("long", "buy", "3", OrderType.MARKET))
    for iid, trigger in (
        ("on-mark", TriggerPrice.MARK),
        ("on-last", TriggerPrice.LAST),
        ("on-index", TriggerPrice.INDEX),
    ):
        desk.oms.submit(
            mk(
                iid,
                "sell",
                "1",
                OrderType.STOP_MARKET,
                stop="7950",
                reduce_only=True,
                trigger=trigger,
            )
        )
    # The last trade prints through the stop; mark and index do not move.
    q(desk, "7999", "8001", mark="8000", last="7940", index="8000")
    assert [view(desk, i).status for i in ("on-mark", "on-last", "on-index")] == [
        S.OPEN,
        S.FILLED,
        S.OPEN,
    ]
    q(desk, "7999", "8001", mark="8000", last="8000", index="7949")
    assert view(desk, "on-index").status is S.FILLED
    q(desk, "7945", "7947", mark="7946", last="8000", index="8000")
    assert view(desk, "on-mark").status is S.FILLED
    assert view(desk, "on-mark").avg_price == D(7945)  # a triggered stop takes the bid
    assert desk.position() == 0
    assert desk.clock.now() == T0


def _book(desk, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    quote = Quote(
        desk.clock.now(),
        D(bids[0][0]),
        D(asks[0][0]),
        D(bids[0][1]),
        D(asks[0][1]),
        bid_levels=tuple((D(p), D(s)) for p, s in bids),
        ask_levels=tuple((D(p), D(s)) for p, s in asks),
    )
    desk.broker.on_quote(K, quote)
    desk.oms.sync()


BIDS = [("7999", "1"), ("7998", "1"), ("7995", "5")]
ASKS = [("8000", "1"), ("8001", "1"), ("8003", "5")]


def test_a_taker_walks_the_book_levels_and_pays_each_levels_price() -> None:
    desk = make_desk()
    _book(desk, BIDS, ASKS)
    buy = desk.oms.submit(mk("b", "buy", "3", OrderType.MARKET))
    assert (buy.status, buy.filled_qty) == (S.FILLED, D(3))
    assert buy.avg_price == (D(8000) + D(8001) + D(8003)) / 3
    fills = [f for f in desk.broker.fills_since(None).fills if f.order_id == buy.client_order_id]
    assert [(f.qty, f.price) for f in fills] == [(D(1), D(8000)), (D(1), D(8001)), (D(1), D(8003))]
    assert all(f.fee == PERP.fee(f.qty, f.price, maker=False) for f in fills)  # taker each time
    sell = desk.oms.submit(mk("s", "sell", "2.5", OrderType.MARKET))
    assert sell.avg_price == (D(7999) + D(7998) + D("0.5") * D(7995)) / D("2.5")
    assert desk.ledger_equals_venue()


def test_depth_with_a_limit_ioc_fok_and_gtc() -> None:
    desk = make_desk()
    _book(desk, BIDS, ASKS)
    # The limit stops the walk: IOC keeps what the levels within it gave, the rest expires.
    ioc = desk.oms.submit(mk("i", "buy", "5", OrderType.LIMIT, price="8001", tif=TimeInForce.IOC))
    assert (ioc.status, ioc.filled_qty, ioc.avg_price) == (S.EXPIRED, D(2), D("8000.5"))
    # FOK: all or nothing within the limit.
    fok = desk.oms.submit(mk("f", "buy", "3", OrderType.LIMIT, price="8001", tif=TimeInForce.FOK))
    assert (fok.status, fok.filled_qty) == (S.EXPIRED, D(0))
    fok = desk.oms.submit(mk("f2", "buy", "3", OrderType.LIMIT, price="8003", tif=TimeInForce.FOK))
    assert (fok.status, fok.filled_qty) == (S.FILLED, D(3))
    # GTC: takes the levels within its limit, rests with the rest and later fills as a maker.
    gtc = desk.oms.submit(mk("g", "buy", "3", OrderType.LIMIT, price="8001"))
    assert (gtc.status, gtc.filled_qty) == (S.PARTIALLY_FILLED, D(2))
    _book(desk, [("7990", "1")], [("8001", "4")])
    gtc = desk.oms.require("g")
    assert (gtc.status, gtc.filled_qty) == (S.FILLED, D(3))
    last = [f for f in desk.broker.fills_since(None).fills if f.order_id == gtc.client_order_id][-1]
    assert (last.qty, last.price, last.liquidity) == (D(1), D(8001), Liquidity.MAKER)
    assert desk.ledger_equals_venue()


def test_depth_respects_the_fill_fraction_per_level() -> None:
    desk = make_desk(model=MatchingModel(max_fill_fraction=D("0.5")))
    _book(desk, BIDS, ASKS)
    # Half of each level: 0.5 @ 8000, 0.5 @ 8001, 2.5 @ 8003 → 3.5 available; 3 wanted.
    buy = desk.oms.submit(mk("b", "buy", "3", OrderType.MARKET))
    fills = [f for f in desk.broker.fills_since(None).fills if f.order_id == buy.client_order_id]
    assert [(f.qty, f.price) for f in fills] == [
        (D("0.5"), D(8000)),
        (D("0.5"), D(8001)),
        (D(2), D(8003)),
    ]
