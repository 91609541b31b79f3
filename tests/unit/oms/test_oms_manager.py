"""The order manager over the paper venue: journal first, risk, no duplicates whatever the venue
does, cancel / amend / bulk, fills booked once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from oms_unit_kit import ACCT, PERP, Desk, intent, make_desk

from riskdesk.application.oms import OmsConfig
from riskdesk.domain.errors import (
    InvalidValue,
    NotFound,
    OffGrid,
    UnknownAccount,
    UnknownInstrument,
)
from riskdesk.domain.fills import Fill
from riskdesk.domain.order_lifecycle import OrderRole, OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.risk.decisions import Approved, Decision, Denial, Denied, RiskCode, Severity
from riskdesk.ports.broker import BrokerCapabilities

D = Decimal
S = OrderStatus


class DenyEntries:
    def check(self, intent: OrderIntent, now: datetime) -> Decision:
        if intent.reduce_only:
            return Approved(intent.intent_id, 1)
        denial = Denial(RiskCode.SYMBOL_EXPOSURE, "too big", "smaller", 1.0, 0.5, Severity.CRITICAL)
        return Denied(intent.intent_id, denial, (denial,))


def _desk(**kw) -> Desk:  # type: ignore[no-untyped-def]
    desk = make_desk(**kw)
    desk.bar("8000", "8000", "8000", "8000")
    return desk


def _events(desk: Desk, iid: str) -> list[tuple[object, object]]:
    return [(e["old"], e["new"]) for e in desk.oms.events(iid) if e["kind"] == "order_transitioned"]


def test_submit_journals_before_sending_and_never_twice() -> None:
    desk = _desk()
    order = desk.oms.submit(intent("e1"))
    assert (order.status, order.filled_qty, order.role) == (S.FILLED, D(1), OrderRole.ENTRY)
    assert _events(desk, "e1") == [
        ("", "created"),
        ("created", "pending_submit"),
        ("pending_submit", "open"),
        ("open", "filled"),
    ]
    again = desk.oms.submit(intent("e1"))
    assert again == order
    assert len(desk.broker.all_orders()) == 1
    assert desk.position() == D(1) and desk.ledger_equals_venue()


def test_bad_input_changes_nothing() -> None:
    desk = _desk()
    with pytest.raises(OffGrid) as error:
        desk.oms.submit(intent("x", qty="0.0001"))
    assert error.value.field == "qty"
    with pytest.raises(UnknownAccount):
        desk.oms.submit(intent("x", account="nobody"))
    with pytest.raises(UnknownInstrument):
        desk.oms.submit(intent("x", symbol="DOGE/USDT:USDT"))
    assert desk.journal.repo.order_map == {}
    assert desk.broker.all_orders() == []


def test_a_risk_denial_is_journaled_and_nothing_is_sent() -> None:
    desk = _desk(risk=DenyEntries())
    order = desk.oms.submit(intent("e"))
    assert order.status is S.REJECTED
    assert "[symbol_exposure] too big" in order.reason
    assert desk.broker.all_orders() == []


@pytest.mark.parametrize(
    "fault",
    ["submit:timeout", "submit:timeout_after", "submit:unavailable", "submit:unavailable_after"],
)
def test_an_unknown_outcome_is_looked_up_before_anything_is_resent(fault: str) -> None:
    desk = _desk(faults=[fault])
    order = desk.oms.submit(intent("e"))
    assert (order.status, order.filled_qty) == (S.FILLED, D(1))
    assert len(desk.broker.all_orders()) == 1
    assert desk.position() == D(1) and desk.ledger_equals_venue()


def test_rate_limits_are_waited_out_then_give_up() -> None:
    desk = _desk(faults=["submit:rate_limited::2"])
    assert desk.oms.submit(intent("e")).status is S.FILLED
    assert desk.sleeper.slept == [1.0, 1.0]
    stubborn = _desk(faults=["submit:rate_limited::*"], config=OmsConfig(submit_attempts=3))
    order = stubborn.oms.submit(intent("e"))
    assert order.status is S.FAILED and "rate limited 3 times" in order.reason
    assert stubborn.broker.all_orders() == []


def test_when_the_venue_cannot_even_be_asked_the_order_waits_for_the_next_sync() -> None:
    desk = _desk(faults=["submit:timeout_after", "query:timeout::*"])
    order = desk.oms.submit(intent("e"))
    assert order.status is S.PENDING_SUBMIT
    assert "outcome unknown" in order.reason
    desk.broker.faults.rules.clear()
    desk.oms.sync()
    assert desk.oms.require("e").status is S.FILLED
    report = desk.recovery.run()
    assert desk.oms.require("e").status is S.FILLED
    assert len(desk.broker.all_orders()) == 2  # the entry and the protective stop the pass placed
    assert all(desk.sup.covered().values())
    assert report.fills_booked == 0


def test_venue_rejections_are_final() -> None:
    desk = _desk(deposit="100")
    order = desk.oms.submit(intent("e"))
    assert order.status is S.REJECTED and "insufficient margin" in order.reason


def test_cancel_amend_natively_or_by_cancel_replace() -> None:
    desk = _desk()
    desk.oms.submit(intent("l", kind=OrderType.LIMIT, price="7000"))
    amended = desk.oms.amend("l", price=D(7100))
    assert (amended.intent.price, amended.status) == (D(7100), S.OPEN)
    with pytest.raises(InvalidValue):
        desk.oms.amend("l")
    with pytest.raises(OffGrid):
        desk.oms.amend("l", price=D("7100.05"))
    cancelled = desk.oms.cancel("l")
    assert cancelled.status is S.CANCELED
    assert desk.oms.cancel("l") == cancelled
    with pytest.raises(NotFound):
        desk.oms.cancel("nothing")
    plain = _desk(capabilities=BrokerCapabilities(native_amend=False))
    plain.oms.submit(intent("l", kind=OrderType.LIMIT, price="7000"))
    new = plain.oms.amend("l", price=D(7100))
    assert new.intent.intent_id == "l~r1" and new.status is S.OPEN
    assert plain.oms.require("l").status is S.CANCELED
    assert [o.status for o in plain.broker.open_orders()] == [S.OPEN]


def test_cancel_all_keeps_protective_stops_close_all_flattens() -> None:
    desk = _desk()
    desk.oms.submit(intent("e", qty="2"))
    desk.sup.review()
    desk.oms.submit(intent("l1", kind=OrderType.LIMIT, price="7000", qty="0.1"))
    desk.oms.submit(intent("l2", kind=OrderType.LIMIT, price="7100", qty="0.1"))
    done = desk.oms.cancel_all(account_id=ACCT)
    assert sorted(o.intent.intent_id for o in done) == ["l1", "l2"]
    assert all(desk.sup.covered().values())
    closed = desk.oms.close_all(symbol=PERP.symbol, run_id="t")
    assert [o.role for o in closed] == [OrderRole.CLOSE]
    assert desk.position() == 0
    desk.sup.review()
    assert desk.sup.protections() == []
    assert desk.broker.open_orders() == []
    assert desk.ledger_equals_venue()


def test_fills_are_applied_once_and_foreign_fills_are_still_booked() -> None:
    desk = _desk()
    desk.oms.submit(intent("l", kind=OrderType.LIMIT, price="7990", qty="2"))
    desk.bar("8000", "8000", "7985", "7995")
    order = desk.oms.require("l")
    assert (order.status, order.filled_qty) == (S.FILLED, D(2))
    # Someone trades on the account outside riskdesk.
    desk.broker.submit(intent("outside", "sell", "1"))
    result = desk.oms.sync()
    assert [f.order_id for f in result.foreign] == [intent("outside").client_order_id]
    assert desk.oms.sync().fills == []
    assert desk.position() == D(1) and desk.ledger_equals_venue()
    assert isinstance(result.foreign[0], Fill)


def test_batches_journal_once_check_everything_first_and_keep_the_guarantees() -> None:
    desk = _desk(risk=DenyEntries())
    with pytest.raises(OffGrid):
        desk.oms.submit_many(
            [
                intent("a", kind=OrderType.LIMIT, price="7000", reduce_only=False),
                intent("b", qty="0.0001"),
            ]
        )
    with pytest.raises(InvalidValue) as error:
        desk.oms.submit_many([intent("a"), intent("a")])
    assert error.value.field == "intent_id"
    assert desk.journal.repo.order_map == {} and desk.broker.all_orders() == []
    ok = _desk(faults=["submit:timeout_after"])  # the whole batch request's answer is lost
    limits = [intent(f"l{i}", kind=OrderType.LIMIT, price=str(7000 + i)) for i in range(25)]
    orders = ok.oms.submit_many([*limits, intent("m", "buy", "1")])
    assert [o.status for o in orders] == [S.OPEN] * 25 + [S.FILLED]
    assert len(ok.broker.all_orders()) == 26  # looked up, never sent twice
    amended = ok.oms.amend_many(
        [(o.client_order_id, None, o.intent.price - 1000, None) for o in orders[:25]]
    )  # type: ignore[operator]
    assert [o.intent.price for o in amended] == [D(6000 + i) for i in range(25)]
    cancelled = ok.oms.cancel_many([o.client_order_id for o in orders])
    assert [o.status for o in cancelled] == [S.CANCELED] * 25 + [S.FILLED]
    assert ok.broker.open_orders() == [] and ok.ledger_equals_venue()
    denied = desk.oms.submit_many([intent("x"), intent("y", "sell", reduce_only=True)])
    assert [o.status for o in denied] == [
        S.REJECTED,
        S.REJECTED,
    ]  # y: the venue has nothing to reduce
    assert "pre-trade risk" in denied[0].reason and "venue" in denied[1].reason
