"""Linked orders and bulk operations the other order-manager tests leave out: the standalone OTO,
a triggered conditional order refused by pre-trade risk, close-all by account and by venue, and
the cancel-replace of a non-stop order that restores the old order when the new one fails."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oms_unit_kit import ACCT, ETH, PERP, VENUE, Desk, candle, intent, make_desk

from riskdesk.domain.accounting.book import Account
from riskdesk.domain.conditional import ConditionalOrder, ConditionKind, ConditionStatus, LinkType
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.order_lifecycle import OrderRole, OrderStatus
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.risk.decisions import Approved, Decision, Denial, Denied, RiskCode, Severity
from riskdesk.ports.broker import BrokerCapabilities

D = Decimal
S = OrderStatus


def _desk(**kw) -> Desk:  # type: ignore[no-untyped-def]
    desk = make_desk(**kw)
    desk.bar("8000", "8000", "8000", "8000")
    desk.bar("200", "200", "200", "200", ETH.key)
    return desk


def _exit(cid: str, kind: ConditionKind, level: str, qty: str = "1") -> ConditionalOrder:
    return ConditionalOrder(
        cid, intent(cid, "sell", qty, reduce_only=True), PERP.key, kind, level=D(level)
    )


# ---------------------------------------------------------------------------------- OTO


def test_oto_arms_its_child_when_the_parent_fills_sized_to_the_fill() -> None:
    desk = _desk()
    parent = intent("p", "buy", "2", OrderType.LIMIT, price="7950")
    order, child = desk.cond.oto(parent, _exit("p:tp", ConditionKind.TAKE_PROFIT, "8100", "5"))
    assert order.status is S.OPEN
    assert (child.status, child.link, child.parent) == (ConditionStatus.WAITING, LinkType.OTO, "p")
    desk.bar("8000", "8000", "8000", "8000")  # not reached: the child keeps waiting
    assert desk.cond.get("p:tp") is not None
    assert desk.cond.get("p:tp").status is ConditionStatus.WAITING  # type: ignore[union-attr]
    desk.bar("8000", "8010", "7940", "7990")  # the parent fills at 7950
    armed = desk.cond.get("p:tp")
    assert armed is not None and armed.status is ConditionStatus.ARMED
    assert armed.intent.qty == D(2)  # an exit on the parent's instrument covers what filled
    desk.bar("8000", "8120", "7990", "8100")
    assert desk.position() == 0
    assert desk.oms.require("p:tp").role is OrderRole.TAKE_PROFIT
    assert desk.ledger_equals_venue()


def test_oto_child_on_another_instrument_keeps_its_quantity_and_dies_with_its_parent() -> None:
    desk = _desk()
    other = ConditionalOrder(
        "p:eth",
        intent("p:eth", "buy", "3", symbol=ETH.symbol),
        ETH.key,
        ConditionKind.PRICE_ABOVE,
        level=D(210),
    )
    order, child = desk.cond.oto(intent("p", "buy", "1"), other)  # a market parent: fills at once
    assert order.status is S.FILLED
    assert child.status is ConditionStatus.ARMED and child.intent.qty == D(3)
    desk.bar("200", "215", "199", "212", ETH.key)
    assert desk.position(ETH.key) == D(3)
    # A parent that ends without a fill cancels its child.
    refused = intent("q", "buy", "1", OrderType.LIMIT, price="7000", post_only=True)
    desk.broker.faults.add("submit:reject:limit")
    order, child = desk.cond.oto(refused, _exit("q:sl", ConditionKind.STOP_LOSS, "6500"))
    assert order.status is S.REJECTED
    assert child.status is ConditionStatus.CANCELED and "parent rejected" in child.reason


# ---------------------------------------------------------------------------------- risk


class _DenyConditionalEntries:
    """Pre-trade risk that refuses the orders conditions release (ids starting with "c-")."""

    def check(self, order: OrderIntent, now: datetime) -> Decision:
        if order.intent_id.startswith("c-"):
            denial = Denial(
                RiskCode.SYMBOL_EXPOSURE,
                "exposure on ETH/USDT:USDT would exceed its limit",
                "trade less",
                1.0,
                0.5,
                Severity.HIGH,
            )
            return Denied(order.intent_id, denial, (denial,))
        return Approved(order.intent_id, 1)


def test_a_triggered_condition_goes_through_pre_trade_risk_and_can_be_denied() -> None:
    desk = _desk(risk=_DenyConditionalEntries())
    # "If BTC > 8100, buy ETH": the condition watches one instrument and trades another.
    desk.cond.arm(
        [
            ConditionalOrder(
                "c-eth",
                intent("c-eth", "buy", "5", symbol=ETH.symbol),
                PERP.key,
                ConditionKind.PRICE_ABOVE,
                level=D(8100),
            )
        ]
    )
    released = desk.cond.on_candle(
        PERP.key, candle(desk.clock.now(), "8000", "8150", "7990", "8120")
    )
    [order] = released
    assert order.status is S.REJECTED
    assert order.reason.startswith("pre-trade risk [symbol_exposure]")
    assert desk.broker.open_orders() == [] and desk.position(ETH.key) == 0  # nothing sent
    fired = next(c for c in desk.cond.all() if c.cond_id == "c-eth")
    assert fired.status is ConditionStatus.TRIGGERED  # fired once; not re-armed


# ---------------------------------------------------------------------------------- bulk


def test_close_all_by_account_and_by_venue() -> None:
    desk = _desk()
    other = Account("acct2", VENUE, default_margin_mode=MarginMode.CROSS, default_leverage=D(10))
    desk.broker.open_account(other)
    desk.broker.deposit("acct2", "USDT", D(100000), "d2")
    desk.ledger.open(other)
    desk.ledger.books["acct2"].move_cash(
        "USDT", D(100000), desk.clock.now(), "deposit", (VENUE, "cash:d2")
    )
    desk.oms.submit(intent("a-btc", "buy", "1"))
    desk.oms.submit(intent("a-eth", "buy", "10", symbol=ETH.symbol))
    desk.oms.submit(intent("b-btc", "sell", "2", account="acct2"))
    desk.oms.submit(intent("a-lmt", "buy", "1", OrderType.LIMIT, price="7000"))  # could re-open
    desk.sup.review()
    assert len(desk.sup.protections()) == 3

    def positions() -> dict[tuple[str, str], Decimal]:
        return {(p.account_id, p.instrument_key): p.qty for p in desk.ledger.open_positions()}

    assert desk.oms.close_all(venue="elsewhere", run_id="v0") == []  # nothing in scope
    closed = desk.oms.close_all(account_id="acct2", run_id="a2")
    assert [(o.intent.account_id, o.role, o.status) for o in closed] == [
        ("acct2", OrderRole.CLOSE, S.FILLED)
    ]
    assert positions() == {(ACCT, PERP.key): D(1), (ACCT, ETH.key): D(10)}
    assert desk.oms.require("a-lmt").status is S.OPEN  # another account's order stays
    closed = desk.oms.close_all(venue=VENUE, run_id="v1")
    assert {o.intent.intent_id for o in closed} == {
        "a-lmt",
        f"close:v1:{ACCT}:{PERP.key}:net",
        f"close:v1:{ACCT}:{ETH.key}:net",
    }
    assert desk.oms.require("a-lmt").status is S.CANCELED
    assert positions() == {}
    desk.sup.review()  # flat: the stops are released
    assert desk.sup.protections() == [] and desk.broker.open_orders() == []
    assert desk.ledger_equals_venue()


def test_cancel_replace_restores_the_old_order_when_the_new_one_fails() -> None:
    desk = _desk(capabilities=BrokerCapabilities(native_amend=False))
    desk.oms.submit(intent("l", "buy", "1", OrderType.LIMIT, price="7900"))
    desk.broker.faults.add("submit:reject:limit")  # the replacement is refused (once)
    new = desk.oms.amend("l", price=D(7950))
    assert new.intent.intent_id == "l~r1" and new.status is S.REJECTED
    assert desk.oms.require("l").status is S.CANCELED  # the old one went first…
    restored = desk.oms.require("l~r2")  # …and is back, as it was
    assert (restored.status, restored.intent.price, restored.intent.qty) == (S.OPEN, D(7900), D(1))
    [working] = desk.broker.open_orders()
    assert (working.client_order_id, working.intent.price) == (restored.client_order_id, D(7900))
    # The restored order works like the original.
    desk.bar("8000", "8000", "7890", "7950")
    assert desk.oms.require("l~r2").status is S.FILLED and desk.position() == D(1)
