"""Golden price paths on bars: every order type through the paper venue, and the OCO tie rule.

Each case: a flat, 1-BTC-long or 1-BTC-short account, the last bar closing at 8000 (no spread,
no slippage), the orders placed, then one bar — and the expected status, filled quantity and fill
price of every order. The bar path is open → nearer extreme → farther extreme → close; a tie in
distance visits the high first. Every case runs twice: straight at the venue, and through the
order manager (intent journal, state machine, sync of fills and statuses), where the journaled
order must end exactly as the venue's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "oms"))

from oms_unit_kit import PERP, Desk, make_desk
from oms_unit_kit import intent as mk

from riskdesk.adapters.market_data.bundled import read_bars
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind
from riskdesk.domain.order_lifecycle import OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType, TimeInForce
from riskdesk.ports.broker import OrderRequest

D = Decimal
S = OrderStatus
MKT, LMT, STP, STL, TP, TPL = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.STOP_LIMIT,
    OrderType.TAKE_PROFIT,
    OrderType.TAKE_PROFIT_LIMIT,
)


@dataclass(frozen=True)
class Case:
    name: str
    long: bool
    orders: tuple[OrderIntent, ...]
    bar: tuple[str, str, str, str]
    expected: tuple[tuple[str, S, str, str | None], ...]  # intent id, status, filled, avg price
    group: bool = False
    short: bool = False  # a 1-BTC short instead (``long`` False)


CASES = [
    Case(
        "market buys at the last price",
        False,
        (mk("m", "buy", "1", MKT),),
        ("8000", "8010", "7990", "8000"),
        (("m", S.FILLED, "1", "8000"),),
    ),
    Case(
        "limit rests, fills at its price as the path reaches it",
        False,
        (mk("l", "buy", "1", LMT, price="7950"),),
        ("8000", "8010", "7940", "7990"),
        (("l", S.FILLED, "1", "7950"),),
    ),
    Case(
        "limit not reached keeps working",
        False,
        (mk("l", "buy", "1", LMT, price="7900"),),
        ("8000", "8010", "7940", "7990"),
        (("l", S.OPEN, "0", None),),
    ),
    Case(
        "marketable limit takes the last price",
        False,
        (mk("l", "buy", "1", LMT, price="8050"),),
        ("8000", "8000", "8000", "8000"),
        (("l", S.FILLED, "1", "8000"),),
    ),
    Case(
        "sell stop triggers at its level",
        True,
        (mk("s", "sell", "1", STP, stop="7950", reduce_only=True),),
        ("7990", "7995", "7900", "7920"),
        (("s", S.FILLED, "1", "7950"),),
    ),
    Case(
        "sell stop through a gap fills at the open",
        True,
        (mk("s", "sell", "1", STP, stop="7950", reduce_only=True),),
        ("7900", "7910", "7880", "7890"),
        (("s", S.FILLED, "1", "7900"),),
    ),
    Case(
        "buy stop (entry on a breakout)",
        False,
        (mk("b", "buy", "1", STP, stop="8050"),),
        ("8000", "8080", "7990", "8070"),
        (("b", S.FILLED, "1", "8050"),),
    ),
    Case(
        "stop-limit triggers and fills at the trigger",
        True,
        (mk("sl", "sell", "1", STL, price="7940", stop="7950", reduce_only=True),),
        ("7990", "7995", "7900", "7920"),
        (("sl", S.FILLED, "1", "7950"),),
    ),
    Case(
        "stop-limit triggered, limit never reached, stays working",
        True,
        (mk("sl", "sell", "1", STL, price="7960", stop="7950", reduce_only=True),),
        ("7990", "7992", "7900", "7920"),
        (("sl", S.OPEN, "0", None),),
    ),
    Case(
        "take-profit fills at its trigger",
        True,
        (mk("t", "sell", "1", TP, stop="8100", reduce_only=True),),
        ("8000", "8120", "7990", "8110"),
        (("t", S.FILLED, "1", "8100"),),
    ),
    Case(
        "take-profit-limit fills at its trigger (not worse than the limit)",
        True,
        (mk("t", "sell", "1", TPL, price="8090", stop="8100", reduce_only=True),),
        ("8000", "8120", "7990", "8110"),
        (("t", S.FILLED, "1", "8100"),),
    ),
    Case(
        "reduce-only is capped at the position; the rest expires",
        True,
        (mk("r", "sell", "2", MKT, reduce_only=True),),
        ("8000", "8000", "8000", "8000"),
        (("r", S.EXPIRED, "1", "8000"),),
    ),
    Case(
        "post-only that would take is not accepted",
        False,
        (mk("p", "buy", "1", LMT, price="8010", post_only=True),),
        ("8000", "8000", "8000", "8000"),
        (("p", S.EXPIRED, "0", None),),
    ),
    Case(
        "post-only below the market rests and fills as maker",
        False,
        (mk("p", "buy", "1", LMT, price="7950", post_only=True),),
        ("8000", "8005", "7900", "7990"),
        (("p", S.FILLED, "1", "7950"),),
    ),
    Case(
        "IOC not marketable expires at once",
        False,
        (mk("i", "buy", "1", LMT, price="7990", tif=TimeInForce.IOC),),
        ("8000", "8000", "7900", "7950"),
        (("i", S.EXPIRED, "0", None),),
    ),
    Case(
        "FOK not marketable at arrival expires, though the bar reaches its price later",
        False,
        (mk("f", "buy", "1", LMT, price="7990", tif=TimeInForce.FOK),),
        ("8000", "8000", "7900", "7950"),
        (("f", S.EXPIRED, "0", None),),
    ),
    Case(
        "sell limit rests above the market, fills at its price (opens a short)",
        False,
        (mk("l", "sell", "1", LMT, price="8050"),),
        ("8000", "8060", "7990", "8040"),
        (("l", S.FILLED, "1", "8050"),),
    ),
    Case(
        "marketable sell limit takes the last price",
        False,
        (mk("l", "sell", "1", LMT, price="7950"),),
        ("8000", "8000", "8000", "8000"),
        (("l", S.FILLED, "1", "8000"),),
    ),
    Case(
        "a short's take-profit: a buy take-profit below fills at its trigger",
        False,
        (mk("t", "buy", "1", TP, stop="7900", reduce_only=True),),
        ("8000", "8010", "7880", "7890"),
        (("t", S.FILLED, "1", "7900"),),
        short=True,
    ),
    Case(
        "a short's stop: a buy stop above fills at its level",
        False,
        (mk("s", "buy", "1", STP, stop="8050", reduce_only=True),),
        ("8000", "8080", "7990", "8060"),
        (("s", S.FILLED, "1", "8050"),),
        short=True,
    ),
    Case(
        "a short's take-profit not reached keeps working",
        False,
        (mk("t", "buy", "1", TP, stop="7900", reduce_only=True),),
        ("8000", "8040", "7950", "7990"),
        (("t", S.OPEN, "0", None),),
        short=True,
    ),
    Case(
        "FOK marketable fills completely",
        False,
        (mk("f", "buy", "1", LMT, price="8000", tif=TimeInForce.FOK),),
        ("8000", "8000", "8000", "8000"),
        (("f", S.FILLED, "1", "8000"),),
    ),
    Case(
        "OCO tie: stop and take-profit in one bar, the nearer extreme (low) comes first",
        True,
        (
            mk("sl", "sell", "1", STP, stop="7950", reduce_only=True),
            mk("tp", "sell", "1", TP, stop="8050", reduce_only=True),
        ),
        ("8000", "8070", "7940", "8000"),
        (("sl", S.FILLED, "1", "7950"), ("tp", S.CANCELED, "0", None)),
        group=True,
    ),
    Case(
        "OCO tie: equally far extremes visit the high first",
        True,
        (
            mk("sl", "sell", "1", STP, stop="7950", reduce_only=True),
            mk("tp", "sell", "1", TP, stop="8050", reduce_only=True),
        ),
        ("8000", "8060", "7940", "8000"),
        (("tp", S.FILLED, "1", "8050"), ("sl", S.CANCELED, "0", None)),
        group=True,
    ),
    Case(
        "without a group the second reduce-only exit finds the position closed",
        True,
        (
            mk("sl", "sell", "1", STP, stop="7950", reduce_only=True),
            mk("tp", "sell", "1", TP, stop="8050", reduce_only=True),
        ),
        ("8000", "8070", "7940", "8000"),
        (("sl", S.FILLED, "1", "7950"), ("tp", S.EXPIRED, "0", None)),
    ),
]


def _open(desk: Desk, case: Case) -> None:
    if case.long:
        desk.oms.submit(mk("long", "buy", "1", MKT))
        assert desk.position() == D(1)
    if case.short:
        desk.oms.submit(mk("short", "sell", "1", MKT))
        assert desk.position() == D(-1)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_bar(case: Case) -> None:
    desk = make_desk()
    desk.bar("8000", "8000", "8000", "8000")
    _open(desk, case)
    for order in case.orders:
        view = desk.broker.submit(order, OrderRequest(group="oco") if case.group else None)
        assert view.status is not S.REJECTED
    desk.bar(*case.bar)
    for iid, status, filled, avg in case.expected:
        view = desk.broker.query(mk(iid).client_order_id, PERP.symbol)
        assert view is not None
        assert (view.status, view.filled_qty) == (status, D(filled)), (iid, view.reason)
        if avg is not None:
            assert view.avg_price == D(avg)
    assert desk.ledger_equals_venue()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_bar_through_the_order_manager(case: Case) -> None:
    desk = make_desk()
    desk.bar("8000", "8000", "8000", "8000")
    _open(desk, case)
    for order in case.orders:
        sent = desk.oms.submit(order, venue_group="oco" if case.group else None)
        assert sent.status not in (S.REJECTED, S.FAILED), sent.reason
    desk.bar(*case.bar)
    for iid, status, filled, avg in case.expected:
        order = desk.oms.require(iid)  # the journal's order, brought up to date by the sync
        assert (order.status, order.filled_qty) == (status, D(filled)), (iid, order.reason)
        assert order.avg_price == (None if avg is None else D(avg))
        view = desk.broker.query(order.client_order_id, PERP.symbol)
        assert view is not None and (view.status, view.filled_qty) == (status, D(filled))
        events = desk.oms.events(iid)
        assert events[0]["new"] == "created" and events[-1]["new"] == status.value
    assert desk.ledger_equals_venue()


def test_gtc_works_bar_after_bar_and_across_days_until_reached() -> None:
    for through_oms in (False, True):
        desk = make_desk()
        desk.bar("8000", "8000", "8000", "8000")
        gtc = mk("g", "buy", "1", LMT, price="7900", tif=TimeInForce.GTC)
        if through_oms:
            desk.oms.submit(gtc)
        else:
            desk.broker.submit(gtc)
        for _ in range(3):
            desk.bar("8000", "8020", "7950", "8000")
        desk.clock.advance(timedelta(days=2))  # a DAY order would have expired by now
        desk.bar("8000", "8020", "7950", "8000")
        view = desk.broker.query(gtc.client_order_id, PERP.symbol)
        assert view is not None and (view.status, view.filled_qty) == (S.OPEN, D(0))
        desk.bar("7980", "7990", "7880", "7920")
        view = desk.broker.query(gtc.client_order_id, PERP.symbol)
        assert view is not None and (view.status, view.avg_price) == (S.FILLED, D(7900))
        if through_oms:
            assert desk.oms.require("g").status is S.FILLED
        assert desk.ledger_equals_venue()


def test_day_orders_expire_with_the_day() -> None:
    desk = make_desk()
    desk.bar("8000", "8000", "8000", "8000")
    desk.broker.submit(mk("d", "buy", "1", LMT, price="7000", tif=TimeInForce.DAY))
    desk.clock.advance(timedelta(days=1))
    desk.bar("8000", "8000", "8000", "8000")
    view = desk.broker.query(mk("d").client_order_id, PERP.symbol)
    assert view is not None and view.status is S.EXPIRED


# ---------------------------------------------------------------------------- real bars


def _bundled_bar(ts: datetime) -> tuple[str, str, str, str]:
    for b in read_bars("crypto/BTC_USDT-1h_2019-09-30_2019-10-24.csv"):
        if b.ts == ts:
            return str(b.open), str(b.high), str(b.low), str(b.close)
    raise AssertionError(ts)


REAL = datetime(2019, 10, 9, 10, tzinfo=UTC)  # O 8438.49 H 8663.92 L 8432.76 C 8550: low first


def test_oco_tie_rule_on_a_real_bar_native_and_emulated_agree() -> None:
    o, h, lo, c = _bundled_bar(REAL)
    assert (D(o) - D(lo)) < (D(h) - D(o))
    # Native OCO at the venue.
    desk = make_desk()
    desk.bar(o, o, o, o)
    desk.oms.submit(mk("long", "buy", "1", MKT))
    desk.broker.submit(
        mk("sl", "sell", "1", STP, stop="8435", reduce_only=True), OrderRequest(group="g")
    )
    desk.broker.submit(
        mk("tp", "sell", "1", TP, stop="8600", reduce_only=True), OrderRequest(group="g")
    )
    desk.bar(o, h, lo, c)
    sl = desk.broker.query(mk("sl").client_order_id, PERP.symbol)
    tp = desk.broker.query(mk("tp").client_order_id, PERP.symbol)
    assert sl is not None and tp is not None
    assert (sl.status, sl.avg_price, tp.status) == (S.FILLED, D("8435"), S.CANCELED)
    # Emulated OCO: the condition the path reaches first fires, its sibling is cancelled.
    emu = make_desk()
    emu.bar(o, o, o, o)
    emu.oms.submit(mk("long", "buy", "1", MKT))
    legs = [
        ConditionalOrder(
            "e-sl",
            mk("e-sl", "sell", "1", reduce_only=True),
            PERP.key,
            ConditionKind.STOP_LOSS,
            level=D("8435"),
        ),
        ConditionalOrder(
            "e-tp",
            mk("e-tp", "sell", "1", reduce_only=True),
            PERP.key,
            ConditionKind.TAKE_PROFIT,
            level=D("8600"),
        ),
    ]
    emu.cond.oco("g", legs)
    emu.bar(o, h, lo, c)
    statuses = {cnd.cond_id: cnd.status.value for cnd in emu.cond.all()}
    assert statuses == {"e-sl": "triggered", "e-tp": "canceled"}
    assert emu.position() == 0
    assert emu.ledger_equals_venue()
