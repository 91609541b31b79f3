"""The supervisor after a stop did its job: a position closed by its stop (or a stop-out, or a
guard) and opened again is protected at once by a stop of its own — never by the filled order,
never at the old level the price already reached — and a stop set by hand at or through the mark
is refused unless closing at market is asked for."""

from __future__ import annotations

from decimal import Decimal

import pytest
from oms_unit_kit import ACCT, PERP, Desk, intent, make_desk

from riskdesk.domain.accounting.book import Account
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.fills import Fill, Liquidity, MarginMode
from riskdesk.domain.instruments import perpetual_or_future
from riskdesk.domain.order_lifecycle import OrderRole, OrderStatus
from riskdesk.domain.protection import Need, ProtectionMode, review
from riskdesk.domain.values import PositionSide, Side
from riskdesk.ports.broker import BrokerCapabilities

D = Decimal
KEY = f"{ACCT}|{PERP.key}|net"


def _desk(**kw) -> Desk:  # type: ignore[no-untyped-def]
    desk = make_desk(**kw)
    desk.bar("8000", "8000", "8000", "8000")
    return desk


def _working_stops(desk: Desk) -> list[tuple[Decimal | None, Decimal]]:
    return [
        (v.intent.stop_price, v.intent.qty - v.filled_qty)
        for v in desk.broker.open_orders(ACCT)
        if v.intent.order_type.value == "stop_market"
    ]


def _stop_order(desk: Desk):  # type: ignore[no-untyped-def]
    p = desk.sup.get(KEY)
    assert p is not None and p.order_id is not None
    order = desk.oms.get(p.order_id)
    assert order is not None
    return p, order


def test_a_re_entry_after_the_stop_filled_gets_its_own_stop_at_once() -> None:
    desk = _desk()
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7800"))
    desk.sup.review()
    _, first = _stop_order(desk)
    desk.bar("8000", "8000", "7700", "7750")  # the stop at 7800 fills
    assert desk.position() == 0
    assert desk.oms.get(first.client_order_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    [released] = desk.sup.review()
    assert released.need is Need.RELEASE and desk.sup.protections() == []

    desk.oms.submit(intent("e2", qty="0.05", protective_stop="7600"))
    [report] = desk.sup.review()
    assert report.action == "placed native stop"
    p, order = _stop_order(desk)
    assert order.client_order_id != first.client_order_id  # a new order, not the filled one
    assert order.status is OrderStatus.OPEN and order.role is OrderRole.PROTECTIVE_STOP
    assert (p.level, p.qty) == (D("7600.0"), D("0.05"))
    assert _working_stops(desk) == [(D("7600.0"), D("0.05"))]
    assert desk.sup.covered() == {KEY: True}
    assert desk.sup.review() == []


def test_a_stop_that_filled_and_a_re_entry_seen_in_the_same_pass_renew_the_protection() -> None:
    desk = _desk()
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7800"))
    desk.sup.review()
    desk.bar("8000", "8000", "7700", "7750")  # the stop fills; no protection pass yet
    desk.oms.submit(intent("e2", qty="0.05", protective_stop="7500"))
    [report] = desk.sup.review()
    assert report.need is Need.RENEW and "7800" in report.detail
    p, order = _stop_order(desk)
    assert (p.level, p.qty, order.status) == (D("7500.0"), D("0.05"), OrderStatus.OPEN)
    assert desk.position() == D("0.05")  # never closed at the old level the price reached


def test_a_stop_out_followed_by_a_new_entry_does_not_close_the_new_position() -> None:
    desk = _desk()
    desk.quote("7999", "8000")
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7800"))
    desk.sup.review()
    # A stop moved through the mark closes at market when that is asked for...
    desk.sup.set_stop(ACCT, PERP.key, PositionSide.NET, D(8200), close_if_through=True)
    desk.oms.sync()
    assert desk.position() == 0
    # ...and an entry before the next pass is a new position with a stop of its own.
    desk.oms.submit(intent("e2", qty="0.01", protective_stop="7400"))
    [report] = desk.sup.review()
    assert report.need is Need.RENEW
    assert desk.position() == D("0.01")
    assert _working_stops(desk) == [(D("7400.0"), D("0.01"))]
    stop_outs = [o for o in desk.oms.orders() if o.intent.intent_id.startswith("stopout:")]
    assert len(stop_outs) == 1  # the new position was not stopped out


def test_a_guard_that_fired_is_finished_and_the_re_entry_gets_a_new_guard() -> None:
    desk = _desk(capabilities=BrokerCapabilities(native_stop=False, native_amend=False))
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7900"))
    desk.sup.review()
    first = desk.sup.get(KEY)
    assert first is not None and first.mode is ProtectionMode.GUARD
    desk.bar("8000", "8010", "7880", "7890")  # the guard fires and closes
    assert desk.position() == 0
    desk.oms.submit(intent("e2", qty="0.02", protective_stop="7700"))
    [report] = desk.sup.review()
    assert report.need is Need.RENEW
    p = desk.sup.get(KEY)
    assert p is not None and p.mode is ProtectionMode.GUARD and p.cond_id != first.cond_id
    assert (p.level, p.qty) == (D("7700.0"), D("0.02"))
    assert desk.sup.covered() == {KEY: True}


def test_generations_never_repeat_for_a_slot() -> None:
    desk = _desk()
    seen: set[str] = set()
    for n in range(3):
        desk.oms.submit(intent(f"e{n}", qty="0.1", protective_stop="7800"))
        desk.sup.review()
        _, order = _stop_order(desk)
        assert order.client_order_id not in seen
        seen.add(order.client_order_id)
        desk.bar("8000", "8000", "7700", "8000")  # the stop fills
        desk.sup.review()
        assert desk.sup.protections() == []
        desk.bar("8000", "8000", "8000", "8000")


def test_review_renews_a_protection_set_before_the_position_opened() -> None:
    desk = _desk()
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7800"))
    desk.sup.review()
    p = desk.sup.get(KEY)
    assert p is not None
    later = p.updated_at.replace(year=p.updated_at.year + 1)
    assert review(p, D("0.1"), None, opened_at=later) is Need.RENEW
    assert review(p, D("0.1"), None, opened_at=p.updated_at) is Need.REARM
    assert review(p, D("0.1"), None, executed=True) is Need.RENEW


# ---------------------------------------------------------------------------------- by hand


def test_a_stop_set_by_hand_through_the_mark_is_refused_and_changes_nothing() -> None:
    desk = _desk()
    desk.quote("8100", "8101")  # mark 8100.5
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7800"))
    desk.sup.review()
    before = desk.sup.get(KEY)
    with pytest.raises(InvalidValue) as err:
        desk.sup.set_stop(ACCT, PERP.key, PositionSide.NET, D(8200), close_if_through=False)
    assert err.value.field == "level"
    for part in ("8200", "8100.5", "long"):
        assert part in err.value.reason
    with pytest.raises(InvalidValue):
        desk.sup.modify_stops(D("8100.5"))  # at the mark is through too
    assert desk.sup.get(KEY) == before and desk.position() == D("0.1")
    assert _working_stops(desk) == [(D("7800.0"), D("0.1"))]
    # Below the mark it moves; with the confirmation it closes at market.
    [moved] = desk.sup.modify_stops(D(8000))
    assert moved.level == D(8000) and desk.position() == D("0.1")
    desk.sup.modify_stops(D(8200), close_if_through=True)
    desk.oms.sync()
    assert desk.position() == 0


def test_a_short_stop_below_the_mark_is_refused() -> None:
    desk = _desk()
    desk.quote("8000", "8001")
    desk.oms.submit(intent("s1", "sell", "0.1", protective_stop="8300"))
    desk.sup.review()
    with pytest.raises(InvalidValue) as err:
        desk.sup.modify_stops(D(7900))
    assert "short" in err.value.reason and "7900" in err.value.reason
    with pytest.raises(InvalidValue):
        desk.sup.check_level(PERP.key, -1, D("8000.5"))


def test_a_batch_with_one_position_through_changes_nothing() -> None:
    desk = _desk()
    eth = "paper:ETH/USDT:USDT"
    desk.quote("8000", "8001")
    desk.quote("200", "200.02", key=eth)
    desk.oms.submit(intent("b", qty="0.1", protective_stop="7800"))
    desk.oms.submit(intent("e", qty="1", symbol="ETH/USDT:USDT", protective_stop="190"))
    desk.sup.review()
    before = desk.sup.protections()
    with pytest.raises(InvalidValue):
        desk.sup.modify_stops(D(7000))  # fine for BTC, through for ETH at 200
    assert desk.sup.protections() == before


# ---------------------------------------------------------------------------------- venues


def test_positions_of_another_venue_are_never_protected_on_this_one() -> None:
    desk = _desk()
    real = perpetual_or_future("BTC/USDT:USDT", "binance", tick_size="0.1", lot_size="0.001")
    lookup = desk.ledger._instruments

    def both(key: str):  # type: ignore[no-untyped-def]
        return real if key == real.key else lookup(key)

    desk.ledger._instruments = both
    account = Account("binance-usdm", "binance", default_margin_mode=MarginMode.ISOLATED)
    desk.ledger.open(account)
    desk.ledger.apply_fills(
        [
            Fill(
                venue="binance",
                fill_id="b1",
                account_id="binance-usdm",
                symbol="BTC/USDT:USDT",
                side=Side.BUY,
                qty=D("0.6"),
                price=D(64000),
                ts=desk.clock.now(),
                fee=D(0),
                fee_currency="USDT",
                liquidity=Liquidity.TAKER,
            )
        ]
    )
    desk.oms.submit(intent("e1", qty="0.1", protective_stop="7800"))
    reports = desk.sup.review()
    assert [r.key for r in reports] == [KEY]
    assert list(desk.sup.covered()) == [KEY]
    assert all(o.intent.venue == "paper" for o in desk.oms.orders())
